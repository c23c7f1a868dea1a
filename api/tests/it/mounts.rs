//! Mounts: a member keeps a shared folder at a place of their own tree, under a name of their
//! own. Accepting places it at the top of their tree; renaming or moving it changes their tree
//! only (whatever their role); its name is one among its siblings both ways; the feed, the
//! listing and search show it where they put it; leaving, being removed and the end of sharing
//! take it out, and the name is free again.

use reqwest::{Method, StatusCode};
use serde_json::json;
use wire::shares::Share;
use wire::{ChangesResponse, Listing, PlacedNode, SearchResponse};

use crate::fixture::{assert_error, bytes, Backend, TestServer, User};

crate::both!(
    a_member_places_a_shared_folder_in_their_own_tree,
    a_mount_leaves_with_the_membership,
);

async fn share(u: &User<'_>, folder: i64) -> Share {
    let r = u
        .call(Method::POST, &format!("/api/v1/nodes/{folder}/share"), None)
        .await;
    assert_eq!(r.status(), StatusCode::CREATED);
    r.json().await.unwrap()
}

async fn invite(owner: &User<'_>, id: i64, who: &str, role: &str) {
    let body = json!({ "username": who, "role": role });
    let path = format!("/api/v1/shares/{id}/members");
    let r = owner.call(Method::POST, &path, Some(body)).await;
    assert_eq!(r.status(), StatusCode::CREATED);
}

async fn accept(u: &User<'_>, id: i64) {
    let path = format!("/api/v1/shares/{id}/accept");
    let r = u.call(Method::POST, &path, None).await;
    assert_eq!(r.status(), StatusCode::OK);
}

async fn latest(u: &User<'_>) -> String {
    let r: ChangesResponse = u.ok(Method::GET, "/api/v1/changes/latest", None).await;
    r.cursor
}

async fn feed(u: &User<'_>, cursor: &str) -> ChangesResponse {
    u.ok(
        Method::GET,
        &format!("/api/v1/changes?cursor={cursor}"),
        None,
    )
    .await
}

async fn place(u: &User<'_>, id: i64, body: serde_json::Value) -> reqwest::Response {
    u.call(Method::PATCH, &format!("/api/v1/nodes/{id}"), Some(body))
        .await
}

