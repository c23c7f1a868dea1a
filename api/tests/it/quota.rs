//! Quotas: everything an account keeps on the server counts — current files (trash included),
//! old versions, and the chunks open uploads may still send. Old versions give way, oldest
//! first, when new content needs room; past that, a write is refused with 507 and changes
//! nothing.

use reqwest::{Method, StatusCode};
use serde_json::json;
use wire::MeResponse;

use crate::fixture::{assert_error, bytes, Backend, TestServer, User};

crate::both!(
    a_write_past_the_quota_is_refused_and_changes_nothing,
    uploads_never_committed_count_and_cannot_keep_bytes_for_free,
    old_versions_count_and_give_way_oldest_first,
    open_uploads_are_capped,
);

async fn a_write_past_the_quota_is_refused_and_changes_nothing(backend: Backend) {
    let server = TestServer::on(backend)
        .settings(|s| s.quota_bytes = 10_000)
        .start()
        .await;
    let alice = server.register("alice").await;
    let root = alice.session.root_id;
    let a = alice.upload_file("a.bin", &bytes(1, 6_000), None).await;
    assert_eq!(usage(&alice).await, (6_000, 0, 0));
    let seqs = server.change_seqs(alice.session.namespace_id).await;

    // 6,000 + 5,000 new bytes to send > 10,000: refused before a byte is sent.
    let manifest = wasm_chunker::Manifest::from_chunks(wasm_chunker::chunk_all(&bytes(2, 5_000)));
    let r = alice
        .call(
            Method::POST,
            "/api/v1/uploads",
            Some(json!({ "manifest": manifest })),
        )
        .await;
    assert_error(r, StatusCode::INSUFFICIENT_STORAGE, "quota_exceeded").await;
    assert_eq!(usage(&alice).await, (6_000, 0, 0));

    // A second copy of stored content sends nothing but is a file like any other: refused
    // at the commit, and nothing changes.
    let (_, up) = alice.start_upload(&bytes(1, 6_000)).await;
    assert!(up.missing.is_empty());
    let r = alice.commit(&up.upload_id, root, "copy.bin", None).await;
    assert_error(r, StatusCode::INSUFFICIENT_STORAGE, "quota_exceeded").await;
    assert_eq!(alice.names(root).await, ["a.bin"]);
    assert_eq!(usage(&alice).await, (6_000, 0, 0));
    assert_eq!(server.change_seqs(alice.session.namespace_id).await, seqs);

    // The trash still counts; purging frees the bytes.
    let b = alice.upload_file("b.bin", &bytes(4, 3_500), None).await;
    assert_eq!(usage(&alice).await, (9_500, 0, 0));
    alice.trash(b.node.id).await;
    assert_eq!(usage(&alice).await, (9_500, 0, 0));
    alice.purge(b.node.id).await;
    assert_eq!(usage(&alice).await, (6_000, 0, 0));
    // Exactly up to the quota is allowed.
    alice.upload_file("d.bin", &bytes(5, 4_000), None).await;
    assert_eq!(usage(&alice).await, (10_000, 0, 0));
    let me: MeResponse = alice.ok(Method::GET, "/api/v1/me", None).await;
    assert_eq!((me.used_bytes, me.quota_bytes), (10_000, 10_000));
    let _ = a;
    assert_counters_true(&server, alice.session.namespace_id).await;
}

