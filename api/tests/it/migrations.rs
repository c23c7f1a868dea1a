//! Upgrading a database that holds data: later migrations keep every row and fill what they
//! add (usage counters, the name-search index) from what is already there.

use std::borrow::Cow;

use sqlx::Row as _;

use crate::fixture::{Backend, EmptyDatabase};

crate::both!(upgrading_from_0001_keeps_data_and_fills_usage_and_search);

async fn upgrading_from_0001_keeps_data_and_fills_usage_and_search(backend: Backend) {
    let empty = EmptyDatabase::create(backend).await;
    sqlx::any::install_default_drivers();
    let mut first = match backend {
        Backend::Sqlite => sqlx::migrate!("migrations/sqlite"),
        Backend::Postgres => sqlx::migrate!("migrations/postgres"),
    };
    first.migrations = Cow::Owned(first.migrations[..1].to_vec());
    let pool = sqlx::AnyPool::connect(&empty.url).await.unwrap();
    first.run(&pool).await.unwrap();
    // What a 0001 server wrote: a user, a home namespace, a root, a folder and a file.
    sqlx::raw_sql(
        "INSERT INTO namespaces (id, owner_user_id, root_id, seq) VALUES (1, 1, 1, 3); \
         INSERT INTO users (id, username, password_hash, namespace_id, created_at) \
             VALUES (1, 'old', 'x', 1, 0); \
         INSERT INTO devices (id, user_id, name, token_hash, created_at, last_seen_at) \
             VALUES (1, 1, 'laptop', 'h', 0, 0); \
         INSERT INTO nodes (id, namespace_id, parent_id, name, name_key, kind, created_at, modified_at) \
             VALUES (1, 1, NULL, '', '', 'folder', 0, 0), \
                    (2, 1, 1, 'Trips', 'trips', 'folder', 0, 0), \
                    (3, 1, 2, 'Holiday Photo.JPG', 'holiday photo.jpg', 'file', 0, 0); \
         INSERT INTO versions (id, node_id, size, content_hash, chunker, author_device_id, created_at) \
             VALUES (1, 3, 1234, 'aa', 'c', 1, 0); \
         UPDATE nodes SET version_id = 1 WHERE id = 3;",
    )
    .execute(&pool)
    .await
    .unwrap();
    pool.close().await;

    let db = api::db::Db::connect(&empty.url).await.unwrap();
    assert_eq!(api::db::usage::read(&db, 1).await.unwrap().current, 1234);
    let found = api::db::search::search(
        &db,
        &[1],
        &api::db::search::Filter {
            q: Some("photo".into()),
            limit: 10,
            ..Default::default()
        },
    )
    .await
    .unwrap();
    assert_eq!(found.len(), 1);
    assert_eq!(found[0].node.name, "Holiday Photo.JPG");
    let paths = api::db::nodes::paths(&db, &[3], &Default::default())
        .await
        .unwrap();
    assert_eq!(paths[&3], "/Trips/Holiday Photo.JPG");
    let n: i64 = sqlx::query("SELECT COUNT(*) FROM nodes")
        .fetch_one(&db.pool)
        .await
        .unwrap()
        .get(0);
    assert_eq!(n, 3);
    db.pool.close().await;
}

crate::both!(upgrading_to_0005_counts_old_versions_and_lists_what_uploads_may_send);

