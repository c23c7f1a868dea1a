//! The streaming chunker as a JS handle, used inside Web Workers: feed it the pieces of
//! `File.stream()` as they arrive and get the manifest at the end. It keeps no file bytes.

use wasm_bindgen::prelude::*;
use wire::{ChunkRef, Manifest};

#[wasm_bindgen]
pub struct Chunker {
    inner: wasm_chunker::Chunker,
    chunks: Vec<ChunkRef>,
    bytes: f64,
}

impl Default for Chunker {
    fn default() -> Self {
        Self::new()
    }
}

#[wasm_bindgen]
impl Chunker {
    #[wasm_bindgen(constructor)]
    pub fn new() -> Chunker {
        Chunker {
            inner: wasm_chunker::Chunker::new(),
            chunks: Vec::new(),
            bytes: 0.0,
        }
    }

    /// Feeds the next piece of the file, however it was sliced.
    pub fn update(&mut self, data: &[u8]) {
        self.bytes += data.len() as f64;
        self.inner.update(data, &mut self.chunks);
    }

    /// Bytes fed so far.
    #[wasm_bindgen(getter)]
    pub fn bytes(&self) -> f64 {
        self.bytes
    }

    /// Ends the file and returns its manifest as JSON.
    pub fn finish(self) -> String {
        let mut chunks = self.chunks;
        self.inner.finish(&mut chunks);
        serde_json::to_string(&Manifest::from_chunks(chunks)).expect("manifests serialize")
    }
}

/// BLAKE3 of one chunk, hex: how downloads verify what they received.
#[wasm_bindgen(js_name = hashChunk)]
pub fn hash_chunk(data: &[u8]) -> String {
    wasm_chunker::hash_chunk(data).to_string()
}
