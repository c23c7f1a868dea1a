//! Expiry of abandoned uploads and garbage collection of chunks, on both stores, including the
//! race between the collector and a commit that names a chunk it is about to delete.

use std::time::Duration;

use reqwest::{Method, StatusCode};
use sqlx::Row as _;
use wire::{CommitResponse, UploadResponse};

use crate::fixture::{assert_error, bytes, Backend, TestServer};

async fn chunk_rows(server: &TestServer) -> Vec<String> {
    sqlx::query("SELECT hash FROM chunks ORDER BY hash")
        .fetch_all(&server.state.db.pool)
        .await
        .unwrap()
        .iter()
        .map(|r| r.get(0))
        .collect()
}

/// Every chunk row has its bytes in the store.
async fn assert_rows_have_bytes(server: &TestServer) {
    for h in chunk_rows(server).await {
        let hash: wire::Hash = h.parse().unwrap();
        assert!(
            server.state.blobs.chunk_exists(&hash).await.unwrap(),
            "chunk {h} has a row but no bytes"
        );
    }
}

#[tokio::test]
async fn abandoned_uploads_expire_with_what_they_staged() {
    for s3 in [false, true] {
        let server = TestServer::on(Backend::Sqlite).s3(s3).start().await;
        let alice = server.register("alice").await;
        let data = bytes(31, 2 * 1024 * 1024);
        let (manifest, up) = alice.start_upload(&data).await;
        alice.put_missing(&manifest, &up, &data).await;
        let ttl = server.state.settings.upload_ttl.as_millis() as i64;

        // Not expired yet: nothing happens.
        let n = api::gc::expire_uploads(&server.state, server.now_ms())
            .await
            .unwrap();
        assert_eq!(n, 0);
        if let Some(g) = &server.garage {
            assert_eq!(g.keys("staging/").await.len(), up.missing.len());
        }

        server.advance(Duration::from_millis(ttl as u64 + 1));
        let n = api::gc::expire_uploads(&server.state, server.now_ms())
            .await
            .unwrap();
        assert_eq!(n, 1, "s3={s3}");
        if let Some(g) = &server.garage {
            assert!(g.keys("staging/").await.is_empty());
        }
        // The session is gone for the client too.
        let r = alice
            .call(
                Method::GET,
                &format!("/api/v1/uploads/{}", up.upload_id),
                None,
            )
            .await;
        assert_error(r, StatusCode::NOT_FOUND, "not_found").await;

        // Chunks verified for it (the local store verifies on receipt) are now garbage.
        let report = api::gc::collect(&server.state).await.unwrap();
        assert_eq!(
            report.chunks_deleted,
            if s3 { 0 } else { up.missing.len() },
            "s3={s3}"
        );
        assert!(chunk_rows(&server).await.is_empty());
        match &server.garage {
            Some(g) => assert!(g.keys("chunks/").await.is_empty()),
            None => assert!(server.stored_files().is_empty()),
        }
        // And "missing" says so: the namespace must send them again.
        let (_, again) = alice.start_upload(&data).await;
        assert_eq!(again.missing.len(), up.missing.len());
    }
}

#[tokio::test]
async fn chunks_of_live_versions_and_open_uploads_survive_collection() {
    for s3 in [false, true] {
        let server = TestServer::on(Backend::Sqlite).s3(s3).start().await;
        let alice = server.register("alice").await;
        let kept = bytes(32, 2 * 1024 * 1024);
        let f = alice.upload_file("kept.bin", &kept, None).await;
        let pending = bytes(33, 1024 * 1024);
        let (manifest, up) = alice.start_upload(&pending).await;
        alice.put_missing(&manifest, &up, &pending).await;
        let rows = chunk_rows(&server).await;

        let report = api::gc::collect(&server.state).await.unwrap();
        assert_eq!(report.chunks_deleted, 0);
        assert_eq!(report.versions_pruned, 0);
        if !s3 {
            assert_eq!(chunk_rows(&server).await, rows);
        }
        assert_rows_have_bytes(&server).await;
        assert_eq!(alice.download(f.node.id).await, kept);
        let r = alice
            .commit(&up.upload_id, alice.session.root_id, "p.bin", None)
            .await;
        assert_eq!(r.status(), StatusCode::OK);
    }
}

#[tokio::test]
async fn old_versions_beyond_retention_are_pruned_with_their_chunks() {
    for s3 in [false, true] {
        let server = TestServer::on(Backend::Sqlite)
            .s3(s3)
            .settings(|s| s.version_retention = Duration::ZERO)
            .start()
            .await;
        let alice = server.register("alice").await;
        let v1 = bytes(34, 2 * 1024 * 1024);
        let v2 = bytes(35, 2 * 1024 * 1024);
        let first = alice.upload_file("doc.bin", &v1, None).await;
        let second = alice
            .upload_file("doc.bin", &v2, first.node.version_id)
            .await;
        assert_eq!(second.node.id, first.node.id);
        let report = api::gc::collect(&server.state).await.unwrap();
        assert_eq!(report.versions_pruned, 1, "s3={s3}");
        assert!(report.chunks_deleted >= 1, "s3={s3}");
        assert_rows_have_bytes(&server).await;
        assert_eq!(alice.download(second.node.id).await, v2);
    }
}