/// 0005 starts counting kept old versions against the quota and gives every open upload the
/// chunk rows its PUTs now look up.
async fn upgrading_to_0005_counts_old_versions_and_lists_what_uploads_may_send(backend: Backend) {
    let empty = EmptyDatabase::create(backend).await;
    sqlx::any::install_default_drivers();
    let mut before = match backend {
        Backend::Sqlite => sqlx::migrate!("migrations/sqlite"),
        Backend::Postgres => sqlx::migrate!("migrations/postgres"),
    };
    let keep: Vec<_> = before
        .migrations
        .iter()
        .filter(|m| m.version < 5)
        .cloned()
        .collect();
    before.migrations = Cow::Owned(keep);
    let pool = sqlx::AnyPool::connect(&empty.url).await.unwrap();
    before.run(&pool).await.unwrap();
    let chunk = wasm_chunker::hash_chunk(b"x").to_string();
    let manifest = format!(
        r#"{{"chunker":"c","size":2,"hash":"{chunk}","chunks":[{{"hash":"{chunk}","offset":0,"size":1}},{{"hash":"{chunk}","offset":1,"size":1}}]}}"#
    );
    sqlx::raw_sql(&format!(
        "INSERT INTO namespaces (id, owner_user_id, root_id, seq) VALUES (1, 1, 1, 3); \
         INSERT INTO nodes (id, namespace_id, parent_id, name, name_key, kind, created_at, modified_at) \
             VALUES (1, 1, NULL, '', '', 'folder', 0, 0), \
                    (2, 1, 1, 'a', 'a', 'file', 0, 0); \
         INSERT INTO versions (id, node_id, size, content_hash, chunker, author_device_id, created_at) \
             VALUES (1, 2, 100, 'aa', 'c', 1, 0), (2, 2, 30, 'bb', 'c', 1, 1); \
         UPDATE nodes SET version_id = 2 WHERE id = 2; \
         UPDATE namespaces SET used_bytes = 30; \
         INSERT INTO uploads (id, namespace_id, device_id, manifest, created_at, expires_at) \
             VALUES ('u1', 1, 1, '{manifest}', 0, 99999999999999);"
    ))
    .execute(&pool)
    .await
    .unwrap();
    pool.close().await;

    let db = api::db::Db::connect(&empty.url).await.unwrap();
    let usage = api::db::usage::read(&db, 1).await.unwrap();
    assert_eq!((usage.current, usage.history, usage.staged), (30, 100, 0));
    let rows: Vec<(String, String, i64)> =
        sqlx::query("SELECT upload_id, hash, size FROM upload_chunks")
            .fetch_all(&db.pool)
            .await
            .unwrap()
            .iter()
            .map(|r| (r.get(0), r.get(1), r.get(2)))
            .collect();
    assert_eq!(rows, [("u1".to_owned(), chunk, 1)]);
    db.pool.close().await;
}

crate::both!(usernames_differing_only_by_case_survive_0004_and_each_still_signs_in);

/// Before 0004, `Alice` and `alice` could be two accounts. The migration keeps both: the older
/// keeps the plain key (every other spelling finds it), the newer gets `alice#<id>` and signs
/// in by its exact name; no new account can take any spelling of the name.
async fn usernames_differing_only_by_case_survive_0004_and_each_still_signs_in(backend: Backend) {
    let empty = EmptyDatabase::create(backend).await;
    sqlx::any::install_default_drivers();
    let mut before = match backend {
        Backend::Sqlite => sqlx::migrate!("migrations/sqlite"),
        Backend::Postgres => sqlx::migrate!("migrations/postgres"),
    };
    let upto = before
        .migrations
        .iter()
        .position(|m| m.version == 4)
        .expect("migration 0004");
    before.migrations = Cow::Owned(before.migrations[..upto].to_vec());
    let pool = sqlx::AnyPool::connect(&empty.url).await.unwrap();
    before.run(&pool).await.unwrap();
    // Ids from the tables' own counters (1, 2, 3 on a fresh database), so accounts made after
    // the migration get the next ones on PostgreSQL too.
    sqlx::raw_sql(
        "INSERT INTO namespaces (owner_user_id, root_id, seq) VALUES (1, 1, 0); \
         INSERT INTO namespaces (owner_user_id, root_id, seq) VALUES (2, 2, 0); \
         INSERT INTO namespaces (owner_user_id, root_id, seq) VALUES (3, 3, 0); \
         INSERT INTO users (username, password_hash, namespace_id, created_at) \
             VALUES ('alice', 'h1', 1, 0); \
         INSERT INTO users (username, password_hash, namespace_id, created_at) \
             VALUES ('Alice', 'h2', 2, 0); \
         INSERT INTO users (username, password_hash, namespace_id, created_at) \
             VALUES ('Bob', 'h3', 3, 0);",
    )
    .execute(&pool)
    .await
    .unwrap();
    pool.close().await;

    let db = api::db::Db::connect(&empty.url).await.unwrap();
    let keys: Vec<(i64, String)> = sqlx::query("SELECT id, username_key FROM users ORDER BY id")
        .fetch_all(&db.pool)
        .await
        .unwrap()
        .iter()
        .map(|r| (r.get(0), r.get(1)))
        .collect();
    assert_eq!(
        keys,
        [
            (1, "alice".into()),
            (2, "alice#2".into()),
            (3, "bob".into())
        ]
    );
    for (name, user) in [
        ("alice", 1),
        ("Alice", 2),
        ("ALICE", 1),
        ("aLICE", 1),
        ("bob", 3),
        ("BOB", 3),
    ] {
        let key = api::routes::accounts::username_key(name);
        let found = api::db::users::credentials(&db, name, &key).await.unwrap();
        assert_eq!(found.map(|c| c.user_id), Some(user), "{name}");
    }
    for taken in ["ALICE", "bOB"] {
        let key = api::routes::accounts::username_key(taken);
        let created = api::db::users::create_account(&db, taken, &key, "h", "d", taken)
            .await
            .unwrap();
        assert!(created.is_none(), "{taken}");
    }
    db.pool.close().await;
}
