//! Manifests sent in parts (`POST /api/v1/manifests`, `PUT …/parts/{n}`, then
//! `POST /api/v1/uploads {"manifest_id"}`): a manifest too large for one request body opens
//! its upload as one sent inline would, each part is checked as it comes and kept as first
//! sent, a draft is its owner's alone, used up by the upload it opens, and expires unused.

use reqwest::{Method, StatusCode};
use serde_json::{json, Value};
use wire::manifest_parts::{self, ManifestDraft};
use wire::{ChunkRef, Manifest, UploadResponse};

use crate::fixture::{assert_error, bytes, Backend, TestServer, User};

crate::both!(
    a_manifest_of_forty_thousand_chunks_opens_through_its_parts,
    parts_are_checked_and_kept_as_first_sent,
    a_file_sent_through_parts_commits_and_reads_back,
    drafts_are_limited_and_expire_with_the_upload_ttl,
);

/// A manifest of `count` made-up chunks of 300,000 bytes (the last 1,234): a file that was
/// never read, for what the server decides before any byte is sent.
fn synthetic(count: usize, seed: u64) -> Manifest {
    let mut chunks = Vec::with_capacity(count);
    let mut offset = 0;
    for i in 0..count {
        let size = if i + 1 == count { 1_234 } else { 300_000 };
        let name = [seed.to_le_bytes(), (i as u64).to_le_bytes()].concat();
        chunks.push(ChunkRef {
            hash: wasm_chunker::hash_chunk(&name),
            offset,
            size,
        });
        offset += u64::from(size);
    }
    Manifest {
        chunker: wasm_chunker::CHUNKER_ID.to_owned(),
        size: offset,
        hash: wasm_chunker::file_hash(wasm_chunker::CHUNKER_ID, &chunks),
        chunks,
    }
}

fn part_path(id: &str, n: u32) -> String {
    format!("/api/v1/manifests/{id}/parts/{n}")
}

async fn draft(u: &User<'_>, m: &Manifest) -> ManifestDraft {
    let r = u
        .call(
            Method::POST,
            "/api/v1/manifests",
            Some(json!(manifest_parts::draft_request(m))),
        )
        .await;
    assert_eq!(r.status(), StatusCode::CREATED);
    r.json().await.unwrap()
}

async fn put_part(u: &User<'_>, d: &ManifestDraft, m: &Manifest, n: u32) -> reqwest::Response {
    let part = manifest_parts::part(m, n, d.part_chunks);
    u.call(Method::PUT, &part_path(&d.id, n), Some(json!(part)))
        .await
}

/// Every part of `m`, two at a time (as the web client sends them).
async fn put_parts(u: &User<'_>, d: &ManifestDraft, m: &Manifest) {
    let numbers: Vec<u32> = (0..d.parts).collect();
    for pair in numbers.chunks(2) {
        let sent = futures::future::join_all(pair.iter().map(|&n| put_part(u, d, m, n))).await;
        for (r, n) in sent.into_iter().zip(pair) {
            assert_eq!(r.status(), StatusCode::NO_CONTENT, "part {n}");
        }
    }
}

async fn open_draft(u: &User<'_>, id: &str) -> reqwest::Response {
    u.call(
        Method::POST,
        "/api/v1/uploads",
        Some(json!({ "manifest_id": id })),
    )
    .await
}

