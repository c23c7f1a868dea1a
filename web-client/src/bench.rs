//! In-memory chunking inside the browser for `cargo xtask bench-chunker`: the input is made in
//! WASM memory once, then timed by the page, so the figure is the chunker's and not the
//! file reader's. Also the probe of the module's memory the big-file test samples.

use wasm_bindgen::prelude::*;
use wasm_bindgen::JsCast;
use wasm_chunker::vectors::{vector_input, VectorKind};

/// Pseudo-random input held in WASM memory, the same bytes `chunker-bench` measures natively.
#[wasm_bindgen]
pub struct BenchData {
    data: Vec<u8>,
}

#[wasm_bindgen]
impl BenchData {
    /// `len` bytes of `vector_input(seed, len, Random)`.
    #[wasm_bindgen(constructor)]
    pub fn new(seed: u32, len: u32) -> BenchData {
        BenchData {
            data: vector_input(u64::from(seed), len as usize, VectorKind::Random),
        }
    }

    #[wasm_bindgen(getter)]
    pub fn size(&self) -> u32 {
        self.data.len() as u32
    }

    /// Chunk and hash the whole input (one thread); returns the chunk count.
    #[wasm_bindgen(js_name = chunkHash)]
    pub fn chunk_hash(&self) -> u32 {
        wasm_chunker::chunk_all(&self.data).len() as u32
    }

    /// Cut points alone; returns the chunk count.
    #[wasm_bindgen(js_name = cutPoints)]
    pub fn cut_points(&self) -> u32 {
        wasm_chunker::cut_points(&wasm_chunker::ChunkerParams::DEFAULT, &self.data).len() as u32
    }

    /// BLAKE3 alone over the whole input; returns the first byte of the hash.
    pub fn blake3(&self) -> u8 {
        wasm_chunker::hash_chunk(&self.data).0[0]
    }
}

/// The size of this module's WASM memory in bytes (it only grows): what the page and each
/// chunking worker hold, read by the big-file test (`tests/e2e/big-file-kit.mjs`), which asserts
/// it stays small however large the file is.
#[wasm_bindgen(js_name = wasmMemoryBytes)]
pub fn wasm_memory_bytes() -> f64 {
    let memory: js_sys::WebAssembly::Memory = wasm_bindgen::memory().unchecked_into();
    memory
        .buffer()
        .unchecked_into::<js_sys::ArrayBuffer>()
        .byte_length() as f64
}
