//! The upload protocol end to end over HTTP: missing chunks, signed PUTs, commits, downloads,
//! dedup that stays private, conflicts and retries.

use reqwest::{Method, StatusCode};
use wire::{Listing, MeResponse};

use crate::fixture::{assert_error, bytes, share_with, Backend, TestServer};

crate::both!(
    upload_then_download_returns_the_same_bytes,
    same_content_is_not_sent_twice_and_makes_no_new_version,
    dedup_never_tells_one_user_what_another_stores,
    a_stale_base_version_keeps_both_as_a_conflicted_copy,
    a_retried_commit_returns_the_first_answer,
    folders_hold_files_and_names_stay_unique,
    a_commit_whose_folder_is_gone_says_so_and_the_home_root_takes_it,
);

async fn upload_then_download_returns_the_same_bytes(backend: Backend) {
    let server = TestServer::on(backend).start().await;
    let alice = server.register("alice").await;
    let data = bytes(1, 3 * 1024 * 1024 + 12345);
    let (manifest, up) = alice.start_upload(&data).await;
    assert!(manifest.chunks.len() >= 2, "a few MiB make several chunks");
    assert_eq!(up.missing.len(), manifest.chunks.len());
    alice.put_missing(&manifest, &up, &data).await;
    let r = alice
        .commit(&up.upload_id, alice.session.root_id, "photo.raw", None)
        .await;
    assert_eq!(r.status(), StatusCode::OK);
    let committed: wire::CommitResponse = r.json().await.unwrap();
    assert!(!committed.unchanged && committed.conflict.is_none());
    assert_eq!(committed.node.size, data.len() as u64);

    let root = alice.session.root_id;
    let listing: Listing = alice
        .ok(Method::GET, &format!("/api/v1/nodes/{root}/children"), None)
        .await;
    assert_eq!(listing.children.len(), 1);
    assert_eq!(listing.children[0].name, "photo.raw");

    assert_eq!(alice.download(committed.node.id).await, data);

    let me: MeResponse = alice.ok(Method::GET, "/api/v1/me", None).await;
    assert_eq!(me.used_bytes, data.len() as u64);
}

async fn same_content_is_not_sent_twice_and_makes_no_new_version(backend: Backend) {
    let server = TestServer::on(backend).start().await;
    let alice = server.register("alice").await;
    let data = bytes(2, 2 * 1024 * 1024);
    let first = alice.upload_file("a.bin", &data, None).await;
    let (_, again) = alice.start_upload(&data).await;
    assert!(
        again.missing.is_empty(),
        "the namespace already has every chunk"
    );
    let r = alice
        .commit(
            &again.upload_id,
            alice.session.root_id,
            "a.bin",
            first.node.version_id,
        )
        .await;
    let second: wire::CommitResponse = r.json().await.unwrap();
    assert!(second.unchanged);
    assert_eq!(second.version_id, first.version_id);
}

async fn dedup_never_tells_one_user_what_another_stores(backend: Backend) {
    let server = TestServer::on(backend).start().await;
    let alice = server.register("alice").await;
    let bob = server.register("bob").await;
    let data = bytes(3, 1024 * 1024 + 7);
    alice.upload_file("secret.doc", &data, None).await;
    let (manifest, up) = bob.start_upload(&data).await;
    assert_eq!(
        up.missing.len(),
        manifest.chunks.len(),
        "bob must upload the bytes himself"
    );
    // Claiming the chunks by hash alone does not work: the commit is refused.
    let r = bob
        .commit(&up.upload_id, bob.session.root_id, "stolen.doc", None)
        .await;
    assert_error(r, StatusCode::CONFLICT, "upload_incomplete").await;
    // Storage still dedups: after bob sends the bytes there is one stored copy per chunk.
    let before = server.stored_files();
    bob.put_missing(&manifest, &up, &data).await;
    assert_eq!(server.stored_files(), before);
    let r = bob
        .commit(&up.upload_id, bob.session.root_id, "mine.doc", None)
        .await;
    assert_eq!(r.status(), StatusCode::OK);
}

async fn a_stale_base_version_keeps_both_as_a_conflicted_copy(backend: Backend) {
    let server = TestServer::on(backend).start().await;
    let alice = server.register("alice").await;
    let v1 = alice.upload_file("notes.txt", b"first", None).await;
    let v2 = alice
        .upload_file("notes.txt", b"second", v1.node.version_id)
        .await;
    assert_eq!(v2.node.id, v1.node.id);
    assert!(v2.conflict.is_none());
    // A device still at v1 commits its own edit.
    let v3 = alice
        .upload_file("notes.txt", b"third", v1.node.version_id)
        .await;
    let conflict = v3.conflict.expect("a stale base makes a conflict");
    assert_eq!(conflict.original_node_id, v1.node.id);
    assert_eq!(conflict.base_version, v1.node.version_id);
    assert_eq!(conflict.current_version, v2.version_id);
    assert!(
        v3.node.name.starts_with("notes (conflicted copy laptop "),
        "{}",
        v3.node.name
    );
    assert!(v3.node.name.ends_with(").txt"));
    let root = alice.session.root_id;
    let listing: Listing = alice
        .ok(Method::GET, &format!("/api/v1/nodes/{root}/children"), None)
        .await;
    assert_eq!(listing.children.len(), 2, "both versions are kept");
}

