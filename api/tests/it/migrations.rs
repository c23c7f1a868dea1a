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
    assert_eq!(api::db::users::used_bytes(&db, 1).await.unwrap(), 1234);
    let found = api::db::search::search(
        &db,
        1,
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
    let paths = api::db::nodes::paths(&db, &[3]).await.unwrap();
    assert_eq!(paths[&3], "/Trips/Holiday Photo.JPG");
    let n: i64 = sqlx::query("SELECT COUNT(*) FROM nodes")
        .fetch_one(&db.pool)
        .await
        .unwrap()
        .get(0);
    assert_eq!(n, 3);
    db.pool.close().await;
}
