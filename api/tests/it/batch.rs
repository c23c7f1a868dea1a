//! Many files per request (`POST /api/v1/batch/uploads`, `/commits`): a batch start is one
//! transaction, all or nothing; batch commits stand alone and share durable transactions.

use reqwest::{Method, StatusCode};
use serde_json::{json, Value};
use wire::{BatchCommitsResponse, BatchUploadsResponse, Manifest};

use crate::fixture::{assert_error, bytes, Backend, TestServer, User};

crate::both!(
    a_folder_of_files_goes_up_in_two_requests_and_few_transactions,
    one_refused_commit_does_not_stop_the_others,
    a_batch_start_is_all_or_nothing,
    batches_hold_one_to_a_hundred,
);

/// Starts one batch for `files`, PUTs what each lacks, and answers the upload ids.
async fn start_and_send(u: &User<'_>, files: &[Vec<u8>]) -> Vec<String> {
    let manifests: Vec<Manifest> = files
        .iter()
        .map(|d| Manifest::from_chunks(wasm_chunker::chunk_all(d)))
        .collect();
    let body = json!({ "uploads": manifests.iter().map(|m| json!({ "manifest": m })).collect::<Vec<_>>() });
    let r = u
        .call(Method::POST, "/api/v1/batch/uploads", Some(body))
        .await;
    assert_eq!(r.status(), StatusCode::CREATED);
    let started: BatchUploadsResponse = r.json().await.unwrap();
    assert_eq!(started.uploads.len(), files.len());
    for ((m, up), data) in manifests.iter().zip(&started.uploads).zip(files) {
        u.put_missing(m, up, data).await;
    }
    started.uploads.into_iter().map(|u| u.upload_id).collect()
}

fn commit(upload_id: &str, parent: i64, name: &str) -> Value {
    json!({"upload_id": upload_id, "parent_id": parent, "name": name, "base_version": null, "idempotency_key": upload_id})
}

async fn commit_batch(u: &User<'_>, commits: Vec<Value>) -> BatchCommitsResponse {
    u.ok(
        Method::POST,
        "/api/v1/batch/commits",
        Some(json!({ "commits": commits })),
    )
    .await
}

async fn a_folder_of_files_goes_up_in_two_requests_and_few_transactions(backend: Backend) {
    let server = TestServer::on(backend).start().await;
    let alice = server.register("alice").await;
    let folder = alice.mkdir(alice.session.root_id, "photos").await;
    let files: Vec<Vec<u8>> = (0..60)
        .map(|i| bytes(100 + i, 1000 + 37 * i as usize))
        .collect();
    // A file twice in one batch: both are answered, and the chunk is stored once.
    let mut files = files;
    files.push(files[0].clone());
    let ids = start_and_send(&alice, &files).await;
    let before = server.metric("cairn_commit_batch_size_count").await;
    let commits = ids
        .iter()
        .enumerate()
        .map(|(i, id)| commit(id, folder.id, &format!("f{i:02}.bin")))
        .collect();
    let done = commit_batch(&alice, commits).await;
    assert_eq!(done.results.len(), files.len());
    for (i, r) in done.results.iter().enumerate() {
        assert_eq!(r.status, 200, "commit {i}: {:?}", r.error);
        let c = r.committed.as_ref().unwrap();
        assert_eq!(c.node.name, format!("f{i:02}.bin"));
        assert_eq!(c.node.size, files[i].len() as u64);
    }
    let transactions = server.metric("cairn_commit_batch_size_count").await - before;
    assert!(
        transactions <= 20.0,
        "61 commits in one request took {transactions} transactions"
    );
    assert_eq!(alice.names(folder.id).await.len(), files.len());
    let last = done.results.last().unwrap().committed.as_ref().unwrap();
    assert_eq!(alice.download(last.node.id).await, files[0]);

    // The same batch again (a retry after a lost answer) writes nothing new.
    let again = commit_batch(
        &alice,
        ids.iter()
            .enumerate()
            .map(|(i, id)| commit(id, folder.id, &format!("f{i:02}.bin")))
            .collect(),
    )
    .await;
    for (first, second) in done.results.iter().zip(&again.results) {
        assert_eq!(second.status, 200);
        assert_eq!(
            first.committed.as_ref().unwrap().version_id,
            second.committed.as_ref().unwrap().version_id
        );
    }
    assert_eq!(alice.names(folder.id).await.len(), files.len());
}

async fn one_refused_commit_does_not_stop_the_others(backend: Backend) {
    let server = TestServer::on(backend).start().await;
    let alice = server.register("alice").await;
    let root = alice.session.root_id;
    let files = [bytes(1, 2000), bytes(2, 3000)];
    let ids = start_and_send(&alice, &files).await;
    let done = commit_batch(
        &alice,
        vec![
            commit(&ids[0], root, "bad/name"),
            commit("no-such-upload", root, "ghost.bin"),
            commit(&ids[1], root, "good.bin"),
        ],
    )
    .await;
    let codes: Vec<(u16, Option<&str>)> = done
        .results
        .iter()
        .map(|r| (r.status, r.error.as_ref().map(|e| e.code.as_str())))
        .collect();
    assert_eq!(
        codes,
        [
            (400, Some("invalid_name")),
            (404, Some("not_found")),
            (200, None)
        ]
    );
    assert!(done.results[0].committed.is_none());
    assert_eq!(alice.names(root).await, ["good.bin"]);
    // The refused upload is still open: it commits under a good name.
    let fixed = commit_batch(&alice, vec![commit(&ids[0], root, "fine.bin")]).await;
    assert_eq!(fixed.results[0].status, 200);
}