async fn uploads_never_committed_count_and_cannot_keep_bytes_for_free(backend: Backend) {
    // The attack: PUT chunks to an upload, never commit, keep re-announcing it.
    let quota = 1_200_000;
    let server = TestServer::on(backend)
        .settings(|s| s.quota_bytes = quota)
        .start()
        .await;
    let alice = server.register("alice").await;
    let root = alice.session.root_id;
    let first = bytes(1, 1_000_000);
    let (manifest, up) = alice.start_upload(&first).await;
    alice.put_missing(&manifest, &up, &first).await;
    assert_eq!(usage(&alice).await, (0, 0, 1_000_000));

    // Another megabyte does not fit beside the one staged.
    let other = wasm_chunker::Manifest::from_chunks(wasm_chunker::chunk_all(&bytes(2, 1_000_000)));
    let r = alice
        .call(
            Method::POST,
            "/api/v1/uploads",
            Some(json!({ "manifest": other })),
        )
        .await;
    assert_error(r, StatusCode::INSUFFICIENT_STORAGE, "quota_exceeded").await;

    // Re-announcing the first sends nothing and reserves nothing more…
    let (_, again) = alice.start_upload(&first).await;
    assert!(again.missing.is_empty());
    assert_eq!(usage(&alice).await, (0, 0, 1_000_000));
    // …and does not keep its bytes once the upload that paid for them is gone.
    let later = server.now_ms() + 2 * 24 * 3600 * 1000;
    api::gc::expire_uploads(&server.state, later).await.unwrap();
    // (`again` expired too: both were announced in the same second.)
    assert_eq!(usage(&alice).await, (0, 0, 0));
    api::gc::collect(&server.state).await.unwrap();
    assert!(
        server.stored_files().is_empty(),
        "{:?}",
        server.stored_files()
    );

    // Cancelling gives the reservation back at once.
    let (_, up) = alice.start_upload(&first).await;
    assert_eq!(usage(&alice).await, (0, 0, 1_000_000));
    let r = alice
        .call(
            Method::DELETE,
            &format!("/api/v1/uploads/{}", up.upload_id),
            None,
        )
        .await;
    assert_eq!(r.status(), StatusCode::NO_CONTENT);
    assert_eq!(usage(&alice).await, (0, 0, 0));
    let r = alice
        .call(
            Method::DELETE,
            &format!("/api/v1/uploads/{}", up.upload_id),
            None,
        )
        .await;
    assert_error(r, StatusCode::NOT_FOUND, "not_found").await;
    let r = alice.commit(&up.upload_id, root, "gone.bin", None).await;
    assert_error(r, StatusCode::NOT_FOUND, "not_found").await;

    // A chunk held only by a file, which an upload counted on, is sent again after the file
    // is purged and the chunk collected: the resume reserves it then.
    let f = alice.upload_file("f.bin", &first, None).await;
    let (manifest, up) = alice.start_upload(&first).await;
    assert!(up.missing.is_empty());
    for path in [
        format!("/api/v1/nodes/{}", f.node.id),
        format!("/api/v1/trash/{}", f.node.id),
    ] {
        assert!(alice
            .call(Method::DELETE, &path, None)
            .await
            .status()
            .is_success());
    }
    api::gc::collect(&server.state).await.unwrap();
    assert!(server.stored_files().is_empty());
    let r = alice.commit(&up.upload_id, root, "f.bin", None).await;
    assert_error(r, StatusCode::CONFLICT, "upload_incomplete").await;
    let resumed: wire::UploadResponse = alice
        .ok(
            Method::GET,
            &format!("/api/v1/uploads/{}", up.upload_id),
            None,
        )
        .await;
    assert_eq!(resumed.missing.len(), manifest.chunks.len());
    assert_eq!(usage(&alice).await, (0, 0, 1_000_000));
    alice.put_missing(&manifest, &resumed, &first).await;
    let r = alice.commit(&up.upload_id, root, "f.bin", None).await;
    assert_eq!(r.status(), StatusCode::OK);
    assert_eq!(usage(&alice).await, (1_000_000, 0, 0));
    assert_counters_true(&server, alice.session.namespace_id).await;
}

async fn old_versions_count_and_give_way_oldest_first(backend: Backend) {
    let server = TestServer::on(backend)
        .settings(|s| s.quota_bytes = 10_000)
        .start()
        .await;
    let alice = server.register("alice").await;
    let a1 = alice.upload_file("a.bin", &bytes(1, 6_000), None).await;
    // Replacing keeps the old version, and it counts.
    let a2 = alice
        .upload_file("a.bin", &bytes(3, 3_000), a1.node.version_id)
        .await;
    assert_eq!(usage(&alice).await, (3_000, 6_000, 0));
    // Restoring the old version: it is current again (a new version), the one it replaced
    // is kept; 6,000 + 3,000 + 6,000 > 10,000, so the oldest replaced version (a1, replaced
    // first) gives way — its content lives on in the restored version.
    let path = format!(
        "/api/v1/nodes/{}/versions/{}/restore",
        a1.node.id, a1.version_id
    );
    let _: wire::RestoreVersionResponse = alice.ok(Method::POST, &path, None).await;
    assert_eq!(usage(&alice).await, (6_000, 3_000, 0));
    assert_eq!(alice.download(a1.node.id).await, bytes(1, 6_000));
    assert_eq!(versions(&alice, a1.node.id).await, 2);

    // New content needs room: a2's old version gives way, current files never do.
    alice.upload_file("c.bin", &bytes(4, 4_000), None).await;
    assert_eq!(usage(&alice).await, (10_000, 0, 0));
    assert_eq!(versions(&alice, a1.node.id).await, 1);
    let path = format!(
        "/api/v1/nodes/{}/versions/{}/restore",
        a2.node.id, a2.version_id
    );
    assert_error(
        alice.call(Method::POST, &path, None).await,
        StatusCode::NOT_FOUND,
        "not_found",
    )
    .await;
    // With no old version left to give way, a write past the quota is refused.
    let manifest = wasm_chunker::Manifest::from_chunks(wasm_chunker::chunk_all(&bytes(5, 10)));
    let r = alice
        .call(
            Method::POST,
            "/api/v1/uploads",
            Some(json!({ "manifest": manifest })),
        )
        .await;
    assert_error(r, StatusCode::INSUFFICIENT_STORAGE, "quota_exceeded").await;

    // Purging a file frees its current and its old versions.
    let c2 = alice
        .upload_file("a.bin", &bytes(1, 6_000), a1.node.version_id)
        .await;
    assert!(c2.unchanged);
    for path in [
        format!("/api/v1/nodes/{}", a1.node.id),
        format!("/api/v1/trash/{}", a1.node.id),
    ] {
        assert!(alice
            .call(Method::DELETE, &path, None)
            .await
            .status()
            .is_success());
    }
    assert_eq!(usage(&alice).await, (4_000, 0, 0));
    assert_counters_true(&server, alice.session.namespace_id).await;
}

