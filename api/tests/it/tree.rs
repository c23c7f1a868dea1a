//! The tree: rename, move (never into its own subtree), trash with subtrees, restore, purge,
//! listing ETags; each change logs exactly one change row.

use reqwest::{Method, StatusCode};
use serde_json::json;
use wire::{Node, PlacedNode, TrashList};

use crate::fixture::{assert_error, Backend, TestServer, User};

crate::both!(
    rename_and_move_change_one_row_and_log_a_change,
    a_folder_never_moves_into_itself_or_below,
    bad_updates_are_refused_and_change_nothing,
    trash_takes_the_subtree_and_restore_brings_it_back,
    restore_renames_on_a_clash_and_falls_back_to_the_root,
    purge_deletes_for_good,
    listings_answer_etags_and_304,
    keep_both_turns_a_clash_into_a_conflicted_copy,
);

async fn patch(u: &User<'_>, id: i64, body: serde_json::Value) -> reqwest::Response {
    u.call(Method::PATCH, &format!("/api/v1/nodes/{id}"), Some(body))
        .await
}

async fn rename_and_move_change_one_row_and_log_a_change(backend: Backend) {
    let server = TestServer::on(backend).start().await;
    let alice = server.register("alice").await;
    let root = alice.session.root_id;
    let docs = alice.mkdir(root, "Docs").await;
    let deep = alice.mkdir(docs.id, "Deep").await;
    let f = alice.upload_to(deep.id, "a.txt", b"hello", None).await;
    let archive = alice.mkdir(root, "Archive").await;
    let before = server.changes(alice.session.namespace_id).await.len();

    let renamed: Node = patch(&alice, docs.id, json!({"name": "Papers"}))
        .await
        .json()
        .await
        .unwrap();
    assert_eq!((renamed.id, renamed.name.as_str()), (docs.id, "Papers"));
    // A case-only rename of the same node is fine.
    let r = patch(&alice, docs.id, json!({"name": "PAPERS"})).await;
    assert_eq!(r.status(), StatusCode::OK);
    let moved: Node = patch(
        &alice,
        docs.id,
        json!({"parent_id": archive.id, "name": "Old"}),
    )
    .await
    .json()
    .await
    .unwrap();
    assert_eq!(moved.parent_id, Some(archive.id));
    assert_eq!(alice.names(root).await, ["Archive"]);
    assert_eq!(alice.names(archive.id).await, ["Old"]);
    // The subtree came along untouched: same ids, same parents, same content.
    assert_eq!(alice.names(deep.id).await, ["a.txt"]);
    assert_eq!(alice.download(f.node.id).await, b"hello");
    // A no-op change logs nothing.
    let r = patch(
        &alice,
        docs.id,
        json!({"name": "Old", "parent_id": archive.id}),
    )
    .await;
    assert_eq!(r.status(), StatusCode::OK);
    let changes = server.changes(alice.session.namespace_id).await;
    let kinds: Vec<(i64, &str)> = changes[before..]
        .iter()
        .map(|(id, k)| (*id, k.as_str()))
        .collect();
    assert_eq!(
        kinds,
        [(docs.id, "rename"), (docs.id, "rename"), (docs.id, "move")]
    );
    // A file moves too.
    let r = patch(&alice, f.node.id, json!({"parent_id": root})).await;
    assert_eq!(r.status(), StatusCode::OK);
    assert_eq!(alice.names(root).await, ["Archive", "a.txt"]);
}

async fn a_folder_never_moves_into_itself_or_below(backend: Backend) {
    let server = TestServer::on(backend).start().await;
    let alice = server.register("alice").await;
    let root = alice.session.root_id;
    let a = alice.mkdir(root, "a").await;
    let b = alice.mkdir(a.id, "b").await;
    let c = alice.mkdir(b.id, "c").await;
    for target in [a.id, b.id, c.id] {
        assert_error(
            patch(&alice, a.id, json!({"parent_id": target})).await,
            StatusCode::BAD_REQUEST,
            "invalid_move",
        )
        .await;
    }
    // The root can be neither moved nor renamed nor deleted.
    assert_error(
        patch(&alice, root, json!({"name": "x"})).await,
        StatusCode::BAD_REQUEST,
        "invalid_move",
    )
    .await;
    assert_error(
        alice
            .call(Method::DELETE, &format!("/api/v1/nodes/{root}"), None)
            .await,
        StatusCode::BAD_REQUEST,
        "bad_request",
    )
    .await;
    assert_eq!(alice.names(root).await, ["a"]);
    assert_eq!(alice.names(b.id).await, ["c"]);
    // Moving up is fine.
    let r = patch(&alice, c.id, json!({"parent_id": root})).await;
    assert_eq!(r.status(), StatusCode::OK);
    assert_eq!(alice.names(root).await, ["a", "c"]);
}

