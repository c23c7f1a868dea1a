//! Edit locality: after a small insert, delete or overwrite, chunks before the edit are reused
//! and only a few chunks around it are uploaded again; delta plans add up.

use proptest::prelude::*;
use wasm_chunker::{chunk_all_with, delta_plan};

use crate::small_params;

#[derive(Debug, Clone)]
enum Edit {
    Insert(Vec<u8>),
    Delete(usize),
    Overwrite(Vec<u8>),
}

fn edit() -> impl Strategy<Value = Edit> {
    let bytes = prop::collection::vec(any::<u8>(), 1..=32);
    prop_oneof![
        bytes.clone().prop_map(Edit::Insert),
        (1usize..=32).prop_map(Edit::Delete),
        bytes.prop_map(Edit::Overwrite),
    ]
}

/// Applies `edit` at `at`, returning the edited input and the edit's length in bytes.
fn apply(data: &[u8], at: usize, edit: &Edit) -> (Vec<u8>, usize) {
    let mut out = data.to_vec();
    match edit {
        Edit::Insert(bytes) => {
            out.splice(at..at, bytes.iter().copied());
            (out, bytes.len())
        }
        Edit::Delete(n) => {
            let end = (at + n).min(out.len());
            out.drain(at..end);
            (out, end - at)
        }
        Edit::Overwrite(bytes) => {
            let end = (at + bytes.len()).min(out.len());
            // Flip bits rather than copy, so the bytes really change.
            for (b, x) in out[at..end].iter_mut().zip(bytes) {
                *b ^= x | 1;
            }
            (out, end - at)
        }
    }
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(64))]

    /// With min 64, avg 256, max 1024: the chunk holding the edit changes, and the chunking after
    /// it resynchronises at the first cut point both versions share. Chunk length thresholds
    /// make that a geometric wait: in 200,000 random trials of this very setup the upload
    /// exceeded the edit by m * max bytes with probability about 9^-m (never reaching 6 * max),
    /// so the bound k + 8 * max fails spuriously with probability ~1e-8 per case.
    #[test]
    fn an_edit_uploads_only_chunks_near_it(
        data in prop::collection::vec(any::<u8>(), 4_000..100_000),
        at in any::<prop::sample::Index>(),
        edit in edit(),
    ) {
        let params = small_params();
        let at = at.index(data.len());
        let (edited, k) = apply(&data, at, &edit);
        let before = chunk_all_with(&params, &data);
        let after = chunk_all_with(&params, &edited);
        let plan = delta_plan(&before, &after);

        // Exact: chunks that end before the edit are cut the same way, so they are reused.
        for chunk in before.iter().take_while(|c| c.offset + u64::from(c.size) <= at as u64) {
            prop_assert!(after.contains(chunk), "chunk before the edit changed: {:?}", chunk);
            prop_assert!(!plan.upload.iter().any(|u| u.hash == chunk.hash));
        }
        let bound = k as u64 + 8 * u64::from(params.max_size());
        prop_assert!(
            plan.upload_bytes <= bound,
            "edit of {} bytes at {} uploads {} bytes, bound {}", k, at, plan.upload_bytes, bound
        );
        prop_assert_eq!(plan.upload_bytes + plan.reused_bytes, edited.len() as u64);
    }

    #[test]
    fn unchanged_input_uploads_nothing(data in prop::collection::vec(any::<u8>(), 0..30_000)) {
        let chunks = chunk_all_with(&small_params(), &data);
        let plan = delta_plan(&chunks, &chunks);
        prop_assert!(plan.upload.is_empty());
        prop_assert_eq!(plan.reused_bytes, data.len() as u64);
        prop_assert_eq!(plan.total_bytes, data.len() as u64);
    }
}

#[test]
fn first_upload_of_repeated_content_uploads_each_chunk_once() {
    // A block repeated four times: its chunks after the first copy resynchronise and dedup.
    let block =
        wasm_chunker::vectors::vector_input(3, 20_000, wasm_chunker::vectors::VectorKind::Random);
    let data = block.repeat(4);
    let chunks = chunk_all_with(&small_params(), &data);
    let plan = delta_plan(&[], &chunks);
    assert_eq!(plan.total_bytes, data.len() as u64);
    assert!(
        plan.upload_bytes < block.len() as u64 + 4 * 1024,
        "uploads {} of {} bytes",
        plan.upload_bytes,
        data.len()
    );
    let mut hashes: Vec<_> = plan.upload.iter().map(|c| c.hash).collect();
    hashes.sort_unstable();
    hashes.dedup();
    assert_eq!(
        hashes.len(),
        plan.upload.len(),
        "an upload list never repeats a hash"
    );
}
