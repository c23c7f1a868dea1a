//! The permission matrix, as data: every secured operation of `/openapi.json` (the test fails
//! if one has no row) asked by each kind of caller — the owner, a viewer of the folder the
//! owner shared (where the owner's things are), a user only invited, a removed member, a
//! stranger (another account), a revoked device of the owner, and nobody (no token) — with the
//! answer each must get, and the owner's trees, trash, versions, links, devices and change
//! logs unchanged by everyone but the owner.
//! The editor column changes the owner's state, so it runs on a world of its own
//! (`the_editor_column_holds`: every row, the owner's answer on the tree, 403 for what only
//! the owner may do); `an_editor_changes_the_tree_it_is_given` follows an editor's work.

use std::collections::BTreeSet;

use reqwest::{Method, StatusCode};
use serde_json::{json, Value};

use crate::fixture::{assert_error, bytes, fresh_client, share_with, Backend, TestServer, User};

crate::both!(
    no_caller_reaches_more_than_it_may,
    an_editor_changes_the_tree_it_is_given,
    the_editor_column_holds,
);

/// What a caller other than the owner must be answered.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Stranger {
    /// The owner's thing is invisible: 404 `not_found`.
    Hidden,
    /// A cursor of the owner's namespace: 400 `bad_request`.
    Cursor,
    /// The owner's thing outside the folder they shared (a folder of their own tree, to share
    /// next): invisible to every caller but the owner, the folder's members too.
    Private,
    /// The route acts on the caller's own account (its devices, its feed, its uploads): this
    /// status, and nothing of the owner's.
    Own(u16),
}

struct Row {
    method: Method,
    route: &'static str,
    path: String,
    body: Option<Value>,
    stranger: Stranger,
    /// What the owner gets.
    owner: u16,
}

fn row(
    method: Method,
    route: &'static str,
    path: String,
    body: Option<Value>,
    stranger: Stranger,
    owner: u16,
) -> Row {
    Row {
        method,
        route,
        path,
        body,
        stranger,
        owner,
    }
}

/// What an accepted viewer gets where it differs from a stranger: the owner's answer where
/// it reads the owner's nodes, 403 `role_too_low` where it would change them or share them.
fn viewer_answer(r: &Row) -> Option<(u16, Option<&'static str>)> {
    if r.stranger == Stranger::Private {
        return None;
    }
    let reads = [
        "/api/v1/trash",
        "/api/v1/search",
        "/api/v1/nodes/{id}/children",
        "/api/v1/nodes/{id}/download",
        "/api/v1/nodes/{id}/content",
        "/api/v1/nodes/{id}/versions",
        "/api/v1/nodes/{id}/versions/{version_id}/thumbnail",
        "/api/v1/shares/{id}/members",
        "/api/v1/shares/{id}/activity",
    ];
    let changes = [
        (Method::POST, "/api/v1/folders"),
        (Method::PATCH, "/api/v1/nodes/{id}"),
        (Method::DELETE, "/api/v1/nodes/{id}"),
        (
            Method::POST,
            "/api/v1/nodes/{id}/versions/{version_id}/restore",
        ),
        (
            Method::PUT,
            "/api/v1/nodes/{id}/versions/{version_id}/thumbnail",
        ),
        (Method::POST, "/api/v1/links"),
        (Method::POST, "/api/v1/trash/{id}/restore"),
        (Method::DELETE, "/api/v1/trash/{id}"),
        (Method::POST, "/api/v1/nodes/{id}/share"),
        (Method::DELETE, "/api/v1/shares/{id}"),
        (Method::POST, "/api/v1/shares/{id}/members"),
        (Method::PATCH, "/api/v1/shares/{id}/members/{user_id}"),
        (Method::DELETE, "/api/v1/shares/{id}/members/{user_id}"),
    ];
    if r.method == Method::GET && reads.contains(&r.route) {
        Some((r.owner, None))
    } else if changes
        .iter()
        .any(|(m, route)| *m == r.method && *route == r.route)
    {
        Some((403, Some("role_too_low")))
    } else {
        None
    }
}