async fn open_uploads_are_capped(backend: Backend) {
    let server = TestServer::on(backend)
        .settings(|s| s.max_open_uploads = 3)
        .start()
        .await;
    let alice = server.register("alice").await;
    let root = alice.session.root_id;
    let mut ups = Vec::new();
    for i in 0..3 {
        ups.push(alice.start_upload(&bytes(i, 100)).await);
    }
    let manifest = wasm_chunker::Manifest::from_chunks(wasm_chunker::chunk_all(&bytes(9, 100)));
    let body = Some(json!({ "manifest": manifest }));
    let r = alice
        .call(Method::POST, "/api/v1/uploads", body.clone())
        .await;
    assert_error(r, StatusCode::CONFLICT, "too_many_uploads").await;
    // Another account is not held back by alice's.
    let bob = server.register("bob").await;
    bob.start_upload(&bytes(9, 100)).await;
    // Committing one makes room.
    let (m, up) = &ups[0];
    alice.put_missing(m, up, &bytes(0, 100)).await;
    let r = alice.commit(&up.upload_id, root, "a.bin", None).await;
    assert_eq!(r.status(), StatusCode::OK);
    let r = alice.call(Method::POST, "/api/v1/uploads", body).await;
    assert_eq!(r.status(), StatusCode::CREATED);
    assert_counters_true(&server, alice.session.namespace_id).await;
}

/// (files, old versions, open uploads) as `/me` reports them; their sum is `used_bytes`.
async fn usage(u: &User<'_>) -> (u64, u64, u64) {
    let me: MeResponse = u.ok(Method::GET, "/api/v1/me", None).await;
    assert_eq!(
        me.used_bytes,
        me.files_bytes + me.versions_bytes + me.uploads_bytes
    );
    (me.files_bytes, me.versions_bytes, me.uploads_bytes)
}

async fn versions(u: &User<'_>, node: i64) -> usize {
    let list: wire::VersionList = u
        .ok(Method::GET, &format!("/api/v1/nodes/{node}/versions"), None)
        .await;
    list.versions.len()
}

/// The counters equal what they count, recomputed from the rows: a counter moved twice or
/// not at all shows here even when `/me` happens to look right.
pub async fn assert_counters_true(server: &TestServer, namespace_id: i64) {
    use sqlx::Row as _;
    let db = server.db().await;
    let row = sqlx::query(
        "SELECT used_bytes, history_bytes, staged_bytes, \
         (SELECT CAST(COALESCE(SUM(v.size), 0) AS BIGINT) FROM versions v JOIN nodes n ON n.id = v.node_id \
          WHERE n.namespace_id = $1 AND n.version_id = v.id), \
         (SELECT CAST(COALESCE(SUM(v.size), 0) AS BIGINT) FROM versions v JOIN nodes n ON n.id = v.node_id \
          WHERE n.namespace_id = $1 AND n.version_id <> v.id), \
         (SELECT CAST(COALESCE(SUM(c.size), 0) AS BIGINT) FROM upload_chunks c JOIN uploads u ON u.id = c.upload_id \
          WHERE u.namespace_id = $1), \
         (SELECT CAST(COALESCE(SUM(reserved_bytes), 0) AS BIGINT) FROM uploads WHERE namespace_id = $1) \
         FROM namespaces WHERE id = $1",
    )
    .bind(namespace_id)
    .fetch_one(&db.pool)
    .await
    .unwrap();
    let v: Vec<i64> = (0..7).map(|i| row.get::<i64, _>(i)).collect();
    db.pool.close().await;
    assert_eq!(
        (v[0], v[1], v[2], v[2]),
        (v[3], v[4], v[5], v[6]),
        "counters (files, versions, uploads) against the rows"
    );
}