async fn a_manifest_of_forty_thousand_chunks_opens_through_its_parts(backend: Backend) {
    let server = TestServer::on(backend).start().await;
    let alice = server.register("alice").await;
    let m = synthetic(40_000, 1);
    // Inline it is past the body limit.
    let inline = alice
        .call(
            Method::POST,
            "/api/v1/uploads",
            Some(json!({ "manifest": m })),
        )
        .await;
    assert_error(inline, StatusCode::PAYLOAD_TOO_LARGE, "too_large").await;

    let d = draft(&alice, &m).await;
    assert_eq!(d.part_chunks, manifest_parts::DEFAULT_PART_CHUNKS);
    assert_eq!(d.parts, 5);
    put_parts(&alice, &d, &m).await;
    let r = open_draft(&alice, &d.id).await;
    assert_eq!(r.status(), StatusCode::CREATED);
    let up: UploadResponse = r.json().await.unwrap();
    assert_eq!(up.missing.len(), 40_000);
    let listed: Vec<_> = up.missing.iter().map(|t| (t.hash, t.size)).collect();
    let wanted: Vec<_> = m.chunks.iter().map(|c| (c.hash, c.size)).collect();
    assert_eq!(listed, wanted, "the chunks in file order, at their sizes");
    let ns = alice.session.namespace_id;
    assert_eq!(server.counters(ns).await, (0, 0, m.size), "reserved");

    // Resuming lists the same, from the stored manifest.
    let again: UploadResponse = alice
        .ok(
            Method::GET,
            &format!("/api/v1/uploads/{}", up.upload_id),
            None,
        )
        .await;
    assert_eq!(again.missing.len(), 40_000);

    // The draft is used up: no second upload from it, no more parts.
    assert_error(
        open_draft(&alice, &d.id).await,
        StatusCode::NOT_FOUND,
        "not_found",
    )
    .await;
    assert_error(
        put_part(&alice, &d, &m, 0).await,
        StatusCode::NOT_FOUND,
        "not_found",
    )
    .await;
    assert_eq!(server.counters(ns).await, (0, 0, m.size));
}

