//! File bytes assembled from their chunk list, read a few chunks ahead, every chunk checked
//! against its BLAKE3 name before a byte of it goes out, and each piece offered to a [`Meter`]
//! (a share link's download budget) just before it is handed to the connection.
//!
//! A chunk is always read and checked whole, even when a `Range` needs a few bytes of it: a
//! partial read cannot be verified. A chunk whose bytes do not match ends the body with an
//! error, so the client sees a truncated answer (its `Content-Length` is not met) and never
//! the bad bytes.

use std::sync::Arc;

use bytes::Bytes;
use futures::future::BoxFuture;
use futures::{Stream, StreamExt};
use wire::{ChunkRef, Hash};

use crate::blob::BlobStore;
use crate::error::ApiError;
use crate::state::AppState;

/// Chunks read and verified ahead of the one being sent (up to 4 MiB each), from a local
/// directory: more does not help once the page cache holds them (`cargo xtask bench-share`).
pub const READ_AHEAD: usize = 4;
/// The same from S3, where each chunk is a request's round trip: against a single-node Garage
/// on the same 2 cores, 2 ahead gave 116 MB/s, 4 gave 162, 8 gave 244, 16 gave 341–354 and 24
/// no more (344), so 16 (≈16 MiB, at most 64 MiB, held per download).
pub const S3_READ_AHEAD: usize = 16;

/// Why a body could not go on.
#[derive(Debug, thiserror::Error)]
pub enum ServeError {
    #[error("stored chunk {0} does not hash to its name")]
    Corrupt(Hash),
    #[error("stored chunk {hash} has {got} bytes where {want} were recorded")]
    WrongSize { hash: Hash, got: usize, want: u32 },
    #[error("cannot read chunk {0}: {1}")]
    Read(Hash, std::io::Error),
    #[error("stored data disagrees with itself: {0}")]
    Inconsistent(String),
    #[error("the meter refused the next piece")]
    Refused,
    #[error("the meter failed: {0}")]
    Meter(ApiError),
}

/// Where verified chunk bytes come from: the server's store, or a map in unit tests.
pub trait ChunkReader: Send + Sync + 'static {
    /// The whole chunk, its size and BLAKE3 hash checked.
    fn read_chunk(&self, chunk: ChunkRef) -> BoxFuture<'static, Result<Bytes, ServeError>>;

    /// How many chunks to read ahead of the one being sent.
    fn read_ahead(&self) -> usize {
        READ_AHEAD
    }
}

/// Asked before each piece of file content goes out (headers and zip records are free).
pub trait Meter: Send + Sync + 'static {
    /// Whether `n` more bytes of version `version_id` (a file of `size` bytes) may be sent;
    /// `true` means they are charged.
    fn charge(
        &self,
        version_id: i64,
        size: u64,
        n: u64,
    ) -> BoxFuture<'static, Result<bool, ApiError>>;
    /// The answer when the very first piece is refused (nothing was sent yet).
    fn exhausted(&self) -> ApiError;
}

/// `bytes` if they are chunk `c`.
pub fn verify(c: ChunkRef, bytes: Bytes) -> Result<Bytes, ServeError> {
    if bytes.len() != c.size as usize {
        return Err(ServeError::WrongSize {
            hash: c.hash,
            got: bytes.len(),
            want: c.size,
        });
    }
    if wasm_chunker::hash_chunk(&bytes) != c.hash {
        return Err(ServeError::Corrupt(c.hash));
    }
    Ok(bytes)
}

impl ChunkReader for AppState {
    fn read_ahead(&self) -> usize {
        match &self.blobs {
            BlobStore::Local(_) => READ_AHEAD,
            BlobStore::S3(_) => S3_READ_AHEAD,
        }
    }

