//! A manifest sent in parts. A file at the chunk limit (1,048,576 chunks) has a manifest of
//! about 100 MB of JSON, far above what one request body may carry, so a large manifest goes
//! up as a draft: its head (`POST /api/v1/manifests`), then its chunk list in numbered parts of
//! `part_chunks` entries each (`PUT /api/v1/manifests/{id}/parts/{n}`), then
//! `POST /api/v1/uploads` names the draft (`{"manifest_id"}`) and the server puts the parts
//! together and checks the whole manifest as it checks one sent inline.
//!
//! A part's entries carry no offsets: the server knows where each part starts (part `n` holds
//! chunks `n * part_chunks ..`) and adds the offsets itself, so a part is smaller and cannot
//! disagree with another about where the file's bytes lie.

use serde::{Deserialize, Serialize};

use crate::{ChunkRef, Hash, Manifest};

/// Chunks a manifest may carry inline before clients send it in parts: 8,192 entries are
/// about 1 MB of JSON (a quarter of the body limit), a file of ~8 GiB at the chunker's average.
pub const INLINE_MAX_CHUNKS: usize = 8192;

/// The server's default `part_chunks`: a 10 GiB file (~10,240 chunks) goes in two parts.
pub const DEFAULT_PART_CHUNKS: u32 = 8192;

/// The most entries a part may be set to carry: 16,384 entries are about 1.6 MB of JSON, well
/// under the 4 MiB body limit whatever the sizes' digits.
pub const MAX_PART_CHUNKS: u32 = 16_384;

/// `POST /api/v1/manifests`: a manifest's head; its chunks follow in parts.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct ManifestDraftRequest {
    /// As in `Manifest`: exactly `fastcdc2020-l2-256k-1m-4m+blake3`.
    pub chunker: String,
    /// The file's length in bytes: the sum of the chunk sizes.
    pub size: u64,
    /// The file hash over the whole chunk list, as in `Manifest`.
    #[cfg_attr(feature = "openapi", schema(value_type = String, pattern = "^[0-9a-f]{64}$"))]
    pub hash: Hash,
    /// How many chunks the parts will hold together: 1 to 1,048,576.
    #[cfg_attr(feature = "openapi", schema(minimum = 1, maximum = 1_048_576))]
    pub chunk_count: u32,
}

/// A draft to send the parts of.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct ManifestDraft {
    /// Name it in `PUT /api/v1/manifests/{id}/parts/{n}` and `POST /api/v1/uploads`.
    pub id: String,
    /// Entries every part but the last holds; the last holds the rest.
    pub part_chunks: u32,
    /// How many parts: `ceil(chunk_count / part_chunks)`, numbered from 0.
    pub parts: u32,
    /// When the draft is dropped unless an upload was opened from it, milliseconds since the
    /// Unix epoch (as long as an unfinished upload is kept).
    pub expires_at: i64,
}

/// `PUT /api/v1/manifests/{id}/parts/{n}`: chunks `n * part_chunks ..` of the file, in order.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct ManifestPart {
    pub chunks: Vec<PartChunk>,
}

/// One chunk of a part: a `ChunkRef` without its offset, which the server adds.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct PartChunk {
    /// The BLAKE3 hash of the chunk's bytes, 64 lowercase hex digits.
    #[cfg_attr(feature = "openapi", schema(value_type = String, pattern = "^[0-9a-f]{64}$"))]
    pub hash: Hash,
    /// 1 to 4,194,304 bytes; at least 262,144 unless it is the file's last chunk.
    #[cfg_attr(feature = "openapi", schema(minimum = 1, maximum = 4_194_304))]
    pub size: u32,
}

/// How many parts `chunk_count` chunks take at `part_chunks` a part.
pub fn part_count(chunk_count: u32, part_chunks: u32) -> u32 {
    chunk_count.div_ceil(part_chunks.max(1))
}

