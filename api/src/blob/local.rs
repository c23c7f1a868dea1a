//! The embedded chunk store: one file per verified chunk under `chunks/ab/<hash>`, written by
//! the API's own signed-URL endpoints. Bytes are hashed as they arrive and only a match is
//! promoted, by an atomic rename after fsync, so a stored chunk always hashes to its name.

use std::path::{Path, PathBuf};
use std::time::Duration;

use bytes::Bytes;
use futures::{Stream, StreamExt};
use rand::RngCore;
use tokio::io::AsyncWriteExt;
use wire::Hash;

use super::signer::{Grant, Signer};
use crate::db::now_ms;

pub struct LocalStore {
    root: PathBuf,
    pub signer: Signer,
}

/// Why a received body was not stored.
#[derive(Debug)]
pub enum ReceiveError {
    TooLarge,
    Mismatch,
    Body(String),
    Io(std::io::Error),
}

impl From<std::io::Error> for ReceiveError {
    fn from(e: std::io::Error) -> Self {
        ReceiveError::Io(e)
    }
}

/// Removes a half-written temp file when the receive is interrupted or refused.
struct TempGuard(Option<PathBuf>);

impl Drop for TempGuard {
    fn drop(&mut self) {
        if let Some(p) = self.0.take() {
            let _ = std::fs::remove_file(p);
        }
    }
}

impl LocalStore {
    pub fn open(root: &Path) -> std::io::Result<LocalStore> {
        std::fs::create_dir_all(root.join("chunks"))?;
        std::fs::create_dir_all(root.join("incoming"))?;
        let signer = Signer::load_or_create(&root.join("url-signing.key"))?;
        Ok(LocalStore {
            root: root.to_owned(),
            signer,
        })
    }

    fn chunk_path(&self, hash: &Hash) -> PathBuf {
        let hex = hash.to_string();
        self.root.join("chunks").join(&hex[..2]).join(hex)
    }

    pub fn put_url(&self, upload_id: &str, hash: &Hash, size: u32, ttl: Duration) -> String {
        let object = format!("staging/{upload_id}/{hash}");
        self.url("PUT", &object, size as u64, ttl)
    }

    pub fn get_url(&self, hash: &Hash, ttl: Duration) -> String {
        let object = format!("chunks/{hash}");
        self.url("GET", &object, 0, ttl)
    }

    fn url(&self, method: &str, object: &str, max_bytes: u64, ttl: Duration) -> String {
        let expires_at = now_ms() / 1000 + ttl.as_secs() as i64;
        let sig = self.signer.sign(&Grant {
            method,
            object,
            expires_at,
            max_bytes,
        });
        format!("/blobs/{object}?exp={expires_at}&max={max_bytes}&sig={sig}")
    }

    pub async fn read(&self, hash: &Hash) -> std::io::Result<Bytes> {
        Ok(tokio::fs::read(self.chunk_path(hash)).await?.into())
    }

    pub async fn exists(&self, hash: &Hash) -> bool {
        tokio::fs::metadata(self.chunk_path(hash)).await.is_ok()
    }

    /// Streams a body to disk, hashing as it goes; promotes it to `hash` only on a match.
    pub async fn receive<S, E>(
        &self,
        hash: &Hash,
        max_bytes: u64,
        mut body: S,
    ) -> Result<u64, ReceiveError>
    where
        S: Stream<Item = Result<Bytes, E>> + Unpin,
        E: std::fmt::Display,
    {
        let mut suffix = [0u8; 8];
        rand::rngs::OsRng.fill_bytes(&mut suffix);
        let tmp = self
            .root
            .join("incoming")
            .join(format!("{hash}.{}", hex::encode(suffix)));
        let mut guard = TempGuard(Some(tmp.clone()));
        let mut file = tokio::fs::File::create(&tmp).await?;
        let mut hasher = blake3::Hasher::new();
        let mut received = 0u64;
        while let Some(piece) = body.next().await {
            let piece = piece.map_err(|e| ReceiveError::Body(e.to_string()))?;
            received += piece.len() as u64;
            if received > max_bytes {
                return Err(ReceiveError::TooLarge);
            }
            hasher.update(&piece);
            file.write_all(&piece).await?;
        }
        if received != max_bytes || Hash(*hasher.finalize().as_bytes()) != *hash {
            return Err(ReceiveError::Mismatch);
        }
        file.sync_all().await?;
        drop(file);
        let dest = self.chunk_path(hash);
        if self.exists(hash).await {
            // Verified bytes are already stored: the second copy is dropped by the guard.
            return Ok(received);
        }
        let dir = dest.parent().expect("chunk paths have a parent");
        tokio::fs::create_dir_all(dir).await?;
        tokio::fs::rename(&tmp, &dest).await?;
        guard.0 = None;
        tokio::fs::File::open(dir).await?.sync_all().await?;
        Ok(received)
    }
}
