//! The embedded chunk store: one file per verified chunk under `chunks/ab/<hash>`, written by
//! the API's own signed-URL endpoints. Bytes are hashed as they arrive and only a match is
//! promoted, by an atomic rename after fsync, so a stored chunk always hashes to its name.
//! Receiving (hash into a temp file) and promoting (rename, under the chunk row's lock) are two
//! steps, so a promotion never interleaves with the collector deleting the same chunk.
//!
//! A PUT costs the same whether or not the chunk was already stored, so the answer's timing
//! cannot tell a client what someone else stores: a second copy is written, fsynced, renamed to
//! a fresh name and its directory fsynced exactly like a new chunk — into the very directory
//! the chunk lives in, as `chunks/ab/<hash>.<random>` — and the collector deletes it later.
//! Two near misses taught the details: renaming it over the stored chunk frees the old inode
//! inside the request, which ext4 makes measurably slower; and setting it aside in a
//! directory of its own (`duplicates/`, until 2026-12) left ext4 work behind that made the
//! *next* request's fsync ~0.4 ms slower, so a probe followed by any request told stored
//! bytes from new ones (`tests/it/dedup_timing.rs` caught it on some runs, 70 % right).
//! A body that stalls or trickles is cut off ([`BodyLimits`]) and its temp file removed.

use std::path::{Path, PathBuf};
use std::time::Duration;

use bytes::Bytes;
use futures::{Stream, StreamExt};
use rand::RngCore;
use tokio::io::AsyncWriteExt;
use tokio::time::Instant;
use wire::Hash;

use super::signer::{Grant, Signer};
use crate::clock::Clock;

/// Where second copies of stored chunks were set aside before they went beside the chunk;
/// the collector empties and removes it on a store that still has it.
const OLD_DUPLICATES: &str = "duplicates";

pub struct LocalStore {
    root: PathBuf,
    pub signer: Signer,
    /// When signed URLs are made (their expiry counts from it).
    clock: Clock,
    /// Prefix directories that may hold second copies (`<hash>.<random>`) for the collector:
    /// every one at start (a crash may have left some), then those a promotion set one aside
    /// in, so a sweep reads only directories that have something to delete.
    spares: std::sync::Mutex<std::collections::BTreeSet<u8>>,
}

/// Why a received body was not stored.
#[derive(Debug)]
pub enum ReceiveError {
    TooLarge,
    Mismatch,
    /// The body stalled longer than the idle limit, or did not finish by its deadline.
    Timeout,
    Body(String),
    Io(std::io::Error),
}

/// How long a PUT body may take to arrive: at most `idle` waiting for its next piece, and
/// `idle` plus what `min_rate` bytes per second needs for the signed size in all. Without them
/// a client that sends a little and stops holds a connection, a file handle and a temp file.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct BodyLimits {
    pub idle: Duration,
    /// Bytes per second; at least 1.
    pub min_rate: u64,
}

impl BodyLimits {
    /// The whole time a body of `size` bytes may take.
    pub fn overall(&self, size: u64) -> Duration {
        self.idle + Duration::from_secs_f64(size as f64 / self.min_rate.max(1) as f64)
    }
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
    pub fn open(root: &Path, clock: Clock) -> std::io::Result<LocalStore> {
        // Every prefix directory exists from the start, so the first chunk under a prefix
        // costs no extra mkdir that would set it apart from a chunk already stored.
        for prefix in 0..=255u8 {
            std::fs::create_dir_all(root.join("chunks").join(hex::encode([prefix])))?;
        }
        std::fs::create_dir_all(root.join("incoming"))?;
        let signer = Signer::load_or_create(&root.join("url-signing.key"))?;
        Ok(LocalStore {
            root: root.to_owned(),
            signer,
            clock,
            spares: std::sync::Mutex::new((0..=255u8).collect()),
        })
    }

    pub fn chunk_path(&self, hash: &Hash) -> PathBuf {
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
        let expires_at = self.clock.now_ms() / 1000 + ttl.as_secs() as i64;
        self.signer.path(&Grant {
            method,
            object,
            expires_at,
            max_bytes,
        })
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

    /// Removes what receiving and promoting leave behind: temp files older than `age` that a
    /// crash left in `incoming/`, and every second copy set aside beside its chunk (nothing
    /// reads those; a promotion only ever renames new names in).
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
        let prefixes = std::mem::take(&mut *self.spares.lock().expect("spares lock"));
        for prefix in prefixes {
            for spare in self.spares_in(prefix).await? {
                if tokio::fs::remove_file(spare).await.is_ok() {
                    removed += 1;
                }
            }
        }
        let old = self.root.join(OLD_DUPLICATES);
        if let Ok(mut dir) = tokio::fs::read_dir(&old).await {
            while let Some(e) = dir.next_entry().await? {
                if tokio::fs::remove_file(e.path()).await.is_ok() {
                    removed += 1;
                }
            }
            let _ = tokio::fs::remove_dir(&old).await;
        }
        Ok(removed)
    }

