//! Uploads into a folder shared with the caller: an editor's commit lands in the shared
//! folder's namespace (its log, its counters, the owner's quota) while the editor's own home
//! gives back the upload's reservation; a viewer's, an invitee's or a former member's changes
//! nothing; commits into shared and own trees at once, from both sides, never deadlock; and
//! the shared tree's trash is every member's to see, an editor's to restore from and its
//! owner's alone to purge; and a move between the caller's tree and a shared one hands over
//! rows, chunk references and quota charge, never bytes.

use reqwest::{Method, StatusCode};

use crate::fixture::{assert_error, bytes, share_with, Backend, TestServer, User};

crate::both!(
    an_editors_upload_lands_in_the_owners_tree_and_quota,
    commits_into_shared_and_own_trees_at_once_all_land,
    a_shared_trash_is_seen_by_members_restored_by_editors_and_purged_by_its_owner,
    a_move_between_trees_hands_over_rows_and_bytes_without_copying,
    me_itemises_what_it_totals,
);

/// (files, versions, uploads) bytes as `/me` reports them: the caller's own tree and the
/// folders they share.
async fn usage(u: &User<'_>) -> (u64, u64, u64) {
    let me: wire::MeResponse = u.ok(Method::GET, "/api/v1/me", None).await;
    (me.files_bytes, me.versions_bytes, me.uploads_bytes)
}

/// (files, versions, uploads) bytes charged to `owner`: their own tree's and their shared
/// folder `share`'s counters together (read beneath the API: `/me` itemises the own tree
/// alone), which `/me`'s total must equal.
async fn charged(owner: &User<'_>, share: i64) -> (u64, u64, u64) {
    let home = owner.server.counters(owner.session.namespace_id).await;
    let shared = owner.server.counters(share).await;
    let all = (home.0 + shared.0, home.1 + shared.1, home.2 + shared.2);
    let me: wire::MeResponse = owner.ok(Method::GET, "/api/v1/me", None).await;
    assert_eq!(me.used_bytes, all.0 + all.1 + all.2, "the owner's total");
    all
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
    let shared = alice.mkdir(alice.session.root_id, "shared").await;
    let s = share_with(&alice, shared.id, &frank, "frank", "editor", true).await;
    alice.invite(s.id, &vera, "vera", "viewer", true).await;
    alice.invite(s.id, &ivan, "ivan", "editor", false).await;
    let since: wire::ChangesResponse = alice.ok(Method::GET, "/api/v1/changes/latest", None).await;
    let docs = alice.mkdir(shared.id, "docs").await;

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
    assert_eq!(charged(&alice, s.id).await, (3_000, 0, 0));
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
    assert_eq!(charged(&alice, s.id).await, (1_500, 3_000, 0));

    // Past the owner's quota even without old versions: refused, the editor's upload still
    // open and reserved, nothing of the owner's changed.
    let big = bytes(10, 9_000);
    let (manifest, up) = frank.start_upload(&big).await;
    frank.put_missing(&manifest, &up, &big).await;
    let r = frank.commit(&up.upload_id, docs.id, "big.bin", None).await;
    assert_error(r, StatusCode::INSUFFICIENT_STORAGE, "quota_exceeded").await;
    assert_eq!(charged(&alice, s.id).await, (1_500, 3_000, 0));
    assert_eq!(usage(&frank).await, (0, 0, 9_000));

    // A viewer, an invitee who has not accepted and a member who left change nothing.
    let little = bytes(11, 100);
    for (who, status, code) in [
        (&vera, StatusCode::FORBIDDEN, "role_too_low"),
        (&ivan, StatusCode::NOT_FOUND, "folder_gone"),
    ] {
        let (manifest, up) = who.start_upload(&little).await;
        who.put_missing(&manifest, &up, &little).await;
        let r = who.commit(&up.upload_id, docs.id, "x.txt", None).await;
        assert_error(r, status, code).await;
    }
    frank.drop_member(s.id, frank.session.user_id).await;
    let r = frank.commit(&up.upload_id, docs.id, "big.bin", None).await;
    assert_error(r, StatusCode::NOT_FOUND, "folder_gone").await;
    let mut names = alice.names(docs.id).await;
    names.sort();
    assert_eq!(names.len(), 2, "{names:?}");
    assert_eq!(charged(&alice, s.id).await, (1_500, 3_000, 0));

    // Each version in the shared folder's log with its actor (then the editor leaving it);
    // none in the editor's own, which holds only the news of their membership.
    let feed: wire::ChangesResponse = alice
        .ok(
            Method::GET,
            &format!("/api/v1/changes?cursor={}", since.cursor),
            None,
        )
        .await;
    let by: Vec<(i64, &str, &str)> = feed
        .changes
        .iter()
        .map(|c| {
            let who = c.actor.as_ref().unwrap().username.as_str();
            (c.namespace_id, c.kind.as_str(), who)
        })
        .collect();
    assert_eq!(
        by,
        [
            (s.id, "create", "alice"),
            (s.id, "version", "frank"),
            (s.id, "version", "alice"),
            (s.id, "version", "frank"),
            (s.id, "members", "frank"),
        ]
    );
    let own: Vec<String> = server
        .changes(frank.session.namespace_id)
        .await
        .into_iter()
        .map(|(node, kind)| {
            assert_eq!(node, shared.id);
            kind
        })
        .collect();
    assert_eq!(own, ["invited", "joined", "left"]);
}