/// What an accepted editor gets: the owner's answer on the shared tree, reads and changes
/// alike; 403 `role_too_low` for what only the owner may do (purge, share links, sharing);
/// for what belongs to an account (devices, uploads, the feed's cursor, links by id) what a
/// stranger gets, since those are the owner's, not the tree's; and nothing of the owner's
/// own tree outside the shared folder.
fn editor_answer(r: &Row) -> (u16, Option<&'static str>) {
    if r.stranger == Stranger::Private {
        return (404, Some("not_found"));
    }
    let owner_only = [
        (Method::DELETE, "/api/v1/trash/{id}"),
        (Method::POST, "/api/v1/links"),
        (Method::POST, "/api/v1/nodes/{id}/share"),
    ];
    if owner_only
        .iter()
        .any(|(m, route)| *m == r.method && *route == r.route)
    {
        return (403, Some("role_too_low"));
    }
    let tree = r.route.starts_with("/api/v1/nodes/")
        || r.route == "/api/v1/folders"
        || r.route == "/api/v1/trash/{id}/restore";
    match r.stranger {
        Stranger::Own(s) => (s, None),
        Stranger::Cursor => (400, Some("bad_request")),
        Stranger::Hidden if tree => (r.owner, None),
        Stranger::Hidden | Stranger::Private => (404, Some("not_found")),
    }
}

/// Everything of the owner's a caller could read or change, as the owner sees it: `shares`
/// (their members and logs), the listings of `folders`, the owner's own tree and account.
async fn state_of(owner: &User<'_>, folders: &[i64], shares: &[i64]) -> Vec<String> {
    let mut out = Vec::new();
    let listed = std::iter::once(&owner.session.root_id).chain(folders);
    let paths = shares
        .iter()
        .map(|s| format!("/api/v1/shares/{s}/members"))
        .chain(listed.map(|f| format!("/api/v1/nodes/{f}/children")))
        .chain(
            ["shares", "trash", "links", "devices", "me"]
                .iter()
                .map(|p| format!("/api/v1/{p}")),
        );
    for path in paths {
        let mut v: Value = owner.ok(Method::GET, &path, None).await;
        // "Last seen" moves with every request of the owner's own devices.
        if let Some(devices) = v.as_array_mut() {
            for d in devices {
                d.as_object_mut().map(|d| d.remove("last_seen_at"));
            }
        }
        out.push(v.to_string());
    }
    for ns in std::iter::once(&owner.session.namespace_id).chain(shares) {
        let seqs = owner.server.change_seqs(*ns).await;
        out.push(format!("{seqs:?}"));
    }
    out
}

/// The owner's tree and account, with one thing for each change a row makes, and the rows.
struct World<'a> {
    alice: User<'a>,
    spare: User<'a>,
    old: User<'a>,
    bob: User<'a>,
    /// A folder inside `tree`.
    folder: wire::Node,
    /// The owner's folder "shared", shared with no one yet (the tests add members): it holds
    /// the owner's things the tree rows act on.
    tree: wire::shares::Share,
    /// Another shared folder of the owner's, for the membership rows, with one accepted viewer
    /// of its own.
    team: wire::shares::Share,
    rows: Vec<Row>,
}

