//! Uploads into a tree shared with the caller: an editor's commit lands in the owner's
//! namespace (its log, its counters, the owner's quota) while the editor's own home gives
//! back the upload's reservation; a viewer's, an invitee's or a removed member's changes
//! nothing; commits into shared and own trees at once, from both sides, never deadlock; and
//! the shared tree's trash is every member's to see, an editor's to restore from and its
//! owner's alone to purge; and a move between the caller's tree and a shared one hands over
//! rows, chunk references and quota charge, never bytes.

use reqwest::{Method, StatusCode};

use crate::fixture::{assert_error, bytes, Backend, TestServer, User};

crate::both!(
    an_editors_upload_lands_in_the_owners_tree_and_quota,
    commits_into_shared_and_own_trees_at_once_all_land,
    a_shared_trash_is_seen_by_members_restored_by_editors_and_purged_by_its_owner,
    a_move_between_trees_hands_over_rows_and_bytes_without_copying,
);

/// (files, versions, uploads) bytes as `/me` reports them.
async fn usage(u: &User<'_>) -> (u64, u64, u64) {
    let me: wire::MeResponse = u.ok(Method::GET, "/api/v1/me", None).await;
    (me.files_bytes, me.versions_bytes, me.uploads_bytes)
}

async fn an_editors_upload_lands_in_the_owners_tree_and_quota(backend: Backend) {
    let server = TestServer::on(backend)
        .settings(|s| s.quota_bytes = 10_000)
        .start()
        .await;
    let alice = server.register("alice").await;
    let frank = server.register("frank").await;
    let vera = server.register("vera").await;
    let ivan = server.register("ivan").await;
    server.join(&alice, &frank, "editor", true).await;
    server.join(&alice, &vera, "viewer", true).await;
    server.join(&alice, &ivan, "editor", false).await;
    let docs = alice.mkdir(alice.session.root_id, "docs").await;

    // The editor's upload is the owner's file, charged to the owner.
    let listing = format!("/api/v1/nodes/{}/children", docs.id);
    let r = frank.call(Method::GET, &listing, None).await;
    let etag = r.headers()[reqwest::header::ETAG].clone();
    let data = bytes(7, 3_000);
    let first = frank.upload_to(docs.id, "plan.txt", &data, None).await;
    assert_eq!(alice.names(docs.id).await, ["plan.txt"]);
    // The member's cached listing is out of date, and its tag says so.
    let r = server
        .http
        .get(server.url(&listing))
        .bearer_auth(&frank.session.token)
        .header(reqwest::header::IF_NONE_MATCH, etag)
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), StatusCode::OK);
    assert_eq!(alice.download(first.node.id).await, data);
    assert_eq!(usage(&alice).await, (3_000, 0, 0));
    assert_eq!(
        usage(&frank).await,
        (0, 0, 0),
        "the reservation is given back"
    );

    // The owner writes the next version; the editor's edit on the old one is kept beside it,
    // named for the editor and device.
    let second = alice
        .upload_to(docs.id, "plan.txt", &bytes(8, 1_000), first.node.version_id)
        .await;
    let stale = frank
        .upload_to(docs.id, "plan.txt", &bytes(9, 500), first.node.version_id)
        .await;
    let conflict = stale.conflict.expect("a stale base keeps both sides");
    assert_eq!(conflict.original_node_id, first.node.id);
    assert_eq!(conflict.current_version, second.version_id);
    assert_eq!(conflict.user_id, frank.session.user_id);
    assert!(
        stale.node.name.contains("(conflicted copy frank "),
        "{}",
        stale.node.name
    );
    assert_eq!(usage(&alice).await, (1_500, 3_000, 0));

    // Past the owner's quota even without old versions: refused, the editor's upload still
    // open and reserved, nothing of the owner's changed.
    let big = bytes(10, 9_000);
    let (manifest, up) = frank.start_upload(&big).await;
    frank.put_missing(&manifest, &up, &big).await;
    let r = frank.commit(&up.upload_id, docs.id, "big.bin", None).await;
    assert_error(r, StatusCode::INSUFFICIENT_STORAGE, "quota_exceeded").await;
    assert_eq!(usage(&alice).await, (1_500, 3_000, 0));
    assert_eq!(usage(&frank).await, (0, 0, 9_000));

    // A viewer, an invitee who has not accepted and a member who left change nothing.
    let little = bytes(11, 100);
    for (who, status, code) in [
        (&vera, StatusCode::FORBIDDEN, "role_too_low"),
        (&ivan, StatusCode::NOT_FOUND, "not_found"),
    ] {
        let (manifest, up) = who.start_upload(&little).await;
        who.put_missing(&manifest, &up, &little).await;
        let r = who.commit(&up.upload_id, docs.id, "x.txt", None).await;
        assert_error(r, status, code).await;
    }
    server.leave(&alice, &frank).await;
    let r = frank.commit(&up.upload_id, docs.id, "big.bin", None).await;
    assert_error(r, StatusCode::NOT_FOUND, "not_found").await;
    let mut names = alice.names(docs.id).await;
    names.sort();
    assert_eq!(names.len(), 2, "{names:?}");
    assert_eq!(usage(&alice).await, (1_500, 3_000, 0));

    // Each version in the owner's log with its actor; none in the editor's.
    let feed: wire::ChangesResponse = alice.ok(Method::GET, "/api/v1/changes", None).await;
    let by: Vec<(&str, &str)> = feed
        .changes
        .iter()
        .map(|c| (c.kind.as_str(), c.actor.as_ref().unwrap().username.as_str()))
        .collect();
    assert_eq!(
        by,
        [
            ("create", "alice"),
            ("version", "frank"),
            ("version", "alice"),
            ("version", "frank"),
        ]
    );
    assert!(server.changes(frank.session.namespace_id).await.is_empty());
}

