//! Proof that a link's password was given: a short-lived grant, so a page (or curl) does not
//! send the password — and pay an argon2id hash — on every request.
//!
//! A grant is `<link id>.<expires_at ms>.<mac>`, the MAC keyed by a key derived from the link's
//! stored token hash and password hash. It verifies on any API node without a table, and dies
//! when the link is revoked (no row), or its password changes (another key).

use std::time::Duration;

use axum::http::{header, HeaderMap};
use base64_lite::decode_basic;

use crate::db::links::Link;

/// How long a grant opens the link.
pub const TTL: Duration = Duration::from_secs(3600);
pub const HEADER: &str = "x-cairn-grant";
pub const COOKIE: &str = "cairn_grant";
const CONTEXT: &str = "cairn 2026 share link password grant v1";

fn mac(link: &Link, expires_at: i64) -> blake3::Hash {
    let material = format!(
        "{}/{}",
        link.token_hash,
        link.password_hash.as_deref().unwrap_or("")
    );
    let key = blake3::derive_key(CONTEXT, material.as_bytes());
    blake3::keyed_hash(&key, format!("{}.{expires_at}", link.id).as_bytes())
}

pub fn mint(link: &Link, expires_at: i64) -> String {
    format!(
        "{}.{expires_at}.{}",
        link.id,
        mac(link, expires_at).to_hex()
    )
}

/// Whether `grant` opens `link` at `now`.
pub fn valid(link: &Link, grant: &str, now: i64) -> bool {
    let mut it = grant.split('.');
    let (Some(id), Some(exp), Some(tag), None) = (it.next(), it.next(), it.next(), it.next())
    else {
        return false;
    };
    let (Ok(id), Ok(exp), Ok(tag)) = (
        id.parse::<i64>(),
        exp.parse::<i64>(),
        blake3::Hash::from_hex(tag),
    ) else {
        return false;
    };
    // blake3::Hash compares in constant time.
    id == link.id && exp > now && mac(link, exp) == tag
}

/// What a request offers as proof of the password.
#[derive(Debug, Default, Clone)]
pub struct Proof {
    /// Grants from the header, the query and the cookie (any may be stale: each is tried).
    pub grants: Vec<String>,
    /// The password itself, from HTTP Basic auth (`curl -u :PASSWORD`).
    pub password: Option<String>,
}

impl Proof {
    pub fn from_request(headers: &HeaderMap, query_grant: Option<&str>) -> Proof {
        let mut grants = Vec::new();
        if let Some(g) = headers.get(HEADER).and_then(|v| v.to_str().ok()) {
            grants.push(g.trim().to_owned());
        }
        if let Some(g) = query_grant {
            grants.push(g.to_owned());
        }
        for cookies in headers.get_all(header::COOKIE) {
            let Ok(cookies) = cookies.to_str() else {
                continue;
            };
            for c in cookies.split(';') {
                if let Some((k, v)) = c.trim().split_once('=') {
                    // One cookie per unlocked link: `cairn_grant_<link id>`.
                    if k.starts_with(COOKIE) {
                        grants.push(v.to_owned());
                    }
                }
            }
        }
        grants.truncate(32);
        let password = headers
            .get(header::AUTHORIZATION)
            .and_then(|v| v.to_str().ok())
            .and_then(|v| v.strip_prefix("Basic "))
            .and_then(|b| decode_basic(b.trim()))
            .and_then(|userpass| userpass.split_once(':').map(|(_, p)| p.to_owned()));
        Proof { grants, password }
    }
}

/// Just enough base64 to read an HTTP Basic header (no crate for eight lines).
mod base64_lite {
    pub fn decode_basic(s: &str) -> Option<String> {
        let val = |c: u8| -> Option<u32> {
            Some(match c {
                b'A'..=b'Z' => c - b'A',
                b'a'..=b'z' => c - b'a' + 26,
                b'0'..=b'9' => c - b'0' + 52,
                b'+' => 62,
                b'/' => 63,
                _ => return None,
            } as u32)
        };
        let s = s.trim_end_matches('=');
        if s.len() > 4096 {
            return None;
        }
        let mut out = Vec::with_capacity(s.len() * 3 / 4);
        let (mut acc, mut bits) = (0u32, 0);
        for c in s.bytes() {
            acc = acc << 6 | val(c)?;
            bits += 6;
            if bits >= 8 {
                bits -= 8;
                out.push((acc >> bits) as u8);
                acc &= (1 << bits) - 1;
            }
        }
        String::from_utf8(out).ok()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn link(password_hash: Option<&str>) -> Link {
        Link {
            id: 7,
            owner_id: 1,
            node_id: 2,
            kind: wire::links::LinkKind::Download,
            pinned_version_id: None,
            expires_at: None,
            password_hash: password_hash.map(str::to_owned),
            max_downloads: None,
            max_bytes: None,
            revoked_at: None,
            created_at: 0,
            last_used_at: None,
            uses: 0,
            token_hash: "ab".repeat(32),
        }
    }

    #[test]
    fn grants_open_their_link_until_they_expire_or_the_password_changes() {
        let l = link(Some("$argon2id$one"));
        let g = mint(&l, 1_000);
        assert!(valid(&l, &g, 999));
        assert!(!valid(&l, &g, 1_000));
        assert!(!valid(&link(Some("$argon2id$two")), &g, 0));
        let mut other = link(Some("$argon2id$one"));
        other.id = 8;
        assert!(!valid(&other, &g, 0));
        assert!(!valid(&l, "7.5000.00", 0));
        assert!(!valid(&l, &g.replace("7.1000", "7.9000"), 0));
    }

    #[test]
    fn basic_auth_gives_the_password() {
        let mut h = HeaderMap::new();
        // ":s3cret pass"
        h.insert(
            header::AUTHORIZATION,
            "Basic OnMzY3JldCBwYXNz".parse().unwrap(),
        );
        assert_eq!(
            Proof::from_request(&h, None).password.as_deref(),
            Some("s3cret pass")
        );
    }
}
