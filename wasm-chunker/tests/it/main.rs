//! The integration tests of wasm-chunker: checked-in vectors, properties of chunking and delta
//! plans, and manifest validation, all through the public API only.

mod edits;
mod manifest;
mod split;
mod streaming;
mod vectors;

use wasm_chunker::ChunkerParams;

/// Parameters small enough that a few kilobytes make dozens of chunks.
fn small_params() -> ChunkerParams {
    ChunkerParams::new(64, 256, 1024).expect("valid params")
}