async fn a_retried_commit_returns_the_first_answer(backend: Backend) {
    let server = TestServer::on(backend).start().await;
    let alice = server.register("alice").await;
    let data = bytes(4, 1000);
    let (manifest, up) = alice.start_upload(&data).await;
    alice.put_missing(&manifest, &up, &data).await;
    let a: wire::CommitResponse = alice
        .commit(&up.upload_id, alice.session.root_id, "x", None)
        .await
        .json()
        .await
        .unwrap();
    let b: wire::CommitResponse = alice
        .commit(&up.upload_id, alice.session.root_id, "x", None)
        .await
        .json()
        .await
        .unwrap();
    assert_eq!(a.version_id, b.version_id);
    assert_eq!(a.node, b.node);
    let root = alice.session.root_id;
    let listing: Listing = alice
        .ok(Method::GET, &format!("/api/v1/nodes/{root}/children"), None)
        .await;
    assert_eq!(listing.children.len(), 1);
}

async fn folders_hold_files_and_names_stay_unique(backend: Backend) {
    let server = TestServer::on(backend).start().await;
    let alice = server.register("alice").await;
    let root = alice.session.root_id;
    let folder = alice.mkdir(root, "Photos").await;
    let r = alice.new_folder(root, "photos").await;
    assert_error(r, StatusCode::CONFLICT, "name_taken").await;
    let data = bytes(5, 500);
    let (manifest, up) = alice.start_upload(&data).await;
    alice.put_missing(&manifest, &up, &data).await;
    let r = alice
        .commit(&up.upload_id, folder.id, "cat.jpg", None)
        .await;
    assert_eq!(r.status(), StatusCode::OK);
    let listing: Listing = alice
        .ok(
            Method::GET,
            &format!("/api/v1/nodes/{}/children", folder.id),
            None,
        )
        .await;
    assert_eq!(listing.children[0].name, "cat.jpg");
    // A file under a folder's name (one made by another device meanwhile) is kept beside it
    // as a conflicted copy, not refused.
    let beside = alice.upload_file("photos", &bytes(6, 300), None).await;
    assert!(
        beside
            .node
            .name
            .starts_with("photos (conflicted copy laptop "),
        "{}",
        beside.node.name
    );
    assert_eq!(alice.names(root).await.len(), 2);
}

/// An edit made while another device trashed its folder (or its owner stopped sharing it) is
/// refused with `folder_gone`, writing nothing; the client then commits the same upload under
/// the same key into the home root, where a file of that name makes it a conflicted copy (the
/// edit's base belongs to the trashed file), never a new version of an unrelated file.
async fn a_commit_whose_folder_is_gone_says_so_and_the_home_root_takes_it(backend: Backend) {
    let server = TestServer::on(backend).start().await;
    let alice = server.register("alice").await;
    let root = alice.session.root_id;
    let docs = alice.mkdir(root, "Docs").await;
    let v1 = alice.upload_to(docs.id, "report.txt", b"draft", None).await;
    alice
        .upload_file("report.txt", b"another report", None)
        .await;
    let edit = bytes(7, 3000);
    let (manifest, up) = alice.start_upload(&edit).await;
    alice.put_missing(&manifest, &up, &edit).await;
    alice.trash(docs.id).await;
    let before = server.changes(alice.session.namespace_id).await;
    let r = alice
        .commit(&up.upload_id, docs.id, "report.txt", v1.node.version_id)
        .await;
    assert_error(r, StatusCode::NOT_FOUND, "folder_gone").await;
    assert_eq!(server.changes(alice.session.namespace_id).await, before);
    let kept: wire::CommitResponse = alice
        .commit(&up.upload_id, root, "report.txt", v1.node.version_id)
        .await
        .json()
        .await
        .unwrap();
    assert!(
        kept.conflict.is_some(),
        "the root's report.txt stays as it was"
    );
    assert!(
        kept.node.name.starts_with("report (conflicted copy "),
        "{}",
        kept.node.name
    );
    assert_eq!(alice.download(kept.node.id).await, edit);

    // A member whose shared folder is taken away meanwhile hears the same.
    let bob = server.register("bob").await;
    let team = alice.mkdir(root, "Team").await;
    let s = share_with(&alice, team.id, &bob, "bob", "editor", true).await;
    let (manifest, up) = bob.start_upload(&edit).await;
    bob.put_missing(&manifest, &up, &edit).await;
    alice.drop_member(s.id, bob.session.user_id).await;
    let r = bob.commit(&up.upload_id, team.id, "notes.txt", None).await;
    assert_error(r, StatusCode::NOT_FOUND, "folder_gone").await;
    bob.ok::<wire::CommitResponse>(
        Method::POST,
        "/api/v1/commits",
        Some(
            serde_json::json!({"upload_id": up.upload_id, "parent_id": bob.session.root_id,
            "name": "notes.txt", "idempotency_key": up.upload_id}),
        ),
    )
    .await;
    assert_eq!(bob.names(bob.session.root_id).await, ["notes.txt"]);
}
