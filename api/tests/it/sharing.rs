//! The sharing routes, end to end over HTTP: a folder of the owner's tree becomes a shared
//! folder (rows, history and bytes stay, the charge stays the owner's), the owner invites, the
//! invitee sees it on their feed and stream and accepts or declines, roles change and take
//! effect at once, members leave or are removed, and sharing ends with the folder back in the
//! owner's tree. The rules of where shared folders may be answer 409 `shared_folder`.

use std::time::Duration;

use reqwest::{Method, StatusCode};
use serde_json::json;
use wire::shares::{Member, MemberList, Share, ShareList};
use wire::{ChangesResponse, Role};

use crate::fixture::{assert_error, bytes, Backend, TestServer, User};
use crate::sse::Events;

crate::both!(
    a_folder_is_shared_members_join_work_and_leave,
    where_shared_folders_may_be,
    a_shared_folder_is_charged_to_its_owners_quota,
    the_owners_open_stream_follows_a_folder_shared_after_it_opened,
);

const WAIT: Duration = Duration::from_secs(10);

async fn share(u: &User<'_>, folder: i64) -> Share {
    let r = u
        .call(Method::POST, &format!("/api/v1/nodes/{folder}/share"), None)
        .await;
    assert_eq!(r.status(), StatusCode::CREATED);
    r.json().await.unwrap()
}

async fn invite(owner: &User<'_>, id: i64, who: &str, role: &str) -> Member {
    let body = json!({ "username": who, "role": role });
    let r = owner
        .call(
            Method::POST,
            &format!("/api/v1/shares/{id}/members"),
            Some(body),
        )
        .await;
    assert_eq!(r.status(), StatusCode::CREATED);
    r.json().await.unwrap()
}

async fn shares(u: &User<'_>) -> Vec<Share> {
    let list: ShareList = u.ok(Method::GET, "/api/v1/shares", None).await;
    list.shares
}

/// The kinds of the caller's feed from `cursor` on, and the next cursor.
async fn kinds(u: &User<'_>, cursor: &str) -> (Vec<String>, String) {
    let page: ChangesResponse = u
        .ok(
            Method::GET,
            &format!("/api/v1/changes?cursor={cursor}"),
            None,
        )
        .await;
    let kinds = page.changes.iter().map(|c| c.kind.clone()).collect();
    (kinds, page.cursor)
}

async fn latest(u: &User<'_>) -> String {
    let r: ChangesResponse = u.ok(Method::GET, "/api/v1/changes/latest", None).await;
    r.cursor
}

