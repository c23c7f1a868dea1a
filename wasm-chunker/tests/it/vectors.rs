//! Checks `tests/vectors.json`, the same file the browser build checks in wasm32, and rewrites
//! it on request when the chunker's output changes on purpose.

use std::path::PathBuf;

use wasm_chunker::vectors::{vector_file, VectorFile};
use wasm_chunker::{chunk_and_hash_parallel_with, CHUNKER_ID};

const REGEN_VAR: &str = "CAIRN_REGEN_VECTORS";

fn path() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("tests/vectors.json")
}

fn how_to_regenerate(problem: &str) -> String {
    format!(
        "{problem}\n\nIf the chunker's output changed on purpose, regenerate the file with\n    \
         {REGEN_VAR}=1 cargo test -p wasm-chunker\nand change CHUNKER_ID ({CHUNKER_ID}): manifests \
         cut by the old code must not be mistaken for the new ones."
    )
}

#[test]
fn checked_in_vectors_match_the_chunker() {
    let path = path();
    if std::env::var_os(REGEN_VAR).is_some_and(|v| v == "1") {
        let json = serde_json::to_string_pretty(&vector_file()).expect("vectors serialize");
        std::fs::write(&path, json + "\n").expect("write tests/vectors.json");
        eprintln!("wrote {}", path.display());
    }
    let text = std::fs::read_to_string(&path).unwrap_or_else(|e| {
        panic!(
            "{}",
            how_to_regenerate(&format!("cannot read {}: {e}", path.display()))
        )
    });
    let on_disk: VectorFile = serde_json::from_str(&text).unwrap_or_else(|e| {
        panic!(
            "{}",
            how_to_regenerate(&format!("{} is not a vector file: {e}", path.display()))
        )
    });

    // The checks the browser runs: regenerate each input, chunk it streaming, compare.
    let failures: Vec<String> = on_disk
        .cases
        .iter()
        .filter_map(|c| c.check().err())
        .collect();
    assert!(
        failures.is_empty(),
        "{}",
        how_to_regenerate(&failures.join("\n"))
    );

    // The case list itself must be the current one, so a new case cannot be forgotten.
    let current = vector_file();
    let names = |f: &VectorFile| f.cases.iter().map(|c| c.name.clone()).collect::<Vec<_>>();
    assert_eq!(
        on_disk,
        current,
        "{}",
        how_to_regenerate(&format!(
            "tests/vectors.json holds cases {:?}, the code defines {:?}",
            names(&on_disk),
            names(&current)
        ))
    );
}

#[test]
fn vectors_cover_the_size_boundaries() {
    let file = vector_file();
    let lens: Vec<usize> = file.cases.iter().map(|c| c.len).collect();
    let (min, avg, max) = (
        wasm_chunker::MIN_SIZE as usize,
        wasm_chunker::AVG_SIZE as usize,
        wasm_chunker::MAX_SIZE as usize,
    );
    for len in [
        0,
        1,
        min - 1,
        min,
        min + 1,
        avg,
        max - 1,
        max,
        max + 1,
        3 * max + 17,
    ] {
        assert!(lens.contains(&len), "no vector of length {len}");
    }
    assert!(lens.iter().any(|&l| l >= 20 << 20));
    let many = file
        .cases
        .iter()
        .filter(|c| c.manifest.chunks.len() > 100)
        .count();
    assert!(many >= 2, "vectors with many chunks: {many}");
    // A chunk at exactly max (forced cut) and one shorter than min (tail) both occur.
    let sizes = || {
        file.cases
            .iter()
            .flat_map(|c| c.manifest.chunks.iter().map(move |ch| (c, ch.size)))
    };
    assert!(sizes().any(|(c, s)| s == c.max));
    assert!(sizes().any(|(c, s)| s < c.min));
}

#[test]
fn parallel_hashing_reproduces_the_vectors() {
    for case in vector_file().cases {
        let chunks = chunk_and_hash_parallel_with(&case.params(), &case.input(), 3);
        assert_eq!(chunks, case.manifest.chunks, "{}", case.name);
    }
}