async fn world(server: &TestServer) -> World<'_> {
    let alice = server.register("alice").await;
    let spare = server.sign_in("alice", "phone").await;
    let old = server.sign_in("alice", "old laptop").await;
    let bob = server.register("bob").await;

    // The owner's things, one for each change a row makes, in a folder they share (members
    // come in each test): a member only ever reaches a shared folder, never a whole tree.
    let tree = alice
        .share(alice.mkdir(alice.session.root_id, "shared").await.id)
        .await;
    let top = tree.root_id;
    let folder = alice.mkdir(top, "docs").await;
    let file = alice
        .upload_to(folder.id, "a.txt", &bytes(1, 3_000), None)
        .await;
    let edited = alice
        .upload_to(folder.id, "a.txt", &bytes(2, 3_000), file.node.version_id)
        .await;
    // The first version's thumbnail, for its row.
    let r = crate::thumbnails::put(
        &alice,
        file.node.id,
        file.version_id,
        "image/webp",
        crate::thumbnails::WEBP,
    )
    .await;
    assert_eq!(r.status(), StatusCode::NO_CONTENT);
    let (renamed, moved) = (
        alice.upload_to(top, "r.txt", &bytes(3, 100), None).await,
        alice.upload_to(top, "m.txt", &bytes(4, 100), None).await,
    );
    let doomed = alice.upload_to(top, "d.txt", &bytes(5, 100), None).await;
    let (purged, restored) = (
        alice.upload_to(top, "p.txt", &bytes(6, 100), None).await,
        alice.upload_to(top, "t.txt", &bytes(7, 100), None).await,
    );
    alice.trash(purged.node.id).await;
    alice.trash(restored.node.id).await;
    let (_, open) = alice.start_upload(&bytes(8, 2_000)).await;
    let (_, cancelled) = alice.start_upload(&bytes(9, 2_000)).await;
    let (m, to_commit) = alice.start_upload(&bytes(10, 2_000)).await;
    alice.put_missing(&m, &to_commit, &bytes(10, 2_000)).await;
    let (m, to_batch) = alice.start_upload(&bytes(12, 2_000)).await;
    alice.put_missing(&m, &to_batch, &bytes(12, 2_000)).await;
    // A manifest draft of one chunk, its one part to send (`manifest_parts.rs`).
    let head = json!({"chunker": wasm_chunker::CHUNKER_ID, "size": 1000, "hash": wasm_chunker::hash_chunk(b"whole"), "chunk_count": 1});
    let draft: wire::manifest_parts::ManifestDraft = alice
        .ok(Method::POST, "/api/v1/manifests", Some(head.clone()))
        .await;
    let draft = draft.id;
    let part = json!({"chunks": [{"hash": wasm_chunker::hash_chunk(b"part"), "size": 1000}]});
    let link = |node: i64| json!({"node_id": node});
    let l1: Value = alice
        .ok(Method::POST, "/api/v1/links", Some(link(file.node.id)))
        .await;
    let l2: Value = alice
        .ok(Method::POST, "/api/v1/links", Some(link(folder.id)))
        .await;
    // The sharing routes' things: a shared folder with a member to remove, one no one is
    // invited to, a folder to share (in the owner's own tree, outside every shared one), and
    // a user to invite.
    let share = |id: i64| format!("/api/v1/nodes/{id}/share");
    let shared = |name: &'static str| {
        let alice = &alice;
        async move {
            let f = alice.mkdir(alice.session.root_id, name).await;
            let s: wire::shares::Share = alice.ok(Method::POST, &share(f.id), None).await;
            s
        }
    };
    let team = shared("team").await;
    let lonely = shared("lonely").await;
    let unshared = alice.mkdir(alice.session.root_id, "to share").await;
    let zoe = server.register("zoe").await;
    server.register("zed").await;
    let members = format!("/api/v1/shares/{}/members", team.id);
    let _: Value = alice
        .ok(
            Method::POST,
            &members,
            Some(json!({"username": "zoe", "role": "viewer"})),
        )
        .await;
    let _: Value = zoe
        .ok(
            Method::POST,
            &format!("/api/v1/shares/{}/accept", team.id),
            None,
        )
        .await;
    let latest: Value = alice.ok(Method::GET, "/api/v1/changes/latest", None).await;
    let cursor = latest["cursor"].as_str().unwrap().to_string();
    let named = server.sign_in("alice", "tablet").await;
    let revoked_by_owner = server.sign_in("alice", "lost").await;
    let r = old
        .call(
            Method::DELETE,
            &format!("/api/v1/devices/{}", old.session.device_id),
            None,
        )
        .await;
    assert_eq!(r.status(), StatusCode::NO_CONTENT);

    use Stranger::*;
    let (f, node) = (file.node.id, |id: i64| format!("/api/v1/nodes/{id}"));
    let rows = vec![
        row(
            Method::GET,
            "/api/v1/me",
            "/api/v1/me".into(),
            None,
            Own(200),
            200,
        ),
        row(
            Method::GET,
            "/api/v1/devices",
            "/api/v1/devices".into(),
            None,
            Own(200),
            200,
        ),
        row(
            Method::PATCH,
            "/api/v1/devices/{id}",
            format!("/api/v1/devices/{}", named.session.device_id),
            Some(json!({"name": "renamed"})),
            Hidden,
            200,
        ),
        row(
            Method::DELETE,
            "/api/v1/devices/{id}",
            format!("/api/v1/devices/{}", revoked_by_owner.session.device_id),
            None,
            Hidden,
            204,
        ),
        row(
            Method::POST,
            "/api/v1/folders",
            "/api/v1/folders".into(),
            Some(json!({"parent_id": folder.id, "name": "new"})),
            Hidden,
            201,
        ),
        row(
            Method::GET,
            "/api/v1/nodes/{id}/children",
            format!("{}/children", node(folder.id)),
            None,
            Hidden,
            200,
        ),
        row(
            Method::GET,
            "/api/v1/nodes/{id}/download",
            format!("{}/download", node(f)),
            None,
            Hidden,
            200,
        ),
        row(
            Method::GET,
            "/api/v1/nodes/{id}/content",
            format!("{}/content", node(f)),
            None,
            Hidden,
            200,
        ),
        row(
            Method::GET,
            "/api/v1/nodes/{id}/versions",
            format!("{}/versions", node(f)),
            None,
            Hidden,
            200,
        ),
        row(
            Method::POST,
            "/api/v1/nodes/{id}/versions/{version_id}/restore",
            format!("{}/versions/{}/restore", node(f), file.version_id),
            None,
            Hidden,
            200,
        ),
        row(
            Method::GET,
            "/api/v1/nodes/{id}/versions/{version_id}/thumbnail",
            crate::thumbnails::path(f, file.version_id),
            None,
            Hidden,
            200,
        ),
        // A JSON body: the caller's role is checked before the body, so the owner (and an
        // editor) get as far as its type; nothing is stored.
        row(
            Method::PUT,
            "/api/v1/nodes/{id}/versions/{version_id}/thumbnail",
            crate::thumbnails::path(f, file.version_id),
            Some(json!({})),
            Hidden,
            415,
        ),
        row(
            Method::PATCH,
            "/api/v1/nodes/{id}",
            node(renamed.node.id),
            Some(json!({"name": "renamed.txt"})),
            Hidden,
            200,
        ),
        row(
            Method::PATCH,
            "/api/v1/nodes/{id}",
            node(moved.node.id),
            Some(json!({"parent_id": folder.id})),
            Hidden,
            200,
        ),
        row(
            Method::DELETE,
            "/api/v1/nodes/{id}",
            node(doomed.node.id),
            None,
            Hidden,
            204,
        ),
        row(
            Method::GET,
            "/api/v1/trash",
            "/api/v1/trash".into(),
            None,
            Own(200),
            200,
        ),
        row(
            Method::DELETE,
            "/api/v1/trash/{id}",
            format!("/api/v1/trash/{}", purged.node.id),
            None,
            Hidden,
            204,
        ),
        row(
            Method::POST,
            "/api/v1/trash/{id}/restore",
            format!("/api/v1/trash/{}/restore", restored.node.id),
            None,
            Hidden,
            200,
        ),
        row(
            Method::GET,
            "/api/v1/search",
            "/api/v1/search?q=a.txt".into(),
            None,
            Own(200),
            200,
        ),
        row(
            Method::POST,
            "/api/v1/uploads",
            "/api/v1/uploads".into(),
            Some(
                json!({"manifest": wasm_chunker::Manifest::from_chunks(wasm_chunker::chunk_all(&bytes(11, 500)))}),
            ),
            Own(201),
            201,
        ),
        row(
            Method::GET,
            "/api/v1/uploads/{id}",
            format!("/api/v1/uploads/{}", open.upload_id),
            None,
            Hidden,
            200,
        ),
        row(
            Method::POST,
            "/api/v1/uploads/{id}/sent",
            format!("/api/v1/uploads/{}/sent", open.upload_id),
            Some(json!({"hashes": []})),
            Hidden,
            202,
        ),
        row(
            Method::DELETE,
            "/api/v1/uploads/{id}",
            format!("/api/v1/uploads/{}", cancelled.upload_id),
            None,
            Hidden,
            204,
        ),
        row(
            Method::POST,
            "/api/v1/commits",
            "/api/v1/commits".into(),
            Some(
                json!({"upload_id": to_commit.upload_id, "parent_id": folder.id, "name": "c.bin", "idempotency_key": "k1"}),
            ),
            Hidden,
            200,
        ),
        // A batch answers 200 with each commit's own outcome: another caller's is a 404
        // inside it, and nothing of the owner's changes.
        row(
            Method::POST,
            "/api/v1/batch/commits",
            "/api/v1/batch/commits".into(),
            Some(
                json!({"commits": [{"upload_id": to_batch.upload_id, "parent_id": folder.id, "name": "d.bin", "idempotency_key": "k2"}]}),
            ),
            Own(200),
            200,
        ),
        row(
            Method::POST,
            "/api/v1/batch/uploads",
            "/api/v1/batch/uploads".into(),
            Some(
                json!({"uploads": [{"manifest": wasm_chunker::Manifest::from_chunks(wasm_chunker::chunk_all(&bytes(13, 500)))}]}),
            ),
            Own(201),
            201,
        ),
        row(
            Method::POST,
            "/api/v1/manifests",
            "/api/v1/manifests".into(),
            Some(head),
            Own(201),
            201,
        ),
        row(
            Method::PUT,
            "/api/v1/manifests/{id}/parts/{n}",
            format!("/api/v1/manifests/{draft}/parts/0"),
            Some(part),
            Hidden,
            204,
        ),
        row(
            Method::GET,
            "/api/v1/changes",
            format!("/api/v1/changes?cursor={cursor}"),
            None,
            Cursor,
            200,
        ),
        row(
            Method::GET,
            "/api/v1/changes/latest",
            "/api/v1/changes/latest".into(),
            None,
            Own(200),
            200,
        ),
        row(
            Method::POST,
            "/api/v1/changes/ack",
            "/api/v1/changes/ack".into(),
            Some(json!({"cursor": cursor})),
            Cursor,
            204,
        ),
        row(
            Method::POST,
            "/api/v1/events/ticket",
            "/api/v1/events/ticket".into(),
            None,
            Own(200),
            200,
        ),
        row(
            Method::GET,
            "/api/v1/events",
            "/api/v1/events".into(),
            None,
            Own(200),
            200,
        ),
        row(
            Method::GET,
            "/api/v1/links",
            "/api/v1/links".into(),
            None,
            Own(200),
            200,
        ),
        row(
            Method::POST,
            "/api/v1/links",
            "/api/v1/links".into(),
            Some(link(edited.node.id)),
            Hidden,
            201,
        ),
        row(
            Method::PATCH,
            "/api/v1/links/{id}",
            format!("/api/v1/links/{}", l1["link"]["id"]),
            Some(json!({"max_downloads": 3})),
            Hidden,
            200,
        ),
        row(
            Method::GET,
            "/api/v1/links/{id}/access",
            format!("/api/v1/links/{}/access", l1["link"]["id"]),
            None,
            Hidden,
            200,
        ),
        row(
            Method::DELETE,
            "/api/v1/links/{id}",
            format!("/api/v1/links/{}", l2["link"]["id"]),
            None,
            Hidden,
            204,
        ),
        row(
            Method::GET,
            "/api/v1/account/export",
            "/api/v1/account/export".into(),
            None,
            Own(200),
            200,
        ),
        row(
            Method::POST,
            "/api/v1/account/password",
            "/api/v1/account/password".into(),
            Some(
                json!({"current_password": "correct horse", "new_password": "correct horse battery", "sign_out_other_devices": false}),
            ),
            Own(204),
            204,
        ),
        // Deleting an account acts on the caller's own: anyone else typed a username not
        // theirs (400); the owner, a wrong password (403), so the world stays.
        row(
            Method::DELETE,
            "/api/v1/account",
            "/api/v1/account".into(),
            Some(json!({"password": "not the password", "confirm_username": "alice"})),
            Own(400),
            403,
        ),
        // Last for the owner: they end other devices' sessions and this one's.
        row(
            Method::DELETE,
            "/api/v1/devices",
            "/api/v1/devices".into(),
            None,
            Own(200),
            200,
        ),
        row(
            Method::POST,
            "/api/v1/nodes/{id}/share",
            share(unshared.id),
            None,
            Private,
            201,
        ),
        // What a member can see to share lies in a shared folder: not theirs to share, and
        // not the owner's either (no folder is shared inside another).
        row(
            Method::POST,
            "/api/v1/nodes/{id}/share",
            share(folder.id),
            None,
            Hidden,
            409,
        ),
        row(
            Method::GET,
            "/api/v1/shares",
            "/api/v1/shares".into(),
            None,
            Own(200),
            200,
        ),
        row(
            Method::GET,
            "/api/v1/shares/{id}/members",
            members.clone(),
            None,
            Hidden,
            200,
        ),
        row(
            Method::POST,
            "/api/v1/shares/{id}/members",
            members.clone(),
            Some(json!({"username": "zed", "role": "viewer"})),
            Hidden,
            201,
        ),
        row(
            Method::POST,
            "/api/v1/shares/{id}/accept",
            format!("/api/v1/shares/{}/accept", lonely.id),
            None,
            Hidden,
            404,
        ),
        row(
            Method::PATCH,
            "/api/v1/shares/{id}/members/{user_id}",
            format!("{members}/{}", zoe.session.user_id),
            Some(json!({"role": "editor"})),
            Hidden,
            200,
        ),
        row(
            Method::DELETE,
            "/api/v1/shares/{id}/members/{user_id}",
            format!("{members}/{}", zoe.session.user_id),
            None,
            Hidden,
            204,
        ),
        row(
            Method::GET,
            "/api/v1/shares/{id}/activity",
            format!("/api/v1/shares/{}/activity", team.id),
            None,
            Hidden,
            200,
        ),
        // Last of the sharing rows: the owner's pass ends the share.
        row(
            Method::DELETE,
            "/api/v1/shares/{id}",
            format!("/api/v1/shares/{}", team.id),
            None,
            Hidden,
            204,
        ),
        row(
            Method::DELETE,
            "/api/v1/sessions",
            "/api/v1/sessions".into(),
            None,
            Own(204),
            204,
        ),
    ];
    World {
        alice,
        spare,
        old,
        bob,
        folder,
        tree,
        team,
        rows,
    }
}

