//! Version history, and restore as a new version that points at the old chunks.

use reqwest::{Method, StatusCode};
use wire::{RestoreVersionResponse, VersionList};

use crate::fixture::{assert_error, bytes, Backend, TestServer};

crate::both!(history_lists_versions_and_restore_reuses_the_old_chunks);

async fn history_lists_versions_and_restore_reuses_the_old_chunks(backend: Backend) {
    let server = TestServer::on(backend).start().await;
    let alice = server.register("alice").await;
    let bob = server.register("bob").await;
    let v1_bytes = bytes(1, 1_500_000);
    let v1 = alice.upload_file("big.bin", &v1_bytes, None).await;
    let v2 = alice
        .upload_file("big.bin", b"short", v1.node.version_id)
        .await;
    let v3 = alice
        .upload_file("big.bin", b"shorter", v2.node.version_id)
        .await;
    let id = v1.node.id;
    let path = format!("/api/v1/nodes/{id}/versions");
    let list: VersionList = alice.ok(Method::GET, &path, None).await;
    let got: Vec<(i64, u64, bool, &str)> = list
        .versions
        .iter()
        .map(|v| (v.id, v.size, v.current, v.device_name.as_str()))
        .collect();
    assert_eq!(
        got,
        [
            (v3.version_id, 7, true, "laptop"),
            (v2.version_id, 5, false, "laptop"),
            (v1.version_id, 1_500_000, false, "laptop"),
        ]
    );
    assert_eq!(list.versions[2].content_hash, v1.node.content_hash.unwrap());

    // Restore v1: a new version with v1's content; no chunk is stored again.
    let stored = server.stored_files();
    let restore = format!("/api/v1/nodes/{id}/versions/{}/restore", v1.version_id);
    let r: RestoreVersionResponse = alice.ok(Method::POST, &restore, None).await;
    assert!(r.version_id > v3.version_id);
    assert_eq!(r.node.version_id, Some(r.version_id));
    assert_eq!(r.node.content_hash, v1.node.content_hash);
    assert_eq!(r.node.size, 1_500_000);
    assert_eq!(server.stored_files(), stored);
    assert_eq!(alice.download(id).await, v1_bytes);
    let list: VersionList = alice.ok(Method::GET, &path, None).await;
    assert_eq!(list.versions.len(), 4);
    assert!(list.versions[0].current && list.versions[0].id == r.version_id);
    // Restoring what is already current writes nothing.
    let again: RestoreVersionResponse = alice.ok(Method::POST, &restore, None).await;
    assert_eq!(again.version_id, r.version_id);
    let list: VersionList = alice.ok(Method::GET, &path, None).await;
    assert_eq!(list.versions.len(), 4);
    let (node_id, kind) = server
        .changes(alice.session.namespace_id)
        .await
        .pop()
        .unwrap();
    assert_eq!((node_id, kind.as_str()), (id, "version"));

    // Someone else's file, another file's version, a folder: refused.
    assert_error(
        bob.call(Method::GET, &path, None).await,
        StatusCode::NOT_FOUND,
        "not_found",
    )
    .await;
    assert_error(
        bob.call(Method::POST, &restore, None).await,
        StatusCode::NOT_FOUND,
        "not_found",
    )
    .await;
    let other = alice.upload_file("other", b"o", None).await;
    let wrong = format!(
        "/api/v1/nodes/{}/versions/{}/restore",
        other.node.id, v1.version_id
    );
    assert_error(
        alice.call(Method::POST, &wrong, None).await,
        StatusCode::NOT_FOUND,
        "not_found",
    )
    .await;
    let root = alice.session.root_id;
    assert_error(
        alice
            .call(Method::GET, &format!("/api/v1/nodes/{root}/versions"), None)
            .await,
        StatusCode::BAD_REQUEST,
        "bad_request",
    )
    .await;
}
