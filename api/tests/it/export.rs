//! `GET /api/v1/account/export`: the caller's own tree as a zip that Python's `zipfile` reads
//! back (every CRC checked) — each folder, each file's current bytes, nothing from the trash —
//! with `cairn-index.json` first, listing every version; a member's place for someone else's
//! shared folder named but not entered; another user's export holding only their own; no
//! export without a token; and the bound on its size, on both databases.

use std::collections::BTreeMap;

use reqwest::header::{CACHE_CONTROL, CONTENT_DISPOSITION, CONTENT_LENGTH, CONTENT_TYPE};
use reqwest::{Method, StatusCode};
use serde_json::Value;

use crate::fixture::{assert_error, bytes, fresh_client, share_with, Backend, TestServer, User};
use crate::share_bytes::unzip;

crate::both!(
    an_export_holds_the_tree_and_every_version_but_not_the_trash,
    the_index_gives_each_version_its_content_type,
    each_user_exports_only_their_own,
    the_snapshot_is_bounded,
);

const EXPORT: &str = "/api/v1/account/export";

/// The export as `user` gets it: its headers checked, its entries (name → hex content, `null`
/// for folders) and its index.
async fn export(user: &User<'_>, username: &str) -> (BTreeMap<String, Value>, Value) {
    let r = user.call(Method::GET, EXPORT, None).await;
    assert_eq!(r.status(), StatusCode::OK);
    let h = r.headers().clone();
    assert_eq!(h[CONTENT_TYPE], "application/zip");
    assert_eq!(h[CACHE_CONTROL], "no-store");
    assert_eq!(h["x-content-type-options"], "nosniff");
    let date = api::names::civil_date(user.server.now_ms());
    let name = format!("cairn-{username}-{date}.zip");
    assert_eq!(
        h[CONTENT_DISPOSITION],
        format!("attachment; filename=\"{name}\"; filename*=UTF-8''{name}").as_str()
    );
    let len: usize = h[CONTENT_LENGTH].to_str().unwrap().parse().unwrap();
    let body = r.bytes().await.unwrap();
    assert_eq!(body.len(), len);
    // The index is the first entry, so a reader finds it without the central directory.
    assert_eq!(
        &body[30..30 + "cairn-index.json".len()],
        b"cairn-index.json"
    );
    let mut entries = unzip(&body);
    let index = entries.remove("cairn-index.json").expect("an index");
    let index = hex::decode(index.as_str().unwrap()).unwrap();
    (entries, serde_json::from_slice(&index).unwrap())
}

fn hex_of(data: &[u8]) -> Value {
    Value::String(hex::encode(data))
}

async fn an_export_holds_the_tree_and_every_version_but_not_the_trash(backend: Backend) {
    let server = TestServer::on(backend).start().await;
    let alice = server.register("alice").await;
    let root = alice.session.root_id;
    let photos = alice.mkdir(root, "Photos").await;
    let year = alice.mkdir(photos.id, "2024").await;
    alice.mkdir(root, "empty").await;
    let a = bytes(1, 2 * 1024 * 1024 + 77);
    let a_up = alice.upload_to(year.id, "a.jpg", &a, None).await;
    let b = "Ünïcode in a folder".as_bytes().to_vec();
    alice.upload_to(photos.id, "b 😀.txt", &b, None).await;
    let v1 = b"first draft".to_vec();
    let v2 = b"second draft, longer".to_vec();
    let first = alice.upload_file("notes.txt", &v1, None).await;
    let second = alice
        .upload_file("notes.txt", &v2, Some(first.version_id))
        .await;
    assert_eq!(second.node.id, first.node.id);
    let gone = alice.upload_file("gone.txt", b"deleted", None).await;
    alice.trash(gone.node.id).await;
    let old = alice.mkdir(root, "old").await;
    alice
        .upload_to(old.id, "inside.txt", b"trashed too", None)
        .await;
    alice.trash(old.id).await;

    let (entries, index) = export(&alice, "alice").await;
    let want: BTreeMap<String, Value> = [
        ("Photos/", Value::Null),
        ("Photos/2024/", Value::Null),
        ("Photos/2024/a.jpg", hex_of(&a)),
        ("Photos/b 😀.txt", hex_of(&b)),
        ("empty/", Value::Null),
        ("notes.txt", hex_of(&v2)),
    ]
    .into_iter()
    .map(|(k, v)| (k.to_owned(), v))
    .collect();
    assert_eq!(entries, want);

    assert_eq!(index["format"], 1);
    assert_eq!(index["username"], "alice");
    assert!(index["exported_at"].as_i64().unwrap() > 0);
    assert_eq!(index["mounted"], serde_json::json!([]));
    let files = index["files"].as_array().unwrap();
    let paths: Vec<&str> = files.iter().map(|f| f["path"].as_str().unwrap()).collect();
    assert_eq!(paths, ["Photos/2024/a.jpg", "Photos/b 😀.txt", "notes.txt"]);
    let jpg = &files[0];
    assert_eq!(jpg["node_id"], a_up.node.id);
    assert_eq!(jpg["size"], a.len());
    let hash = alice.download_plan(a_up.node.id).await.manifest.hash;
    assert_eq!(jpg["versions"][0]["content_hash"], hash.to_string());
    let notes = &files[2];
    assert_eq!(notes["size"], v2.len());
    let versions: Vec<(i64, u64, bool)> = notes["versions"]
        .as_array()
        .unwrap()
        .iter()
        .map(|v| {
            (
                v["version_id"].as_i64().unwrap(),
                v["size"].as_u64().unwrap(),
                v["current"].as_bool().unwrap(),
            )
        })
        .collect();
    assert_eq!(
        versions,
        [
            (second.version_id, v2.len() as u64, true),
            (first.version_id, v1.len() as u64, false)
        ]
    );
}