async fn a_folder_is_shared_members_join_work_and_leave(backend: Backend) {
    let server = TestServer::on(backend).start().await;
    let alice = server.register("alice").await;
    let bob = server.register("bob").await;
    let carol = server.register("carol").await;
    let work = alice.mkdir(alice.session.root_id, "work").await;
    let docs = alice.mkdir(work.id, "docs").await;
    let plan = alice
        .upload_to(docs.id, "plan.txt", &bytes(1, 2_000), None)
        .await;
    let v2 = alice
        .upload_to(docs.id, "plan.txt", &bytes(2, 1_000), plan.node.version_id)
        .await;
    let before = latest(&alice).await;

    let s = share(&alice, docs.id).await;
    assert_eq!((s.root_id, s.name.as_str()), (docs.id, "docs"));
    assert_eq!((s.role, s.accepted, s.members), (Role::Owner, true, 0));
    // The owner's tree, contents and history are as they were.
    assert_eq!(alice.names(work.id).await, ["docs"]);
    assert_eq!(alice.names(docs.id).await, ["plan.txt"]);
    let versions: wire::VersionList = alice
        .ok(
            Method::GET,
            &format!("/api/v1/nodes/{}/versions", plan.node.id),
            None,
        )
        .await;
    assert_eq!(versions.versions.len(), 2);
    assert_eq!(alice.download(v2.node.id).await, bytes(2, 1_000));
    let (k, _) = kinds(&alice, &before).await;
    assert_eq!(
        k,
        ["shared", "create"],
        "the owner's feed: own tree, then the new one"
    );

    // Not a member yet: nothing to see; invited: still nothing but the invitation.
    let listing = format!("/api/v1/nodes/{}/children", docs.id);
    assert_error(
        bob.call(Method::GET, &listing, None).await,
        StatusCode::NOT_FOUND,
        "not_found",
    )
    .await;
    let bob_at = latest(&bob).await;
    let m = invite(&alice, s.id, "BOB", "editor").await;
    assert_eq!(
        (m.username.as_str(), m.role, m.accepted),
        ("bob", Role::Editor, false)
    );
    let (k, bob_at) = kinds(&bob, &bob_at).await;
    assert_eq!(k, ["invited"]);
    let offered = shares(&bob).await;
    assert_eq!(offered.len(), 1);
    assert_eq!(
        (
            offered[0].accepted,
            offered[0].role,
            offered[0].owner.as_str()
        ),
        (false, Role::Editor, "alice")
    );
    assert_eq!(offered[0].invited_by.as_deref(), Some("alice"));
    assert_error(
        bob.call(Method::GET, &listing, None).await,
        StatusCode::NOT_FOUND,
        "not_found",
    )
    .await;
    // Only the invitee accepts.
    let accept = format!("/api/v1/shares/{}/accept", s.id);
    assert_error(
        carol.call(Method::POST, &accept, None).await,
        StatusCode::NOT_FOUND,
        "not_found",
    )
    .await;
    let joined: Share = bob.ok(Method::POST, &accept, None).await;
    assert!(joined.accepted);
    assert_error(
        bob.call(Method::POST, &accept, None).await,
        StatusCode::NOT_FOUND,
        "not_found",
    )
    .await;
    let (k, bob_at) = kinds(&bob, &bob_at).await;
    // The new tree's log comes along from what it keeps (a device lists it anyway).
    assert_eq!(k, ["joined", "create", "members", "members"]);
    // To the member the shared folder sits where accepting placed it, at the top of their
    // own tree (`mounts.rs` has the rest): on the feed, and where paths start.
    let page: ChangesResponse = bob.ok(Method::GET, "/api/v1/changes", None).await;
    let root = page
        .changes
        .iter()
        .find_map(|c| c.node.as_ref().filter(|n| n.id == docs.id));
    assert_eq!(root.map(|n| n.parent_id), Some(Some(bob.session.root_id)));
    let found: wire::SearchResponse = bob.ok(Method::GET, "/api/v1/search?q=plan", None).await;
    let paths: Vec<&str> = found.results.iter().map(|r| r.path.as_str()).collect();
    assert_eq!(paths, ["/docs/plan.txt"]);
    let found: wire::SearchResponse = alice.ok(Method::GET, "/api/v1/search?q=plan", None).await;
    assert_eq!(found.results[0].path, "/work/docs/plan.txt");
    // The owner does not leave; they stop sharing.
    let owner = format!("/api/v1/shares/{}/members/{}", s.id, alice.session.user_id);
    assert_error(
        alice.call(Method::DELETE, &owner, None).await,
        StatusCode::CONFLICT,
        "shared_folder",
    )
    .await;

    // The shared folder is in the member's tree, and theirs to work in.
    let top: wire::Listing = bob.ok(Method::GET, &listing, None).await;
    assert_eq!(top.folder.parent_id, Some(bob.session.root_id));
    let mine = bob
        .upload_to(docs.id, "notes.txt", &bytes(3, 500), None)
        .await;
    assert_eq!(alice.names(docs.id).await, ["notes.txt", "plan.txt"]);
    // Each file says who wrote what it holds now.
    let inside: wire::Listing = alice.ok(Method::GET, &listing, None).await;
    let by: Vec<Option<&str>> = inside
        .children
        .iter()
        .map(|n| n.modified_by.as_deref())
        .collect();
    assert_eq!(by, [Some("bob"), Some("alice")]);
    let (k, bob_at) = kinds(&bob, &bob_at).await;
    assert_eq!(k, ["version"]);
    // Who did what, newest first, for every member to read.
    let log: wire::shares::Activity = alice
        .ok(
            Method::GET,
            &format!("/api/v1/shares/{}/activity?limit=3", s.id),
            None,
        )
        .await;
    let lines: Vec<(&str, &str, Option<&str>)> = log
        .items
        .iter()
        .map(|i| {
            let who = i.actor.as_ref().map_or("", |a| a.username.as_str());
            (i.kind.as_str(), who, i.name.as_deref())
        })
        .collect();
    assert_eq!(
        lines,
        [
            ("version", "bob", Some("notes.txt")),
            ("members", "bob", Some("docs")),
            ("members", "alice", Some("docs")),
        ]
    );
    let r = carol
        .call(
            Method::GET,
            &format!("/api/v1/shares/{}/activity", s.id),
            None,
        )
        .await;
    assert_error(r, StatusCode::NOT_FOUND, "not_found").await;
    let r = bob
        .call(
            Method::GET,
            &format!("/api/v1/shares/{}/activity?limit=0", s.id),
            None,
        )
        .await;
    assert_error(r, StatusCode::BAD_REQUEST, "bad_request").await;
    // A member renames their own place for the shared folder (its owner's name stays);
    // deleting it is the owner's call.
    let rename = json!({ "name": "mine now" });
    let node = format!("/api/v1/nodes/{}", docs.id);
    let placed: wire::PlacedNode = bob.ok(Method::PATCH, &node, Some(rename.clone())).await;
    assert_eq!(placed.node.name, "mine now");
    assert_eq!(alice.names(work.id).await, ["docs"]);
    assert_error(
        bob.call(Method::DELETE, &node, None).await,
        StatusCode::FORBIDDEN,
        "role_too_low",
    )
    .await;

    // A viewer from the next request on.
    let member = format!("/api/v1/shares/{}/members/{}", s.id, bob.session.user_id);
    let r = bob
        .call(Method::PATCH, &member, Some(json!({ "role": "viewer" })))
        .await;
    assert_error(r, StatusCode::FORBIDDEN, "role_too_low").await;
    let m: Member = alice
        .ok(Method::PATCH, &member, Some(json!({ "role": "viewer" })))
        .await;
    assert_eq!(m.role, Role::Viewer);
    let r = alice
        .call(Method::PATCH, &member, Some(json!({ "role": "owner" })))
        .await;
    assert_error(r, StatusCode::BAD_REQUEST, "invalid_role").await;
    let (k, bob_at) = kinds(&bob, &bob_at).await;
    assert_eq!(
        k,
        ["rename", "role", "members"],
        "the own tree's news, then the shared one's"
    );
    let r = bob
        .call(
            Method::DELETE,
            &format!("/api/v1/nodes/{}", mine.node.id),
            None,
        )
        .await;
    assert_error(r, StatusCode::FORBIDDEN, "role_too_low").await;
    assert_eq!(bob.download(mine.node.id).await, bytes(3, 500));

    // The member list: the owner first.
    let list: MemberList = bob
        .ok(
            Method::GET,
            &format!("/api/v1/shares/{}/members", s.id),
            None,
        )
        .await;
    let people: Vec<(&str, Role, bool)> = list
        .members
        .iter()
        .map(|m| (m.username.as_str(), m.role, m.accepted))
        .collect();
    assert_eq!(
        people,
        [("alice", Role::Owner, true), ("bob", Role::Viewer, true)]
    );
    assert_error(
        carol
            .call(
                Method::GET,
                &format!("/api/v1/shares/{}/members", s.id),
                None,
            )
            .await,
        StatusCode::NOT_FOUND,
        "not_found",
    )
    .await;

    // Carol declines; Bob leaves; both are out.
    invite(&alice, s.id, "carol", "viewer").await;
    let again = json!({ "username": "carol", "role": "editor" });
    let r = alice
        .call(
            Method::POST,
            &format!("/api/v1/shares/{}/members", s.id),
            Some(again),
        )
        .await;
    assert_error(r, StatusCode::CONFLICT, "already_member").await;
    let own = format!("/api/v1/shares/{}/members/{}", s.id, carol.session.user_id);
    assert_eq!(
        carol.call(Method::DELETE, &own, None).await.status(),
        StatusCode::NO_CONTENT
    );
    assert!(shares(&carol).await.is_empty());
    assert_eq!(
        bob.call(Method::DELETE, &member, None).await.status(),
        StatusCode::NO_CONTENT
    );
    let (k, _) = kinds(&bob, &bob_at).await;
    assert_eq!(k, ["left"]);
    assert!(shares(&bob).await.is_empty());
    assert_error(
        bob.call(Method::GET, &listing, None).await,
        StatusCode::NOT_FOUND,
        "not_found",
    )
    .await;

    // Sharing ends: the folder is the owner's private one again, with all it held.
    invite(&alice, s.id, "carol", "editor").await;
    carol.ok::<Share>(Method::POST, &accept, None).await;
    let carol_at = latest(&carol).await;
    let alice_at = latest(&alice).await;
    let end = format!("/api/v1/shares/{}", s.id);
    assert_error(
        carol.call(Method::DELETE, &end, None).await,
        StatusCode::FORBIDDEN,
        "role_too_low",
    )
    .await;
    assert_eq!(
        alice.call(Method::DELETE, &end, None).await.status(),
        StatusCode::NO_CONTENT
    );
    assert!(shares(&alice).await.is_empty());
    assert_eq!(alice.names(docs.id).await, ["notes.txt", "plan.txt"]);
    assert_eq!(kinds(&carol, &carol_at).await.0, ["unshared"]);
    assert!(kinds(&alice, &alice_at)
        .await
        .0
        .contains(&"unshared".to_owned()));
    assert_error(
        carol.call(Method::GET, &listing, None).await,
        StatusCode::NOT_FOUND,
        "not_found",
    )
    .await;
    // And is the owner's to delete again, or share anew.
    let again = share(&alice, docs.id).await;
    assert_ne!(again.id, s.id);
}