async fn parts_are_checked_and_kept_as_first_sent(backend: Backend) {
    let server = TestServer::on(backend)
        .settings(|s| s.manifest_part_chunks = 2)
        .start()
        .await;
    let alice = server.register("alice").await;
    let bob = server.register("bob").await;
    let ns = alice.session.namespace_id;
    let m = synthetic(5, 2);
    let d = draft(&alice, &m).await;
    assert_eq!((d.part_chunks, d.parts), (2, 3));

    // Heads that no parts could make valid.
    let head = json!(manifest_parts::draft_request(&m));
    let with = |k: &str, v: Value| {
        let mut h = head.clone();
        h[k] = v;
        h
    };
    for bad in [
        with("chunker", json!("fastcdc-other")),
        with("chunk_count", json!(0)),
        with("chunk_count", json!(wasm_chunker::MAX_CHUNKS + 1)),
        with("size", json!(10)),
        with("size", json!(5 * 4 * 1024 * 1024 + 1)),
    ] {
        let r = alice
            .call(Method::POST, "/api/v1/manifests", Some(bad.clone()))
            .await;
        assert_error(r, StatusCode::BAD_REQUEST, "invalid_manifest").await;
    }
    let r = alice
        .call(
            Method::POST,
            "/api/v1/manifests",
            Some(with("hash", json!("nothex"))),
        )
        .await;
    assert_error(r, StatusCode::BAD_REQUEST, "bad_json").await;

    // Opening before every part is there: refused, naming the part; nothing opened.
    assert_eq!(put_part(&alice, &d, &m, 0).await.status(), 204);
    assert_eq!(put_part(&alice, &d, &m, 2).await.status(), 204);
    let r = open_draft(&alice, &d.id).await;
    assert_eq!(r.status(), StatusCode::CONFLICT);
    let v: Value = r.json().await.unwrap();
    assert_eq!(v["error"]["code"], "manifest_incomplete");
    assert!(
        v["error"]["message"].as_str().unwrap().contains("part 1"),
        "{v}"
    );
    assert_eq!(server.counters(ns).await, (0, 0, 0));

    // A part sent again: the same entries are a retry, others a conflict.
    assert_eq!(put_part(&alice, &d, &m, 0).await.status(), 204);
    let mut other = manifest_parts::part(&m, 0, 2);
    other.chunks.swap(0, 1);
    let r = alice
        .call(Method::PUT, &part_path(&d.id, 0), Some(json!(other)))
        .await;
    assert_error(r, StatusCode::CONFLICT, "conflict").await;

    // Entries checked one by one, the refusal naming the entry.
    let part1 = manifest_parts::part(&m, 1, 2);
    let mut tiny = part1.clone();
    tiny.chunks[1].size = 1_000; // not the file's last chunk
    let mut empty = part1.clone();
    empty.chunks[0].size = 0;
    let mut huge = part1.clone();
    huge.chunks[1].size = wasm_chunker::MAX_SIZE + 1;
    let mut short = part1.clone();
    short.chunks.pop();
    for (bad, names) in [
        (tiny, "chunks[1]"),
        (empty, "chunks[0]"),
        (huge, "chunks[1]"),
        (short, "holds 2 chunks"),
    ] {
        let r = alice
            .call(Method::PUT, &part_path(&d.id, 1), Some(json!(bad)))
            .await;
        assert_eq!(r.status(), StatusCode::BAD_REQUEST);
        let v: Value = r.json().await.unwrap();
        assert_eq!(v["error"]["code"], "invalid_manifest");
        let message = v["error"]["message"].as_str().unwrap();
        assert!(message.contains(names), "{message}");
    }
    let mut bad_hash = json!(part1);
    bad_hash["chunks"][1]["hash"] = json!("ABC");
    let r = alice
        .call(Method::PUT, &part_path(&d.id, 1), Some(bad_hash))
        .await;
    assert_eq!(r.status(), StatusCode::BAD_REQUEST);
    let v: Value = r.json().await.unwrap();
    assert_eq!(v["error"]["code"], "bad_json");
    assert!(
        v["error"]["message"]
            .as_str()
            .unwrap()
            .contains("chunks[1]"),
        "{v}"
    );
    for (path, code) in [
        (part_path(&d.id, 3), "bad_request"),
        (format!("/api/v1/manifests/{}/parts/x", d.id), "bad_request"),
    ] {
        let r = alice.call(Method::PUT, &path, Some(json!(part1))).await;
        assert_error(r, StatusCode::BAD_REQUEST, code).await;
    }

    // Someone else's draft does not exist for them.
    let r = bob
        .call(Method::PUT, &part_path(&d.id, 1), Some(json!(part1)))
        .await;
    assert_error(r, StatusCode::NOT_FOUND, "not_found").await;
    assert_error(
        open_draft(&bob, &d.id).await,
        StatusCode::NOT_FOUND,
        "not_found",
    )
    .await;
    assert_error(
        open_draft(&alice, "no-such-draft").await,
        StatusCode::NOT_FOUND,
        "not_found",
    )
    .await;

    // `manifest` or `manifest_id`, one of the two; a batch takes no draft.
    for body in [json!({}), json!({"manifest": m, "manifest_id": d.id})] {
        let r = alice
            .call(Method::POST, "/api/v1/uploads", Some(body))
            .await;
        assert_error(r, StatusCode::BAD_REQUEST, "bad_request").await;
    }
    let r = alice
        .call(
            Method::POST,
            "/api/v1/batch/uploads",
            Some(json!({"uploads": [{"manifest_id": d.id}]})),
        )
        .await;
    assert_error(r, StatusCode::BAD_REQUEST, "bad_request").await;

    // Parts whose list is not the file hash's: refused as an inline manifest would be, with
    // nothing opened.
    let mut wrong = m.clone();
    wrong.hash = synthetic(5, 3).hash;
    let w = draft(&alice, &wrong).await;
    put_parts(&alice, &w, &wrong).await;
    assert_error(
        open_draft(&alice, &w.id).await,
        StatusCode::BAD_REQUEST,
        "invalid_manifest",
    )
    .await;
    assert_eq!(server.counters(ns).await, (0, 0, 0));

    // With the last part the draft opens the upload; the part refused above never was kept.
    assert_eq!(put_part(&alice, &d, &m, 1).await.status(), 204);
    let r = open_draft(&alice, &d.id).await;
    assert_eq!(r.status(), StatusCode::CREATED);
    let up: UploadResponse = r.json().await.unwrap();
    assert_eq!(up.missing.len(), 5);
    assert_eq!(server.counters(ns).await, (0, 0, m.size));
}

