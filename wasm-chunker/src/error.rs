//! The one error type of the crate: bad parameters, bad hashes and manifests that break a rule.

use thiserror::Error;

/// Everything that can go wrong in this crate. Each variant names the rule that was broken, so
/// the API can map it to a 4xx with a clear message.
#[derive(Debug, Clone, PartialEq, Eq, Error)]
pub enum ChunkerError {
    /// Chunk size parameters that the algorithm cannot honour.
    #[error("invalid chunker parameters min={min} avg={avg} max={max}: {reason}")]
    InvalidParams {
        min: u32,
        avg: u32,
        max: u32,
        reason: &'static str,
    },

    /// A hash that is not 64 lowercase hex digits.
    #[error("invalid hash {value:?}: expected 64 lowercase hex digits")]
    InvalidHash { value: String },

    /// A manifest made by a chunker this build does not know (different algorithm or parameters).
    #[error("unknown chunker {found:?}, expected {expected:?}")]
    UnknownChunker { found: String, expected: String },

    /// More chunks than a manifest may hold.
    #[error("manifest has {count} chunks, the limit is {limit}")]
    TooManyChunks { count: usize, limit: usize },

    /// Chunks must tile the file: each starts where the previous one ended, the first at 0.
    #[error("chunk {index} starts at offset {found}, expected {expected}")]
    ChunkOffset {
        index: usize,
        expected: u64,
        found: u64,
    },

    /// A chunk whose size the chunker could not have produced.
    #[error("chunk {index} has size {size}: {reason}")]
    ChunkSize {
        index: usize,
        size: u32,
        reason: &'static str,
    },

    /// The manifest's size is not the sum of its chunk sizes.
    #[error("manifest size is {declared}, but its chunks add up to {actual}")]
    TotalSize { declared: u64, actual: u64 },

    /// The manifest's file hash is not the hash of its chunk list.
    #[error("manifest hash is {declared}, but its chunk list hashes to {actual}")]
    FileHash { declared: String, actual: String },

    /// One chunk listed twice with different sizes: equal bytes have equal lengths, so one of
    /// the two is false.
    #[error("chunk {index} ({hash}) has size {size}, but the same chunk is listed earlier with size {earlier}")]
    ChunkSizeDisagrees {
        index: usize,
        hash: String,
        size: u32,
        earlier: u32,
    },
}