    fn read_chunk(&self, c: ChunkRef) -> BoxFuture<'static, Result<Bytes, ServeError>> {
        let state = self.clone();
        Box::pin(async move {
            let join =
                |e: tokio::task::JoinError| ServeError::Read(c.hash, std::io::Error::other(e));
            match &state.blobs {
                // One trip to the blocking pool reads and hashes, off the async workers.
                BlobStore::Local(s) => {
                    let path = s.chunk_path(&c.hash);
                    tokio::task::spawn_blocking(move || {
                        let bytes =
                            std::fs::read(&path).map_err(|e| ServeError::Read(c.hash, e))?;
                        verify(c, bytes.into())
                    })
                    .await
                    .map_err(join)?
                }
                BlobStore::S3(s) => {
                    let bytes = s
                        .read(&c.hash, None)
                        .await
                        .map_err(|e| ServeError::Read(c.hash, e))?;
                    tokio::task::spawn_blocking(move || verify(c, bytes))
                        .await
                        .map_err(join)?
                }
            }
        })
    }
}

/// A slice of one chunk: `len` bytes from `from` within it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Piece {
    pub chunk: ChunkRef,
    pub from: u64,
    pub len: u64,
}

/// The pieces of `list` covering `len` bytes of the file from `start`.
pub fn pieces(list: &[ChunkRef], start: u64, len: u64) -> Vec<Piece> {
    let end = start + len;
    list.iter()
        .filter(|c| c.offset < end && c.offset + c.size as u64 > start)
        .map(|c| {
            let from = start.max(c.offset);
            let to = end.min(c.offset + c.size as u64);
            Piece {
                chunk: *c,
                from: from - c.offset,
                len: to - from,
            }
        })
        .collect()
}

/// The verified bytes of one piece.
pub fn fetch(
    reader: &Arc<dyn ChunkReader>,
    p: Piece,
) -> BoxFuture<'static, Result<Bytes, ServeError>> {
    let whole = reader.read_chunk(p.chunk);
    Box::pin(async move {
        let bytes = whole.await?;
        Ok(bytes.slice(p.from as usize..(p.from + p.len) as usize))
    })
}

/// What a body stream carries: records of our own making, or file content to be metered.
#[derive(Debug)]
pub enum Out {
    Meta(Bytes),
    Data {
        version_id: i64,
        size: u64,
        bytes: Bytes,
    },
}

impl Out {
    pub fn into_bytes(self) -> Bytes {
        match self {
            Out::Meta(b) | Out::Data { bytes: b, .. } => b,
        }
    }
}

/// The content of one file version, `pieces` of it, read ahead and verified.
pub fn file_content(
    reader: Arc<dyn ChunkReader>,
    version_id: i64,
    size: u64,
    pieces: Vec<Piece>,
) -> impl Stream<Item = Result<Out, ServeError>> + Send + 'static {
    let ahead = reader.read_ahead();
    futures::stream::iter(pieces)
        .map(move |p| {
            let f = fetch(&reader, p);
            async move {
                Ok(Out::Data {
                    version_id,
                    size,
                    bytes: f.await?,
                })
            }
        })
        .buffered(ahead)
}

/// `stream` with every `Data` item charged to `meter` first; a refusal or an error ends it.
pub fn metered<S>(
    stream: S,
    meter: Option<Arc<dyn Meter>>,
) -> impl Stream<Item = Result<Out, ServeError>> + Send + 'static
where
    S: Stream<Item = Result<Out, ServeError>> + Send + 'static,
{
    let stream = stream.then(move |item| {
        let meter = meter.clone();
        async move {
            match (item, meter) {
                (
                    Ok(Out::Data {
                        version_id,
                        size,
                        bytes,
                    }),
                    Some(m),
                ) => match m.charge(version_id, size, bytes.len() as u64).await {
                    Ok(true) => Ok(Out::Data {
                        version_id,
                        size,
                        bytes,
                    }),
                    Ok(false) => Err(ServeError::Refused),
                    Err(e) => Err(ServeError::Meter(e)),
                },
                (item, _) => item,
            }
        }
    });
    // Nothing after the first error: a body that failed must not go on.
    stream.scan(false, |failed, item| {
        let out = if *failed {
            None
        } else {
            *failed = item.is_err();
            Some(item)
        };
        futures::future::ready(out)
    })
}

