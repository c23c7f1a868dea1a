//! One feed and one event stream carry every namespace a user follows: their own tree and the
//! shared ones they belong to. The cursor holds a seq per namespace; a tree joined later is
//! followed from what its log keeps; one left is dropped; another account's cursor is refused.

use std::time::Duration;

use reqwest::{Method, StatusCode};
use wire::ChangesResponse;

use crate::fixture::{assert_error, bytes, share_with, Backend, TestServer, User};
use crate::sse::Events;

crate::both!(
    a_members_feed_and_stream_carry_the_shared_tree,
    a_page_fills_from_each_namespace_in_turn,
    a_folder_moved_out_of_a_shared_one_brings_its_contents_into_the_feed,
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
    let docs = alice.mkdir(alice.session.root_id, "docs").await;
    let s = share_with(&alice, docs.id, &frank, "frank", "editor", true).await;
    let (a, f) = (s.id, frank.session.namespace_id);

    // From the start: the own tree (the invitation and the acceptance, on the shared folder
    // as the member placed it), then the shared one's log.
    let first = pull(&frank, None, 100).await;
    assert_eq!(
        seen(&first),
        [
            (f, "invited".into(), Some("docs".into())),
            (f, "joined".into(), Some("docs".into())),
            (a, "create".into(), Some("docs".into())),
            (a, "members".into(), Some("docs".into())),
            (a, "members".into(), Some("docs".into())),
        ]
    );
    let latest: ChangesResponse = frank.ok(Method::GET, "/api/v1/changes/latest", None).await;
    assert!(latest.cursor.starts_with("v2."), "{}", latest.cursor);
    assert_eq!(latest.cursor, first.cursor);

    // A stream that hears both trees: the own tree's membership news (no device has
    // acknowledged it yet), then the shared tree's start.
    let mut events = Events::open(&server.base, &frank.session.token, None).await;
    let hint = events.next_hint(WAIT).await;
    assert_eq!(
        (hint.namespace_id, hint.seq),
        (f, 2),
        "the own tree's start"
    );
    let hint = events.next_hint(WAIT).await;
    assert_eq!(
        (hint.namespace_id, hint.seq),
        (a, 3),
        "the shared tree's start"
    );
    alice.upload_to(docs.id, "a.txt", &bytes(1, 10), None).await;
    let hint = events.next_hint(WAIT).await;
    assert_eq!((hint.namespace_id, hint.seq), (a, 4));
    frank.upload_file("mine.txt", &bytes(2, 10), None).await;
    let hint = events.next_hint(WAIT).await;
    assert_eq!((hint.namespace_id, hint.seq), (f, 3));

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

    // Once out of the tree, its changes are no longer the member's (only their own tree's
    // news of leaving is), and the cursor still works.
    frank.drop_member(s.id, frank.session.user_id).await;
    alice.upload_to(docs.id, "b.txt", &bytes(3, 10), None).await;
    let after = pull(&frank, Some(&next.cursor), 100).await;
    assert_eq!(seen(&after), [(f, "left".into(), None)]);
    assert!(!after.cursor.starts_with("v2."), "{}", after.cursor);
}

/// A small page takes the own tree's changes first, then each shared tree's, and a cursor
/// walks them all without a gap or a repeat: from the start of every log, the membership news
/// (in the member's own tree and in each shared folder's) included.
async fn a_page_fills_from_each_namespace_in_turn(backend: Backend) {
    let server = TestServer::on(backend).start().await;
    let alice = server.register("alice").await;
    let bob = server.register("bob").await;
    let frank = server.register("frank").await;
    let mut trees = Vec::new();
    for u in [&alice, &bob] {
        let folder = u.mkdir(u.session.root_id, "shared").await;
        trees.push(share_with(u, folder.id, &frank, "frank", "viewer", true).await);
    }
    // Where each one writes: the two shared folders, and the member's own tree.
    let (a, b, f) = (trees[0].id, trees[1].id, frank.session.namespace_id);
    let into = [trees[0].root_id, trees[1].root_id, frank.session.root_id];
    let writers = [&alice, &bob, &frank];
    for i in 0..6 {
        let name = format!("{i}.txt");
        writers[i % 3]
            .upload_to(into[i % 3], &name, &bytes(i as u64, 10), None)
            .await;
    }
    let mut cursor: Option<String> = None;
    let mut got = Vec::new();
    loop {
        let page = pull(&frank, cursor.as_deref(), 2).await;
        assert!(page.changes.len() <= 2);
        got.extend(seen(&page));
        cursor = Some(page.cursor);
        if !page.has_more {
            break;
        }
    }
    let change =
        |ns: i64, kind: &str, name: Option<&str>| (ns, kind.to_string(), name.map(str::to_string));
    // Bob's folder is the second "shared" at the top of Frank's tree: it takes the next name.
    let (in_a, in_b) = (Some("shared"), Some("shared (shared)"));
    let own = vec![
        change(f, "invited", in_a),
        change(f, "joined", in_a),
        change(f, "invited", in_b),
        change(f, "joined", in_b),
        change(f, "version", Some("2.txt")),
        change(f, "version", Some("5.txt")),
    ];
    let tree = |ns: i64, root: Option<&str>, files: [&str; 2]| {
        vec![
            change(ns, "create", root),
            change(ns, "members", root),
            change(ns, "members", root),
            change(ns, "version", Some(files[0])),
            change(ns, "version", Some(files[1])),
        ]
    };
    let (mut first, mut second) = (
        tree(a, in_a, ["0.txt", "3.txt"]),
        tree(b, in_b, ["1.txt", "4.txt"]),
    );
    // Shared trees come in namespace order after the own one.
    if b < a {
        std::mem::swap(&mut first, &mut second);
    }
    let want: Vec<_> = [own, first, second].concat();
    assert_eq!(got, want);
}

