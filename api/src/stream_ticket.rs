//! Short-lived tickets for opening an event stream, so a browser's `EventSource` — which cannot
//! send an `Authorization` header — never puts the device token itself in a URL (URLs end up
//! in history, proxy logs and crash reports).
//!
//! A ticket is `<device>.<expires_at ms>.<nonce>.<mac>`: the MAC is keyed BLAKE3 under a key
//! derived from the device's stored token hash. So a ticket is self-verifying on any API node
//! (they share the database, nothing else), needs no table, is bound to one device, and dies
//! with the device: a revoked device has no row to check it against. It works until it
//! expires ([`TTL`]) rather than once — single use would need shared state across nodes — and
//! it opens nothing but the event stream, which carries only "namespace N is at seq S" hints.

use std::time::Duration;

use rand::RngCore;

use crate::db::users::{self, Caller};
use crate::error::ApiError;
use crate::state::AppState;

/// How long a ticket opens streams: long enough for a page to use it at once (and for
/// `EventSource`'s own quick reconnects), short enough that a leaked URL is soon worthless.
pub const TTL: Duration = Duration::from_secs(60);

const KEY_CONTEXT: &str = "cairn 2026 event stream ticket key v1";

fn key(token_hash: &str) -> [u8; 32] {
    blake3::derive_key(KEY_CONTEXT, token_hash.as_bytes())
}

fn mac(token_hash: &str, device_id: i64, expires_at: i64, nonce: &str) -> blake3::Hash {
    let msg = format!("{device_id}.{expires_at}.{nonce}");
    blake3::keyed_hash(&key(token_hash), msg.as_bytes())
}

/// A fresh ticket for `device_id` (whose token hash is `token_hash`) expiring at `expires_at`.
pub fn mint(token_hash: &str, device_id: i64, expires_at: i64) -> String {
    let mut n = [0u8; 16];
    rand::rngs::OsRng.fill_bytes(&mut n);
    let nonce = hex::encode(n);
    let tag = mac(token_hash, device_id, expires_at, &nonce);
    format!("{device_id}.{expires_at}.{nonce}.{}", tag.to_hex())
}

/// The parts of a well-formed ticket: device id, expiry, nonce, MAC.
struct Parsed<'a> {
    device_id: i64,
    expires_at: i64,
    nonce: &'a str,
    mac: blake3::Hash,
}

fn parse(ticket: &str) -> Option<Parsed<'_>> {
    let mut it = ticket.split('.');
    let (device, expires, nonce, mac) = (it.next()?, it.next()?, it.next()?, it.next()?);
    if it.next().is_some() || nonce.len() != 32 || !nonce.bytes().all(|b| b.is_ascii_hexdigit()) {
        return None;
    }
    Some(Parsed {
        device_id: device.parse().ok()?,
        expires_at: expires.parse().ok()?,
        nonce,
        mac: blake3::Hash::from_hex(mac).ok()?,
    })
}

/// True if `ticket` names `device_id`, was made with `token_hash` and has not expired at `now`.
/// The MAC comparison is constant-time (`blake3::Hash`'s `==`).
pub fn check(ticket: &str, token_hash: &str, device_id: i64, now: i64) -> bool {
    parse(ticket).is_some_and(|p| {
        p.device_id == device_id
            && now < p.expires_at
            && mac(token_hash, p.device_id, p.expires_at, p.nonce) == p.mac
    })
}

/// The device a ticket opens a stream for: well-formed, unexpired, genuine, and the device
/// still active. Anything else is 401 `unauthorized`, the same answer as a bad token.
pub async fn caller_for_ticket(state: &AppState, ticket: &str) -> Result<Caller, ApiError> {
    let parsed = parse(ticket).ok_or(ApiError::Unauthorized)?;
    let now = state.clock.now_ms();
    if now >= parsed.expires_at {
        return Err(ApiError::Unauthorized);
    }
    let (caller, token_hash) =
        users::caller_by_device(&state.db, parsed.device_id, state.settings.quota_bytes)
            .await?
            .ok_or(ApiError::Unauthorized)?;
    if !check(ticket, &token_hash, parsed.device_id, now) {
        return Err(ApiError::Unauthorized);
    }
    Ok(caller)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_ticket_opens_only_its_device_until_it_expires() {
        let hash = "a".repeat(64);
        let t = mint(&hash, 7, 1_000);
        assert!(check(&t, &hash, 7, 999));
        assert!(!check(&t, &hash, 7, 1_000), "expired");
        assert!(!check(&t, &hash, 8, 999), "another device");
        assert!(!check(&t, &"b".repeat(64), 7, 999), "another token's key");
        // Any edit of a part breaks it: a later expiry, another device, another nonce.
        let parts: Vec<&str> = t.split('.').collect();
        let forged = [
            format!("{}.{}.{}.{}", parts[0], 2_000, parts[2], parts[3]),
            format!("{}.{}.{}.{}", 8, parts[1], parts[2], parts[3]),
            format!("{}.{}.{}.{}", parts[0], parts[1], "0".repeat(32), parts[3]),
        ];
        for f in &forged {
            assert!(!check(f, &hash, 7, 999) && !check(f, &hash, 8, 999), "{f}");
        }
        for junk in [
            "",
            "7",
            "7.1000",
            "7.1000.x.y",
            &format!("{t}.extra"),
            "7.1000.0.0",
        ] {
            assert!(!check(junk, &hash, 7, 999), "{junk}");
        }
        assert_ne!(mint(&hash, 7, 1_000), t, "a nonce makes every ticket new");
    }
}
