//! Signatures for the local store's URLs: a keyed BLAKE3 MAC over the method, object key,
//! expiry and size bound, so a URL grants exactly one operation on one object, briefly.

use std::path::Path;

use rand::RngCore;

pub struct Signer {
    key: [u8; 32],
}

/// What a signed URL grants.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Grant<'a> {
    pub method: &'a str,
    pub object: &'a str,
    pub expires_at: i64,
    pub max_bytes: u64,
}

impl Signer {
    pub fn new(key: [u8; 32]) -> Signer {
        Signer { key }
    }

    /// Loads the key from `path`, creating it on first start so restarts keep URLs valid.
    pub fn load_or_create(path: &Path) -> std::io::Result<Signer> {
        if let Ok(bytes) = std::fs::read(path) {
            if let Ok(key) = <[u8; 32]>::try_from(bytes.as_slice()) {
                return Ok(Signer::new(key));
            }
        }
        let mut key = [0u8; 32];
        rand::rngs::OsRng.fill_bytes(&mut key);
        if let Some(dir) = path.parent() {
            std::fs::create_dir_all(dir)?;
        }
        std::fs::write(path, key)?;
        #[cfg(unix)]
        {
            use std::os::unix::fs::PermissionsExt;
            std::fs::set_permissions(path, std::fs::Permissions::from_mode(0o600))?;
        }
        Ok(Signer::new(key))
    }

    /// The key of the URLs the API serves for an S3 store's small chunks, derived from the
    /// store's secret: every API node in front of one bucket signs and checks alike, and it
    /// survives restarts without a file of its own.
    pub fn derived(secret: &str) -> Signer {
        Signer::new(blake3::derive_key(
            "cairn 2026-12-07 inline chunk URLs",
            secret.as_bytes(),
        ))
    }

    /// The API path (`/blobs/<object>?exp=…&max=…&sig=…`) that grants `g`.
    pub fn path(&self, g: &Grant<'_>) -> String {
        format!(
            "/blobs/{}?exp={}&max={}&sig={}",
            g.object,
            g.expires_at,
            g.max_bytes,
            self.sign(g)
        )
    }

    pub fn sign(&self, g: &Grant<'_>) -> String {
        let msg = format!(
            "{}\n{}\n{}\n{}",
            g.method, g.object, g.expires_at, g.max_bytes
        );
        blake3::keyed_hash(&self.key, msg.as_bytes())
            .to_hex()
            .to_string()
    }

    /// Constant-time check of a signature (blake3's `Hash` compares in constant time).
    pub fn verify(&self, g: &Grant<'_>, sig: &str) -> bool {
        let Ok(given) = blake3::Hash::from_hex(sig) else {
            return false;
        };
        let msg = format!(
            "{}\n{}\n{}\n{}",
            g.method, g.object, g.expires_at, g.max_bytes
        );
        blake3::keyed_hash(&self.key, msg.as_bytes()) == given
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn any_change_to_the_grant_breaks_the_signature() {
        let s = Signer::new([7; 32]);
        let g = Grant {
            method: "PUT",
            object: "staging/u/h",
            expires_at: 10,
            max_bytes: 5,
        };
        let sig = s.sign(&g);
        assert!(s.verify(&g, &sig));
        for other in [
            Grant {
                method: "GET",
                ..g.clone()
            },
            Grant {
                object: "chunks/h",
                ..g.clone()
            },
            Grant {
                expires_at: 11,
                ..g.clone()
            },
            Grant {
                max_bytes: 6,
                ..g.clone()
            },
        ] {
            assert!(!s.verify(&other, &sig));
        }
        assert!(!s.verify(&g, "zz"));
    }
}