async fn where_shared_folders_may_be(backend: Backend) {
    let server = TestServer::on(backend).start().await;
    let alice = server.register("alice").await;
    let bob = server.register("bob").await;
    let root = alice.session.root_id;
    let outer = alice.mkdir(root, "outer").await;
    let inner = alice.mkdir(outer.id, "inner").await;
    let other = alice.mkdir(root, "other").await;
    let file = alice.upload_to(root, "f.txt", &bytes(1, 10), None).await;
    let path = |id: i64| format!("/api/v1/nodes/{id}/share");

    assert_error(
        alice.call(Method::POST, &path(root), None).await,
        StatusCode::BAD_REQUEST,
        "bad_request",
    )
    .await;
    assert_error(
        alice.call(Method::POST, &path(file.node.id), None).await,
        StatusCode::NOT_FOUND,
        "not_found",
    )
    .await;
    assert_error(
        bob.call(Method::POST, &path(outer.id), None).await,
        StatusCode::NOT_FOUND,
        "not_found",
    )
    .await;
    let s = share(&alice, inner.id).await;
    // Shared already; holding a shared folder.
    assert_error(
        alice.call(Method::POST, &path(inner.id), None).await,
        StatusCode::CONFLICT,
        "shared_folder",
    )
    .await;
    assert_error(
        alice.call(Method::POST, &path(outer.id), None).await,
        StatusCode::CONFLICT,
        "shared_folder",
    )
    .await;
    // Inside a shared folder.
    let deep = alice.mkdir(inner.id, "deep").await;
    assert_error(
        alice.call(Method::POST, &path(deep.id), None).await,
        StatusCode::CONFLICT,
        "shared_folder",
    )
    .await;
    // Deleting it, or the folder holding it, while shared.
    for id in [inner.id, outer.id] {
        assert_error(
            alice
                .call(Method::DELETE, &format!("/api/v1/nodes/{id}"), None)
                .await,
            StatusCode::CONFLICT,
            "shared_folder",
        )
        .await;
    }
    // Into another shared folder: neither it nor a folder holding it.
    let second = share(&alice, other.id).await;
    for id in [inner.id, outer.id] {
        let r = alice
            .call(
                Method::PATCH,
                &format!("/api/v1/nodes/{id}"),
                Some(json!({ "parent_id": other.id })),
            )
            .await;
        assert_error(r, StatusCode::CONFLICT, "shared_folder").await;
    }
    // Within the owner's own tree, renamed and moved: it stays shared.
    let r = alice
        .call(
            Method::PATCH,
            &format!("/api/v1/nodes/{}", inner.id),
            Some(json!({ "parent_id": root, "name": "moved" })),
        )
        .await;
    assert_eq!(r.status(), StatusCode::OK);
    assert_eq!(
        alice.names(root).await,
        ["moved", "other", "outer", "f.txt"]
    );
    assert_eq!(alice.names(inner.id).await, ["deep"]);
    let names: Vec<String> = shares(&alice).await.into_iter().map(|s| s.name).collect();
    assert_eq!(names, ["moved", "other"]);
    // Invitations: a stranger's name, the owner's own, a role no member holds.
    let members = format!("/api/v1/shares/{}/members", s.id);
    for (body, status, code) in [
        (
            json!({ "username": "nobody", "role": "viewer" }),
            StatusCode::NOT_FOUND,
            "not_found",
        ),
        (
            json!({ "username": "alice", "role": "viewer" }),
            StatusCode::CONFLICT,
            "already_member",
        ),
        (
            json!({ "username": "bob", "role": "owner" }),
            StatusCode::BAD_REQUEST,
            "invalid_role",
        ),
        (
            json!({ "username": "bob" }),
            StatusCode::BAD_REQUEST,
            "bad_json",
        ),
    ] {
        assert_error(
            alice.call(Method::POST, &members, Some(body)).await,
            status,
            code,
        )
        .await;
    }
    // Someone else's shared folder is not there at all.
    let r = bob
        .call(
            Method::POST,
            &members,
            Some(json!({ "username": "bob", "role": "editor" })),
        )
        .await;
    assert_error(r, StatusCode::NOT_FOUND, "not_found").await;
    assert_error(
        bob.call(
            Method::DELETE,
            &format!("/api/v1/shares/{}", second.id),
            None,
        )
        .await,
        StatusCode::NOT_FOUND,
        "not_found",
    )
    .await;
}