/// A body stream whose start has been pulled: everything up to and including the first piece
/// of content, so a refusal or a bad first chunk can still be answered with a status.
pub struct Primed {
    head: Vec<Bytes>,
    rest: futures::stream::BoxStream<'static, Result<Out, ServeError>>,
}

/// Pulls `stream` until its first content piece (or its end).
pub async fn prime<S>(stream: S) -> Result<Primed, ServeError>
where
    S: Stream<Item = Result<Out, ServeError>> + Send + 'static,
{
    let mut rest = stream.boxed();
    let mut head = Vec::new();
    while let Some(item) = rest.next().await {
        let data = matches!(item, Ok(Out::Data { .. }));
        head.push(item?.into_bytes());
        if data {
            break;
        }
    }
    Ok(Primed { head, rest })
}

impl Primed {
    /// The bytes, in order; a mid-stream failure is logged with `what` and ends the body.
    pub fn into_stream(
        self,
        what: &'static str,
        id: i64,
    ) -> impl Stream<Item = Result<Bytes, ServeError>> + Send + 'static {
        futures::stream::iter(self.head.into_iter().map(Ok)).chain(self.rest.map(move |item| {
            match item {
                Ok(out) => Ok(out.into_bytes()),
                Err(e) => {
                    match &e {
                        ServeError::Refused => {
                            tracing::info!(what, id, "download budget spent midway")
                        }
                        e => tracing::error!(what, id, error = %e, "streaming stopped midway"),
                    }
                    Err(e)
                }
            }
        }))
    }
}

/// The API's answer for an error met before anything was sent.
pub fn start_error(
    e: ServeError,
    meter: Option<&Arc<dyn Meter>>,
    what: &'static str,
    id: i64,
) -> ApiError {
    match e {
        ServeError::Refused => match meter {
            Some(m) => m.exhausted(),
            None => ApiError::Internal(anyhow::anyhow!("refused without a meter")),
        },
        ServeError::Meter(e) => e,
        e => {
            tracing::error!(what, id, error = %e, "cannot start streaming");
            ApiError::Internal(anyhow::anyhow!("cannot read stored bytes"))
        }
    }
}

#[cfg(test)]
pub mod tests {
    use std::collections::HashMap;
    use std::sync::atomic::{AtomicU64, Ordering};
    use std::sync::Mutex;

    use super::*;

    /// Chunks in memory, keyed by the hash they claim (so a test can store wrong bytes).
    #[derive(Default)]
    pub struct MemChunks(pub Mutex<HashMap<Hash, Bytes>>);