    /// The second copies in prefix directory `prefix`: names with a dot (a chunk's is its hash).
    async fn spares_in(&self, prefix: u8) -> std::io::Result<Vec<PathBuf>> {
        let dir = self.root.join("chunks").join(hex::encode([prefix]));
        let mut out = Vec::new();
        let mut entries = match tokio::fs::read_dir(&dir).await {
            Ok(d) => d,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(out),
            Err(e) => return Err(e),
        };
        while let Some(e) = entries.next_entry().await? {
            if e.file_name().to_string_lossy().contains('.') {
                out.push(e.path());
            }
        }
        Ok(out)
    }

    /// Second copies waiting beside their chunks for the collector (tests).
    pub async fn duplicates(&self) -> std::io::Result<usize> {
        let mut n = 0;
        for prefix in 0..=255u8 {
            n += self.spares_in(prefix).await?.len();
        }
        Ok(n)
    }

    /// Makes received, verified bytes the chunk's: an atomic rename of the fsynced temp file to
    /// the chunk's path, then an fsync of its directory. If the chunk is already stored, the
    /// copy is renamed to a fresh name beside it (`<hash>.<random>`) instead — the same calls
    /// on a name that does not exist yet in the same directory, so storing bytes someone else holds
    /// takes as long as storing new ones, and nothing stored is touched. The caller holds the
    /// chunk row's lock, so the collector cannot delete the chunk in between.
    pub async fn promote(&self, hash: &Hash, mut received: Received) -> std::io::Result<bool> {
        let dest = self.chunk_path(hash);
        let mut suffix = [0u8; 8];
        rand::rngs::OsRng.fill_bytes(&mut suffix);
        let spare = dest.with_extension(hex::encode(suffix));
        let tmp = received
            .tmp
            .0
            .take()
            .expect("a received chunk has its temp file");
        // One blocking task for all the calls: one thread hop, the same in both cases.
        let set_aside = tokio::task::spawn_blocking(move || {
            let (target, set_aside) = match std::fs::symlink_metadata(&dest) {
                Ok(_) => (spare, true),
                Err(e) if e.kind() == std::io::ErrorKind::NotFound => (dest, false),
                Err(e) => {
                    let _ = std::fs::remove_file(&tmp);
                    return Err(e);
                }
            };
            let dir = target.parent().expect("chunk paths have a parent");
            // The directories are made at open; this only restores one removed since.
            let moved = std::fs::create_dir_all(dir).and_then(|_| std::fs::rename(&tmp, &target));
            if let Err(e) = moved {
                let _ = std::fs::remove_file(&tmp);
                return Err(e);
            }
            std::fs::File::open(dir)?.sync_all()?;
            Ok(set_aside)
        })
        .await
        .map_err(std::io::Error::other)??;
        // Marked once the copy is there: a sweep that took the marks before sees it next time.
        if set_aside {
            let mut spares = self.spares.lock().expect("spares lock");
            spares.insert(hash.0[0]);
        }
        Ok(true)
    }

    /// Streams a body to a temp file, hashing as it goes; answers it only on a match. A body
    /// that breaks `limits` is refused with `Timeout` (and its temp file removed).
    pub async fn receive<S, E>(
        &self,
        hash: &Hash,
        max_bytes: u64,
        limits: BodyLimits,
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
        let received = read_body(hash, max_bytes, limits, &mut body, &mut file).await?;
        file.sync_all().await?;
        drop(file);
        Ok(Received {
            tmp: TempGuard(guard.0.take()),
            size: received,
        })
    }
}

/// Reads a chunk PUT's body into `out` within `limits`: exactly `max_bytes` bytes that hash
/// to `hash`, or the reason not. Answers the bytes read.
pub async fn read_body<S, E, W>(
    hash: &Hash,
    max_bytes: u64,
    limits: BodyLimits,
    body: &mut S,
    out: &mut W,
) -> Result<u64, ReceiveError>
where
    S: Stream<Item = Result<Bytes, E>> + Unpin,
    E: std::fmt::Display,
    W: tokio::io::AsyncWrite + Unpin,
{
    let mut hasher = blake3::Hasher::new();
    let mut received = 0u64;
    let deadline = Instant::now() + limits.overall(max_bytes);
    loop {
        let wait_until = (Instant::now() + limits.idle).min(deadline);
        let piece = match tokio::time::timeout_at(wait_until, body.next()).await {
            Err(_) => return Err(ReceiveError::Timeout),
            Ok(None) => break,
            Ok(Some(piece)) => piece,
        };
        let piece = piece.map_err(|e| ReceiveError::Body(e.to_string()))?;
        received += piece.len() as u64;
        if received > max_bytes {
            return Err(ReceiveError::TooLarge);
        }
        hasher.update(&piece);
        out.write_all(&piece).await?;
    }
    if received != max_bytes || Hash(*hasher.finalize().as_bytes()) != *hash {
        return Err(ReceiveError::Mismatch);
    }
    Ok(received)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_overall_limit_grows_with_the_size_at_the_minimum_rate() {
        let limits = BodyLimits {
            idle: Duration::from_secs(30),
            min_rate: 8192,
        };
        assert_eq!(limits.overall(0), Duration::from_secs(30));
        assert_eq!(limits.overall(4 << 20), Duration::from_secs(30 + 512));
        // A rate of 0 (refused by the settings) would mean no bound; it counts as 1 B/s.
        let zero = BodyLimits {
            min_rate: 0,
            ..limits
        };
        assert_eq!(zero.overall(10), Duration::from_secs(40));
    }
}
