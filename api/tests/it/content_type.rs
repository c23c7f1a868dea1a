//! A version's content type (issue 22): the client's sniffed type is checked, lowercased and
//! stored with the version; listings, the feed, restores, batches and file-request drops carry
//! it; serving trusts it only on the allowlist (`api::mime::allowed`).

use reqwest::header::{CONTENT_DISPOSITION, CONTENT_TYPE};
use reqwest::{Method, Response, StatusCode};
use serde_json::{json, Value};
use wire::{
    BatchCommitsResponse, BatchUploadsResponse, ChangesResponse, CommitResponse, Listing, Manifest,
    RestoreVersionResponse, UploadResponse,
};

use crate::fixture::{assert_error, bytes, Backend, TestServer, User};
use crate::links::{make, public};

crate::both!(
    a_type_is_stored_lowercase_and_listed_and_fed,
    a_malformed_type_is_refused_and_writes_nothing,
    restoring_a_version_brings_its_type_back,
    content_serves_only_allowlisted_types_as_stored,
    batch_commits_carry_their_types,
    a_file_request_drop_carries_its_type,
);

const PNG: &[u8] = b"\x89PNG\r\n\x1a\n\0\0\0\rIHDR";

fn commit_body(upload_id: &str, parent: i64, name: &str, base: Option<i64>, t: &str) -> Value {
    json!({"upload_id": upload_id, "parent_id": parent, "name": name, "base_version": base,
           "idempotency_key": upload_id, "content_type": t})
}

/// Uploads `data` and commits it as `name` in the root with content type `t`; the answer.
async fn commit_typed(
    u: &User<'_>,
    name: &str,
    data: &[u8],
    base: Option<i64>,
    t: &str,
) -> Response {
    let (manifest, up) = u.start_upload(data).await;
    u.put_missing(&manifest, &up, data).await;
    let body = commit_body(&up.upload_id, u.session.root_id, name, base, t);
    u.call(Method::POST, "/api/v1/commits", Some(body)).await
}

async fn committed(
    u: &User<'_>,
    name: &str,
    data: &[u8],
    base: Option<i64>,
    t: &str,
) -> CommitResponse {
    let r = commit_typed(u, name, data, base, t).await;
    let status = r.status();
    let text = r.text().await.unwrap();
    assert_eq!(status, StatusCode::OK, "{text}");
    serde_json::from_str(&text).unwrap()
}

/// The root's children as (name, content type).
async fn listed(u: &User<'_>) -> Vec<(String, Option<String>)> {
    let root = u.session.root_id;
    let l: Listing = u
        .ok(Method::GET, &format!("/api/v1/nodes/{root}/children"), None)
        .await;
    l.children
        .into_iter()
        .map(|n| (n.name, n.content_type))
        .collect()
}

async fn a_type_is_stored_lowercase_and_listed_and_fed(backend: Backend) {
    let server = TestServer::on(backend).start().await;
    let alice = server.register("alice").await;
    let c = committed(&alice, "photo", &bytes(1, 5000), None, "image/PNG").await;
    assert_eq!(c.node.content_type.as_deref(), Some("image/png"));
    // A client that says nothing stores nothing.
    let plain = alice.upload_file("notes", b"hello", None).await;
    assert_eq!(plain.node.content_type, None);
    assert_eq!(
        listed(&alice).await,
        [
            ("notes".to_owned(), None),
            ("photo".to_owned(), Some("image/png".to_owned())),
        ]
    );
    let feed: ChangesResponse = alice.ok(Method::GET, "/api/v1/changes", None).await;
    let node = feed
        .changes
        .iter()
        .find_map(|ch| ch.node.as_ref().filter(|n| n.id == c.node.id))
        .expect("the file is in the feed");
    assert_eq!(node.content_type.as_deref(), Some("image/png"));
}