async fn each_user_exports_only_their_own(backend: Backend) {
    let server = TestServer::on(backend).start().await;
    let alice = server.register("alice").await;
    let bob = server.register("bob").await;
    let team = alice.mkdir(alice.session.root_id, "Team").await;
    let plan = b"alice's plan".to_vec();
    alice.upload_to(team.id, "plan.txt", &plan, None).await;
    alice.upload_file("private.txt", b"alice only", None).await;
    share_with(&alice, team.id, &bob, "bob", "editor", true).await;
    let mine = b"bob's own".to_vec();
    bob.upload_file("mine.txt", &mine, None).await;

    // Bob keeps Alice's folder in his tree: named in his index, not exported.
    let (entries, index) = export(&bob, "bob").await;
    let want: BTreeMap<String, Value> = [("mine.txt".to_owned(), hex_of(&mine))].into();
    assert_eq!(entries, want);
    assert_eq!(index["username"], "bob");
    assert_eq!(index["mounted"], serde_json::json!(["Team"]));
    assert_eq!(index["files"].as_array().unwrap().len(), 1);

    // Alice's shared folder is hers: it is in her export where it is.
    let (entries, index) = export(&alice, "alice").await;
    let names: Vec<&str> = entries.keys().map(String::as_str).collect();
    assert_eq!(names, ["Team/", "Team/plan.txt", "private.txt"]);
    assert_eq!(entries["Team/plan.txt"], hex_of(&plan));
    assert_eq!(index["mounted"], serde_json::json!([]));

    // Nobody, or a made-up token: no export.
    let r = fresh_client().get(server.url(EXPORT)).send().await.unwrap();
    assert_error(r, StatusCode::UNAUTHORIZED, "unauthorized").await;
    let r = fresh_client()
        .get(server.url(EXPORT))
        .bearer_auth("0".repeat(64))
        .send()
        .await
        .unwrap();
    assert_error(r, StatusCode::UNAUTHORIZED, "unauthorized").await;
}

/// The bound, beneath the API (100,000 entries is too many to make here): the snapshot reads
/// at most the nodes allowed, and says when there are more.
async fn the_snapshot_is_bounded(backend: Backend) {
    let server = TestServer::on(backend).start().await;
    let alice = server.register("alice").await;
    let root = alice.session.root_id;
    let dir = alice.mkdir(root, "d").await;
    alice.upload_to(dir.id, "x", b"x", None).await;
    alice.upload_file("y", b"y", None).await;
    let gone = alice.upload_file("gone", b"gone", None).await;
    alice.trash(gone.node.id).await;
    let user_id = alice.session.user_id;
    let db = server.db().await;
    // Three live nodes below the root (the trashed one does not count).
    let tree = api::db::export::tree(&db, root, user_id, 3).await.unwrap();
    let tree = tree.expect("three nodes fit a bound of three");
    assert_eq!(tree.nodes.len(), 4);
    assert_eq!(tree.versions.len(), 2);
    assert_eq!(tree.chunks.len(), 2);
    assert!(api::db::export::tree(&db, root, user_id, 2)
        .await
        .unwrap()
        .is_none());
    db.pool.close().await;
}

async fn the_index_gives_each_version_its_content_type(backend: Backend) {
    let server = TestServer::on(backend).start().await;
    let alice = server.register("alice").await;
    let root = alice.session.root_id;
    let data = bytes(5, 3000);
    let (manifest, up) = alice.start_upload(&data).await;
    alice.put_missing(&manifest, &up, &data).await;
    let body = serde_json::json!({"upload_id": up.upload_id, "parent_id": root, "name": "scan",
        "base_version": null, "idempotency_key": up.upload_id, "content_type": "image/PNG"});
    let r = alice
        .call(Method::POST, "/api/v1/commits", Some(body))
        .await;
    assert_eq!(r.status(), StatusCode::OK);
    alice.upload_file("plain.bin", b"no type sent", None).await;
    let (_, index) = export(&alice, "alice").await;
    let files = index["files"].as_array().unwrap();
    let type_of = |path: &str| {
        let f = files.iter().find(|f| f["path"] == path).unwrap();
        f["versions"][0].get("content_type").cloned()
    };
    assert_eq!(type_of("scan"), Some(Value::String("image/png".into())));
    assert_eq!(type_of("plain.bin"), None);
}