/// Commits queued together into the owner's tree, the editor's own tree and another owner's
/// tree the editor also edits: every one lands, and each namespace's log stays gap-free.
/// (PostgreSQL would answer a lock-order cycle with a deadlock error.)
async fn commits_into_shared_and_own_trees_at_once_all_land(backend: Backend) {
    let server = TestServer::on(backend).start().await;
    let alice = server.register("alice").await;
    let bob = server.register("bob").await;
    let frank = server.register("frank").await;
    server.join(&alice, &frank, "editor", true).await;
    server.join(&bob, &frank, "editor", true).await;
    server.join(&frank, &alice, "editor", true).await;
    let targets = [
        (&frank, alice.session.root_id),
        (&frank, bob.session.root_id),
        (&frank, frank.session.root_id),
        (&alice, frank.session.root_id),
        (&alice, alice.session.root_id),
        (&bob, bob.session.root_id),
    ];
    let mut staged = Vec::new();
    for round in 0..5u64 {
        for (i, (who, parent)) in targets.iter().enumerate() {
            let data = bytes(100 * round + i as u64, 200 + i);
            let (manifest, up) = who.start_upload(&data).await;
            who.put_missing(&manifest, &up, &data).await;
            staged.push((*who, *parent, up.upload_id, format!("{round}-{i}.bin")));
        }
    }
    let answers = futures::future::join_all(
        staged
            .iter()
            .map(|(who, parent, id, name)| who.commit(id, *parent, name, None)),
    )
    .await;
    for r in answers {
        assert_eq!(r.status(), StatusCode::OK, "{}", r.text().await.unwrap());
    }
    for u in [&alice, &bob, &frank] {
        assert_eq!(u.names(u.session.root_id).await.len(), 10);
        let seqs = server.change_seqs(u.session.namespace_id).await;
        assert_eq!(seqs, (1..=10).collect::<Vec<i64>>());
        assert_eq!(usage(u).await.2, 0, "no reservation left behind");
    }
}

