//! The streaming chunker as a JS handle, used inside Web Workers: feed it the pieces of
//! `File.stream()` as they arrive and get the manifest at the end. It keeps no file bytes
//! beyond one reusable input buffer, so WASM memory stays flat however large the file.

use wasm_bindgen::prelude::*;
use wire::{ChunkRef, Manifest};

/// Bytes of the persistent input buffer. Big enough that BLAKE3 sees long runs and JS crosses
/// the boundary once per MiB, small enough to be nothing next to a 4 MiB chunk in flight.
pub const INPUT_CAPACITY: usize = 1 << 20;

#[wasm_bindgen]
pub struct Chunker {
    inner: wasm_chunker::Chunker,
    params: wasm_chunker::ChunkerParams,
    chunks: Vec<ChunkRef>,
    /// JS copies file bytes here (see [`Chunker::input`]) and then calls `consume`, instead of
    /// passing a fresh array that wasm-bindgen would allocate and free on every `update`.
    input: Vec<u8>,
    bytes: f64,
}

impl Default for Chunker {
    fn default() -> Self {
        Self::new()
    }
}

#[wasm_bindgen]
impl Chunker {
    /// A chunker with the parameters manifests are made with (`chunkerId()`).
    #[wasm_bindgen(constructor)]
    pub fn new() -> Chunker {
        Self::with(wasm_chunker::ChunkerParams::DEFAULT)
    }

    /// A chunker with other sizes, for test vectors and benchmarks; throws on invalid sizes.
    #[wasm_bindgen(js_name = withParams)]
    pub fn with_params(min: u32, avg: u32, max: u32) -> Result<Chunker, JsError> {
        let params = wasm_chunker::ChunkerParams::new(min, avg, max)
            .map_err(|e| JsError::new(&e.to_string()))?;
        Ok(Self::with(params))
    }

    fn with(params: wasm_chunker::ChunkerParams) -> Chunker {
        Chunker {
            inner: wasm_chunker::Chunker::with_params(params),
            params,
            chunks: Vec::new(),
            input: vec![0; INPUT_CAPACITY],
            bytes: 0.0,
        }
    }

    /// Feeds the next piece of the file, however it was sliced (copies it through
    /// wasm-bindgen; `input` + `consume` avoid that allocation).
    pub fn update(&mut self, data: &[u8]) {
        self.bytes += data.len() as f64;
        self.inner.update(data, &mut self.chunks);
    }

    /// A view of the persistent input buffer in WASM memory: write up to `inputCapacity`
    /// bytes at its start, then call `consume(n)`. The view is detached (length 0) if WASM
    /// memory grows; ask for a new one then.
    pub fn input(&mut self) -> js_sys::Uint8Array {
        // SAFETY: the view aliases `self.input`, which lives (and never reallocates) as long
        // as the handle; Rust reads it only in `consume`, when JS is not writing. A view made
        // stale by memory growth is detached by the engine, never dangling.
        unsafe { js_sys::Uint8Array::view_mut_raw(self.input.as_mut_ptr(), self.input.len()) }
    }

    /// Bytes the input buffer holds.
    #[wasm_bindgen(getter, js_name = inputCapacity)]
    pub fn input_capacity(&self) -> u32 {
        self.input.len() as u32
    }

    /// Chunks the first `n` bytes of the input buffer (at most `inputCapacity`).
    pub fn consume(&mut self, n: u32) -> Result<(), JsError> {
        let n = n as usize;
        let Some(data) = self.input.get(..n) else {
            return Err(JsError::new(
                "consume: more bytes than the input buffer holds",
            ));
        };
        self.bytes += n as f64;
        self.inner.update(data, &mut self.chunks);
        Ok(())
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
        serde_json::to_string(&Manifest::from_chunks_with(&self.params, chunks))
            .expect("manifests serialize")
    }
}

/// The byte ranges `pieces` workers chunk one file in: `[start0, end0, start1, end1, …]`, each
/// but the last reading `SPLIT_OVERLAP` bytes into the next (see `wasm_chunker::stitch`).
#[wasm_bindgen(js_name = splitRanges)]
pub fn split_ranges(size: f64, pieces: u32) -> Vec<f64> {
    wasm_chunker::split_ranges(size as u64, pieces as usize, wasm_chunker::SPLIT_OVERLAP)
        .into_iter()
        .flat_map(|(start, end)| [start as f64, end as f64])
        .collect()
}

#[derive(serde::Deserialize)]
struct PieceIn {
    start: u64,
    end: u64,
    /// The piece's own manifest: offsets counted from `start`.
    manifest: Manifest,
}

/// Joins the manifests of one file's pieces (JSON `[{start, end, manifest}]`, in file order)
/// into the whole file's manifest JSON — the same bytes as chunking it whole — or `undefined`
/// when two neighbours found no common cut (then chunk the file whole).
#[wasm_bindgen(js_name = stitchPieces)]
pub fn stitch_pieces(pieces: &str, size: f64) -> Result<Option<String>, JsError> {
    let parsed: Vec<PieceIn> =
        serde_json::from_str(pieces).map_err(|e| JsError::new(&format!("pieces: {e}")))?;
    let params = wasm_chunker::ChunkerParams::DEFAULT;
    let mut input = Vec::with_capacity(parsed.len());
    for p in parsed {
        if p.manifest.chunker != params.id() {
            return Err(JsError::new("pieces: made with another chunker"));
        }
        let chunks = p
            .manifest
            .chunks
            .into_iter()
            .map(|c| ChunkRef {
                offset: c.offset + p.start,
                ..c
            })
            .collect();
        input.push(wasm_chunker::Piece {
            start: p.start,
            end: p.end,
            chunks,
        });
    }
    Ok(wasm_chunker::stitch(input, size as u64).map(|chunks| {
        serde_json::to_string(&Manifest::from_chunks_with(&params, chunks))
            .expect("manifests serialize")
    }))
}