async fn no_caller_reaches_more_than_it_may(backend: Backend) {
    let server = TestServer::on(backend).start().await;
    let World {
        alice,
        spare,
        old,
        bob,
        folder,
        tree,
        team,
        rows,
        ..
    } = world(&server).await;
    use Stranger::*;

    // Every operation a device token opens has a row (`/metrics` takes the operator's metrics
    // token instead: `ops.rs`).
    let doc = serde_json::to_value(api::openapi::document()).unwrap();
    let mut secured = BTreeSet::new();
    for (path, ops) in doc["paths"].as_object().unwrap() {
        if path == "/metrics" {
            continue;
        }
        for (method, op) in ops.as_object().unwrap() {
            let bearer = op["security"].as_array().into_iter().flatten();
            if bearer.into_iter().any(|s| s.get("bearer").is_some()) {
                secured.insert((method.to_uppercase(), path.clone()));
            }
        }
    }
    let covered: BTreeSet<_> = rows
        .iter()
        .map(|r| (r.method.to_string(), r.route.to_string()))
        .collect();
    let missing: Vec<_> = secured.difference(&covered).collect();
    assert!(
        missing.is_empty(),
        "secured operations without a row in the matrix: {missing:?}"
    );

    // Members of both the owner's shared folders: an accepted viewer, one only invited, one
    // removed.
    let carol = server.register("carol").await;
    let dave = server.register("dave").await;
    let erin = server.register("erin").await;
    for s in [&tree, &team] {
        alice.invite(s.id, &carol, "carol", "viewer", true).await;
        alice.invite(s.id, &dave, "dave", "viewer", false).await;
        alice.invite(s.id, &erin, "erin", "editor", true).await;
        alice.drop_member(s.id, erin.session.user_id).await;
    }
    // A viewer's own upload, committed into the owner's folder: refused for its role.
    let (m, up) = carol.start_upload(&bytes(12, 700)).await;
    carol.put_missing(&m, &up, &bytes(12, 700)).await;
    let r = carol
        .commit(&up.upload_id, folder.id, "mine.bin", None)
        .await;
    assert_error(r, StatusCode::FORBIDDEN, "role_too_low").await;

    let others = [
        ("stranger", &bob, false),
        ("invited, not accepted", &dave, false),
        ("removed member", &erin, false),
        ("viewer", &carol, true),
    ];
    let (folders, shares) = ([tree.root_id, folder.id], [tree.id, team.id]);
    let before = state_of(&alice, &folders, &shares).await;
    for r in &rows {
        // Nobody, and a revoked device of the owner: 401, whatever the route.
        let anonymous = fresh_client()
            .request(r.method.clone(), server.url(&r.path))
            .json(&r.body.clone().unwrap_or(Value::Null))
            .send()
            .await
            .unwrap();
        assert_eq!(
            anonymous.status(),
            StatusCode::UNAUTHORIZED,
            "nobody: {} {}",
            r.method,
            r.path
        );
        let revoked = old.call(r.method.clone(), &r.path, r.body.clone()).await;
        assert_eq!(
            revoked.status(),
            StatusCode::UNAUTHORIZED,
            "revoked device: {} {}",
            r.method,
            r.path
        );

        for (who, user, viewer) in &others {
            let answer = user.call(r.method.clone(), &r.path, r.body.clone()).await;
            let status = answer.status().as_u16();
            let (want, code) = match (viewer.then(|| viewer_answer(r)).flatten(), r.stranger) {
                (Some(v), _) => v,
                (None, Hidden | Private) => (404, Some("not_found")),
                (None, Cursor) => (400, Some("bad_request")),
                (None, Own(s)) => (s, None),
            };
            let text = if r.route == "/api/v1/events" {
                String::new()
            } else {
                answer.text().await.unwrap()
            };
            assert_eq!(status, want, "{who}: {} {}: {text}", r.method, r.path);
            if let Some(code) = code {
                let v: Value = serde_json::from_str(&text).unwrap();
                assert_eq!(v["error"]["code"], code, "{who}: {} {}", r.method, r.path);
            }
            if *viewer && status < 300 && viewer_answer(r).is_some() {
                continue; // the viewer's to see
            }
            // Nothing of the owner's in what the others see of their own.
            for secret in ["docs", "a.txt", "phone", "tablet"] {
                assert!(
                    !text.contains(secret),
                    "{who}: {} {} shows {secret}: {text}",
                    r.method,
                    r.path
                );
            }
        }
    }
    assert_eq!(
        state_of(&alice, &folders, &shares).await,
        before,
        "a non-owner changed the owner's state"
    );

    // Signing the other devices out goes last: the spare device signs itself out before.
    let (last, first): (Vec<&Row>, Vec<&Row>) = rows
        .iter()
        .partition(|r| r.method == Method::DELETE && r.route == "/api/v1/devices");
    for r in first.into_iter().chain(last) {
        let who = if r.route == "/api/v1/sessions" {
            &spare
        } else {
            &alice
        };
        let answer = who.call(r.method.clone(), &r.path, r.body.clone()).await;
        let status = answer.status().as_u16();
        let text = if r.route == "/api/v1/events" {
            String::new()
        } else {
            answer.text().await.unwrap()
        };
        assert_eq!(status, r.owner, "owner: {} {}: {text}", r.method, r.path);
    }
}