async fn a_shared_trash_is_seen_by_members_restored_by_editors_and_purged_by_its_owner(
    backend: Backend,
) {
    let server = TestServer::on(backend).start().await;
    let alice = server.register("alice").await;
    let frank = server.register("frank").await;
    let vera = server.register("vera").await;
    server.join(&alice, &frank, "editor", true).await;
    server.join(&alice, &vera, "viewer", true).await;
    let docs = alice.mkdir(alice.session.root_id, "docs").await;
    let sub = alice.mkdir(docs.id, "sub").await;
    let kept = frank
        .upload_to(sub.id, "kept.txt", &bytes(1, 50), None)
        .await;
    let mine = frank.upload_file("mine.txt", &bytes(2, 60), None).await;
    frank.trash(mine.node.id).await;
    frank.trash(kept.node.id).await;
    alice.trash(sub.id).await;

    // Every member sees the shared tree's trash beside their own.
    let listed = |list: &wire::TrashList| -> Vec<String> {
        let mut names: Vec<String> = list.items.iter().map(|t| t.node.name.clone()).collect();
        names.sort();
        names
    };
    let of_frank: wire::TrashList = frank.ok(Method::GET, "/api/v1/trash", None).await;
    assert_eq!(listed(&of_frank), ["kept.txt", "mine.txt", "sub"]);
    let of_vera: wire::TrashList = vera.ok(Method::GET, "/api/v1/trash", None).await;
    assert_eq!(listed(&of_vera), ["kept.txt", "sub"]);
    let of_alice: wire::TrashList = alice.ok(Method::GET, "/api/v1/trash", None).await;
    assert_eq!(listed(&of_alice), ["kept.txt", "sub"]);

    // The viewer restores nothing; the editor restores into the shared tree: the file's
    // folder is trashed, so into the shared tree's root, not the editor's.
    let restore = |id: i64| format!("/api/v1/trash/{id}/restore");
    let r = vera.call(Method::POST, &restore(kept.node.id), None).await;
    assert_error(r, StatusCode::FORBIDDEN, "role_too_low").await;
    let back: wire::Node = frank.ok(Method::POST, &restore(kept.node.id), None).await;
    assert_eq!(back.parent_id, Some(alice.session.root_id));
    let mut names = alice.names(alice.session.root_id).await;
    names.sort();
    assert_eq!(names, ["docs", "kept.txt"]);
    assert!(frank.names(frank.session.root_id).await.is_empty());

    // Purging is the owner's alone.
    let purge = format!("/api/v1/trash/{}", sub.id);
    for who in [&frank, &vera] {
        let r = who.call(Method::DELETE, &purge, None).await;
        assert_error(r, StatusCode::FORBIDDEN, "role_too_low").await;
    }
    alice.purge(sub.id).await;
    let of_frank: wire::TrashList = frank.ok(Method::GET, "/api/v1/trash", None).await;
    assert_eq!(listed(&of_frank), ["mine.txt"]);
    // A stranger finds none of it.
    let bob = server.register("bob").await;
    let r = bob.call(Method::POST, &restore(mine.node.id), None).await;
    assert_error(r, StatusCode::NOT_FOUND, "not_found").await;
    let of_bob: wire::TrashList = bob.ok(Method::GET, "/api/v1/trash", None).await;
    assert!(of_bob.items.is_empty());
}

