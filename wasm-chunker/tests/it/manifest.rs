//! Manifest validation as data: one valid manifest, and each way of breaking it with the error
//! that names the broken rule.

use wasm_chunker::vectors::{vector_input, VectorKind};
use wasm_chunker::{
    chunk_all, file_hash, hash_chunk, ChunkRef, ChunkerError, Manifest, CHUNKER_ID, MAX_CHUNKS,
    MAX_SIZE, MIN_SIZE,
};

use crate::small_params;

/// A valid manifest of a few default-size chunks.
fn valid() -> Manifest {
    let manifest = Manifest::from_chunks(chunk_all(&vector_input(1, 9 << 20, VectorKind::Random)));
    assert!(manifest.chunks.len() >= 4);
    manifest
        .validate()
        .expect("the chunker's own manifest is valid");
    manifest
}

/// Recomputes size and hash after the chunks were changed, so only the intended rule breaks.
fn rehash(mut m: Manifest) -> Manifest {
    m.size = m.chunks.iter().map(|c| u64::from(c.size)).sum();
    m.hash = file_hash(&m.chunker, &m.chunks);
    m
}

fn check(name: &str, manifest: Manifest, expected: fn(&ChunkerError) -> bool) {
    match manifest.validate() {
        Ok(()) => panic!("{name}: accepted"),
        Err(e) => assert!(expected(&e), "{name}: wrong error {e:?}"),
    }
}

#[test]
fn validate_rejects_each_broken_rule() {
    type Case = (
        &'static str,
        fn(Manifest) -> Manifest,
        fn(&ChunkerError) -> bool,
    );
    let cases: Vec<Case> = vec![
        (
            "unknown chunker",
            |m| {
                rehash(Manifest {
                    chunker: "fastcdc2020-l2-64-256-1k+blake3".into(),
                    ..m
                })
            },
            |e| matches!(e, ChunkerError::UnknownChunker { .. }),
        ),
        (
            "first chunk not at 0",
            |mut m| {
                m.chunks[0].offset = 1;
                m
            },
            |e| {
                matches!(
                    e,
                    ChunkerError::ChunkOffset {
                        index: 0,
                        expected: 0,
                        found: 1
                    }
                )
            },
        ),
        (
            "gap between chunks",
            |mut m| {
                m.chunks[2].offset += 1;
                m
            },
            |e| matches!(e, ChunkerError::ChunkOffset { index: 2, .. }),
        ),
        (
            "chunks out of order",
            |mut m| {
                m.chunks.swap(1, 2);
                rehash(m)
            },
            |e| matches!(e, ChunkerError::ChunkOffset { index: 1, .. }),
        ),
        (
            "declared size too large",
            |mut m| {
                m.size += 1;
                m
            },
            |e| matches!(e, ChunkerError::TotalSize { .. }),
        ),
        (
            "declared size too small",
            |mut m| {
                m.size -= 1;
                m
            },
            |e| matches!(e, ChunkerError::TotalSize { .. }),
        ),
        (
            "wrong file hash",
            |mut m| {
                m.hash = hash_chunk(b"something else");
                m
            },
            |e| matches!(e, ChunkerError::FileHash { .. }),
        ),
        (
            "chunk hash changed without the file hash",
            |mut m| {
                m.chunks[1].hash = hash_chunk(b"other bytes");
                m
            },
            |e| matches!(e, ChunkerError::FileHash { .. }),
        ),
        (
            "oversized chunk",
            |mut m| {
                let last = m.chunks.len() - 1;
                m.chunks[last].size = MAX_SIZE + 1;
                rehash(m)
            },
            |e| matches!(e, ChunkerError::ChunkSize { size, .. } if *size == MAX_SIZE + 1),
        ),
        (
            "zero-size chunk",
            |mut m| {
                let end = m.size;
                m.chunks.push(ChunkRef {
                    hash: hash_chunk(b""),
                    offset: end,
                    size: 0,
                });
                rehash(m)
            },
            |e| matches!(e, ChunkerError::ChunkSize { size: 0, .. }),
        ),
        (
            "small chunk that is not the last",
            |mut m| {
                let cut = MIN_SIZE - 1;
                let first = m.chunks[0];
                m.chunks.splice(
                    0..1,
                    [
                        ChunkRef { size: cut, ..first },
                        ChunkRef {
                            offset: u64::from(cut),
                            size: first.size - cut,
                            ..first
                        },
                    ],
                );
                rehash(m)
            },
            |e| matches!(e, ChunkerError::ChunkSize { index: 0, .. }),
        ),
        (
            "too many chunks",
            |m| {
                let chunk = ChunkRef {
                    hash: hash_chunk(b"x"),
                    offset: 0,
                    size: MIN_SIZE,
                };
                let chunks = (0..=MAX_CHUNKS as u64)
                    .map(|i| ChunkRef {
                        offset: i * u64::from(MIN_SIZE),
                        ..chunk
                    })
                    .collect();
                Manifest { chunks, ..m }
            },
            |e| matches!(e, ChunkerError::TooManyChunks { .. }),
        ),
    ];
    for (name, break_it, expected) in cases {
        check(name, break_it(valid()), expected);
    }
}

#[test]
fn validate_accepts_edge_shapes() {
    let cases = [
        ("empty file", Vec::new()),
        ("one byte", chunk_all(&[7])),
        (
            "one max chunk",
            chunk_all(&vector_input(0, MAX_SIZE as usize, VectorKind::Zeros)),
        ),
    ];
    for (name, chunks) in cases {
        let manifest = Manifest::from_chunks(chunks);
        assert_eq!(manifest.chunker, CHUNKER_ID);
        manifest
            .validate()
            .unwrap_or_else(|e| panic!("{name}: {e}"));
    }
}

#[test]
fn custom_params_validate_with_their_own_id_only() {
    let params = small_params();
    let manifest = Manifest::from_chunks_with(
        &params,
        wasm_chunker::chunk_all_with(&params, &vector_input(2, 10_000, VectorKind::Random)),
    );
    manifest.validate_with(&params).unwrap();
    assert!(matches!(
        manifest.validate(),
        Err(ChunkerError::UnknownChunker { .. })
    ));
}

#[test]
fn bad_json_is_rejected_when_parsing() {
    let good = serde_json::to_value(valid()).unwrap();
    let mut upper = good.clone();
    upper["hash"] = serde_json::Value::String(good["hash"].as_str().unwrap().to_uppercase());
    let mut short = good.clone();
    short["chunks"][0]["hash"] = "abc".into();
    let mut negative = good;
    negative["chunks"][0]["offset"] = (-1).into();
    for bad in [upper, short, negative] {
        assert!(serde_json::from_value::<Manifest>(bad).is_err());
    }
}