async fn a_batch_start_is_all_or_nothing(backend: Backend) {
    let server = TestServer::on(backend).start().await;
    let alice = server.register("alice").await;
    let good = Manifest::from_chunks(wasm_chunker::chunk_all(&bytes(3, 5000)));
    let mut bad = Manifest::from_chunks(wasm_chunker::chunk_all(&bytes(4, 5000)));
    bad.size += 1;
    let r = alice
        .call(
            Method::POST,
            "/api/v1/batch/uploads",
            Some(json!({ "uploads": [{ "manifest": good }, { "manifest": bad }] })),
        )
        .await;
    let v: Value = r.json().await.unwrap();
    assert_eq!(v["error"]["code"], "invalid_manifest");
    let message = v["error"]["message"].as_str().unwrap();
    assert!(message.contains(": uploads[1]: "), "{message}");
    let (_, _, staged) = server.counters(alice.session.namespace_id).await;
    assert_eq!(staged, 0, "nothing was reserved for the good manifest");

    // Past the account's open uploads, nothing starts either.
    let many: Vec<Value> = (0..100)
        .map(|i| json!({ "manifest": Manifest::from_chunks(wasm_chunker::chunk_all(&bytes(500 + i, 1500))) }))
        .collect();
    for round in 0..3 {
        let r = alice
            .call(
                Method::POST,
                "/api/v1/batch/uploads",
                Some(json!({ "uploads": many })),
            )
            .await;
        if round < 2 {
            assert_eq!(r.status(), StatusCode::CREATED);
        } else {
            assert_error(r, StatusCode::CONFLICT, "too_many_uploads").await;
        }
    }
    let (_, _, staged_now) = server.counters(alice.session.namespace_id).await;
    let one_round: u64 = 100 * 1500;
    assert_eq!(
        staged_now,
        2 * one_round,
        "the refused batch reserved nothing"
    );
}

async fn batches_hold_one_to_a_hundred(backend: Backend) {
    let server = TestServer::on(backend).start().await;
    let alice = server.register("alice").await;
    for path in ["/api/v1/batch/uploads", "/api/v1/batch/commits"] {
        let key = if path.ends_with("uploads") {
            "uploads"
        } else {
            "commits"
        };
        let r = alice
            .call(Method::POST, path, Some(json!({ key: [] })))
            .await;
        assert_error(r, StatusCode::BAD_REQUEST, "bad_request").await;
    }
    let m = Manifest::from_chunks(wasm_chunker::chunk_all(&bytes(9, 100)));
    let r = alice
        .call(
            Method::POST,
            "/api/v1/batch/uploads",
            Some(json!({ "uploads": vec![json!({ "manifest": m }); 101] })),
        )
        .await;
    assert_error(r, StatusCode::BAD_REQUEST, "bad_request").await;
    let r = alice
        .call(
            Method::POST,
            "/api/v1/batch/commits",
            Some(json!({ "commits": vec![commit("x", 1, "y"); 101] })),
        )
        .await;
    assert_error(r, StatusCode::BAD_REQUEST, "bad_request").await;
    let (_, _, staged) = server.counters(alice.session.namespace_id).await;
    assert_eq!(staged, 0);
}

/// Over S3 a batch's chunks are checked together before its commits: every honest file is
/// committed, and a forged one is refused with `hash_mismatch` and never stored.
#[tokio::test]
async fn over_s3_a_batch_checks_every_chunk_and_a_forged_one_is_refused() {
    let server = TestServer::on(Backend::Sqlite).s3(true).start().await;
    let alice = server.register("alice").await;
    let root = alice.session.root_id;
    let files: Vec<Vec<u8>> = (0..12).map(|i| bytes(300 + i, 4000 + i as usize)).collect();
    let manifests: Vec<Manifest> = files
        .iter()
        .map(|d| Manifest::from_chunks(wasm_chunker::chunk_all(d)))
        .collect();
    let body = json!({ "uploads": manifests.iter().map(|m| json!({ "manifest": m })).collect::<Vec<_>>() });
    let started: BatchUploadsResponse = alice
        .ok(Method::POST, "/api/v1/batch/uploads", Some(body))
        .await;
    for (i, ((m, up), data)) in manifests
        .iter()
        .zip(&started.uploads)
        .zip(&files)
        .enumerate()
    {
        if i == 5 {
            // Other bytes of the same size under file 5's signed URL.
            let r = server
                .http
                .put(server.url(&up.missing[0].url))
                .body(vec![0xAB; data.len()])
                .send()
                .await
                .unwrap();
            assert!(r.status().is_success());
        } else {
            alice.put_missing(m, up, data).await;
        }
    }
    let commits = started
        .uploads
        .iter()
        .enumerate()
        .map(|(i, u)| commit(&u.upload_id, root, &format!("f{i:02}.bin")))
        .collect();
    let done = commit_batch(&alice, commits).await;
    for (i, r) in done.results.iter().enumerate() {
        if i == 5 {
            assert_eq!(r.status, 400);
            assert_eq!(r.error.as_ref().unwrap().code, "hash_mismatch");
        } else {
            assert_eq!(r.status, 200, "commit {i}: {:?}", r.error);
        }
    }
    let g = server.garage.as_ref().unwrap();
    let stored = g.keys("chunks/").await;
    assert_eq!(stored.len(), 11, "the forged chunk is not stored");
    assert!(g.keys("staging/").await.is_empty());
    let listing = alice.names(root).await;
    assert_eq!(listing.len(), 11);
    let r = done.results[11].committed.as_ref().unwrap();
    assert_eq!(alice.download(r.node.id).await, files[11]);
}