/// An accepted editor changes the owner's shared folder as the owner would — new folders,
/// renames, moves within it, version restores (charged to the owner), the trash — each change
/// logged in the shared folder's namespace with the editor as its actor; a viewer may do none
/// of it (moves between trees: `shared_writes.rs`).
async fn an_editor_changes_the_tree_it_is_given(backend: Backend) {
    let server = TestServer::on(backend).start().await;
    let alice = server.register("alice").await;
    let frank = server.register("frank").await;
    let vera = server.register("vera").await;
    let shared = alice.mkdir(alice.session.root_id, "shared").await;
    let s = share_with(&alice, shared.id, &frank, "frank", "editor", true).await;
    alice.invite(s.id, &vera, "vera", "viewer", true).await;
    let since: wire::ChangesResponse = alice.ok(Method::GET, "/api/v1/changes/latest", None).await;
    let docs = alice.mkdir(s.root_id, "docs").await;
    let file = alice
        .upload_to(docs.id, "a.txt", &bytes(1, 100), None)
        .await;

    let sub = frank.mkdir(docs.id, "from frank").await;
    let rename = json!({"name": "b.txt"});
    let node = |id: i64| format!("/api/v1/nodes/{id}");
    let _: Value = frank
        .ok(Method::PATCH, &node(file.node.id), Some(rename.clone()))
        .await;
    let into = json!({"parent_id": sub.id});
    let _: Value = frank
        .ok(Method::PATCH, &node(file.node.id), Some(into))
        .await;
    assert_eq!(alice.names(sub.id).await, ["b.txt"]);
    // The viewer may do none of it.
    let r = vera.new_folder(docs.id, "from vera").await;
    assert_error(r, StatusCode::FORBIDDEN, "role_too_low").await;
    let r = vera.call(Method::DELETE, &node(sub.id), None).await;
    assert_error(r, StatusCode::FORBIDDEN, "role_too_low").await;
    // An older version restored by the editor is charged to the owner.
    let v2 = alice
        .upload_to(sub.id, "b.txt", &bytes(2, 300), file.node.version_id)
        .await;
    let restore = format!(
        "{}/versions/{}/restore",
        node(file.node.id),
        file.version_id
    );
    let r = vera.call(Method::POST, &restore, None).await;
    assert_error(r, StatusCode::FORBIDDEN, "role_too_low").await;
    let back: wire::RestoreVersionResponse = frank.ok(Method::POST, &restore, None).await;
    assert_eq!(back.node.size, 100);
    // (The shared folder's own counters, read beneath the API: `/me` itemises the owner's own
    // tree alone, and counts the shared folder in its total.)
    let owner: wire::MeResponse = alice.ok(Method::GET, "/api/v1/me", None).await;
    let editor: wire::MeResponse = frank.ok(Method::GET, "/api/v1/me", None).await;
    assert_eq!(server.counters(s.id).await, (100, 400, 0));
    assert_eq!(owner.used_bytes, 500);
    assert_eq!(editor.used_bytes, 0);
    assert!(v2.version_id < back.version_id);
    frank.trash(sub.id).await;
    assert_eq!(alice.names(docs.id).await, Vec::<String>::new());

    // Each change is in the shared folder's log (none in the owner's own), with its actor.
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
            (s.id, "version", "alice"),
            (s.id, "create", "frank"),
            (s.id, "rename", "frank"),
            (s.id, "move", "frank"),
            (s.id, "version", "alice"),
            (s.id, "version", "frank"),
            (s.id, "trash", "frank"),
        ]
    );
    // Nothing landed in the editor's own tree or log: the tree holds only their place for
    // the shared folder, the log only the news of their membership.
    assert_eq!(frank.names(frank.session.root_id).await, ["shared"]);
    let own = server.changes(frank.session.namespace_id).await;
    assert_eq!(
        own,
        [(shared.id, "invited".into()), (shared.id, "joined".into())]
    );
}

