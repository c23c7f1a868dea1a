//! Where chunk bytes live, behind one interface: a local directory (the embedded default, whose
//! signed URLs the API serves itself) or, by configuration, an S3-compatible store.
//!
//! Clients move bytes with short-lived signed URLs; a PUT URL always names a per-upload staging
//! key, never a verified chunk, so a replayed URL cannot overwrite bytes someone relies on.

pub mod local;
pub mod signer;

use std::time::Duration;

use bytes::Bytes;
use wire::Hash;

pub use local::LocalStore;

pub enum BlobStore {
    Local(LocalStore),
}

impl BlobStore {
    /// A URL the client may PUT exactly `size` bytes of chunk `hash` to, for this upload only.
    pub fn put_url(&self, upload_id: &str, hash: &Hash, size: u32, ttl: Duration) -> String {
        match self {
            BlobStore::Local(s) => s.put_url(upload_id, hash, size, ttl),
        }
    }

    /// A URL the client may GET the verified chunk `hash` from.
    pub fn get_url(&self, hash: &Hash, ttl: Duration) -> String {
        match self {
            BlobStore::Local(s) => s.get_url(hash, ttl),
        }
    }

    /// Reads a verified chunk (for whole-file streaming by the API itself).
    pub async fn read(&self, hash: &Hash) -> std::io::Result<Bytes> {
        match self {
            BlobStore::Local(s) => s.read(hash).await,
        }
    }
}
