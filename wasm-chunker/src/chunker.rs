//! The streaming chunker: feed it slices of any size, get finished chunks with their BLAKE3
//! hashes; it never holds file bytes, so memory stays constant whatever the file size.

use crate::cut::Cutter;
use crate::{ChunkRef, ChunkerParams, Hash};

/// Content-defined chunking and chunk hashing in one pass over a stream.
///
/// The state is the cut-point search (chunk length and gear hash), the offset of the current
/// chunk and an incremental BLAKE3 hasher. The output for a stream is the same however it is
/// split into [`update`](Chunker::update) calls.
#[derive(Debug, Clone)]
pub struct Chunker {
    cutter: Cutter,
    hasher: blake3::Hasher,
    /// Offset in the stream of the current chunk's first byte.
    chunk_start: u64,
}

impl Chunker {
    /// A chunker with the default parameters ([`CHUNKER_ID`](crate::CHUNKER_ID)).
    pub fn new() -> Self {
        Self::with_params(ChunkerParams::DEFAULT)
    }

    /// A chunker with custom parameters (tests, benchmarks).
    pub fn with_params(params: ChunkerParams) -> Self {
        Chunker {
            cutter: Cutter::new(params),
            hasher: blake3::Hasher::new(),
            chunk_start: 0,
        }
    }

    /// The parameters this chunker cuts with.
    pub fn params(&self) -> &ChunkerParams {
        self.cutter.params()
    }

    /// Bytes consumed so far.
    pub fn position(&self) -> u64 {
        self.chunk_start + self.hasher.count()
    }

    /// Consumes the next bytes of the stream and appends every chunk they complete to `out`.
    pub fn update(&mut self, data: &[u8], out: &mut Vec<ChunkRef>) {
        let mut rest = data;
        while !rest.is_empty() {
            let Some(n) = self.cutter.next_cut(rest) else {
                // One large update per input slice: BLAKE3 is fastest on long runs.
                self.hasher.update(rest);
                return;
            };
            let (head, tail) = rest.split_at(n);
            self.hasher.update(head);
            out.push(self.emit());
            rest = tail;
        }
    }

    /// Ends the stream and appends its last chunk, if any bytes are left, to `out`.
    pub fn finish(mut self, out: &mut Vec<ChunkRef>) {
        if self.hasher.count() > 0 {
            out.push(self.emit());
        }
    }

    /// Closes the current chunk. The hasher has seen exactly its bytes, so its count is the
    /// chunk size (at most `max`, which fits a `u32`).
    fn emit(&mut self) -> ChunkRef {
        let size = self.hasher.count() as u32;
        let chunk = ChunkRef {
            hash: Hash::from(self.hasher.finalize()),
            offset: self.chunk_start,
            size,
        };
        self.hasher.reset();
        self.chunk_start += u64::from(size);
        chunk
    }
}

impl Default for Chunker {
    fn default() -> Self {
        Self::new()
    }
}

/// Chunks and hashes a whole in-memory input with the default parameters.
pub fn chunk_all(data: &[u8]) -> Vec<ChunkRef> {
    chunk_all_with(&ChunkerParams::DEFAULT, data)
}

/// Chunks and hashes a whole in-memory input with custom parameters.
pub fn chunk_all_with(params: &ChunkerParams, data: &[u8]) -> Vec<ChunkRef> {
    let mut chunker = Chunker::with_params(*params);
    let mut out = Vec::with_capacity(data.len() / params.avg_size() as usize + 1);
    chunker.update(data, &mut out);
    chunker.finish(&mut out);
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::{cut_points, hash_chunk};

    fn small() -> ChunkerParams {
        ChunkerParams::new(64, 256, 1024).unwrap()
    }

    #[test]
    fn chunks_tile_the_input_and_hash_their_bytes() {
        let data: Vec<u8> = (0..20_000u32)
            .map(|i| (i.wrapping_mul(2_654_435_761) >> 13) as u8)
            .collect();
        let chunks = chunk_all_with(&small(), &data);
        let ends: Vec<usize> = chunks
            .iter()
            .map(|c| (c.offset + u64::from(c.size)) as usize)
            .collect();
        assert_eq!(ends, cut_points(&small(), &data));
        for c in &chunks {
            let range = c.offset as usize..c.offset as usize + c.size as usize;
            assert_eq!(c.hash, hash_chunk(&data[range]));
        }
    }

    #[test]
    fn byte_at_a_time_equals_one_shot() {
        let data: Vec<u8> = (0..5_000u32)
            .map(|i| (i.wrapping_mul(40_503) >> 7) as u8)
            .collect();
        let mut chunker = Chunker::with_params(small());
        let mut out = Vec::new();
        for byte in data.chunks(1) {
            chunker.update(byte, &mut out);
        }
        assert_eq!(chunker.position(), data.len() as u64);
        chunker.finish(&mut out);
        assert_eq!(out, chunk_all_with(&small(), &data));
    }

    #[test]
    fn empty_stream_has_no_chunks() {
        let mut out = Vec::new();
        let mut chunker = Chunker::new();
        chunker.update(&[], &mut out);
        chunker.finish(&mut out);
        assert!(out.is_empty());
    }
}
