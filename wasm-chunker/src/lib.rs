//! Content-defined chunking (FastCDC 2020) and BLAKE3 hashing for Cairn: the pure core that
//! turns a stream of file bytes into a manifest and a delta plan, natively and in the browser.
//!
//! This crate does no I/O and knows nothing of HTTP, SQL or the browser. It builds for the host
//! and for `wasm32-unknown-unknown`; only [`chunk_and_hash_parallel`] (threads) is native-only.
//!
//! # Chunking
//!
//! FastCDC as in Xia et al., *The Design of Fast Content-Defined Chunking for Data
//! Deduplication Based Storage Systems* (IEEE TPDS 2020): a gear rolling hash
//! `h = (h << 1) + GEAR[byte]`, cut-point skipping (no cut, and no hashing, in the first bytes
//! of a chunk), and normalised chunking level 2: a chunk shorter than the average must match
//! a mask of `log2(avg) + 2` bits to end, a longer one only `log2(avg) - 2` bits, which pulls
//! chunk sizes towards the average. This crate's variant, named `fastcdc2020-l2`, is defined
//! exactly (and tested against a byte-at-a-time reference) in the `cut` module; in short:
//!
//! * [`GEAR`] holds 256 SplitMix64 outputs from the seed [`GEAR_SEED`] (ASCII `cairn-cd`);
//! * the masks are the top bits of the hash (the bits that depend on the most bytes);
//! * the hash starts rolling 64 bytes before `min`, so each cut decision depends only on the
//!   64 bytes ending at the candidate cut and on the chunk length so far;
//! * chunk lengths are in `[min, max]`, except the last chunk of a file, which is in `[1, max]`.
//!
//! ## Why 256 KiB / 1 MiB / 4 MiB
//!
//! [`MIN_SIZE`], [`AVG_SIZE`] and [`MAX_SIZE`] are those of Seafile's desktop client (Rabin
//! CDC, 256K/1M/4M), a file-sync product with the same trade-off as ours. Backup tools cut a
//! little coarser (restic 512K/1M/8M, borg 512K/2M/8M), since they pack chunks and care less
//! about the bytes re-sent per edit; casync's 64 KiB average dedups finer but makes 16 times as
//! many objects. Dropbox cuts fixed 4 MiB blocks, so inserting one byte re-sends everything
//! after it, while content-defined chunks re-send about one average chunk.
//!
//! Every chunk is one object and one signed PUT (S3 multipart parts must be at least 5 MiB, so
//! chunks cannot be parts): a 10 GiB file is about 10k objects, PUTs and manifest entries at a
//! 1 MiB average, and at most 40k with every chunk at the 256 KiB minimum; a 64 KiB average
//! would be 160k requests. A 4 MiB maximum bounds the memory of an in-flight chunk in the
//! browser and the bytes re-sent when one PUT fails. With these masks the mean chunk of random
//! data is about 1.1 MiB; forced cuts at `max` are rare (probability ~e^-12 per chunk).
//!
//! The parameters, the gear table and the masks decide every cut point, so manifests carry
//! [`CHUNKER_ID`] (`fastcdc2020-l2-256k-1m-4m+blake3`). Changing any of them needs a new id;
//! `tests/vectors.json` fails when the output changes. [`ChunkerParams`] makes other sizes for
//! tests and benchmarks; their ids follow the same pattern.
//!
//! # Streaming invariant
//!
//! A [`Chunker`] keeps the cut-point state (chunk length and gear hash), the offset of the
//! current chunk and an incremental BLAKE3 hasher, and never stores file bytes: memory is
//! constant whatever the file size. Feeding a stream in any sequence of slices, from one byte
//! to the whole file, yields exactly the chunks of [`chunk_all`] on the concatenation.
//!
//! One file can also be chunked in pieces at once and the pieces stitched into exactly the
//! same chunks ([`split_ranges`], [`stitch`]); see the `split` module for why that is exact.
//!
//! # Hashes
//!
//! * A chunk is named by [`hash_chunk`]: plain BLAKE3 of its bytes, which is its object key.
//! * A file's content hash is [`file_hash`]: BLAKE3 in derive-key mode with the context string
//!   [`FILE_HASH_CONTEXT`], over the chunker id's length as a little-endian `u64`, the chunker
//!   id's bytes, then for each chunk in order its 32-byte hash and its size as a little-endian
//!   `u64`. It is computed from the manifest alone, with no second pass over the bytes, and
//!   differs between chunkers for the same bytes. An empty file has no chunks, and its hash is
//!   that of the id prefix alone.
//!
//! A [`Manifest`] lists chunker, size, hash and chunks; [`Manifest::validate`] rechecks every
//! field but the cut points themselves, which only the bytes could confirm. [`delta_plan`] says
//! which chunks of a new version must be uploaded.
//!
//! # Example
//!
//! ```
//! use wasm_chunker::vectors::{vector_input, VectorKind};
//! use wasm_chunker::{chunk_all, delta_plan, Chunker, Manifest};
//!
//! let old = vector_input(1, 6 << 20, VectorKind::Random);
//! let mut new = old.clone();
//! new.insert(3 << 20, b'!');
//!
//! // Stream the new version in slices, as a browser reads a File.
//! let mut chunker = Chunker::new();
//! let mut chunks = Vec::new();
//! for slice in new.chunks(64 * 1024) {
//!     chunker.update(slice, &mut chunks);
//! }
//! chunker.finish(&mut chunks);
//! let manifest = Manifest::from_chunks(chunks);
//! manifest.validate()?;
//!
//! // One inserted byte costs about one chunk, not the rest of the file.
//! let plan = delta_plan(&chunk_all(&old), &manifest.chunks);
//! assert!(plan.upload_bytes < 3 << 20);
//! assert_eq!(plan.total_bytes, new.len() as u64);
//! # Ok::<(), wasm_chunker::ChunkerError>(())
//! ```

mod chunker;
mod cut;
mod delta;
mod error;
mod gear;
mod hash;
mod manifest;
#[cfg(not(target_arch = "wasm32"))]
mod parallel;
mod params;
mod prng;
mod split;
pub mod vectors;

pub use chunker::{chunk_all, chunk_all_with, Chunker};
pub use cut::cut_points;
pub use delta::{delta_plan, DeltaPlan};
pub use error::ChunkerError;
pub use gear::{GEAR, GEAR_SEED};
pub use hash::{file_hash, hash_chunk, Hash, FILE_HASH_CONTEXT};
pub use manifest::{ChunkRef, Manifest, MAX_CHUNKS};
#[cfg(not(target_arch = "wasm32"))]
pub use parallel::{chunk_and_hash_parallel, chunk_and_hash_parallel_with};
pub use params::{ChunkerParams, AVG_SIZE, CHUNKER_ID, MAX_PARAM, MAX_SIZE, MIN_SIZE};
pub use split::{split_ranges, stitch, Piece, SPLIT_OVERLAP};