crate::both!(a_commit_whose_chunk_vanished_after_the_missing_answer_is_refused,);

async fn a_commit_whose_chunk_vanished_after_the_missing_answer_is_refused(
    backend: crate::fixture::Backend,
) {
    // What the collector does between a "missing" answer and the commit, done by hand: the
    // commit re-checks its chunks inside its own transaction.
    let server = TestServer::on(backend).start().await;
    let alice = server.register("alice").await;
    let data = bytes(36, 1024 * 1024);
    let (manifest, up) = alice.start_upload(&data).await;
    alice.put_missing(&manifest, &up, &data).await;
    sqlx::query("DELETE FROM namespace_chunks")
        .execute(&server.state.db.pool)
        .await
        .unwrap();
    // The session's own answer (computed before the deletion) is stale; the commit is not.
    let r = alice
        .commit(&up.upload_id, alice.session.root_id, "x.bin", None)
        .await;
    assert_error(r, StatusCode::CONFLICT, "upload_incomplete").await;
    assert!(
        alice.names(alice.session.root_id).await.is_empty(),
        "nothing was written"
    );
}

/// Overwrites one file with contents that come and go (A, B, A, C, B, …) while the collector
/// runs flat out with zero retention, so it keeps trying to delete chunks a commit is about to
/// name again. Every commit either succeeds and reads back intact, or is refused as incomplete
/// and succeeds after re-sending what the session then lists as missing.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn collection_racing_commits_never_loses_a_committed_chunk() {
    use crate::fixture::Backend;
    // PostgreSQL too: there the race is held off by row locks (`FOR SHARE` when a commit pins
    // its chunks, `FOR UPDATE` when the collector deletes), not by one writer at a time.
    for (backend, s3) in [
        (Backend::Sqlite, false),
        (Backend::Sqlite, true),
        (Backend::Postgres, false),
        (Backend::Postgres, true),
    ] {
        let server = TestServer::on(backend)
            .s3(s3)
            .settings(|s| s.version_retention = Duration::ZERO)
            .start()
            .await;
        let alice = server.register("alice").await;
        let contents: Vec<Vec<u8>> = (0..3).map(|i| bytes(40 + i, 1024 * 1024 + 99)).collect();

        let stop = std::sync::Arc::new(std::sync::atomic::AtomicBool::new(false));
        let gc = {
            let state = server.state.clone();
            let stop = stop.clone();
            tokio::spawn(async move {
                let mut runs = 0u32;
                while !stop.load(std::sync::atomic::Ordering::Relaxed) {
                    api::gc::collect(&state).await.unwrap();
                    runs += 1;
                    tokio::task::yield_now().await;
                }
                runs
            })
        };

        let mut base: Option<i64> = None;
        let mut node = 0;
        let mut retried = 0;
        for round in 0..12 {
            let data = &contents[(round * 7 / 3) % 3];
            let (manifest, up) = alice.start_upload(data).await;
            alice.put_missing(&manifest, &up, data).await;
            let mut r = alice
                .commit(&up.upload_id, alice.session.root_id, "f.bin", base)
                .await;
            while r.status() == StatusCode::CONFLICT {
                retried += 1;
                assert!(retried < 50, "the commit never got through");
                let again: UploadResponse = alice
                    .ok(
                        Method::GET,
                        &format!("/api/v1/uploads/{}", up.upload_id),
                        None,
                    )
                    .await;
                alice.put_missing(&manifest, &again, data).await;
                r = alice
                    .commit(&up.upload_id, alice.session.root_id, "f.bin", base)
                    .await;
            }
            assert_eq!(
                r.status(),
                StatusCode::OK,
                "{backend:?} s3={s3} round {round}"
            );
            let c: CommitResponse = r.json().await.unwrap();
            assert!(c.conflict.is_none());
            base = c.node.version_id;
            node = c.node.id;
            assert_eq!(
                &alice.download(node).await,
                data,
                "{backend:?} s3={s3} round {round}"
            );
        }
        stop.store(true, std::sync::atomic::Ordering::Relaxed);
        let runs = gc.await.unwrap();
        assert!(runs > 0);
        api::gc::collect(&server.state).await.unwrap();
        assert_rows_have_bytes(&server).await;
        assert_eq!(alice.download(node).await, contents[(11 * 7 / 3) % 3]);
    }
}