async fn a_move_between_trees_hands_over_rows_and_bytes_without_copying(backend: Backend) {
    let server = TestServer::on(backend)
        .settings(|s| s.quota_bytes = 10_000)
        .start()
        .await;
    let alice = server.register("alice").await;
    let frank = server.register("frank").await;
    let vera = server.register("vera").await;
    server.join(&alice, &frank, "editor", true).await;
    server.join(&alice, &vera, "viewer", true).await;
    let docs = alice.mkdir(alice.session.root_id, "docs").await;
    let v1 = alice
        .upload_to(docs.id, "a.txt", &bytes(1, 100), None)
        .await;
    let v2 = alice
        .upload_to(docs.id, "a.txt", &bytes(2, 300), v1.node.version_id)
        .await;
    let stored = server.stored_files();
    let node = |id: i64| format!("/api/v1/nodes/{id}");
    let to = |parent: i64| Some(serde_json::json!({ "parent_id": parent }));

    // Out of the shared tree into the editor's own: the file, its history and its bytes.
    let mine = frank.mkdir(frank.session.root_id, "mine").await;
    let moved: wire::PlacedNode = frank
        .ok(Method::PATCH, &node(v2.node.id), to(mine.id))
        .await;
    assert_eq!(moved.node.parent_id, Some(mine.id));
    assert_eq!(usage(&alice).await, (0, 0, 0));
    assert_eq!(usage(&frank).await, (300, 100, 0));
    assert_eq!(frank.download(v2.node.id).await, bytes(2, 300));
    let versions: wire::VersionList = frank
        .ok(Method::GET, &format!("{}/versions", node(v2.node.id)), None)
        .await;
    assert_eq!(versions.versions.len(), 2);
    assert!(alice.names(docs.id).await.is_empty());
    assert_eq!(server.stored_files(), stored, "no byte was copied");
    // The owner's devices see it leave; the editor's see it arrive.
    let gone: wire::ChangesResponse = alice.ok(Method::GET, "/api/v1/changes", None).await;
    let last = gone.changes.last().unwrap();
    assert_eq!((last.node_id, last.kind.as_str()), (v2.node.id, "move"));
    assert!(last.node.is_none());
    // (The editor follows both trees: the move is in each log, gone from one, in the other.)
    let came: wire::ChangesResponse = frank.ok(Method::GET, "/api/v1/changes", None).await;
    let own = frank.session.namespace_id;
    let last = came
        .changes
        .iter()
        .rfind(|c| c.namespace_id == own)
        .unwrap();
    assert_eq!(last.node.as_ref().unwrap().parent_id, Some(mine.id));
    let there = came.changes.last().unwrap();
    assert_eq!(there.namespace_id, alice.session.namespace_id);
    assert!(there.node.is_none());

    // A whole folder back into the shared tree: the owner holds it again, and may name its
    // chunks without sending them.
    let _: wire::PlacedNode = frank.ok(Method::PATCH, &node(mine.id), to(docs.id)).await;
    assert_eq!(alice.names(docs.id).await, ["mine"]);
    assert_eq!(alice.names(mine.id).await, ["a.txt"]);
    assert_eq!(usage(&alice).await, (300, 100, 0));
    assert_eq!(usage(&frank).await, (0, 0, 0));
    let (_, up) = alice.start_upload(&bytes(2, 300)).await;
    assert!(up.missing.is_empty(), "the chunk references came along");

    // Past the owner's quota even without old versions: refused, nothing moved.
    let big = frank.upload_file("big.bin", &bytes(3, 9_800), None).await;
    let r = frank
        .call(Method::PATCH, &node(big.node.id), to(docs.id))
        .await;
    assert_error(r, StatusCode::INSUFFICIENT_STORAGE, "quota_exceeded").await;
    assert_eq!(usage(&frank).await, (9_800, 0, 0));
    assert_eq!(frank.names(frank.session.root_id).await, ["big.bin"]);
    // A viewer moves nothing in, nor out.
    let hers = vera.upload_file("v.txt", &bytes(4, 10), None).await;
    let r = vera
        .call(Method::PATCH, &node(hers.node.id), to(docs.id))
        .await;
    assert_error(r, StatusCode::FORBIDDEN, "role_too_low").await;
    let r = vera
        .call(Method::PATCH, &node(mine.id), to(vera.session.root_id))
        .await;
    assert_error(r, StatusCode::FORBIDDEN, "role_too_low").await;
}