async fn a_malformed_type_is_refused_and_writes_nothing(backend: Backend) {
    let server = TestServer::on(backend).start().await;
    let alice = server.register("alice").await;
    let data = bytes(2, 3000);
    let (manifest, up) = alice.start_upload(&data).await;
    alice.put_missing(&manifest, &up, &data).await;
    let seqs = server.change_seqs(alice.session.namespace_id).await;
    let too_long = format!("image/{}", "x".repeat(130));
    for bad in [
        "image/png; charset=utf-8",
        "png",
        "image/",
        "text/html\r\nX: y",
        "tëxt/plain",
        too_long.as_str(),
    ] {
        let body = commit_body(&up.upload_id, alice.session.root_id, "a", None, bad);
        let r = alice
            .call(Method::POST, "/api/v1/commits", Some(body))
            .await;
        assert_error(r, StatusCode::BAD_REQUEST, "bad_request").await;
    }
    assert!(listed(&alice).await.is_empty());
    assert_eq!(server.change_seqs(alice.session.namespace_id).await, seqs);
    // The upload is still there to commit.
    let body = commit_body(
        &up.upload_id,
        alice.session.root_id,
        "a",
        None,
        "text/plain",
    );
    let r = alice
        .call(Method::POST, "/api/v1/commits", Some(body))
        .await;
    assert_eq!(r.status(), StatusCode::OK);
    assert_eq!(
        listed(&alice).await,
        [("a".to_owned(), Some("text/plain".to_owned()))]
    );
}

async fn restoring_a_version_brings_its_type_back(backend: Backend) {
    let server = TestServer::on(backend).start().await;
    let alice = server.register("alice").await;
    let v1 = committed(&alice, "scan", &bytes(3, 4000), None, "application/pdf").await;
    let v2 = committed(
        &alice,
        "scan",
        &bytes(4, 4000),
        Some(v1.version_id),
        "text/plain",
    )
    .await;
    assert_eq!(v2.node.id, v1.node.id);
    assert_eq!(listed(&alice).await[0].1.as_deref(), Some("text/plain"));
    let id = v1.node.id;
    let restore = format!("/api/v1/nodes/{id}/versions/{}/restore", v1.version_id);
    let r: RestoreVersionResponse = alice.ok(Method::POST, &restore, None).await;
    assert_eq!(r.node.content_type.as_deref(), Some("application/pdf"));
    assert_eq!(
        listed(&alice).await[0].1.as_deref(),
        Some("application/pdf")
    );
}

async fn content_serves_only_allowlisted_types_as_stored(backend: Backend) {
    let server = TestServer::on(backend).start().await;
    let alice = server.register("alice").await;
    let mut png = PNG.to_vec();
    png.extend(bytes(5, 2000));
    let cases = [
        ("photo", "image/png", "image/png"),
        ("clip", "video/mp4", "video/mp4"),
        ("page", "text/html", "application/octet-stream"),
        ("drawing", "image/svg+xml", "application/octet-stream"),
        ("script", "text/javascript", "application/octet-stream"),
        ("odd", "application/x-whatever", "application/octet-stream"),
    ];
    for (i, (name, stored, served)) in cases.into_iter().enumerate() {
        let mut data = png.clone();
        data.push(i as u8);
        let c = committed(&alice, name, &data, None, stored).await;
        let r = alice
            .call(
                Method::GET,
                &format!("/api/v1/nodes/{}/content", c.node.id),
                None,
            )
            .await;
        assert_eq!(r.status(), StatusCode::OK);
        let h = r.headers();
        assert_eq!(h[CONTENT_TYPE], served, "{name} stored as {stored}");
        assert_eq!(h["x-content-type-options"], "nosniff");
        assert!(h[CONTENT_DISPOSITION]
            .to_str()
            .unwrap()
            .starts_with("attachment"));
        assert_eq!(r.bytes().await.unwrap().as_ref(), data.as_slice());

        // A share link answers the same for a download; its inline preview falls back to the
        // type by name (none here) for what is not allowed.
        let made = make(&alice, json!({"node_id": c.node.id})).await;
        let r = public(&server, &format!("/s/{}/download", made.token), &[]).await;
        assert_eq!(r.headers()[CONTENT_TYPE], served, "link {name}");
        assert_eq!(r.headers()["x-content-type-options"], "nosniff");
        let r = public(
            &server,
            &format!("/s/{}/download?inline=1", made.token),
            &[],
        )
        .await;
        assert_eq!(r.headers()[CONTENT_TYPE], served, "inline {name}");
    }
    // Nothing stored: as before, whatever the bytes are.
    let c = alice.upload_file("untyped", &png, None).await;
    let r = alice
        .call(
            Method::GET,
            &format!("/api/v1/nodes/{}/content", c.node.id),
            None,
        )
        .await;
    assert_eq!(r.headers()[CONTENT_TYPE], "application/octet-stream");
}