/// Commits queued together into the owner's shared folder, the editor's own tree and
/// shared folder, and another owner's shared folder the editor also edits (and each owner
/// into their own tree): every one lands, and each namespace's log stays gap-free.
/// (PostgreSQL would answer a lock-order cycle with a deadlock error.)
async fn commits_into_shared_and_own_trees_at_once_all_land(backend: Backend) {
    let server = TestServer::on(backend).start().await;
    let alice = server.register("alice").await;
    let bob = server.register("bob").await;
    let frank = server.register("frank").await;
    // Each owner shares a folder: Alice's and Bob's with Frank, Frank's with Alice.
    let mut trees = Vec::new();
    for (owner, name, member, username) in [
        (&alice, "of alice", &frank, "frank"),
        (&bob, "of bob", &frank, "frank"),
        (&frank, "of frank", &alice, "alice"),
    ] {
        let folder = owner.mkdir(owner.session.root_id, name).await;
        trees.push(share_with(owner, folder.id, member, username, "editor", true).await);
    }
    let (of_alice, of_bob, of_frank) = (trees[0].root_id, trees[1].root_id, trees[2].root_id);
    let targets = [
        (&frank, of_alice),
        (&frank, of_bob),
        (&frank, of_frank),
        (&frank, frank.session.root_id),
        (&alice, of_frank),
        (&alice, of_alice),
        (&alice, alice.session.root_id),
        (&bob, of_bob),
        (&bob, bob.session.root_id),
    ];
    let logs_before: Vec<Vec<(i64, String)>> = {
        let mut out = Vec::new();
        for ns in namespaces(&alice, &bob, &frank, &trees) {
            out.push(server.changes(ns).await);
        }
        out
    };
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
    // Ten files in each shared folder (five of its owner's, five of its member's), five in
    // each own tree; every log gap-free, grown by one version per file.
    for (owner, folder, files) in [
        (&alice, of_alice, 10),
        (&bob, of_bob, 10),
        (&frank, of_frank, 10),
        (&alice, alice.session.root_id, 5),
        (&bob, bob.session.root_id, 5),
        (&frank, frank.session.root_id, 5),
    ] {
        let names = owner.names(folder).await;
        let bins = names.iter().filter(|n| n.ends_with(".bin")).count();
        assert_eq!(bins, files, "{names:?}");
    }
    for (ns, before) in namespaces(&alice, &bob, &frank, &trees)
        .into_iter()
        .zip(logs_before)
    {
        let seqs = server.change_seqs(ns).await;
        assert_eq!(seqs, (1..=seqs.len() as i64).collect::<Vec<i64>>());
        let log = server.changes(ns).await;
        assert_eq!(log[..before.len()], before[..]);
        let files = if trees.iter().any(|t| t.id == ns) {
            10
        } else {
            5
        };
        assert_eq!(log.len(), before.len() + files);
        assert!(log[before.len()..]
            .iter()
            .all(|(_, kind)| kind == "version"));
    }
    for u in [&alice, &bob, &frank] {
        assert_eq!(usage(u).await.2, 0, "no reservation left behind");
    }
    for t in &trees {
        assert_eq!(server.counters(t.id).await.2, 0, "nor in a shared folder");
    }
}

