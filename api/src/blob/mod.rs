//! Where chunk bytes live, behind one interface: a local directory (the embedded default, whose
//! signed URLs the API serves itself) or, by configuration, an S3-compatible store.
//!
//! Clients move bytes with short-lived signed URLs; a PUT URL always names a per-upload staging
//! key, never a verified chunk, so a replayed URL cannot overwrite bytes someone relies on.
//! Promoting verified bytes to a chunk's key and deleting a chunk (GC) both happen under that
//! chunk row's lock (`promote::record`, `gc`), so they never interleave.

pub mod early;
pub mod inline;
pub mod inline_queue;
pub mod lanes;
pub mod local;
pub mod promote;
pub mod s3;
pub mod signer;

use std::time::Duration;

use bytes::Bytes;
use wire::Hash;

pub use local::LocalStore;
pub use s3::S3Store;

pub enum BlobStore {
    Local(LocalStore),
    S3(S3Store),
}

impl BlobStore {
    /// A URL the client may PUT exactly `size` bytes of chunk `hash` to, for this upload only.
    pub async fn put_url(
        &self,
        upload_id: &str,
        hash: &Hash,
        size: u32,
        ttl: Duration,
    ) -> std::io::Result<String> {
        match self {
            BlobStore::Local(s) => Ok(s.put_url(upload_id, hash, size, ttl)),
            BlobStore::S3(s) => s.put_url(upload_id, hash, size, ttl).await,
        }
    }

    /// A URL the client may GET the verified chunk `hash` from.
    pub async fn get_url(&self, hash: &Hash, ttl: Duration) -> std::io::Result<String> {
        match self {
            BlobStore::Local(s) => Ok(s.get_url(hash, ttl)),
            BlobStore::S3(s) => s.get_url(hash, ttl).await,
        }
    }

    /// Reads a verified chunk, or `len` bytes of it from `offset` (whole-file streaming).
    pub async fn read(&self, hash: &Hash, range: Option<(u64, u64)>) -> std::io::Result<Bytes> {
        match self {
            BlobStore::Local(s) => s.read(hash, range).await,
            BlobStore::S3(s) => s.read(hash, range).await,
        }
    }

    /// Deletes a verified chunk's bytes (GC, under the chunk row's lock).
    pub async fn delete_chunk(&self, hash: &Hash) -> std::io::Result<()> {
        match self {
            BlobStore::Local(s) => s.delete(hash).await,
            BlobStore::S3(s) => s.delete(&s3::chunk_key(hash)).await,
        }
    }

    /// Whether a verified chunk's bytes are stored (tests and consistency checks).
    pub async fn chunk_exists(&self, hash: &Hash) -> std::io::Result<bool> {
        match self {
            BlobStore::Local(s) => Ok(s.exists(hash).await),
            BlobStore::S3(s) => s.exists(&s3::chunk_key(hash)).await,
        }
    }

    /// Removes what an abandoned upload left in staging.
    pub async fn drop_staging(&self, upload_id: &str) -> std::io::Result<()> {
        match self {
            // The local store stages in temp files that live only during one PUT.
            BlobStore::Local(_) => Ok(()),
            BlobStore::S3(s) => s
                .delete_prefix(&format!("staging/{upload_id}/"))
                .await
                .map(|_| ()),
        }
    }
}