    impl ChunkReader for MemChunks {
        fn read_chunk(&self, c: ChunkRef) -> BoxFuture<'static, Result<Bytes, ServeError>> {
            let got = self.0.lock().unwrap().get(&c.hash).cloned();
            Box::pin(async move {
                let bytes = got
                    .ok_or_else(|| ServeError::Read(c.hash, std::io::ErrorKind::NotFound.into()))?;
                verify(c, bytes)
            })
        }
    }

    impl MemChunks {
        /// Stores `data` cut into chunks of `size` bytes; answers their list.
        pub fn file(&self, data: &[u8], size: usize) -> Vec<ChunkRef> {
            let mut out = Vec::new();
            for (i, part) in data.chunks(size).enumerate() {
                let hash = wasm_chunker::hash_chunk(part);
                self.0
                    .lock()
                    .unwrap()
                    .insert(hash, Bytes::copy_from_slice(part));
                out.push(ChunkRef {
                    hash,
                    offset: (i * size) as u64,
                    size: part.len() as u32,
                });
            }
            out
        }
    }

    /// Grants `budget` bytes in all, then refuses.
    pub struct Budget(pub AtomicU64);

    impl Meter for Budget {
        fn charge(&self, _: i64, _: u64, n: u64) -> BoxFuture<'static, Result<bool, ApiError>> {
            let ok = self
                .0
                .fetch_update(Ordering::SeqCst, Ordering::SeqCst, |left| {
                    left.checked_sub(n)
                })
                .is_ok();
            Box::pin(async move { Ok(ok) })
        }
        fn exhausted(&self) -> ApiError {
            ApiError::Forbidden
        }
    }

    fn data(n: usize) -> Vec<u8> {
        (0..n).map(|i| (i * 7 % 251) as u8).collect()
    }

    async fn collect(
        s: impl Stream<Item = Result<Out, ServeError>>,
    ) -> (Vec<u8>, Option<ServeError>) {
        let mut out = Vec::new();
        let mut s = Box::pin(s);
        while let Some(item) = s.next().await {
            match item {
                Ok(o) => out.extend_from_slice(&o.into_bytes()),
                Err(e) => return (out, Some(e)),
            }
        }
        (out, None)
    }

    #[test]
    fn pieces_cover_exactly_the_range() {
        let h = Hash([0; 32]);
        let list = [(0, 10), (10, 10), (20, 5)].map(|(offset, size)| ChunkRef {
            hash: h,
            offset,
            size,
        });
        let got: Vec<(u64, u64, u64)> = pieces(&list, 5, 17)
            .into_iter()
            .map(|p| (p.chunk.offset, p.from, p.len))
            .collect();
        assert_eq!(got, vec![(0, 5, 5), (10, 0, 10), (20, 0, 2)]);
        assert_eq!(pieces(&list, 0, 25).len(), 3);
        assert_eq!(
            pieces(&list, 24, 1),
            vec![Piece {
                chunk: list[2],
                from: 4,
                len: 1
            }]
        );
        assert!(pieces(&list, 0, 0).is_empty());
    }

    #[tokio::test]
    async fn ranges_come_out_exact_and_verified() {
        let mem = Arc::new(MemChunks::default());
        let d = data(1000);
        let list = mem.file(&d, 64);
        let reader: Arc<dyn ChunkReader> = mem;
        for (start, len) in [(0, 1000), (1, 998), (63, 2), (640, 1), (999, 1), (100, 0)] {
            let s = file_content(reader.clone(), 1, 1000, pieces(&list, start, len));
            let (got, err) = collect(s).await;
            assert!(err.is_none());
            assert_eq!(got, &d[start as usize..(start + len) as usize]);
        }
    }

    #[tokio::test]
    async fn a_bad_chunk_ends_the_stream_before_its_bytes() {
        let mem = Arc::new(MemChunks::default());
        let d = data(1000);
        let list = mem.file(&d, 100);
        // Chunk 5's bytes rot (same size, other content).
        let mut bad = d[500..600].to_vec();
        bad[17] ^= 1;
        mem.0.lock().unwrap().insert(list[5].hash, bad.into());
        let reader: Arc<dyn ChunkReader> = mem;
        let s = metered(file_content(reader, 1, 1000, pieces(&list, 0, 1000)), None);
        let (got, err) = collect(s).await;
        assert!(matches!(err, Some(ServeError::Corrupt(h)) if h == list[5].hash));
        assert_eq!(got, &d[..500]);
    }

    #[tokio::test]
    async fn the_meter_sees_every_content_byte_and_can_stop_the_stream() {
        let mem = Arc::new(MemChunks::default());
        let d = data(1000);
        let list = mem.file(&d, 100);
        let reader: Arc<dyn ChunkReader> = mem;
        let meter: Arc<dyn Meter> = Arc::new(Budget(AtomicU64::new(350)));
        let s = metered(
            file_content(reader.clone(), 1, 1000, pieces(&list, 50, 950)),
            Some(meter.clone()),
        );
        let (got, err) = collect(s).await;
        // 50 + 100 + 100 + 100 = 350 granted; the next piece is refused whole.
        assert!(matches!(err, Some(ServeError::Refused)));
        assert_eq!(got, &d[50..400]);
        // Nothing left: the first piece is refused, before anything is sent.
        let s = metered(
            file_content(reader, 1, 1000, pieces(&list, 0, 10)),
            Some(meter),
        );
        assert!(matches!(prime(s).await, Err(ServeError::Refused)));
    }
}
