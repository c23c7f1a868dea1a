//! The embedded chunk store: one file per verified chunk under `chunks/ab/<hash>`, written by
//! the API's own signed-URL endpoints. Bytes are hashed as they arrive and only a match is
//! promoted, by an atomic rename after fsync, so a stored chunk always hashes to its name.
//! Receiving (hash into a temp file) and promoting (rename, under the chunk row's lock) are two
//! steps, so a promotion never interleaves with the collector deleting the same chunk.

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

/// Bytes that were received and hash to their name, waiting in a temp file to be promoted
/// (dropped unpromoted, the temp file goes away).
pub struct Received {
    tmp: TempGuard,
    pub size: u64,
}

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

    pub async fn read(&self, hash: &Hash, range: Option<(u64, u64)>) -> std::io::Result<Bytes> {
        let path = self.chunk_path(hash);
        let Some((offset, len)) = range else {
            return Ok(tokio::fs::read(path).await?.into());
        };
        use tokio::io::{AsyncReadExt, AsyncSeekExt};
        let mut f = tokio::fs::File::open(path).await?;
        f.seek(std::io::SeekFrom::Start(offset)).await?;
        let mut buf = vec![0u8; len as usize];
        f.read_exact(&mut buf).await?;
        Ok(buf.into())
    }

    pub async fn exists(&self, hash: &Hash) -> bool {
        tokio::fs::metadata(self.chunk_path(hash)).await.is_ok()
    }

    pub async fn delete(&self, hash: &Hash) -> std::io::Result<()> {
        match tokio::fs::remove_file(self.chunk_path(hash)).await {
            Err(e) if e.kind() != std::io::ErrorKind::NotFound => Err(e),
            _ => Ok(()),
        }
    }

    /// Removes temp files older than `age` that a crash left in `incoming/`.
    pub async fn sweep_incoming(&self, age: Duration) -> std::io::Result<usize> {
        let mut removed = 0;
        let mut dir = tokio::fs::read_dir(self.root.join("incoming")).await?;
        while let Some(e) = dir.next_entry().await? {
            // A PUT in progress may finish (and remove its temp file) at any moment.
            let Ok(modified) = e.metadata().await.and_then(|m| m.modified()) else {
                continue;
            };
            let old = modified.elapsed().is_ok_and(|a| a > age);
            if old && tokio::fs::remove_file(e.path()).await.is_ok() {
                removed += 1;
            }
        }
        Ok(removed)
    }

    /// Moves received, verified bytes to the chunk's path (fsync, atomic rename). If the chunk
    /// is already stored, this second copy is dropped.
    pub async fn promote(&self, hash: &Hash, mut received: Received) -> std::io::Result<bool> {
        let dest = self.chunk_path(hash);
        if self.exists(hash).await {
            return Ok(true);
        }
        let tmp = received
            .tmp
            .0
            .take()
            .expect("a received chunk has its temp file");
        let dir = dest.parent().expect("chunk paths have a parent");
        tokio::fs::create_dir_all(dir).await?;
        if let Err(e) = tokio::fs::rename(&tmp, &dest).await {
            let _ = tokio::fs::remove_file(&tmp).await;
            return Err(e);
        }
        tokio::fs::File::open(dir).await?.sync_all().await?;
        Ok(true)
    }

    /// Streams a body to a temp file, hashing as it goes; answers it only on a match.
    pub async fn receive<S, E>(
        &self,
        hash: &Hash,
        max_bytes: u64,
        mut body: S,
    ) -> Result<Received, ReceiveError>
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
        Ok(Received {
            tmp: TempGuard(guard.0.take()),
            size: received,
        })
    }
}
