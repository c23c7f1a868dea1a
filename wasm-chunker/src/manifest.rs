//! Chunk references and the manifest of a file version: what a client sends and the API checks
//! before it trusts a chunk list.

use std::collections::HashMap;

use serde::{Deserialize, Serialize};

use crate::{file_hash, ChunkerError, ChunkerParams, Hash, CHUNKER_ID};

/// The most chunks a manifest may list: a 1 TiB file of average chunks, and at least 256 GiB
/// whatever the content (every chunk but the last is at least [`MIN_SIZE`](crate::MIN_SIZE)).
pub const MAX_CHUNKS: usize = 1 << 20;

/// One chunk of a file: its name (BLAKE3 of its bytes), where it starts and how long it is.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub struct ChunkRef {
    pub hash: Hash,
    pub offset: u64,
    pub size: u32,
}

/// A file's content: the chunker that cut it, its size, its content hash and its chunks in
/// order. Every field can be recomputed from `chunks` and `chunker`, which is what
/// [`validate`](Manifest::validate) does.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Manifest {
    pub chunker: String,
    pub size: u64,
    pub hash: Hash,
    pub chunks: Vec<ChunkRef>,
}

impl Manifest {
    /// The manifest of chunks made with the default parameters.
    pub fn from_chunks(chunks: Vec<ChunkRef>) -> Manifest {
        Self::from_chunks_with(&ChunkerParams::DEFAULT, chunks)
    }

    /// The manifest of chunks made with `params`.
    pub fn from_chunks_with(params: &ChunkerParams, chunks: Vec<ChunkRef>) -> Manifest {
        let chunker = params.id();
        Manifest {
            size: chunks.iter().map(|c| u64::from(c.size)).sum(),
            hash: file_hash(&chunker, &chunks),
            chunker,
            chunks,
        }
    }

    /// Checks a manifest made with the default parameters: known chunker, chunk count within
    /// [`MAX_CHUNKS`], chunks contiguous from offset 0, sizes in `[MIN_SIZE, MAX_SIZE]` (the
    /// last in `[1, MAX_SIZE]`), sizes adding up to `size`, and `hash` the hash of the chunk list.
    ///
    /// It cannot check that the cut points are the content-defined ones without the bytes; the
    /// API verifies each chunk's bytes against its hash instead.
    pub fn validate(&self) -> Result<(), ChunkerError> {
        if self.chunker != CHUNKER_ID {
            return Err(ChunkerError::UnknownChunker {
                found: self.chunker.chars().take(80).collect(),
                expected: CHUNKER_ID.to_string(),
            });
        }
        self.validate_with(&ChunkerParams::DEFAULT)
    }

    /// [`validate`](Manifest::validate) for manifests made with custom parameters.
    pub fn validate_with(&self, params: &ChunkerParams) -> Result<(), ChunkerError> {
        let expected_id = params.id();
        if self.chunker != expected_id {
            return Err(ChunkerError::UnknownChunker {
                found: self.chunker.chars().take(80).collect(),
                expected: expected_id,
            });
        }
        let count = self.chunks.len();
        if count > MAX_CHUNKS {
            return Err(ChunkerError::TooManyChunks {
                count,
                limit: MAX_CHUNKS,
            });
        }
        let mut offset = 0u64;
        let mut sizes: HashMap<Hash, u32> = HashMap::with_capacity(count);
        for (index, chunk) in self.chunks.iter().enumerate() {
            let earlier = *sizes.entry(chunk.hash).or_insert(chunk.size);
            if earlier != chunk.size {
                return Err(ChunkerError::ChunkSizeDisagrees {
                    index,
                    hash: chunk.hash.to_string(),
                    size: chunk.size,
                    earlier,
                });
            }
            if chunk.offset != offset {
                return Err(ChunkerError::ChunkOffset {
                    index,
                    expected: offset,
                    found: chunk.offset,
                });
            }
            let size_error = if chunk.size == 0 {
                Some("chunks are never empty")
            } else if chunk.size > params.max_size() {
                Some("larger than the chunker's max size")
            } else if chunk.size < params.min_size() && index + 1 < count {
                Some("only the last chunk may be smaller than the chunker's min size")
            } else {
                None
            };
            if let Some(reason) = size_error {
                return Err(ChunkerError::ChunkSize {
                    index,
                    size: chunk.size,
                    reason,
                });
            }
            // Cannot overflow: at most MAX_CHUNKS chunks of at most 1 GiB.
            offset += u64::from(chunk.size);
        }
        if offset != self.size {
            return Err(ChunkerError::TotalSize {
                declared: self.size,
                actual: offset,
            });
        }
        let actual = file_hash(&self.chunker, &self.chunks);
        if actual != self.hash {
            return Err(ChunkerError::FileHash {
                declared: self.hash.to_string(),
                actual: actual.to_string(),
            });
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::chunk_all;

    #[test]
    fn empty_file_has_no_chunks_and_a_fixed_hash() {
        let manifest = Manifest::from_chunks(chunk_all(&[]));
        assert_eq!(manifest.size, 0);
        assert!(manifest.chunks.is_empty());
        assert_eq!(manifest.hash, file_hash(CHUNKER_ID, &[]));
        manifest.validate().unwrap();
    }

    #[test]
    fn one_chunk_listed_with_two_sizes_is_refused() {
        let params = ChunkerParams::new(1, 8, 16).unwrap();
        let chunk = crate::hash_chunk(b"abcd");
        let chunks = vec![
            ChunkRef {
                hash: chunk,
                offset: 0,
                size: 4,
            },
            ChunkRef {
                hash: chunk,
                offset: 4,
                size: 3,
            },
        ];
        let manifest = Manifest {
            chunker: params.id(),
            size: 7,
            hash: file_hash(&params.id(), &chunks),
            chunks,
        };
        assert!(matches!(
            manifest.validate_with(&params),
            Err(ChunkerError::ChunkSizeDisagrees {
                index: 1,
                size: 3,
                earlier: 4,
                ..
            })
        ));
    }

    #[test]
    fn serde_uses_the_documented_field_names() {
        let manifest = Manifest::from_chunks(chunk_all(b"hello"));
        let json = serde_json::to_value(&manifest).unwrap();
        let hash = manifest.chunks[0].hash.to_string();
        assert_eq!(
            json,
            serde_json::json!({
                "chunker": CHUNKER_ID,
                "size": 5,
                "hash": manifest.hash.to_string(),
                "chunks": [{"hash": hash, "offset": 0, "size": 5}],
            })
        );
        let back: Manifest = serde_json::from_value(json).unwrap();
        assert_eq!(back, manifest);
    }
}