/// The matrix's editor column, on a world of its own (an editor changes what the other
/// columns must find unchanged): every row as an accepted editor, in the order the owner's
/// pass takes them, each answered as `editor_answer` says; every change the editor made is in
/// the owner's log under the editor's name.
async fn the_editor_column_holds(backend: Backend) {
    let server = TestServer::on(backend).start().await;
    let w = world(&server).await;
    let erin = server.register("erin").await;
    w.alice
        .invite(w.tree.id, &erin, "erin", "editor", true)
        .await;
    // (The owner's invitation is in the shared folder's log: the editor's work comes after.)
    let since: Value = w
        .alice
        .ok(Method::GET, "/api/v1/changes/latest", None)
        .await;
    let (last, first): (Vec<&Row>, Vec<&Row>) = w.rows.iter().partition(|r| {
        (r.method == Method::DELETE && r.route == "/api/v1/devices")
            || r.route == "/api/v1/sessions"
    });
    for r in first.into_iter().chain(last) {
        let answer = erin.call(r.method.clone(), &r.path, r.body.clone()).await;
        let status = answer.status().as_u16();
        let text = if r.route == "/api/v1/events" {
            String::new()
        } else {
            answer.text().await.unwrap()
        };
        let (want, code) = editor_answer(r);
        assert_eq!(status, want, "editor: {} {}: {text}", r.method, r.path);
        if let Some(code) = code {
            let v: Value = serde_json::from_str(&text).unwrap();
            assert_eq!(v["error"]["code"], code, "editor: {} {}", r.method, r.path);
        }
    }
    let feed: wire::ChangesResponse = w
        .alice
        .ok(
            Method::GET,
            &format!(
                "/api/v1/changes?cursor={}",
                since["cursor"].as_str().unwrap()
            ),
            None,
        )
        .await;
    let actors: Vec<&str> = feed
        .changes
        .iter()
        .map(|c| c.actor.as_ref().unwrap().username.as_str())
        .collect();
    assert!(actors.len() >= 6, "{actors:?}");
    assert!(actors.iter().all(|a| *a == "erin"), "{actors:?}");
}