async fn bad_updates_are_refused_and_change_nothing(backend: Backend) {
    let server = TestServer::on(backend).start().await;
    let alice = server.register("alice").await;
    let bob = server.register("bob").await;
    let root = alice.session.root_id;
    let a = alice.mkdir(root, "a").await;
    alice.mkdir(root, "B").await;
    let f = alice.upload_file("f.txt", b"x", None).await;
    let seqs = server.change_seqs(alice.session.namespace_id).await;
    for (body, status, code) in [
        (json!({}), StatusCode::BAD_REQUEST, "bad_request"),
        (json!({"name": ""}), StatusCode::BAD_REQUEST, "invalid_name"),
        (
            json!({"name": "x/y"}),
            StatusCode::BAD_REQUEST,
            "invalid_name",
        ),
        (
            json!({"name": ".."}),
            StatusCode::BAD_REQUEST,
            "invalid_name",
        ),
        (json!({"name": "b"}), StatusCode::CONFLICT, "name_taken"),
        (
            json!({"parent_id": f.node.id}),
            StatusCode::NOT_FOUND,
            "not_found",
        ),
        (
            json!({"parent_id": 999_999}),
            StatusCode::NOT_FOUND,
            "not_found",
        ),
        (
            json!({"parent_id": bob.session.root_id}),
            StatusCode::NOT_FOUND,
            "not_found",
        ),
        (json!({"name": 5}), StatusCode::BAD_REQUEST, "bad_json"),
    ] {
        assert_error(patch(&alice, a.id, body).await, status, code).await;
    }
    // Bob cannot touch Alice's nodes at all.
    assert_error(
        patch(&bob, a.id, json!({"name": "mine"})).await,
        StatusCode::NOT_FOUND,
        "not_found",
    )
    .await;
    for path in [
        format!("/api/v1/nodes/{}", a.id),
        format!("/api/v1/trash/{}", a.id),
    ] {
        assert_error(
            bob.call(Method::DELETE, &path, None).await,
            StatusCode::NOT_FOUND,
            "not_found",
        )
        .await;
    }
    assert_eq!(alice.names(root).await, ["a", "B", "f.txt"]);
    assert_eq!(server.change_seqs(alice.session.namespace_id).await, seqs);
}

async fn trash_takes_the_subtree_and_restore_brings_it_back(backend: Backend) {
    let server = TestServer::on(backend).start().await;
    let alice = server.register("alice").await;
    let root = alice.session.root_id;
    let photos = alice.mkdir(root, "Photos").await;
    let y2024 = alice.mkdir(photos.id, "2024").await;
    let cat = alice.upload_to(y2024.id, "cat.jpg", b"meow", None).await;
    let dog = alice.upload_to(photos.id, "dog.jpg", b"woof", None).await;
    // Trash one file first, then its folder: two separate trash items.
    alice.trash(dog.node.id).await;
    alice.trash(photos.id).await;
    assert!(alice.names(root).await.is_empty());
    // Nothing in the subtree is reachable any more.
    for path in [
        format!("/api/v1/nodes/{}/children", y2024.id),
        format!("/api/v1/nodes/{}/download", cat.node.id),
    ] {
        assert_error(
            alice.call(Method::GET, &path, None).await,
            StatusCode::NOT_FOUND,
            "not_found",
        )
        .await;
    }
    let trash: TrashList = alice.ok(Method::GET, "/api/v1/trash", None).await;
    let items: Vec<(&str, Option<i64>)> = trash
        .items
        .iter()
        .map(|i| (i.node.name.as_str(), i.original_parent_id))
        .collect();
    assert_eq!(
        items,
        [("Photos", Some(root)), ("dog.jpg", Some(photos.id))]
    );
    assert!(trash.items.iter().all(|i| i.deleted_at > 0));
    // The subtree's inner nodes are not trash items of their own.
    assert_error(
        alice
            .call(
                Method::POST,
                &format!("/api/v1/trash/{}/restore", y2024.id),
                None,
            )
            .await,
        StatusCode::NOT_FOUND,
        "not_found",
    )
    .await;

    let restored: Node = alice
        .ok(
            Method::POST,
            &format!("/api/v1/trash/{}/restore", photos.id),
            None,
        )
        .await;
    assert_eq!((restored.id, restored.name.as_str()), (photos.id, "Photos"));
    assert_eq!(
        alice.names(photos.id).await,
        ["2024"],
        "dog.jpg stays in the trash"
    );
    assert_eq!(alice.download(cat.node.id).await, b"meow");
    let restored: Node = alice
        .ok(
            Method::POST,
            &format!("/api/v1/trash/{}/restore", dog.node.id),
            None,
        )
        .await;
    assert_eq!(restored.parent_id, Some(photos.id));
    let trash: TrashList = alice.ok(Method::GET, "/api/v1/trash", None).await;
    assert!(trash.items.is_empty());
    let changes = server.changes(alice.session.namespace_id).await;
    let tail: Vec<&str> = changes[changes.len() - 4..]
        .iter()
        .map(|(_, k)| k.as_str())
        .collect();
    assert_eq!(tail, ["trash", "trash", "restore", "restore"]);
}