/// Every namespace of the commits test: the three homes, then the three shared folders.
fn namespaces(
    alice: &User<'_>,
    bob: &User<'_>,
    frank: &User<'_>,
    trees: &[wire::shares::Share],
) -> Vec<i64> {
    let homes = [alice, bob, frank].map(|u| u.session.namespace_id);
    homes
        .into_iter()
        .chain(trees.iter().map(|t| t.id))
        .collect()
}

async fn a_shared_trash_is_seen_by_members_restored_by_editors_and_purged_by_its_owner(
    backend: Backend,
) {
    let server = TestServer::on(backend).start().await;
    let alice = server.register("alice").await;
    let frank = server.register("frank").await;
    let vera = server.register("vera").await;
    let shared = alice.mkdir(alice.session.root_id, "shared").await;
    let s = share_with(&alice, shared.id, &frank, "frank", "editor", true).await;
    alice.invite(s.id, &vera, "vera", "viewer", true).await;
    let docs = alice.mkdir(shared.id, "docs").await;
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
    // folder is trashed, so into the shared tree's root, not the editor's (whose root holds
    // only their place for the shared folder).
    let restore = |id: i64| format!("/api/v1/trash/{id}/restore");
    let r = vera.call(Method::POST, &restore(kept.node.id), None).await;
    assert_error(r, StatusCode::FORBIDDEN, "role_too_low").await;
    let back: wire::Node = frank.ok(Method::POST, &restore(kept.node.id), None).await;
    assert_eq!(back.parent_id, Some(s.root_id));
    let mut names = alice.names(s.root_id).await;
    names.sort();
    assert_eq!(names, ["docs", "kept.txt"]);
    assert_eq!(frank.names(frank.session.root_id).await, ["shared"]);

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
    let shared = alice.mkdir(alice.session.root_id, "shared").await;
    let s = share_with(&alice, shared.id, &frank, "frank", "editor", true).await;
    alice.invite(s.id, &vera, "vera", "viewer", true).await;
    let docs = alice.mkdir(shared.id, "docs").await;
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
    assert_eq!(charged(&alice, s.id).await, (0, 0, 0));
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
    assert_eq!(there.namespace_id, s.id);
    assert!(there.node.is_none());

    // A whole folder back into the shared tree: the owner holds it again, and may name its
    // chunks without sending them.
    let _: wire::PlacedNode = frank.ok(Method::PATCH, &node(mine.id), to(docs.id)).await;
    assert_eq!(alice.names(docs.id).await, ["mine"]);
    assert_eq!(alice.names(mine.id).await, ["a.txt"]);
    assert_eq!(charged(&alice, s.id).await, (300, 100, 0));
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
    assert_eq!(
        frank.names(frank.session.root_id).await,
        ["shared", "big.bin"]
    );
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

/// `/me`: `used_bytes` is the sum of `files_bytes`, `versions_bytes` and `uploads_bytes`
/// (README, `wire::MeResponse`), for an owner of a shared folder too: each item covers their
/// own tree and the folders they share.
async fn me_itemises_what_it_totals(backend: Backend) {
    let server = TestServer::on(backend).start().await;
    let alice = server.register("alice").await;
    let team = alice.mkdir(alice.session.root_id, "team").await;
    alice
        .upload_to(team.id, "a.bin", &bytes(1, 3_000), None)
        .await;
    alice
        .upload_to(alice.session.root_id, "b.bin", &bytes(2, 500), None)
        .await;
    alice.share(team.id).await;
    let me: wire::MeResponse = alice.ok(Method::GET, "/api/v1/me", None).await;
    assert_eq!(
        (
            me.used_bytes,
            me.files_bytes,
            me.versions_bytes,
            me.uploads_bytes
        ),
        (3_500, 3_500, 0, 0),
        "{me:?}"
    );
}