async fn a_shared_folder_is_charged_to_its_owners_quota(backend: Backend) {
    let server = TestServer::on(backend)
        .settings(|s| s.quota_bytes = 10_000)
        .start()
        .await;
    let alice = server.register("alice").await;
    let bob = server.register("bob").await;
    let docs = alice.mkdir(alice.session.root_id, "docs").await;
    alice
        .upload_to(docs.id, "a.bin", &bytes(1, 4_000), None)
        .await;
    alice.upload_file("home.bin", &bytes(2, 3_000), None).await;
    let s = share(&alice, docs.id).await;
    invite(&alice, s.id, "bob", "editor").await;
    bob.ok::<Share>(
        Method::POST,
        &format!("/api/v1/shares/{}/accept", s.id),
        None,
    )
    .await;
    let me: wire::MeResponse = alice.ok(Method::GET, "/api/v1/me", None).await;
    assert_eq!(
        me.used_bytes, 7_000,
        "the shared folder still counts as the owner's"
    );

    // 3,000 bytes are left, whoever writes and wherever.
    let manifest = wire::Manifest::from_chunks(wasm_chunker::chunk_all(&bytes(4, 3_500)));
    let r = alice
        .call(
            Method::POST,
            "/api/v1/uploads",
            Some(json!({ "manifest": manifest })),
        )
        .await;
    assert_error(r, StatusCode::INSUFFICIENT_STORAGE, "quota_exceeded").await;
    bob.upload_to(docs.id, "b.bin", &bytes(5, 2_500), None)
        .await;
    let me: wire::MeResponse = alice.ok(Method::GET, "/api/v1/me", None).await;
    assert_eq!(me.used_bytes, 9_500);
    let data = bytes(6, 1_000);
    let (manifest, up) = bob.start_upload(&data).await;
    bob.put_missing(&manifest, &up, &data).await;
    let r = bob.commit(&up.upload_id, docs.id, "c.bin", None).await;
    assert_error(r, StatusCode::INSUFFICIENT_STORAGE, "quota_exceeded").await;
    assert_eq!(alice.names(docs.id).await, ["a.bin", "b.bin"]);
}

