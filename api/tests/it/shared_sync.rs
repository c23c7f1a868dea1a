//! One feed and one event stream carry every namespace a user follows: their own tree and the
//! shared ones they belong to. The cursor holds a seq per namespace; a tree joined later is
//! followed from what its log keeps; one left is dropped; another account's cursor is refused.

use std::time::Duration;

use reqwest::{Method, StatusCode};
use wire::ChangesResponse;

use crate::fixture::{assert_error, bytes, Backend, TestServer, User};
use crate::sse::Events;

crate::both!(
    a_members_feed_and_stream_carry_the_shared_tree,
    a_page_fills_from_each_namespace_in_turn,
);

const WAIT: Duration = Duration::from_secs(10);

async fn pull(u: &User<'_>, cursor: Option<&str>, limit: u32) -> ChangesResponse {
    let path = match cursor {
        Some(c) => format!("/api/v1/changes?cursor={c}&limit={limit}"),
        None => format!("/api/v1/changes?limit={limit}"),
    };
    u.ok(Method::GET, &path, None).await
}

/// (namespace, kind, name) of each change.
fn seen(page: &ChangesResponse) -> Vec<(i64, String, Option<String>)> {
    page.changes
        .iter()
        .map(|c| {
            let name = c.node.as_ref().map(|n| n.name.clone());
            (c.namespace_id, c.kind.clone(), name)
        })
        .collect()
}

async fn a_members_feed_and_stream_carry_the_shared_tree(backend: Backend) {
    let server = TestServer::on(backend)
        .settings(|s| s.sse_keepalive = Duration::from_millis(200))
        .start()
        .await;
    let alice = server.register("alice").await;
    let frank = server.register("frank").await;
    let (a, f) = (alice.session.namespace_id, frank.session.namespace_id);
    let docs = alice.mkdir(alice.session.root_id, "docs").await;
    server.join(&alice, &frank, "editor", true).await;

    // From the start: the own tree (nothing yet), then the shared one's log.
    let first = pull(&frank, None, 100).await;
    assert_eq!(seen(&first), [(a, "create".into(), Some("docs".into()))]);
    let latest: ChangesResponse = frank.ok(Method::GET, "/api/v1/changes/latest", None).await;
    assert!(latest.cursor.starts_with("v2."), "{}", latest.cursor);
    assert_eq!(latest.cursor, first.cursor);

    // A stream that hears both trees.
    let mut events = Events::open(&server.base, &frank.session.token, None).await;
    let hint = events.next_hint(WAIT).await;
    assert_eq!(
        (hint.namespace_id, hint.seq),
        (a, 1),
        "the shared tree's start"
    );
    alice.upload_to(docs.id, "a.txt", &bytes(1, 10), None).await;
    let hint = events.next_hint(WAIT).await;
    assert_eq!((hint.namespace_id, hint.seq), (a, 2));
    frank.upload_file("mine.txt", &bytes(2, 10), None).await;
    let hint = events.next_hint(WAIT).await;
    assert_eq!((hint.namespace_id, hint.seq), (f, 1));

    let next = pull(&frank, Some(&first.cursor), 100).await;
    assert_eq!(
        seen(&next),
        [
            (f, "version".into(), Some("mine.txt".into())),
            (a, "version".into(), Some("a.txt".into())),
        ]
    );
    assert!(pull(&frank, Some(&next.cursor), 100)
        .await
        .changes
        .is_empty());
    // The owner's cursor is the owner's: refused to the member, and the other way round.
    let owners: ChangesResponse = alice.ok(Method::GET, "/api/v1/changes/latest", None).await;
    let r = frank
        .call(
            Method::GET,
            &format!("/api/v1/changes?cursor={}", owners.cursor),
            None,
        )
        .await;
    assert_error(r, StatusCode::BAD_REQUEST, "bad_request").await;
    let r = alice
        .call(
            Method::GET,
            &format!("/api/v1/changes?cursor={}", next.cursor),
            None,
        )
        .await;
    assert_error(r, StatusCode::BAD_REQUEST, "bad_request").await;
    let ack = serde_json::json!({ "cursor": next.cursor });
    let r = frank
        .call(Method::POST, "/api/v1/changes/ack", Some(ack))
        .await;
    assert_eq!(r.status(), StatusCode::NO_CONTENT);

    // Once out of the tree, its changes are no longer the member's, and the cursor still works.
    server.leave(&alice, &frank).await;
    alice.upload_to(docs.id, "b.txt", &bytes(3, 10), None).await;
    let after = pull(&frank, Some(&next.cursor), 100).await;
    assert!(after.changes.is_empty(), "{:?}", seen(&after));
    assert!(!after.cursor.starts_with("v2."), "{}", after.cursor);
}

/// A small page takes the own tree's changes first, then each shared tree's, and a cursor
/// walks them all without a gap or a repeat.
async fn a_page_fills_from_each_namespace_in_turn(backend: Backend) {
    let server = TestServer::on(backend).start().await;
    let alice = server.register("alice").await;
    let bob = server.register("bob").await;
    let frank = server.register("frank").await;
    server.join(&alice, &frank, "viewer", true).await;
    server.join(&bob, &frank, "viewer", true).await;
    for (i, u) in [&alice, &bob, &frank, &alice, &bob, &frank]
        .iter()
        .enumerate()
    {
        u.upload_file(&format!("{i}.txt"), &bytes(i as u64, 10), None)
            .await;
    }
    let mut cursor: Option<String> = None;
    let mut got = Vec::new();
    loop {
        let page = pull(&frank, cursor.as_deref(), 2).await;
        assert!(page.changes.len() <= 2);
        got.extend(
            seen(&page)
                .into_iter()
                .map(|(ns, _, name)| (ns, name.unwrap())),
        );
        cursor = Some(page.cursor);
        if !page.has_more {
            break;
        }
    }
    let (a, b, f) = (
        alice.session.namespace_id,
        bob.session.namespace_id,
        frank.session.namespace_id,
    );
    let mut want = vec![
        (f, "2.txt".to_string()),
        (f, "5.txt".to_string()),
        (a, "0.txt".to_string()),
        (a, "3.txt".to_string()),
        (b, "1.txt".to_string()),
        (b, "4.txt".to_string()),
    ];
    // Shared trees come in namespace order after the own one.
    if b < a {
        want.swap(2, 4);
        want.swap(3, 5);
    }
    assert_eq!(got, want);
}
