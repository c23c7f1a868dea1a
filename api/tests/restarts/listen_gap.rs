//! The LISTEN gap: PostgreSQL delivers a notification only to sessions listening when it is
//! sent, so a commit made while the server's notification connection is down used to be
//! announced to nobody (open streams learnt of it only at the next commit). Here the
//! listener's backend is terminated and its reconnection held off (the test database refuses
//! new connections for a while), a commit and a device's revocation land in between, and the
//! open stream must still be hinted with no further commit, the revoked device's stream ended.

use std::time::{Duration, Instant};

use reqwest::StatusCode;
use serde_json::json;
use sqlx::{Connection, Row};
use wire::SessionResponse;

use crate::client::{self, Events, Job, Seen};
use crate::fixture::{bytes, postgres_admin_url, Backend, EmptyDatabase};
use crate::server::Cairn;

/// Connections to the test's own database allowed again on drop, whatever happened.
struct Refusing {
    admin: String,
    database: String,
}

impl Refusing {
    async fn set(admin: &str, database: &str, allow: bool) {
        let mut conn = sqlx::PgConnection::connect(admin).await.unwrap();
        sqlx::raw_sql(&format!(
            "ALTER DATABASE {database} WITH ALLOW_CONNECTIONS {allow}"
        ))
        .execute(&mut conn)
        .await
        .unwrap();
        let _ = conn.close().await;
    }
}

impl Drop for Refusing {
    fn drop(&mut self) {
        let (admin, database) = (self.admin.clone(), self.database.clone());
        // The test's runtime cannot be blocked on: a thread with a runtime of its own.
        let _ = std::thread::spawn(move || {
            tokio::runtime::Builder::new_current_thread()
                .enable_all()
                .build()
                .unwrap()
                .block_on(Refusing::set(&admin, &database, true))
        })
        .join();
    }
}

/// The backends of `database` listening for hints (their last statement was the LISTEN).
async fn listeners(admin: &mut sqlx::PgConnection, database: &str) -> Vec<i32> {
    sqlx::query(
        "SELECT pid FROM pg_stat_activity WHERE datname = $1 AND query LIKE 'LISTEN %' \
         AND pid <> pg_backend_pid()",
    )
    .bind(database)
    .fetch_all(admin)
    .await
    .unwrap()
    .iter()
    .map(|r| r.get(0))
    .collect()
}

#[tokio::test]
async fn a_hint_committed_while_the_listener_reconnects_still_arrives() {
    let db = EmptyDatabase::create(Backend::Postgres).await;
    let database = db.url.rsplit('/').next().unwrap().to_owned();
    let admin = postgres_admin_url();
    let data = tempfile::tempdir().unwrap();
    let server = Cairn::start(&data.path().join("chunks"), &db.url, &[]);
    let http = client::http();
    let r = http
        .post(format!("{}/api/v1/accounts", server.base))
        .json(&json!({"username": "alice", "password": "correct horse", "device_name": "laptop"}))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), StatusCode::CREATED);
    let s: SessionResponse = r.json().await.unwrap();
    let mut events = Events::open(&http, &server.base, &s.token).await;
    // A second device with a stream of its own, to be revoked while nobody listens.
    let r = http
        .post(format!("{}/api/v1/sessions", server.base))
        .json(&json!({"username": "alice", "password": "correct horse", "device_name": "phone"}))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), StatusCode::OK);
    let phone: SessionResponse = r.json().await.unwrap();
    let mut phone_events = Events::open(&http, &server.base, &phone.token).await;
    let mut seen = Seen::default();
    let job = |i: u64| Job {
        name: format!("f{i}.bin"),
        data: bytes(i, 70_000),
        key: format!("gap-{i}"),
        upload_id: None,
        answer: None,
    };

    // A first commit, hinted through the listener (and every pool connection it needs made).
    let mut first = job(1);
    client::push(
        &http,
        &server.base,
        &s.token,
        s.root_id,
        &mut first,
        &mut seen,
    )
    .await
    .unwrap();
    let home = s.namespace_id;
    assert!(events.wait_for(home, 1, Duration::from_secs(10)).await);

    // Every connection the pool may want opened now, while it can: many reads at once.
    let reads: Vec<_> = (0..24)
        .map(|_| {
            let r = http
                .get(format!(
                    "{}/api/v1/nodes/{}/children",
                    server.base, s.root_id
                ))
                .bearer_auth(&s.token)
                .send();
            async move { r.await.unwrap().status() }
        })
        .collect();
    for status in futures::future::join_all(reads).await {
        assert_eq!(status, StatusCode::OK);
    }

    // The listener's backend ended, and no new connection to this database for now.
    let mut conn = sqlx::PgConnection::connect(&admin).await.unwrap();
    let before = listeners(&mut conn, &database).await;
    assert_eq!(before.len(), 1, "one listening backend: {before:?}");
    let refusing = Refusing {
        admin: admin.clone(),
        database: database.clone(),
    };
    Refusing::set(&admin, &database, false).await;
    sqlx::query("SELECT pg_terminate_backend($1)")
        .bind(before[0])
        .execute(&mut conn)
        .await
        .unwrap();

    // Committed through connections the pool already holds, while nobody listens.
    let mut second = job(2);
    let pushed = client::push(
        &http,
        &server.base,
        &s.token,
        s.root_id,
        &mut second,
        &mut seen,
    );
    if let Err(e) = pushed.await {
        panic!(
            "the commit failed: {e:?}
{}",
            server.log()
        );
    }
    assert!(second.answer.is_some());
    let r = http
        .delete(format!(
            "{}/api/v1/devices/{}",
            server.base, phone.device_id
        ))
        .bearer_auth(&s.token)
        .send()
        .await
        .unwrap();
    assert!(r.status().is_success(), "revoke: {}", r.status());
    assert!(
        listeners(&mut conn, &database).await.is_empty(),
        "the commit must land while nobody listens"
    );
    let _ = conn.close().await;

    // Connections allowed again: the listener comes back and the stream hears of seq 2.
    drop(refusing);
    let t = Instant::now();
    let hinted = events.wait_for(home, 2, Duration::from_secs(45)).await;
    assert!(
        hinted,
        "the commit made while the listener was down was never hinted:\n{}",
        server.log()
    );
    eprintln!(
        "listen gap: hinted {:?} after connections were allowed again",
        t.elapsed()
    );
    assert!(
        phone_events.wait_revoked(Duration::from_secs(10)).await,
        "the device revoked while nobody listened kept its stream open"
    );
}
