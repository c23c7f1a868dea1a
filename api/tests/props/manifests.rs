//! Manifests by property: a real file's manifest, cut at boundaries of the test's choosing and
//! then perhaps broken (sizes, offsets, hashes that lie or do not parse, a hash repeated at
//! another size, the file's size and hash, counts past the body limit, missing and extra
//! fields). Each is started as an upload, its chunks sent as the manifest names them, and
//! committed: accepted, the version reads back as the same manifest and the same bytes;
//! refused anywhere, a 4xx JSON error and, once the upload is cancelled, nothing changed.

use proptest::prelude::*;
use reqwest::{Method, StatusCode};
use serde_json::{json, Value};
use wasm_chunker::{ChunkRef, Manifest, MIN_SIZE};

use crate::fixture::{bytes, Backend, TestServer};
use crate::support::{call, check, ensure, Answer, Snapshot, Tally};

crate::both!(manifests_are_committed_as_sent_or_refused_with_nothing_changed);

/// How a manifest made from real bytes is broken before it is sent.
#[derive(Debug, Clone)]
enum Break {
    Nothing,
    /// Chunk `i`'s size changed by `d`, nothing else.
    Size(usize, i64),
    /// Chunk `i`'s size changed by `d`, offsets, total and file hash made to agree.
    SizeKept(usize, i64),
    Offset(usize, i64),
    Total(i64),
    FileHash,
    /// Chunk `i` named by a well-formed hash of other bytes, the file hash made to agree.
    LyingHash(usize),
    /// Chunk `i`'s hash replaced by this JSON.
    BadHash(usize, Value),
    /// The second chunk named by the first's hash (at its own size).
    Repeated,
    /// Two chunks swapped, offsets left.
    Swap,
    Empty,
    /// This many one-byte chunks.
    Many(usize),
    Chunker(String),
    Drop(&'static str),
    Extra,
    NotAList,
}

/// The file: how many bytes each chunk holds (every chunk but the last at least the chunker's
/// minimum), whether the second repeats the first (a file may name one chunk twice), and a
/// seed for the bytes.
#[derive(Debug, Clone)]
struct Plan {
    sizes: Vec<u32>,
    repeat: bool,
    seed: u64,
    broken: Break,
}

fn plan() -> impl Strategy<Value = Plan> {
    let min = MIN_SIZE;
    let sizes = prop_oneof![
        2 => (1u32..5000).prop_map(|s| vec![s]),
        1 => (prop::collection::vec(min..min + 4000, 1..3), 1u32..5000)
            .prop_map(|(mut v, last)| { v.push(last); v }),
    ];
    let index = 0usize..3;
    let delta = prop_oneof![
        Just(-1i64),
        Just(1),
        Just(-(i64::from(min))),
        Just(1 << 40),
        Just(-(1 << 40))
    ];
    let bad_hash = prop_oneof![
        Just(json!("zz".repeat(32))),
        Just(json!("ab".repeat(31))),
        Just(json!("AB".repeat(32))),
        Just(json!("")),
        Just(json!(5)),
        Just(Value::Null),
        Just(json!(["ab"])),
        "[0-9a-f]{0,70}".prop_map(Value::from),
    ];
    let broken = prop_oneof![
        6 => Just(Break::Nothing),
        1 => (index.clone(), delta.clone()).prop_map(|(i, d)| Break::Size(i, d)),
        1 => (index.clone(), delta.clone()).prop_map(|(i, d)| Break::SizeKept(i, d)),
        1 => (index.clone(), delta.clone()).prop_map(|(i, d)| Break::Offset(i, d)),
        1 => delta.prop_map(Break::Total),
        1 => Just(Break::FileHash),
        1 => index.clone().prop_map(Break::LyingHash),
        1 => (index, bad_hash).prop_map(|(i, v)| Break::BadHash(i, v)),
        1 => Just(Break::Repeated),
        1 => Just(Break::Swap),
        1 => Just(Break::Empty),
        1 => prop_oneof![Just(5_000usize), Just(40_000)].prop_map(Break::Many),
        1 => prop_oneof![Just(String::new()), Just("fastcdc-2020-x".to_owned()), Just("é".repeat(300))]
            .prop_map(Break::Chunker),
        1 => prop::sample::select(&["chunker", "size", "hash", "chunks"][..]).prop_map(Break::Drop),
        1 => Just(Break::Extra),
        1 => Just(Break::NotAList),
    ];
    (sizes, any::<bool>(), any::<u64>(), broken).prop_map(|(sizes, repeat, seed, broken)| Plan {
        sizes,
        repeat,
        seed,
        broken,
    })
}

/// The file's bytes and its honest manifest, chunked as planned.
fn file(p: &Plan) -> (Vec<u8>, Manifest) {
    let mut data = Vec::new();
    let mut chunks = Vec::new();
    for (i, &size) in p.sizes.iter().enumerate() {
        let piece = if i == 1 && p.repeat && p.sizes[0] == size {
            data[..size as usize].to_vec()
        } else {
            bytes(p.seed.wrapping_add(i as u64), size as usize)
        };
        chunks.push(ChunkRef {
            hash: wasm_chunker::hash_chunk(&piece),
            offset: data.len() as u64,
            size,
        });
        data.extend_from_slice(&piece);
    }
    (data, Manifest::from_chunks(chunks))
}

fn shifted(x: u64, d: i64) -> u64 {
    x.saturating_add_signed(d)
}

/// The manifest as sent, `p.broken` applied.
fn broken(p: &Plan, honest: &Manifest) -> Value {
    let mut m = honest.clone();
    let n = m.chunks.len();
    let agree = |m: &mut Manifest| {
        let mut offset = 0;
        for c in &mut m.chunks {
            c.offset = offset;
            offset += u64::from(c.size);
        }
        *m = Manifest::from_chunks(std::mem::take(&mut m.chunks));
    };
    match &p.broken {
        Break::Nothing | Break::BadHash(..) | Break::Drop(_) | Break::Extra | Break::NotAList => {}
        Break::Size(i, d) => {
            let c = &mut m.chunks[i % n];
            c.size = shifted(u64::from(c.size), *d).min(u64::from(u32::MAX)) as u32;
        }
        Break::SizeKept(i, d) => {
            let c = &mut m.chunks[i % n];
            c.size = shifted(u64::from(c.size), *d).min(u64::from(u32::MAX)) as u32;
            agree(&mut m);
        }
        Break::Offset(i, d) => {
            let c = &mut m.chunks[i % n];
            c.offset = shifted(c.offset, *d);
        }
        Break::Total(d) => m.size = shifted(m.size, *d),
        Break::FileHash => m.hash = wasm_chunker::hash_chunk(b"another file"),
        Break::LyingHash(i) => {
            m.chunks[i % n].hash = wasm_chunker::hash_chunk(&p.seed.to_le_bytes());
            agree(&mut m);
        }
        Break::Repeated => {
            if n > 1 {
                m.chunks[1].hash = m.chunks[0].hash;
            }
        }
        Break::Swap => m.chunks.swap(0, n - 1),
        Break::Empty => m = Manifest::from_chunks(Vec::new()),
        Break::Many(_) | Break::Chunker(_) => {}
    }
    let mut v = serde_json::to_value(&m).unwrap();
    match &p.broken {
        Break::BadHash(i, h) => v["chunks"][i % n]["hash"] = h.clone(),
        Break::Drop(field) => {
            v.as_object_mut().unwrap().remove(*field);
        }
        Break::Extra => v["surprise"] = json!({"nested": [1, 2, 3]}),
        Break::NotAList => v["chunks"] = json!({"0": v["chunks"][0].clone()}),
        Break::Chunker(c) => v["chunker"] = json!(c),
        Break::Many(count) => {
            let h = wasm_chunker::hash_chunk(b"x").to_string();
            let chunks: Vec<Value> = (0..*count)
                .map(|i| json!({"hash": h, "offset": i, "size": 1}))
                .collect();
            v["chunks"] = Value::Array(chunks);
            v["size"] = json!(count);
        }
        _ => {}
    }
    v
}

/// The bytes a client would send for the chunk the manifest names by `hash`: the file's bytes at
/// the offset and size the manifest gives it (as far as the file has them).
fn bytes_named(data: &[u8], sent: &Value, hash: &str) -> Vec<u8> {
    let c = sent["chunks"]
        .as_array()
        .and_then(|cs| cs.iter().find(|c| c["hash"] == hash))
        .cloned()
        .unwrap_or(Value::Null);
    let offset = c["offset"].as_u64().unwrap_or(0) as usize;
    let size = c["size"].as_u64().unwrap_or(0) as usize;
    let start = offset.min(data.len());
    data[start..(start + size).min(data.len())].to_vec()
}

async fn manifests_are_committed_as_sent_or_refused_with_nothing_changed(backend: Backend) {
    let server = TestServer::on(backend).start().await;
    let alice = server.register("alice").await;
    let root = alice.session.root_id;
    let u = &alice;
    let http = crate::fixture::fresh_client();
    let http = &http;
    let server = &server;
    let tally = Tally::default();
    let tally = &tally;
    check("manifests", 32, plan(), |p| async move {
        let (data, honest) = file(&p);
        let sent = broken(&p, &honest);
        let folder = crate::names::scratch(u, root).await;
        let before = Snapshot::of(u, folder).await;
        let r = call(
            u,
            Method::POST,
            "/api/v1/uploads",
            Some(json!({ "manifest": sent })),
        )
        .await;
        if !r.ok() {
            tally.refused();
            let code = r.refusal("upload")?;
            ensure!(
                ["invalid_manifest", "bad_json", "too_large"].contains(&code.as_str()),
                "upload of {p:?}: {code}"
            );
            before.unchanged(&Snapshot::of(u, folder).await, "upload")?;
            return Ok(());
        }
        ensure!(r.status == 201, "upload: {}", r.status);
        let up: wire::UploadResponse = serde_json::from_str(&r.text).unwrap();
        for t in &up.missing {
            let body = bytes_named(&data, &sent, &t.hash.to_string());
            let put = http
                .put(server.url(&t.url))
                .body(body)
                .send()
                .await
                .unwrap();
            let put = Answer::of(put).await;
            if !put.ok() {
                put.refusal("chunk PUT")?;
            }
        }
        let r = Answer::of(u.commit(&up.upload_id, folder, "f", None).await).await;
        if r.status == 200 {
            tally.accepted();
            let id = r.json()["node"]["id"].as_i64().unwrap_or(0);
            let plan = u.download_plan(id).await;
            let back = serde_json::to_value(&plan.manifest).unwrap();
            let mut want = sent.clone();
            want.as_object_mut().unwrap().remove("surprise");
            ensure!(
                back == want,
                "{p:?}: committed manifest reads back as {back}"
            );
            // The bytes the manifest names, which for an honest one are the file's.
            let named: Vec<u8> = sent["chunks"]
                .as_array()
                .into_iter()
                .flatten()
                .flat_map(|c| bytes_named(&data, &sent, c["hash"].as_str().unwrap_or("")))
                .collect();
            if matches!(p.broken, Break::Nothing | Break::Extra) {
                ensure!(
                    named == data,
                    "{p:?}: the honest manifest names other bytes"
                );
            }
            let got = u.download(id).await;
            ensure!(
                got == named,
                "{p:?}: the bytes read back differ: {} bytes, not {}",
                got.len(),
                named.len()
            );
            return Ok(());
        }
        tally.refused();
        let code = r.refusal("commit")?;
        ensure!(
            ["upload_incomplete", "invalid_manifest"].contains(&code.as_str()),
            "commit of {p:?}: {code}"
        );
        let cancel = u
            .call(
                Method::DELETE,
                &format!("/api/v1/uploads/{}", up.upload_id),
                None,
            )
            .await;
        ensure!(
            cancel.status() == StatusCode::NO_CONTENT,
            "cancel: {}",
            cancel.status()
        );
        before.unchanged(&Snapshot::of(u, folder).await, "commit")?;
        Ok(())
    });
    tally.saw_both("manifests (accepted: committed and read back)");
}