async fn restore_renames_on_a_clash_and_falls_back_to_the_root(backend: Backend) {
    let server = TestServer::on(backend).start().await;
    let alice = server.register("alice").await;
    let root = alice.session.root_id;
    let first = alice.upload_file("report.pdf", b"one", None).await;
    alice.trash(first.node.id).await;
    alice.upload_file("report.pdf", b"two", None).await;
    let back: Node = alice
        .ok(
            Method::POST,
            &format!("/api/v1/trash/{}/restore", first.node.id),
            None,
        )
        .await;
    assert_eq!(back.name, "report (restored).pdf");
    assert_eq!(alice.download(back.id).await, b"one");

    // A file whose folder was trashed separately comes back to the root folder.
    let box_ = alice.mkdir(root, "Box").await;
    let inner = alice.upload_to(box_.id, "inner.txt", b"in", None).await;
    alice.trash(inner.node.id).await;
    alice.trash(box_.id).await;
    let back: Node = alice
        .ok(
            Method::POST,
            &format!("/api/v1/trash/{}/restore", inner.node.id),
            None,
        )
        .await;
    assert_eq!(back.parent_id, Some(root));
    assert_eq!(
        alice.names(root).await,
        ["inner.txt", "report (restored).pdf", "report.pdf"]
    );
}

async fn purge_deletes_for_good(backend: Backend) {
    let server = TestServer::on(backend).start().await;
    let alice = server.register("alice").await;
    let root = alice.session.root_id;
    let dir = alice.mkdir(root, "Old").await;
    let sub = alice.mkdir(dir.id, "Sub").await;
    let f = alice.upload_to(sub.id, "f.bin", b"bytes", None).await;
    alice
        .upload_to(sub.id, "f.bin", b"bytes v2", f.node.version_id)
        .await;
    // A separately trashed file inside goes with the folder it was in.
    let g = alice.upload_to(dir.id, "g.bin", b"gg", None).await;
    alice.trash(g.node.id).await;
    alice.trash(dir.id).await;
    // Not a trash item (live, or inside one): 404.
    assert_error(
        alice
            .call(Method::DELETE, &format!("/api/v1/trash/{root}"), None)
            .await,
        StatusCode::NOT_FOUND,
        "not_found",
    )
    .await;
    alice.purge(dir.id).await;
    let trash: TrashList = alice.ok(Method::GET, "/api/v1/trash", None).await;
    assert!(trash.items.is_empty());
    assert_error(
        alice
            .call(
                Method::POST,
                &format!("/api/v1/trash/{}/restore", dir.id),
                None,
            )
            .await,
        StatusCode::NOT_FOUND,
        "not_found",
    )
    .await;
    let me: wire::MeResponse = alice.ok(Method::GET, "/api/v1/me", None).await;
    assert_eq!(me.used_bytes, 0);
    let (_, kind) = server
        .changes(alice.session.namespace_id)
        .await
        .pop()
        .unwrap();
    assert_eq!(kind, "purge");
}

