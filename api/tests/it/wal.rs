//! SQLite checkpoints happen in the background (`db/checkpoint.rs`): no commit does them any
//! more, yet what is committed still reaches the database file and the WAL stops growing.

use std::time::{Duration, Instant};

use crate::fixture::{Backend, EmptyDatabase};

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn committed_pages_reach_the_sqlite_file_without_a_commit_checkpointing() {
    let empty = EmptyDatabase::create(Backend::Sqlite).await;
    let db = api::db::Db::connect(&empty.url).await.unwrap();
    let file = empty
        .url
        .trim_start_matches("sqlite://")
        .trim_end_matches("?mode=rwc")
        .to_owned();
    sqlx::query("CREATE TABLE filler (body TEXT NOT NULL)")
        .execute(&db.pool)
        .await
        .unwrap();
    let before = std::fs::metadata(&file).unwrap().len();
    // 4 MiB in 64 commits: four times the 1,000-page mark where a commit used to checkpoint.
    let body = "x".repeat(64 * 1024);
    for _ in 0..64 {
        let mut w = db.write().await.unwrap();
        sqlx::query("INSERT INTO filler (body) VALUES ($1)")
            .bind(&body)
            .execute(&mut *w.tx)
            .await
            .unwrap();
        w.commit().await.unwrap();
    }
    let started = Instant::now();
    loop {
        let grown = std::fs::metadata(&file).unwrap().len() - before;
        if grown >= 4 * 1024 * 1024 {
            break;
        }
        assert!(
            started.elapsed() < Duration::from_secs(20),
            "the database file grew by only {grown} bytes: nothing checkpoints the WAL"
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    // Everything committed is readable, whichever file holds it now.
    let n: i64 = sqlx::query_scalar("SELECT COUNT(*) FROM filler")
        .fetch_one(&db.pool)
        .await
        .unwrap();
    assert_eq!(n, 64);
}

/// Every SQLite connection Cairn writes through is durable (`synchronous = FULL`) and in WAL
/// mode with foreign keys on: the pool's, several at once, and the commit writer's own.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn every_sqlite_connection_is_durable() {
    use api::db::batch_tx::{BatchTx as _, Cells as _};
    use sqlx::Row as _;

    let empty = EmptyDatabase::create(Backend::Sqlite).await;
    let db = api::db::Db::connect(&empty.url).await.unwrap();
    let mut held = Vec::new();
    for _ in 0..3 {
        let mut c = db.pool.acquire().await.unwrap();
        for (pragma, want) in [("synchronous", 2), ("foreign_keys", 1)] {
            let got: i64 = sqlx::query(&format!("PRAGMA {pragma}"))
                .fetch_one(&mut *c)
                .await
                .unwrap()
                .get(0);
            assert_eq!(got, want, "pool connection: PRAGMA {pragma}");
        }
        let mode: String = sqlx::query("PRAGMA journal_mode")
            .fetch_one(&mut *c)
            .await
            .unwrap()
            .get(0);
        assert_eq!(mode, "wal");
        held.push(c);
    }
    let file = db.sqlite_file.clone().expect("a file database");
    let mut writer = api::db::native_sqlite::NativeConn::open(&file).unwrap();
    let rows = writer.fetch("PRAGMA synchronous", vec![]).await.unwrap();
    assert_eq!(
        rows[0].int(0),
        2,
        "the commit writer's connection: PRAGMA synchronous"
    );
}