async fn a_file_sent_through_parts_commits_and_reads_back(backend: Backend) {
    let server = TestServer::on(backend)
        .settings(|s| s.manifest_part_chunks = 2)
        .start()
        .await;
    let alice = server.register("alice").await;
    let data = bytes(7, 6 * 1024 * 1024 + 4321);
    let m = Manifest::from_chunks(wasm_chunker::chunk_all(&data));
    assert!(m.chunks.len() >= 3, "{} chunks", m.chunks.len());
    let d = draft(&alice, &m).await;
    assert_eq!(d.parts as usize, m.chunks.len().div_ceil(2));
    put_parts(&alice, &d, &m).await;
    let r = open_draft(&alice, &d.id).await;
    assert_eq!(r.status(), StatusCode::CREATED);
    let up: UploadResponse = r.json().await.unwrap();
    alice.put_missing(&m, &up, &data).await;
    let r = alice
        .commit(&up.upload_id, alice.session.root_id, "big.bin", None)
        .await;
    assert_eq!(r.status(), StatusCode::OK);
    let done: wire::CommitResponse = r.json().await.unwrap();
    assert_eq!(done.node.size, data.len() as u64);
    assert_eq!(alice.download(done.node.id).await, data);

    // The same bytes again through a new draft: nothing left to send.
    let d = draft(&alice, &m).await;
    put_parts(&alice, &d, &m).await;
    let up: UploadResponse = alice
        .ok(
            Method::POST,
            "/api/v1/uploads",
            Some(json!({"manifest_id": d.id})),
        )
        .await;
    assert!(up.missing.is_empty());
    let ns = alice.session.namespace_id;
    assert_eq!(server.counters(ns).await, (data.len() as u64, 0, 0));
}

async fn drafts_are_limited_and_expire_with_the_upload_ttl(backend: Backend) {
    let server = TestServer::on(backend)
        .settings(|s| {
            s.max_open_uploads = 2;
            s.manifest_part_chunks = 2;
        })
        .start()
        .await;
    let alice = server.register("alice").await;
    let m = synthetic(3, 4);
    let first = draft(&alice, &m).await;
    let _second = draft(&alice, &m).await;
    let r = alice
        .call(
            Method::POST,
            "/api/v1/manifests",
            Some(json!(manifest_parts::draft_request(&m))),
        )
        .await;
    assert_error(r, StatusCode::CONFLICT, "too_many_uploads").await;
    assert_eq!(put_part(&alice, &first, &m, 0).await.status(), 204);

    let ttl = server.state.settings.upload_ttl;
    server.advance(ttl + std::time::Duration::from_secs(1));
    assert_error(
        put_part(&alice, &first, &m, 1).await,
        StatusCode::GONE,
        "upload_expired",
    )
    .await;
    assert_error(
        open_draft(&alice, &first.id).await,
        StatusCode::GONE,
        "upload_expired",
    )
    .await;
    // Expired drafts no longer count, and the collector's expiry pass drops them and their
    // parts.
    let fresh = draft(&alice, &m).await;
    api::gc::collect(&server.state).await.unwrap();
    assert_error(
        put_part(&alice, &first, &m, 1).await,
        StatusCode::NOT_FOUND,
        "not_found",
    )
    .await;
    let db = server.db().await;
    let left = api::db::manifest_drafts::part_numbers(&db, &first.id)
        .await
        .unwrap();
    db.pool.close().await;
    assert!(left.is_empty(), "{left:?}");
    put_parts(&alice, &fresh, &m).await;
    assert_eq!(open_draft(&alice, &fresh.id).await.status(), 201);
}