async fn a_member_places_a_shared_folder_in_their_own_tree(backend: Backend) {
    let server = TestServer::on(backend).start().await;
    let ana = server.register("ana").await;
    let bob = server.register("bob").await;
    let team = ana.mkdir(ana.session.root_id, "Team").await;
    ana.upload_to(team.id, "plan.txt", &bytes(1, 3_000), None)
        .await;
    let s = share(&ana, team.id).await;
    invite(&ana, s.id, "bob", "editor").await;
    // Bob has a "Team" of his own: the shared one takes the next free name.
    let bob_root = bob.session.root_id;
    bob.mkdir(bob_root, "Team").await;
    let projects = bob.mkdir(bob_root, "Projects").await;
    let before = latest(&bob).await;
    accept(&bob, s.id).await;
    assert_eq!(
        bob.names(bob_root).await,
        ["Projects", "Team", "Team (shared)"]
    );
    let top: Listing = bob
        .ok(
            Method::GET,
            &format!("/api/v1/nodes/{bob_root}/children"),
            None,
        )
        .await;
    let mount = top.children.iter().find(|n| n.id == team.id).unwrap();
    assert_eq!(
        mount.name, "Team (shared)",
        "known by the shared folder's id"
    );
    // The feed says where it landed, on the shared folder's id.
    let page = feed(&bob, &before).await;
    let joined = page.changes.iter().find(|c| c.kind == "joined").unwrap();
    let node = joined.node.as_ref().expect("the joined folder, placed");
    assert_eq!(
        (node.id, node.parent_id, node.name.as_str()),
        (team.id, Some(bob_root), "Team (shared)")
    );
    let at = page.cursor;

    // Renamed and moved: Bob's tree changes, Ana's does not.
    let listed = bob
        .call(
            Method::GET,
            &format!("/api/v1/nodes/{}/children", team.id),
            None,
        )
        .await;
    let etag = listed.headers()["etag"].to_str().unwrap().to_owned();
    let r = place(&bob, team.id, json!({ "name": "Ana's team" })).await;
    assert_eq!(r.status(), StatusCode::OK);
    let placed: PlacedNode = r.json().await.unwrap();
    assert_eq!(
        (placed.node.id, placed.node.name.as_str()),
        (team.id, "Ana's team")
    );
    // A listing Bob holds of it is stale now, though nothing in the folder changed.
    let again = server
        .http
        .get(server.url(&format!("/api/v1/nodes/{}/children", team.id)))
        .bearer_auth(&bob.session.token)
        .header("if-none-match", etag)
        .send()
        .await
        .unwrap();
    assert_eq!(again.status(), StatusCode::OK);
    let again: Listing = again.json().await.unwrap();
    assert_eq!(again.folder.name, "Ana's team");
    let r = place(&bob, team.id, json!({ "parent_id": projects.id })).await;
    assert_eq!(r.status(), StatusCode::OK);
    assert_eq!(bob.names(bob_root).await, ["Projects", "Team"]);
    assert_eq!(bob.names(projects.id).await, ["Ana's team"]);
    assert_eq!(ana.names(ana.session.root_id).await, ["Team"]);
    let inside: Listing = bob
        .ok(
            Method::GET,
            &format!("/api/v1/nodes/{}/children", team.id),
            None,
        )
        .await;
    assert_eq!(
        (inside.folder.parent_id, inside.folder.name.as_str()),
        (Some(projects.id), "Ana's team")
    );
    let owners: Listing = ana
        .ok(
            Method::GET,
            &format!("/api/v1/nodes/{}/children", team.id),
            None,
        )
        .await;
    assert_eq!(
        (owners.folder.parent_id, owners.folder.name.as_str()),
        (Some(ana.session.root_id), "Team")
    );
    // (Each change carries the node's state now.)
    let page = feed(&bob, &at).await;
    let moves: Vec<_> = page
        .changes
        .iter()
        .map(|c| {
            let n = c.node.as_ref().unwrap();
            (c.kind.as_str(), c.node_id, n.parent_id, n.name.as_str())
        })
        .collect();
    assert_eq!(
        moves,
        [
            ("rename", team.id, Some(projects.id), "Ana's team"),
            ("move", team.id, Some(projects.id), "Ana's team"),
        ]
    );
    // Search finds the shared files under Bob's path to them.
    let found: SearchResponse = bob.ok(Method::GET, "/api/v1/search?q=plan", None).await;
    assert_eq!(found.results.len(), 1);
    assert_eq!(found.results[0].path, "/Projects/Ana's team/plan.txt");

    // One name among its siblings, both ways.
    assert_error(
        bob.new_folder(projects.id, "ana's TEAM").await,
        StatusCode::CONFLICT,
        "name_taken",
    )
    .await;
    let other = bob.mkdir(projects.id, "Other").await;
    assert_error(
        place(&bob, other.id, json!({ "name": "Ana's team" })).await,
        StatusCode::CONFLICT,
        "name_taken",
    )
    .await;
    assert_error(
        place(&bob, team.id, json!({ "name": "Other" })).await,
        StatusCode::CONFLICT,
        "name_taken",
    )
    .await;
    let r = place(&bob, team.id, json!({ "name": "Other", "keep_both": true })).await;
    let kept: PlacedNode = r.json().await.unwrap();
    assert_eq!(kept.clash.unwrap().holder_id, other.id);
    assert!(kept.node.name.starts_with("Other (conflicted copy"));
    place(&bob, team.id, json!({ "name": "Ana's team" })).await;

    // Not into a shared folder (this one or another), not trashed with a folder of Bob's.
    let inner = ana.mkdir(team.id, "inner").await;
    assert_error(
        place(&bob, team.id, json!({ "parent_id": inner.id })).await,
        StatusCode::CONFLICT,
        "shared_folder",
    )
    .await;
    assert_error(
        bob.call(
            Method::DELETE,
            &format!("/api/v1/nodes/{}", projects.id),
            None,
        )
        .await,
        StatusCode::CONFLICT,
        "shared_folder",
    )
    .await;
    // A viewer arranges their own tree too, and still cannot write inside.
    let role = json!({ "role": "viewer" });
    let path = format!("/api/v1/shares/{}/members/{}", s.id, bob.session.user_id);
    assert_eq!(
        ana.call(Method::PATCH, &path, Some(role)).await.status(),
        StatusCode::OK
    );
    let r = place(&bob, team.id, json!({ "parent_id": bob_root })).await;
    assert_eq!(r.status(), StatusCode::OK);
    assert_error(
        bob.new_folder(team.id, "mine").await,
        StatusCode::FORBIDDEN,
        "role_too_low",
    )
    .await;
    // The owner renames their folder: Bob keeps his name for it.
    let r = place(&ana, team.id, json!({ "name": "Team 2027" })).await;
    assert_eq!(r.status(), StatusCode::OK);
    assert_eq!(
        bob.names(bob_root).await,
        ["Ana's team", "Projects", "Team"]
    );
}

async fn a_mount_leaves_with_the_membership(backend: Backend) {
    let server = TestServer::on(backend).start().await;
    let ana = server.register("ana").await;
    let bob = server.register("bob").await;
    let cy = server.register("cy").await;
    let team = ana.mkdir(ana.session.root_id, "Team").await;
    let s = share(&ana, team.id).await;
    for (u, name) in [(&bob, "bob"), (&cy, "cy")] {
        invite(&ana, s.id, name, "editor").await;
        accept(u, s.id).await;
        assert_eq!(u.names(u.session.root_id).await, ["Team"]);
    }
    // Removed: gone from Bob's tree and feed, and the name is his again.
    let at = latest(&bob).await;
    let path = format!("/api/v1/shares/{}/members/{}", s.id, bob.session.user_id);
    assert_eq!(
        ana.call(Method::DELETE, &path, None).await.status(),
        StatusCode::NO_CONTENT
    );
    assert!(bob.names(bob.session.root_id).await.is_empty());
    let page = feed(&bob, &at).await;
    let left: Vec<_> = page
        .changes
        .iter()
        .map(|c| (c.kind.as_str(), c.node_id, c.node.is_some()))
        .collect();
    assert_eq!(left, [("left", team.id, false)]);
    bob.mkdir(bob.session.root_id, "Team").await;
    // Sharing ends: out of every member's tree, back to a private folder of Ana's.
    assert_eq!(
        ana.call(Method::DELETE, &format!("/api/v1/shares/{}", s.id), None)
            .await
            .status(),
        StatusCode::NO_CONTENT
    );
    assert!(cy.names(cy.session.root_id).await.is_empty());
    assert_eq!(ana.names(ana.session.root_id).await, ["Team"]);
}