/// Found by the simulation (issue 19): a file made in a folder inside a shared folder, then
/// the folder moved home, before a device pulled. The shared tree's log now shows the file
/// gone from it, so the home tree's log must say where it is: every node of a subtree that
/// changes trees is logged there, not the moved folder alone.
async fn a_folder_moved_out_of_a_shared_one_brings_its_contents_into_the_feed(backend: Backend) {
    let server = TestServer::on(backend).start().await;
    let alice = server.register("alice").await;
    let frank = server.register("frank").await;
    let root = alice.session.root_id;
    let team = alice.mkdir(root, "team").await;
    let share = share_with(&alice, team.id, &frank, "frank", "editor", true).await;
    let before: ChangesResponse = alice.ok(Method::GET, "/api/v1/changes/latest", None).await;

    let plans = alice.mkdir(team.id, "plans").await;
    let deep = alice.mkdir(plans.id, "deep").await;
    let file = alice
        .upload_to(deep.id, "a.txt", &bytes(3000, 7), None)
        .await
        .node;
    let body = serde_json::json!({ "parent_id": root });
    let _: wire::PlacedNode = alice
        .ok(
            Method::PATCH,
            &format!("/api/v1/nodes/{}", plans.id),
            Some(body),
        )
        .await;

    let page = pull(&alice, Some(&before.cursor), 100).await;
    let home = alice.session.namespace_id;
    let live_at_home = |id: i64| {
        page.changes.iter().any(|c| {
            c.namespace_id == home
                && c.node_id == id
                && c.node.as_ref().is_some_and(|n| n.parent_id.is_some())
        })
    };
    assert!(
        live_at_home(plans.id),
        "the moved folder: {:?}",
        seen(&page)
    );
    assert!(
        live_at_home(deep.id),
        "a folder inside it: {:?}",
        seen(&page)
    );
    assert!(live_at_home(file.id), "a file inside it: {:?}", seen(&page));
    let node_of = |id: i64| {
        page.changes
            .iter()
            .rev()
            .find(|c| c.namespace_id == home && c.node_id == id)
            .and_then(|c| c.node.clone())
            .unwrap()
    };
    assert_eq!(node_of(file.id).parent_id, Some(deep.id));
    assert_eq!(node_of(deep.id).parent_id, Some(plans.id));
    assert_eq!(node_of(plans.id).parent_id, Some(root));
    let kind_of = |id: i64| {
        page.changes
            .iter()
            .rev()
            .find(|c| c.namespace_id == home && c.node_id == id)
            .map(|c| c.kind.clone())
            .unwrap()
    };
    assert_eq!(
        (kind_of(plans.id), kind_of(deep.id), kind_of(file.id)),
        ("move".into(), "arrive".into(), "arrive".into())
    );
    // Nothing is told twice, and the log has no gap.
    let seqs: Vec<i64> = page
        .changes
        .iter()
        .filter(|c| c.namespace_id == home)
        .map(|c| c.seq)
        .collect();
    assert!(seqs.windows(2).all(|w| w[1] == w[0] + 1), "{seqs:?}");

    // Back in: the shared folder's activity says the folder moved in, not each thing in it.
    let body = serde_json::json!({ "parent_id": team.id });
    let _: wire::PlacedNode = alice
        .ok(
            Method::PATCH,
            &format!("/api/v1/nodes/{}", plans.id),
            Some(body),
        )
        .await;
    let path = format!("/api/v1/shares/{}/activity", share.id);
    let activity: wire::shares::Activity = frank.ok(Method::GET, &path, None).await;
    let newest = &activity.items[0];
    assert_eq!((newest.kind.as_str(), newest.node_id), ("move", plans.id));
    assert!(activity.items.iter().all(|i| i.kind != "arrive"));
    let page = pull(&frank, None, 100).await;
    assert!(
        page.changes
            .iter()
            .any(|c| c.node_id == file.id && c.kind == "arrive" && c.namespace_id == share.id),
        "{:?}",
        seen(&page)
    );
}
