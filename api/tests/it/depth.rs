//! Folder depth: no folder lies more than `MAX_FOLDER_DEPTH` levels below the root, whether
//! made, moved or restored there, and search builds paths at a bounded cost even over a tree
//! stored deeper before the limit existed.

use std::time::Instant;

use reqwest::{Method, StatusCode};
use serde_json::json;
use sqlx::Row as _;
use wire::names::MAX_FOLDER_DEPTH;
use wire::{Node, SearchResponse};

use crate::fixture::{assert_error, Backend, TestServer, User};

crate::both!(
    folders_nest_at_most_the_limit,
    moves_and_restores_respect_the_limit,
    search_paths_stay_cheap_on_deep_trees,
);

/// A chain of `n` folders below `parent`, named `<prefix><level>`; returns their ids, the
/// deepest last.
async fn chain(u: &User<'_>, parent: i64, prefix: &str, n: u32) -> Vec<i64> {
    let mut ids = Vec::new();
    let mut at = parent;
    for i in 1..=n {
        at = u.mkdir(at, &format!("{prefix}{i}")).await.id;
        ids.push(at);
    }
    ids
}

async fn patch(u: &User<'_>, id: i64, body: serde_json::Value) -> reqwest::Response {
    u.call(Method::PATCH, &format!("/api/v1/nodes/{id}"), Some(body))
        .await
}

async fn folders_nest_at_most_the_limit(backend: Backend) {
    let server = TestServer::on(backend).start().await;
    let alice = server.register("alice").await;
    let levels = chain(&alice, alice.session.root_id, "L", MAX_FOLDER_DEPTH).await;
    let deepest = *levels.last().unwrap();
    let r = alice.new_folder(deepest, "one too many").await;
    assert_error(r, StatusCode::BAD_REQUEST, "too_deep").await;
    assert!(alice.names(deepest).await.is_empty());
    // Files do not add depth: a file in the deepest folder is fine.
    alice.upload_to(deepest, "leaf.txt", b"leaf", None).await;
    assert_eq!(alice.names(deepest).await, ["leaf.txt"]);
}

async fn moves_and_restores_respect_the_limit(backend: Backend) {
    let server = TestServer::on(backend).start().await;
    let alice = server.register("alice").await;
    let root = alice.session.root_id;
    let levels = chain(&alice, root, "L", MAX_FOLDER_DEPTH - 3).await;
    let l61 = levels[levels.len() - 1];
    let l60 = levels[levels.len() - 2];
    // x with a child y: two levels of folders.
    let x = alice.mkdir(root, "x").await.id;
    alice.mkdir(x, "y").await;
    // Into level 63: x at 64 but y at 65.
    let l62 = alice.mkdir(l61, "L62").await.id;
    let l63 = alice.mkdir(l62, "L63").await.id;
    let r = patch(&alice, x, json!({"parent_id": l63})).await;
    assert_error(r, StatusCode::BAD_REQUEST, "too_deep").await;
    assert_eq!(alice.names(l63).await, Vec::<String>::new());
    // A file may go anywhere.
    let f = alice.upload_file("f.txt", b"f", None).await;
    let _: wire::PlacedNode = alice
        .ok(
            Method::PATCH,
            &format!("/api/v1/nodes/{}", f.node.id),
            Some(json!({"parent_id": l63})),
        )
        .await;
    // Into level 61: x at 62, y at 63.
    let _: wire::PlacedNode = alice
        .ok(
            Method::PATCH,
            &format!("/api/v1/nodes/{x}"),
            Some(json!({"parent_id": l61})),
        )
        .await;
    // Moving the top of the chain two levels down would push L63's subfolders past the limit.
    let a2 = chain(&alice, root, "A", 2).await[1];
    let r = patch(&alice, levels[0], json!({"parent_id": a2})).await;
    assert_error(r, StatusCode::BAD_REQUEST, "too_deep").await;
    // Trash x (from level 61), take away what is deep, move the chain two levels down: x's
    // old folder is now at level 63, too deep for x and y, so x comes back at the root.
    alice
        .call(Method::DELETE, &format!("/api/v1/nodes/{x}"), None)
        .await;
    alice
        .call(Method::DELETE, &format!("/api/v1/nodes/{l62}"), None)
        .await;
    let _: wire::PlacedNode = alice
        .ok(
            Method::PATCH,
            &format!("/api/v1/nodes/{}", levels[0]),
            Some(json!({"parent_id": a2})),
        )
        .await;
    let back: Node = alice
        .ok(Method::POST, &format!("/api/v1/trash/{x}/restore"), None)
        .await;
    assert_eq!(back.parent_id, Some(root));
    // A single folder still fits where it was: level 60 + 2 = 62, itself at 63.
    let z = alice.mkdir(l60, "z").await.id;
    alice
        .call(Method::DELETE, &format!("/api/v1/nodes/{z}"), None)
        .await;
    let back: Node = alice
        .ok(Method::POST, &format!("/api/v1/trash/{z}/restore"), None)
        .await;
    assert_eq!(back.parent_id, Some(l60));
}

