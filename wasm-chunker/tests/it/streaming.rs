//! Properties of chunking on arbitrary input: chunks tile the input and name their bytes, and
//! feeding a stream in any slices gives the one-shot result.

use proptest::prelude::*;
use wasm_chunker::{
    chunk_all_with, chunk_and_hash_parallel_with, cut_points, hash_chunk, ChunkRef, Chunker,
    ChunkerParams,
};

use crate::small_params;

/// Inputs with both noise and runs, so forced cuts at `max` happen too.
fn input() -> impl Strategy<Value = Vec<u8>> {
    prop_oneof![
        3 => prop::collection::vec(any::<u8>(), 0..20_000),
        1 => (prop::collection::vec(any::<u8>(), 0..3_000), 0..5_000usize, any::<u8>())
            .prop_map(|(mut v, run, byte)| { v.extend(std::iter::repeat_n(byte, run)); v }),
    ]
}

fn params() -> impl Strategy<Value = ChunkerParams> {
    (1u32..300, 3u32..10, 0u32..3000).prop_filter_map("valid params", |(min, bits, extra)| {
        let avg = 1 << bits;
        ChunkerParams::new(min.min(avg), avg, avg + extra).ok()
    })
}

/// Checks that `chunks` tile `data` and that each hash is that of its bytes.
fn check_tiling(params: &ChunkerParams, data: &[u8], chunks: &[ChunkRef]) {
    let mut offset = 0usize;
    for (i, chunk) in chunks.iter().enumerate() {
        assert_eq!(chunk.offset, offset as u64, "chunk {i} offset");
        let size = chunk.size as usize;
        assert!(
            size >= 1 && size <= params.max_size() as usize,
            "chunk {i} size {size}"
        );
        if i + 1 < chunks.len() {
            assert!(
                size >= params.min_size() as usize,
                "chunk {i} size {size} < min"
            );
        }
        assert_eq!(
            chunk.hash,
            hash_chunk(&data[offset..offset + size]),
            "chunk {i} hash"
        );
        offset += size;
    }
    assert_eq!(offset, data.len(), "chunks cover the input");
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(64))]

    #[test]
    fn chunks_tile_the_input(data in input(), params in params()) {
        let chunks = chunk_all_with(&params, &data);
        check_tiling(&params, &data, &chunks);
        let ends: Vec<usize> =
            chunks.iter().map(|c| (c.offset + u64::from(c.size)) as usize).collect();
        prop_assert_eq!(ends, cut_points(&params, &data));
    }

    #[test]
    fn streaming_equals_one_shot(
        data in input(),
        params in params(),
        splits in prop::collection::vec(any::<prop::sample::Index>(), 0..40),
    ) {
        let mut points: Vec<usize> = splits.iter().map(|i| i.index(data.len() + 1)).collect();
        points.push(0);
        points.push(data.len());
        points.sort_unstable();
        let mut chunker = Chunker::with_params(params);
        let mut streamed = Vec::new();
        for w in points.windows(2) {
            chunker.update(&data[w[0]..w[1]], &mut streamed);
        }
        prop_assert_eq!(chunker.position(), data.len() as u64);
        chunker.finish(&mut streamed);
        prop_assert_eq!(streamed, chunk_all_with(&params, &data));
    }

    #[test]
    fn parallel_equals_one_thread(data in input(), threads in 0usize..4) {
        prop_assert_eq!(
            chunk_and_hash_parallel_with(&small_params(), &data, threads),
            chunk_all_with(&small_params(), &data)
        );
    }
}

#[test]
fn one_byte_at_a_time_equals_one_shot_across_default_boundaries() {
    // A few default-size chunks, fed in odd slices including single bytes around cut points.
    let data =
        wasm_chunker::vectors::vector_input(11, 9 << 20, wasm_chunker::vectors::VectorKind::Mixed);
    let expected = wasm_chunker::chunk_all(&data);
    assert!(expected.len() > 3);
    let mut chunker = Chunker::new();
    let mut streamed = Vec::new();
    let mut at = 0;
    for chunk in &expected {
        let end = (chunk.offset + u64::from(chunk.size)) as usize;
        // Up to 3 bytes before the cut, then single bytes across it.
        let near = end.saturating_sub(3).max(at);
        chunker.update(&data[at..near], &mut streamed);
        for byte in data[near..(end + 3).min(data.len())].chunks(1) {
            chunker.update(byte, &mut streamed);
        }
        at = (end + 3).min(data.len());
    }
    chunker.finish(&mut streamed);
    assert_eq!(streamed, expected);
}
