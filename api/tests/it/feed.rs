//! The change feed over HTTP: server order, pages without gaps or repeats (also while commits
//! race with the reader), cursor validation, retention resets and back-off.

use std::collections::BTreeSet;

use api::db::changes::Cursor;
use reqwest::{Method, StatusCode};
use serde_json::json;
use wire::{ChangesResponse, Node};

use crate::fixture::{assert_error, bytes, Backend, TestServer, User};

crate::both!(
    pages_follow_server_order_and_carry_node_state,
    concurrent_commits_are_neither_skipped_nor_repeated_across_pages,
    bad_cursors_and_limits_are_refused,
    cursors_older_than_retention_reset_and_newer_ones_still_work,
    an_overloaded_feed_asks_clients_to_back_off,
    every_change_names_who_made_it,
);

async fn page(u: &User<'_>, cursor: Option<&str>, limit: i64) -> ChangesResponse {
    let path = match cursor {
        Some(c) => format!("/api/v1/changes?cursor={c}&limit={limit}"),
        None => format!("/api/v1/changes?limit={limit}"),
    };
    u.ok(Method::GET, &path, None).await
}

/// Pulls until `has_more` is false; returns every seq seen and the final cursor.
async fn drain(u: &User<'_>, mut cursor: Option<String>, limit: i64) -> (Vec<i64>, String) {
    let mut seqs = Vec::new();
    loop {
        let p = page(u, cursor.as_deref(), limit).await;
        assert!(p.changes.len() as i64 <= limit);
        seqs.extend(p.changes.iter().map(|c| c.seq));
        cursor = Some(p.cursor);
        if !p.has_more {
            return (seqs, cursor.unwrap());
        }
    }
}

async fn folder(u: &User<'_>, name: &str) -> Node {
    u.mkdir(u.session.root_id, name).await
}

async fn pages_follow_server_order_and_carry_node_state(backend: Backend) {
    let server = TestServer::on(backend).start().await;
    let alice = server.register("alice").await;
    let mut made = Vec::new();
    for i in 0..17 {
        made.push(folder(&alice, &format!("f{i}")).await);
    }
    let file = alice.upload_file("a.bin", &bytes(1, 1000), None).await;

    let first = page(&alice, None, 5).await;
    assert_eq!(first.changes.len(), 5);
    assert!(first.has_more);
    assert_eq!(first.changes[0].seq, 1);
    assert_eq!(first.changes[0].kind, "create");
    assert_eq!(first.changes[0].node.as_ref(), Some(&made[0]));

    let (seqs, cursor) = drain(&alice, None, 5).await;
    assert_eq!(
        seqs,
        (1..=18).collect::<Vec<_>>(),
        "every change once, in order"
    );
    let log = server.changes(alice.session.namespace_id).await;
    let all = page(&alice, None, 1000).await;
    let fed: Vec<(i64, String)> = all
        .changes
        .iter()
        .map(|c| (c.node_id, c.kind.clone()))
        .collect();
    assert_eq!(fed, log, "the feed is the change log");
    let empty = page(&alice, Some(&cursor), 5).await;
    assert!(empty.changes.is_empty() && !empty.has_more);
    assert_eq!(empty.cursor, cursor, "an empty page keeps the cursor");

    let all = page(&alice, None, 1000).await;
    let last = all.changes.last().unwrap();
    assert_eq!(last.kind, "version");
    assert_eq!(
        last.node.as_ref().unwrap().version_id,
        Some(file.version_id)
    );

    // The latest cursor sees only what comes after it.
    let latest: ChangesResponse = alice.ok(Method::GET, "/api/v1/changes/latest", None).await;
    assert_eq!(latest.cursor, cursor);
    folder(&alice, "later").await;
    let next = page(&alice, Some(&latest.cursor), 10).await;
    assert_eq!(next.changes.len(), 1);
    assert_eq!(next.changes[0].seq, 19);

    // Another user's feed is their own.
    let bob = server.register("bob").await;
    assert!(page(&bob, None, 10).await.changes.is_empty());
}

async fn concurrent_commits_are_neither_skipped_nor_repeated_across_pages(backend: Backend) {
    let server = TestServer::on(backend).start().await;
    let alice = server.register("alice").await;
    let writers = async {
        let jobs = (0..40).map(|i| {
            let alice = &alice;
            async move {
                if i % 2 == 0 {
                    folder(alice, &format!("dir {i}")).await.id
                } else {
                    alice
                        .upload_file(&format!("file {i}"), &bytes(i, 5000), None)
                        .await
                        .node
                        .id
                }
            }
        });
        futures::future::join_all(jobs).await
    };
    let reader = async {
        let mut seen = Vec::new();
        let mut cursor: Option<String> = None;
        for _ in 0..200 {
            let p = page(&alice, cursor.as_deref(), 3).await;
            seen.extend(p.changes.iter().map(|c| (c.seq, c.node_id)));
            cursor = Some(p.cursor);
            tokio::task::yield_now().await;
        }
        (seen, cursor)
    };
    let (ids, (mut seen, cursor)) = tokio::join!(writers, reader);
    // Whatever the reader missed while racing, it gets from its cursor now.
    let mut cursor = cursor;
    loop {
        let p = page(&alice, cursor.as_deref(), 7).await;
        seen.extend(p.changes.iter().map(|c| (c.seq, c.node_id)));
        cursor = Some(p.cursor);
        if !p.has_more {
            break;
        }
    }
    let seqs: Vec<i64> = seen.iter().map(|(s, _)| *s).collect();
    assert_eq!(
        seqs,
        (1..=40).collect::<Vec<_>>(),
        "gap-free, in order, no repeats"
    );
    let nodes: BTreeSet<i64> = seen.iter().map(|(_, n)| *n).collect();
    assert_eq!(nodes, ids.into_iter().collect::<BTreeSet<_>>());
}