/// Inserts a chain of `n` folders straight into the database (as an older server could have
/// stored it), each named `deep<level from the bottom>` so the deepest sort first.
async fn deep_chain(server: &TestServer, u: &User<'_>, n: usize) -> Vec<i64> {
    let db = server.db().await;
    let mut tx = db.pool.begin().await.unwrap();
    let mut ids = Vec::new();
    let mut parent = u.session.root_id;
    for level in 1..=n {
        let name = format!("deep{:05}", n - level);
        parent = sqlx::query(
            "INSERT INTO nodes (namespace_id, parent_id, name, name_key, kind, created_at, modified_at) \
             VALUES ($1, $2, $3, $3, 'folder', 0, 0) RETURNING id",
        )
        .bind(u.session.namespace_id)
        .bind(parent)
        .bind(&name)
        .fetch_one(&mut *tx)
        .await
        .unwrap()
        .get(0);
        ids.push(parent);
    }
    tx.commit().await.unwrap();
    db.pool.close().await;
    ids
}

async fn timed_search(u: &User<'_>, q: &str) -> (Vec<String>, std::time::Duration) {
    let mut best = std::time::Duration::MAX;
    let mut paths = Vec::new();
    for _ in 0..3 {
        let t = Instant::now();
        let r: SearchResponse = u
            .ok(
                Method::GET,
                &format!("/api/v1/search?q={q}&limit=200"),
                None,
            )
            .await;
        best = best.min(t.elapsed());
        paths = r.results.into_iter().map(|r| r.path).collect();
    }
    (paths, best)
}

async fn search_paths_stay_cheap_on_deep_trees(backend: Backend) {
    let server = TestServer::on(backend).start().await;
    let alice = server.register("alice").await;
    // The deepest tree the limit allows, with 200 results at its bottom.
    let levels = chain(&alice, alice.session.root_id, "L", MAX_FOLDER_DEPTH).await;
    let deepest = *levels.last().unwrap();
    let db = server.db().await;
    for i in 0..200 {
        sqlx::query(
            "INSERT INTO nodes (namespace_id, parent_id, name, name_key, kind, created_at, modified_at) \
             VALUES ($1, $2, $3, $3, 'file', 0, 0)",
        )
        .bind(alice.session.namespace_id)
        .bind(deepest)
        .bind(format!("bottom{i:03}.txt"))
        .execute(&db.pool)
        .await
        .unwrap();
    }
    db.pool.close().await;
    let (paths, took) = timed_search(&alice, "bottom").await;
    assert_eq!(paths.len(), 200);
    let want = (1..=MAX_FOLDER_DEPTH)
        .map(|i| format!("/L{i}"))
        .collect::<String>()
        + "/bottom000.txt";
    assert_eq!(paths[0], want);
    eprintln!("{backend:?}: search, 200 results at depth 65: {took:?}");

    // A chain of 2,000 stored before the limit: a path shows the 66 levels a walk from the
    // node covers (as deep as a file may lie, plus one), after `/…`.
    let ids = deep_chain(&server, &alice, 2000).await;
    let (paths, took) = timed_search(&alice, "deep").await;
    eprintln!("{backend:?}: search, 200 results at depth 1801-2000: {took:?}");
    assert_eq!(paths.len(), 200);
    let levels: Vec<&str> = paths[0].split('/').skip(1).collect();
    assert_eq!(levels.len(), MAX_FOLDER_DEPTH as usize + 3, "{}", paths[0]);
    assert_eq!(levels[0], "…");
    assert_eq!(*levels.last().unwrap(), "deep00000");
    // Moving beneath it, or making a folder in it, is refused.
    let r = alice.new_folder(ids[100], "more").await;
    assert_error(r, StatusCode::BAD_REQUEST, "too_deep").await;
}