async fn batch_commits_carry_their_types(backend: Backend) {
    let server = TestServer::on(backend).start().await;
    let alice = server.register("alice").await;
    let files: Vec<Vec<u8>> = (0..3).map(|i| bytes(10 + i, 1500)).collect();
    let manifests: Vec<Manifest> = files
        .iter()
        .map(|d| Manifest::from_chunks(wasm_chunker::chunk_all(d)))
        .collect();
    let body = json!({ "uploads": manifests.iter().map(|m| json!({ "manifest": m })).collect::<Vec<_>>() });
    let started: BatchUploadsResponse = alice
        .ok(Method::POST, "/api/v1/batch/uploads", Some(body))
        .await;
    for ((m, up), data) in manifests.iter().zip(&started.uploads).zip(&files) {
        alice.put_missing(m, up, data).await;
    }
    let root = alice.session.root_id;
    let ids: Vec<&str> = started
        .uploads
        .iter()
        .map(|u| u.upload_id.as_str())
        .collect();
    let commits = vec![
        commit_body(ids[0], root, "a", None, "Audio/OGG"),
        commit_body(ids[1], root, "b", None, "not a type"),
        json!({"upload_id": ids[2], "parent_id": root, "name": "c", "base_version": null,
               "idempotency_key": ids[2]}),
    ];
    let done: BatchCommitsResponse = alice
        .ok(
            Method::POST,
            "/api/v1/batch/commits",
            Some(json!({ "commits": commits })),
        )
        .await;
    let statuses: Vec<u16> = done.results.iter().map(|r| r.status).collect();
    assert_eq!(statuses, [200, 400, 200]);
    let a = done.results[0].committed.as_ref().unwrap();
    assert_eq!(a.node.content_type.as_deref(), Some("audio/ogg"));
    assert_eq!(
        listed(&alice).await,
        [
            ("a".to_owned(), Some("audio/ogg".to_owned())),
            ("c".to_owned(), None),
        ]
    );
}

async fn a_file_request_drop_carries_its_type(backend: Backend) {
    let server = TestServer::on(backend).start().await;
    let alice = server.register("alice").await;
    let inbox = alice.mkdir(alice.session.root_id, "Inbox").await;
    let link = make(&alice, json!({"node_id": inbox.id, "kind": "request"})).await;
    let base = format!("/api/v1/public/{}", link.token);
    let data = bytes(20, 2500);
    let manifest = Manifest::from_chunks(wasm_chunker::chunk_all(&data));
    let body = json!({"manifest": manifest, "name": "scan", "path": "", "uploader": "Eve"});
    let r = server.post(&format!("{base}/uploads"), body).await;
    assert_eq!(r.status(), StatusCode::CREATED);
    let up: UploadResponse = r.json().await.unwrap();
    alice.put_missing(&manifest, &up, &data).await;
    let commit = |t: &str| json!({"upload_id": up.upload_id, "content_type": t});
    let r = server
        .post(&format!("{base}/commit"), commit("image/png; q=1"))
        .await;
    assert_error(r, StatusCode::BAD_REQUEST, "bad_request").await;
    assert!(alice.names(inbox.id).await.is_empty());
    let r = server
        .post(&format!("{base}/commit"), commit("Application/PDF"))
        .await;
    assert_eq!(r.status(), StatusCode::OK);
    let l: Listing = alice
        .ok(
            Method::GET,
            &format!("/api/v1/nodes/{}/children", inbox.id),
            None,
        )
        .await;
    assert_eq!(
        l.children[0].content_type.as_deref(),
        Some("application/pdf")
    );
}