async fn listings_answer_etags_and_304(backend: Backend) {
    let server = TestServer::on(backend).start().await;
    let alice = server.register("alice").await;
    let root = alice.session.root_id;
    let path = format!("/api/v1/nodes/{root}/children");
    let get = |etag: Option<String>| {
        let mut r = server
            .http
            .get(server.url(&path))
            .bearer_auth(&alice.session.token);
        if let Some(e) = etag {
            r = r.header("if-none-match", e);
        }
        r.send()
    };
    let first = get(None).await.unwrap();
    assert_eq!(first.status(), StatusCode::OK);
    let etag = first.headers()["etag"].to_str().unwrap().to_owned();
    let again = get(Some(etag.clone())).await.unwrap();
    assert_eq!(again.status(), StatusCode::NOT_MODIFIED);
    assert_eq!(again.headers()["etag"].to_str().unwrap(), etag);
    assert!(again.bytes().await.unwrap().is_empty());
    // Weak and listed forms match too; another tag does not.
    let r = get(Some(format!("\"x\", W/{etag}"))).await.unwrap();
    assert_eq!(r.status(), StatusCode::NOT_MODIFIED);
    let r = get(Some("\"other\"".into())).await.unwrap();
    assert_eq!(r.status(), StatusCode::OK);
    // Any change to the tree gives a new tag.
    let a = alice.mkdir(root, "a").await;
    let r = get(Some(etag.clone())).await.unwrap();
    assert_eq!(r.status(), StatusCode::OK);
    let etag2 = r.headers()["etag"].to_str().unwrap().to_owned();
    assert_ne!(etag2, etag);
    patch(&alice, a.id, json!({"name": "b"})).await;
    let r = get(Some(etag2.clone())).await.unwrap();
    assert_eq!(r.status(), StatusCode::OK);
    let l: wire::Listing = r.json().await.unwrap();
    assert_eq!(l.children[0].name, "b");
}

async fn keep_both_turns_a_clash_into_a_conflicted_copy(backend: Backend) {
    let server = TestServer::on(backend).start().await;
    let alice = server.register("alice").await;
    let root = alice.session.root_id;
    let theirs = alice.upload_file("notes.txt", b"theirs", None).await;
    let b = alice.upload_file("b.txt", b"mine", None).await;
    let c = alice.upload_file("c.txt", b"also mine", None).await;

    // Without keep_both a clash is still a 409 that changes nothing.
    let r = patch(&alice, b.node.id, json!({"name": "notes.txt"})).await;
    assert_error(r, StatusCode::CONFLICT, "name_taken").await;

    let first: PlacedNode = patch(
        &alice,
        b.node.id,
        json!({"name": "NOTES.txt", "keep_both": true}),
    )
    .await
    .json()
    .await
    .unwrap();
    let clash = first.clash.expect("the answer names the clash");
    assert_eq!(
        (clash.wanted.as_str(), clash.holder_id),
        ("NOTES.txt", theirs.node.id)
    );
    let first = first.node;
    assert!(
        first.name.starts_with("NOTES (conflicted copy ") && first.name.ends_with(").txt"),
        "{}",
        first.name
    );
    let second: Node = patch(
        &alice,
        c.node.id,
        json!({"name": "notes.txt", "keep_both": true}),
    )
    .await
    .json()
    .await
    .unwrap();
    assert!(second.name.ends_with(" 2).txt"), "{}", second.name);

    // A move that clashes keeps both too; nothing is overwritten or lost.
    let sub = alice.mkdir(root, "Sub").await;
    let inner = alice.upload_to(sub.id, "notes.txt", b"moved", None).await;
    let moved: Node = patch(
        &alice,
        inner.node.id,
        json!({"parent_id": root, "keep_both": true}),
    )
    .await
    .json()
    .await
    .unwrap();
    assert_eq!(moved.parent_id, Some(root));
    assert!(moved.name.ends_with(" 3).txt"), "{}", moved.name);
    assert_eq!(alice.names(root).await.len(), 5);
    assert_eq!(alice.download(moved.id).await, b"moved");
    assert_eq!(alice.download(b.node.id).await, b"mine");
}
