//! `cargo xtask bench-access`: what the role check costs a request. The caller's own tree
//! needs no lookup (its namespace is the caller's); a shared folder's takes one primary-key
//! read of `members`. Measured in-process (`access::node`, the check every node route makes,
//! node read included) and over HTTP (`GET /nodes/{id}/children`, one client, sequential),
//! owner and member alternating, on SQLite.

use std::time::{Duration, Instant};

use anyhow::{bail, Result};
use reqwest::Client;
use serde_json::json;
use wire::{Node, Role, SessionResponse};

const CALLS: usize = 20_000;
const REQUESTS: usize = 2_000;
const ROUNDS: usize = 3;

#[tokio::main]
async fn main() -> Result<()> {
    let dir = tempfile::tempdir()?;
    let settings = api::Settings {
        addr: "127.0.0.1:0".parse()?,
        data_dir: dir.path().to_owned(),
        database_url: Some(format!(
            "sqlite://{}?mode=rwc",
            dir.path().join("cairn.db").display()
        )),
        ..api::Settings::default()
    };
    let listener = tokio::net::TcpListener::bind(settings.addr).await?;
    let base = format!("http://{}", listener.local_addr()?);
    let state = api::build_state(settings).await?;
    let serving = state.clone();
    let (stop, stopped) = tokio::sync::oneshot::channel::<()>();
    let task = tokio::spawn(async move {
        let _ = api::serve(serving, listener, async {
            let _ = stopped.await;
        })
        .await;
    });
    let http = Client::new();

    let alice = register(&http, &base, "alice").await?;
    let bob = register(&http, &base, "bob").await?;
    let folder: Node = http
        .post(format!("{base}/api/v1/folders"))
        .bearer_auth(&alice.token)
        .json(&json!({"parent_id": alice.root_id, "name": "shared"}))
        .send()
        .await?
        .json()
        .await?;
    // Bob views Alice's tree, as an accepted member (what the sharing routes will write).
    sqlx::query(
        "INSERT INTO members (namespace_id, user_id, role, invited_by, created_at, accepted_at) \
         VALUES ($1, $2, 'viewer', $3, 0, 0)",
    )
    .bind(alice.namespace_id)
    .bind(bob.user_id)
    .bind(alice.user_id)
    .execute(&state.db.pool)
    .await?;
    let owner = api::auth::caller_for_token(&state, &alice.token).await?;
    let member = api::auth::caller_for_token(&state, &bob.token).await?;

    println!("role check: {CALLS} access::node calls and {REQUESTS} listings per round, SQLite");
    println!("| round | owner µs/check | member µs/check | owner µs/listing | member µs/listing |");
    println!("|---|---|---|---|---|");
    for round in 1..=ROUNDS {
        let mut checks = [Duration::ZERO; 2];
        for (i, who) in [&owner, &member].into_iter().enumerate() {
            let t = Instant::now();
            for _ in 0..CALLS {
                api::access::node(&state.db, who, folder.id, Role::Viewer).await?;
            }
            checks[i] = t.elapsed();
        }
        let mut listings = [Duration::ZERO; 2];
        for (i, token) in [&alice.token, &bob.token].into_iter().enumerate() {
            let url = format!("{base}/api/v1/nodes/{}/children", folder.id);
            let t = Instant::now();
            for _ in 0..REQUESTS {
                let r = http.get(&url).bearer_auth(token).send().await?;
                if !r.status().is_success() {
                    bail!("listing: {}", r.status());
                }
                r.bytes().await?;
            }
            listings[i] = t.elapsed();
        }
        let per = |d: Duration, n: usize| d.as_secs_f64() * 1e6 / n as f64;
        println!(
            "| {round} | {:.1} | {:.1} | {:.0} | {:.0} |",
            per(checks[0], CALLS),
            per(checks[1], CALLS),
            per(listings[0], REQUESTS),
            per(listings[1], REQUESTS)
        );
    }
    let _ = stop.send(());
    let _ = tokio::time::timeout(Duration::from_secs(10), task).await;
    Ok(())
}

async fn register(http: &Client, base: &str, username: &str) -> Result<SessionResponse> {
    let r = http
        .post(format!("{base}/api/v1/accounts"))
        .json(&json!({"username": username, "password": "benchmark password", "device_name": "bench"}))
        .send()
        .await?;
    if !r.status().is_success() {
        bail!("register: {} {}", r.status(), r.text().await?);
    }
    Ok(r.json().await?)
}