/// Whether `manifest` goes up in parts rather than inline (`POST /api/v1/uploads` alone, never
/// in a batch).
pub fn goes_in_parts(manifest: &Manifest) -> bool {
    manifest.chunks.len() > INLINE_MAX_CHUNKS
}

/// The head of `manifest`, for `POST /api/v1/manifests`.
pub fn draft_request(manifest: &Manifest) -> ManifestDraftRequest {
    ManifestDraftRequest {
        chunker: manifest.chunker.clone(),
        size: manifest.size,
        hash: manifest.hash,
        chunk_count: manifest.chunks.len() as u32,
    }
}

/// Part `n` of `manifest` at `part_chunks` a part (empty past the end).
pub fn part(manifest: &Manifest, n: u32, part_chunks: u32) -> ManifestPart {
    let per = part_chunks.max(1) as usize;
    let start = (n as usize).saturating_mul(per).min(manifest.chunks.len());
    let end = start.saturating_add(per).min(manifest.chunks.len());
    ManifestPart {
        chunks: manifest.chunks[start..end]
            .iter()
            .map(|c| PartChunk {
                hash: c.hash,
                size: c.size,
            })
            .collect(),
    }
}

/// The chunk list the parts make, in order, with offsets from 0: what the server checks as a
/// manifest's `chunks`.
pub fn join(parts: impl IntoIterator<Item = Vec<PartChunk>>) -> Vec<ChunkRef> {
    let mut offset = 0u64;
    let mut out = Vec::new();
    for part in parts {
        out.reserve(part.len());
        for c in part {
            out.push(ChunkRef {
                hash: c.hash,
                offset,
                size: c.size,
            });
            offset += u64::from(c.size);
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn manifest(sizes: &[u32]) -> Manifest {
        let mut chunks = Vec::new();
        let mut offset = 0;
        for (i, &size) in sizes.iter().enumerate() {
            let mut h = [0u8; 32];
            h[..8].copy_from_slice(&(i as u64).to_le_bytes());
            chunks.push(ChunkRef {
                hash: Hash(h),
                offset,
                size,
            });
            offset += u64::from(size);
        }
        Manifest {
            chunker: wasm_chunker::CHUNKER_ID.to_owned(),
            size: offset,
            hash: wasm_chunker::file_hash(wasm_chunker::CHUNKER_ID, &chunks),
            chunks,
        }
    }

    #[test]
    fn parts_joined_give_back_the_chunk_list() {
        for (count, per) in [(1, 1), (7, 3), (9, 3), (10, 4), (5, 100)] {
            let m = manifest(&vec![300_000; count]);
            let n = part_count(count as u32, per);
            assert_eq!(n as usize, count.div_ceil(per as usize));
            let parts: Vec<_> = (0..n).map(|i| part(&m, i, per).chunks).collect();
            assert!(parts[..parts.len() - 1]
                .iter()
                .all(|p| p.len() == per as usize));
            assert!(!parts.last().unwrap().is_empty());
            assert_eq!(join(parts), m.chunks);
            assert!(part(&m, n, per).chunks.is_empty());
        }
    }

    #[test]
    fn only_a_manifest_past_the_inline_limit_goes_in_parts() {
        let small = manifest(&vec![300_000; INLINE_MAX_CHUNKS]);
        assert!(!goes_in_parts(&small));
        let big = manifest(&vec![300_000; INLINE_MAX_CHUNKS + 1]);
        assert!(goes_in_parts(&big));
        let head = draft_request(&big);
        assert_eq!(head.chunk_count as usize, INLINE_MAX_CHUNKS + 1);
        assert_eq!((head.size, head.hash), (big.size, big.hash));
    }

    #[test]
    fn a_full_part_fits_the_body_limit() {
        let m = manifest(&vec![wasm_chunker::MAX_SIZE; MAX_PART_CHUNKS as usize]);
        let json = serde_json::to_string(&part(&m, 0, MAX_PART_CHUNKS)).unwrap();
        assert!(json.len() < 2 * 1024 * 1024, "{} bytes", json.len());
    }
}