async fn bad_cursors_and_limits_are_refused(backend: Backend) {
    let server = TestServer::on(backend).start().await;
    let alice = server.register("alice").await;
    let bob = server.register("bob").await;
    folder(&alice, "x").await;
    let bobs = page(&bob, None, 10).await.cursor;
    let future = Cursor {
        namespace_id: alice.session.namespace_id,
        seq: 99,
    }
    .encode();
    let tampered = page(&alice, None, 10)
        .await
        .cursor
        .replacen(".1.", ".2.", 1);
    for (query, status, code) in [
        ("cursor=garbage", StatusCode::BAD_REQUEST, "bad_request"),
        (
            &format!("cursor={tampered}"),
            StatusCode::BAD_REQUEST,
            "bad_request",
        ),
        (
            &format!("cursor={bobs}"),
            StatusCode::BAD_REQUEST,
            "bad_request",
        ),
        ("limit=0", StatusCode::BAD_REQUEST, "bad_request"),
        ("limit=1001", StatusCode::BAD_REQUEST, "bad_request"),
        ("limit=many", StatusCode::BAD_REQUEST, "bad_request"),
        (
            &format!("cursor={future}"),
            StatusCode::GONE,
            "cursor_reset",
        ),
    ] {
        let r = alice
            .call(Method::GET, &format!("/api/v1/changes?{query}"), None)
            .await;
        assert_error(r, status, code).await;
    }
    let r = alice
        .call(
            Method::POST,
            "/api/v1/changes/ack",
            Some(json!({"cursor": bobs})),
        )
        .await;
    assert_error(r, StatusCode::BAD_REQUEST, "bad_request").await;
    let r = alice.call(Method::GET, "/api/v1/changes", None).await;
    assert_eq!(r.status(), StatusCode::OK);
    let r = server.get("/api/v1/changes").await;
    assert_error(r, StatusCode::UNAUTHORIZED, "unauthorized").await;
}

async fn cursors_older_than_retention_reset_and_newer_ones_still_work(backend: Backend) {
    let server = TestServer::on(backend).start().await;
    let alice = server.register("alice").await;
    for i in 0..4 {
        folder(&alice, &format!("old {i}")).await;
    }
    let at2 = Cursor {
        namespace_id: alice.session.namespace_id,
        seq: 2,
    }
    .encode();
    let at3 = Cursor {
        namespace_id: alice.session.namespace_id,
        seq: 3,
    }
    .encode();
    // Retention as the hourly task runs it, with a cutoff after everything so far.
    let db = server.db().await;
    let removed = api::db::changes::prune(&db, server.now_ms() + 1)
        .await
        .unwrap();
    assert_eq!(removed, 3, "each namespace keeps its newest change");
    folder(&alice, "new").await;

    for old in [None, Some(at2.as_str())] {
        let path = match old {
            Some(c) => format!("/api/v1/changes?cursor={c}"),
            None => "/api/v1/changes".to_owned(),
        };
        assert_error(
            alice.call(Method::GET, &path, None).await,
            StatusCode::GONE,
            "cursor_reset",
        )
        .await;
    }
    let p = page(&alice, Some(&at3), 10).await;
    assert_eq!(p.changes.iter().map(|c| c.seq).collect::<Vec<_>>(), [4, 5]);
}

async fn an_overloaded_feed_asks_clients_to_back_off(backend: Backend) {
    let server = TestServer::on(backend)
        .settings(|s| s.feed_max_inflight = 0)
        .start()
        .await;
    let alice = server.register("alice").await;
    let r = alice.call(Method::GET, "/api/v1/changes", None).await;
    assert_eq!(r.headers()["retry-after"], "1");
    assert_error(r, StatusCode::SERVICE_UNAVAILABLE, "backoff").await;
}

async fn every_change_names_who_made_it(backend: Backend) {
    let server = TestServer::on(backend).start().await;
    let laptop = server.register("alice").await;
    let phone = server.sign_in("alice", "phone").await;
    let a = laptop.upload_file("a.txt", &bytes(1, 100), None).await;
    let b = phone.upload_file("b.txt", &bytes(2, 100), None).await;
    let _: Node = phone
        .ok(
            Method::PATCH,
            &format!("/api/v1/nodes/{}", a.node.id),
            Some(json!({"name": "renamed.txt"})),
        )
        .await;
    folder(&laptop, "docs").await;
    phone.trash(b.node.id).await;
    laptop.purge(b.node.id).await;
    let changes = page(&laptop, None, 100).await.changes;
    let seen: Vec<(&str, &str, &str)> = changes
        .iter()
        .map(|c| {
            let who = c.actor.as_ref().expect("every change here has an actor");
            assert_eq!(who.user_id, laptop.session.user_id);
            (
                c.kind.as_str(),
                who.username.as_str(),
                who.device_name.as_str(),
            )
        })
        .collect();
    assert_eq!(
        seen,
        [
            ("version", "alice", "laptop"),
            ("version", "alice", "phone"),
            ("rename", "alice", "phone"),
            ("create", "alice", "laptop"),
            ("trash", "alice", "phone"),
            ("purge", "alice", "laptop"),
        ]
    );
    assert_eq!(
        changes[1].actor.as_ref().unwrap().device_id,
        phone.session.device_id
    );
}