async fn the_owners_open_stream_follows_a_folder_shared_after_it_opened(backend: Backend) {
    let server = TestServer::on(backend)
        .settings(|s| s.sse_keepalive = Duration::from_millis(200))
        .start()
        .await;
    let alice = server.register("alice").await;
    let bob = server.register("bob").await;
    let docs = alice.mkdir(alice.session.root_id, "docs").await;
    let mut owner = Events::open(&server.base, &alice.session.token, None).await;
    let mut member = Events::open(&server.base, &bob.session.token, None).await;
    let first = owner.next_hint(WAIT).await;
    assert_eq!(first.namespace_id, alice.session.namespace_id);

    let s = share(&alice, docs.id).await;
    invite(&alice, s.id, "bob", "editor").await;
    let hint = member.next_hint(WAIT).await;
    assert_eq!(
        hint.namespace_id, bob.session.namespace_id,
        "the invitation"
    );
    bob.ok::<Share>(
        Method::POST,
        &format!("/api/v1/shares/{}/accept", s.id),
        None,
    )
    .await;
    bob.upload_to(docs.id, "live.txt", &bytes(1, 100), None)
        .await;
    // Both streams hear the shared folder's news, though neither followed it when it opened.
    assert_eq!(heard(&mut owner, s.id).await.namespace_id, s.id);
    assert_eq!(heard(&mut member, s.id).await.namespace_id, s.id);
}

/// The next hint of namespace `ns`, passing over others.
async fn heard(e: &mut Events, ns: i64) -> wire::EventHint {
    loop {
        let h = e.next_hint(WAIT).await;
        if h.namespace_id == ns {
            return h;
        }
    }
}
