//! Deleting an account (`DELETE /api/v1/account`): refused without the password and the typed
//! username, changing nothing; then everything the account held goes at once — files,
//! versions, links, its shared folder from its members' trees, its place in others' — its
//! chunks go with the collector unless another account stores them, what it wrote in someone
//! else's shared folder stays there, and its name is free again. (Its own shared folder goes
//! with it, what members wrote there too, as when sharing ends.)

use reqwest::{Method, StatusCode};
use serde_json::json;
use wire::shares::{kinds, ShareList};
use wire::{AccountDeleted, VersionList};

use crate::fixture::{assert_error, bytes, Backend, TestServer};
use crate::links::{make, public};

crate::both!(an_account_is_deleted_for_good_and_others_keep_their_own,);

async fn an_account_is_deleted_for_good_and_others_keep_their_own(backend: Backend) {
    let server = TestServer::on(backend).start().await;
    let alice = server.register("alice").await;
    let bob = server.register("bob").await;
    let carol = server.register("carol").await;

    // Alice's tree: a file with two versions, one in the trash, a folder shared with Bob
    // (who wrote into it), a link, and bytes Carol stores too.
    let first = alice.upload_file("notes.txt", &bytes(1, 3_000), None).await;
    alice
        .upload_file("notes.txt", &bytes(2, 3_000), first.node.version_id)
        .await;
    let gone = alice.upload_file("old.txt", &bytes(3, 2_000), None).await;
    alice.trash(gone.node.id).await;
    let team = alice.mkdir(alice.session.root_id, "team").await;
    let shared = alice.share(team.id).await;
    alice.invite(shared.id, &bob, "bob", "editor", true).await;
    bob.upload_to(team.id, "bobs.txt", &bytes(4, 1_000), None)
        .await;
    let link = make(&alice, json!({"node_id": first.node.id})).await;
    alice.upload_file("same.bin", &bytes(5, 4_000), None).await;
    carol.upload_file("same.bin", &bytes(5, 4_000), None).await;
    // Carol's shared folder, which Alice joined and wrote into.
    let club = carol.mkdir(carol.session.root_id, "club").await;
    let club_share = carol.share(club.id).await;
    carol
        .invite(club_share.id, &alice, "alice", "editor", true)
        .await;
    let written = alice
        .upload_to(club.id, "from-alice.txt", &bytes(6, 1_500), None)
        .await;

    // Refused, and nothing changes: a wrong username, a wrong password, no session.
    let delete = |username: &str, password: &str| {
        Some(json!({"password": password, "confirm_username": username}))
    };
    assert_error(
        alice
            .call(
                Method::DELETE,
                "/api/v1/account",
                delete("bob", "correct horse"),
            )
            .await,
        StatusCode::BAD_REQUEST,
        "confirmation_mismatch",
    )
    .await;
    assert_error(
        alice
            .call(Method::DELETE, "/api/v1/account", delete("alice", "wrong"))
            .await,
        StatusCode::FORBIDDEN,
        "wrong_current_password",
    )
    .await;
    let anonymous = server
        .http
        .delete(server.url("/api/v1/account"))
        .json(&json!({"password": "correct horse", "confirm_username": "alice"}))
        .send()
        .await
        .unwrap();
    assert_eq!(anonymous.status(), StatusCode::UNAUTHORIZED);
    assert_eq!(
        alice.names(alice.session.root_id).await,
        ["club", "team", "notes.txt", "same.bin"]
    );
    let stored_before = server.stored_files().len();

    // Deleted, the username typed in another case.
    let bob_at = feed_head(&bob).await;
    let done: AccountDeleted = alice
        .ok(
            Method::DELETE,
            "/api/v1/account",
            delete("Alice", "correct horse"),
        )
        .await;
    assert_eq!(done.versions, 5, "{done:?}"); // notes ×2, old, bobs, same; not the club's
    assert_eq!(
        (
            done.links,
            done.shared_folders,
            done.memberships,
            done.devices
        ),
        (1, 1, 1, 1),
        "{done:?}"
    );

    // Alice is gone: her token, her password, her link.
    assert_eq!(
        alice.call(Method::GET, "/api/v1/me", None).await.status(),
        StatusCode::UNAUTHORIZED
    );
    let again = server
        .http
        .post(server.url("/api/v1/sessions"))
        .json(&json!({"username": "alice", "password": "correct horse", "device_name": "x"}))
        .send()
        .await
        .unwrap();
    assert_eq!(again.status(), StatusCode::UNAUTHORIZED);
    let face = public(&server, &format!("/api/v1/public/{}", link.token), &[]).await;
    assert!(
        [StatusCode::NOT_FOUND, StatusCode::GONE].contains(&face.status()),
        "{}",
        face.status()
    );

    // Bob: the shared folder left his tree, and his feed says so.
    assert!(bob.names(bob.session.root_id).await.is_empty());
    let bobs_shares: ShareList = bob.ok(Method::GET, "/api/v1/shares", None).await;
    assert!(bobs_shares.shares.is_empty());
    let feed: wire::ChangesResponse = bob
        .ok(
            Method::GET,
            &format!("/api/v1/changes?cursor={bob_at}"),
            None,
        )
        .await;
    assert!(
        feed.changes.iter().any(|c| c.kind == kinds::UNSHARED),
        "{:?}",
        feed.changes
    );

    // Carol: her club lost a member, kept what Alice wrote (by "deleted account N"), and her
    // copy of the bytes Alice also stored still reads back after the collector ran.
    let members: wire::shares::MemberList = carol
        .ok(
            Method::GET,
            &format!("/api/v1/shares/{}/members", club_share.id),
            None,
        )
        .await;
    assert_eq!(members.members.len(), 1, "the owner alone");
    assert_eq!(carol.download(written.node.id).await, bytes(6, 1_500));
    let history: VersionList = carol
        .ok(
            Method::GET,
            &format!("/api/v1/nodes/{}/versions", written.node.id),
            None,
        )
        .await;
    assert_eq!(history.versions.len(), 1);
    let report = api::gc::collect(&server.state).await.unwrap();
    // notes ×2, old, bobs: the shared bytes stay for Carol.
    assert_eq!(report.chunks_deleted, 4, "{report:?}");
    assert_eq!(server.stored_files().len(), stored_before - 4);
    let carols = carol.names(carol.session.root_id).await;
    assert_eq!(carols, ["club", "same.bin"]);

    // The name is free again, for a new account that starts empty.
    let new_alice = server.register("alice").await;
    assert!(new_alice.names(new_alice.session.root_id).await.is_empty());
    assert_ne!(new_alice.session.user_id, alice.session.user_id);
}

/// The newest cursor of `u`'s feed.
async fn feed_head(u: &crate::fixture::User<'_>) -> String {
    let latest: wire::ChangesResponse = u.ok(Method::GET, "/api/v1/changes/latest", None).await;
    latest.cursor
}
