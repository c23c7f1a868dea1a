//! Chunking a file in pieces and stitching them gives exactly the whole-file chunks, whatever
//! the content and the number of pieces; where neighbours cannot meet, stitching says so.

use proptest::prelude::*;
use wasm_chunker::{chunk_all_with, split_ranges, stitch, ChunkRef, ChunkerParams, Piece};

use crate::small_params;

fn pieces(params: &ChunkerParams, data: &[u8], n: usize, overlap: u64) -> Vec<Piece> {
    split_ranges(data.len() as u64, n, overlap)
        .into_iter()
        .map(|(start, end)| Piece {
            start,
            end,
            chunks: chunk_all_with(params, &data[start as usize..end as usize])
                .into_iter()
                .map(|c| ChunkRef {
                    offset: c.offset + start,
                    ..c
                })
                .collect(),
        })
        .collect()
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(300))]

    /// With an overlap of many maximum chunks, random data always meets, and the stitch is the
    /// whole-file chunking exactly.
    #[test]
    fn stitched_pieces_equal_the_whole(
        data in prop::collection::vec(any::<u8>(), 0..40_000),
        n in 1usize..6,
    ) {
        let params = small_params();
        let whole = chunk_all_with(&params, &data);
        let overlap = 8 * params.max_size() as u64;
        let stitched = stitch(pieces(&params, &data, n, overlap), data.len() as u64);
        prop_assert_eq!(stitched, Some(whole));
    }

    /// Any overlap, any content (long runs included): the stitch is exact or refused, never
    /// wrong.
    #[test]
    fn a_stitch_is_exact_or_refused(
        head in prop::collection::vec(any::<u8>(), 0..6_000),
        run in 0usize..12_000,
        byte in any::<u8>(),
        tail in prop::collection::vec(any::<u8>(), 0..6_000),
        n in 2usize..5,
        overlap in 0u64..4_000,
    ) {
        let params = small_params();
        let mut data = head;
        data.extend(std::iter::repeat_n(byte, run));
        data.extend(tail);
        let whole = chunk_all_with(&params, &data);
        if let Some(stitched) = stitch(pieces(&params, &data, n, overlap), data.len() as u64) {
            prop_assert_eq!(stitched, whole);
        }
    }
}

#[test]
fn a_run_longer_than_the_overlap_is_refused() {
    let params = small_params();
    let mut data = vec![7u8; 50_000];
    data[..100].copy_from_slice(&[1; 100]);
    let stitched = stitch(pieces(&params, &data, 3, 2_000), data.len() as u64);
    // Either the forced cuts happened to line up (then it must be exact) or it is refused.
    if let Some(s) = stitched {
        assert_eq!(s, chunk_all_with(&params, &data));
    }
}

/// The real parameters and overlap: a 12 MiB file in 3 pieces meets and stitches exactly.
#[test]
fn default_parameters_meet_within_the_overlap() {
    use wasm_chunker::vectors::{vector_input, VectorKind};
    let data = vector_input(9, 12 << 20, VectorKind::Random);
    let params = ChunkerParams::DEFAULT;
    let stitched = stitch(
        pieces(&params, &data, 3, wasm_chunker::SPLIT_OVERLAP),
        data.len() as u64,
    );
    assert_eq!(stitched, Some(chunk_all_with(&params, &data)));
}
