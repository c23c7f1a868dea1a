//! `cargo xtask bench-tree` (`cargo run --release -p api --example bench_tree`): whether what a
//! user does costs the same in a small account and in a huge one. One account is filled with
//! about 1,000 and then about 1,000,000 nodes (folders five deep, and one folder of a tenth of
//! them: 100,000 files at the large size), on SQLite and on PostgreSQL in one run, and the real
//! HTTP API is timed for: a listing page, its ETag revalidation (304), a search with few and
//! with many matches, moving the big folder, a feed page and a commit. Each figure's ratio,
//! large to small, is the claim: it should stay within 2×.
//!
//! The fill writes rows straight into the database (a million commits would take the whole
//! run); the rows are what commits would leave (nodes, their change log, the namespace's
//! sequence), every file pointing at one real, uploaded version.
//!
//! `BENCH_TREE_NODES=1000,100000` picks other sizes; `BENCH_ONLY=sqlite|postgres` one database.
//! PostgreSQL: `DATABASE_URL` (an admin URL) or the local server; a database is made per size.

use std::time::{Duration, Instant};

use anyhow::{bail, Result};
use rand::RngCore;
use reqwest::{Client, StatusCode};
use serde_json::json;
use wire::{Manifest, SessionResponse, UploadResponse};

mod support;
use support::TempDb;

const READS: usize = 200;
const MOVES: usize = 40;
const COMMITS: usize = 100;
/// Children per listing page timed: a screenful, the same at every size.
const PAGE: u32 = 100;

const OPS: [&str; 9] = [
    "listing page (100 children)",
    "listing revalidation (304)",
    "search, a few matches",
    "search, many matches (first 50)",
    "move the big folder",
    "feed page (500 changes)",
    "commit (a new file, 5 deep)",
    "listing page deep in the big folder",
    "move a folder tree (L1-0: a tenth of the nodes)",
];

#[tokio::main]
async fn main() -> Result<()> {
    // RUST_LOG=sqlx::query=debug shows each statement and its time (for finding the slow one).
    if std::env::var_os("RUST_LOG").is_some() {
        tracing_subscriber::fmt()
            .with_env_filter(tracing_subscriber::EnvFilter::from_default_env())
            .init();
    }
    let sizes: Vec<usize> = std::env::var("BENCH_TREE_NODES")
        .unwrap_or_else(|_| "1000,1000000".into())
        .split(',')
        .filter_map(|s| s.trim().parse().ok())
        .collect();
    let only = std::env::var("BENCH_ONLY").unwrap_or_default();
    let mut results: Vec<Run> = Vec::new();
    for &n in &sizes {
        if only != "postgres" {
            let dir = tempfile::tempdir()?;
            let place = dir.path().to_owned();
            let url = format!("sqlite://{}?mode=rwc", place.join("cairn.db").display());
            let (made, figures) = run(&url, &place, n).await?;
            results.push(("SQLite", n, made, figures));
        }
        if only != "sqlite" {
            let pg = TempDb::create(&support::pg_admin_url()).await?;
            let dir = tempfile::tempdir()?;
            let r = run(&pg.url, dir.path(), n).await;
            pg.drop_now().await;
            let (made, figures) = r?;
            results.push(("PostgreSQL", n, made, figures));
        }
    }
    print_report(&results);
    Ok(())
}

/// One database at one size: its name, the nodes asked for and made, and each operation's
/// (p50, p99) in ms.
type Run = (&'static str, usize, usize, Vec<(f64, f64)>);

fn print_report(results: &[Run]) {
    println!("\n## Results (ms, p50 / p99)\n");
    let mut head = "| operation |".to_owned();
    let mut rule = "|---|".to_owned();
    for (db, _, made, _) in results {
        head += &format!(" {db}, {made} nodes |");
        rule += "---|";
    }
    // The ratio of each database's largest size to its smallest, p99 against p99.
    for db in ["SQLite", "PostgreSQL"] {
        if results.iter().filter(|r| r.0 == db).count() > 1 {
            head += &format!(" {db} p99 ratio |");
            rule += "---|";
        }
    }
    println!("{head}\n{rule}");
    for (i, op) in OPS.iter().enumerate() {
        let mut line = format!("| {op} |");
        for (_, _, _, f) in results {
            line += &format!(" {:.1} / {:.1} |", f[i].0, f[i].1);
        }
        for db in ["SQLite", "PostgreSQL"] {
            let mine: Vec<_> = results.iter().filter(|r| r.0 == db).collect();
            if let (Some(small), Some(large), true) = (mine.first(), mine.last(), mine.len() > 1) {
                line += &format!(" {:.2}× |", large.3[i].1 / small.3[i].1);
            }
        }
        println!("{line}");
    }
}

/// Fills one fresh database with about `n` nodes, times every operation, and returns how many
/// nodes the account holds and each operation's (p50, p99) in ms, in [`OPS`] order.
async fn run(url: &str, data_dir: &std::path::Path, n: usize) -> Result<(usize, Vec<(f64, f64)>)> {
    let settings = api::Settings {
        addr: "127.0.0.1:0".parse()?,
        data_dir: data_dir.to_owned(),
        database_url: Some(url.to_owned()),
        gc_interval: Duration::ZERO,
        scrub_interval: Duration::ZERO,
        ..api::Settings::default()
    };
    let listener = tokio::net::TcpListener::bind(settings.addr).await?;
    let base = format!("http://{}", listener.local_addr()?);
    let state = api::build_state(settings).await?;
    let db = std::sync::Arc::clone(&state.db);
    let (stop, stopped) = tokio::sync::oneshot::channel::<()>();
    let serving = state.clone();
    let task = tokio::spawn(async move {
        let _ = api::serve(serving, listener, async {
            let _ = stopped.await;
        })
        .await;
    });
    let api = Api {
        base,
        http: Client::new(),
        token: String::new(),
    };
    let figures = async {
        let (api, session, manifest) = api.sign_up().await?;
        let started = Instant::now();
        let tree = fill(&db, &session, n).await?;
        println!(
            "# {:?}, {} nodes: filled in {:.1} s",
            db.backend,
            tree.nodes,
            started.elapsed().as_secs_f64()
        );
        let figures = measure(&api, &session, &manifest, &tree).await?;
        anyhow::Ok((tree.nodes, figures))
    }
    .await;
    let _ = stop.send(());
    let _ = tokio::time::timeout(Duration::from_secs(10), task).await;
    drop(state);
    figures
}

struct Api {
    base: String,
    http: Client,
    token: String,
}

impl Api {
    fn get(&self, path: &str) -> reqwest::RequestBuilder {
        self.http
            .get(format!("{}{path}", self.base))
            .bearer_auth(&self.token)
    }

    fn send_json(
        &self,
        method: reqwest::Method,
        path: &str,
        body: serde_json::Value,
    ) -> reqwest::RequestBuilder {
        self.http
            .request(method, format!("{}{path}", self.base))
            .bearer_auth(&self.token)
            .json(&body)
    }

    /// A new account holding one uploaded file, whose version every filled file points at.
    async fn sign_up(self) -> Result<(Api, SessionResponse, Manifest)> {
        let r = self
            .http
            .post(format!("{}/api/v1/accounts", self.base))
            .json(&json!({"username": "tree", "password": "benchmark password", "device_name": "bench"}))
            .send()
            .await?;
        if !r.status().is_success() {
            bail!("sign-up: {} {}", r.status(), r.text().await?);
        }
        let session: SessionResponse = r.json().await?;
        let api = Api {
            token: session.token.clone(),
            ..self
        };
        let mut data = vec![0u8; 4096];
        rand::rngs::OsRng.fill_bytes(&mut data);
        let manifest = Manifest::from_chunks(wasm_chunker::chunk_all(&data));
        let up = api.upload(&manifest).await?;
        for t in &up.missing {
            let r = api
                .http
                .put(format!("{}{}", api.base, t.url))
                .body(data.clone())
                .send()
                .await?;
            if !r.status().is_success() {
                bail!("chunk PUT: {}", r.status());
            }
        }
        api.commit(&up.upload_id, session.root_id, "seed").await?;
        Ok((api, session, manifest))
    }

    async fn upload(&self, manifest: &Manifest) -> Result<UploadResponse> {
        let r = self
            .send_json(
                reqwest::Method::POST,
                "/api/v1/uploads",
                json!({ "manifest": manifest }),
            )
            .send()
            .await?;
        if !r.status().is_success() {
            bail!("upload: {} {}", r.status(), r.text().await?);
        }
        Ok(r.json().await?)
    }

    async fn commit(&self, upload_id: &str, parent_id: i64, name: &str) -> Result<()> {
        let r = self
            .send_json(
                reqwest::Method::POST,
                "/api/v1/commits",
                json!({"upload_id": upload_id, "parent_id": parent_id, "name": name,
                    "base_version": null, "idempotency_key": upload_id}),
            )
            .send()
            .await?;
        if !r.status().is_success() {
            bail!("commit: {} {}", r.status(), r.text().await?);
        }
        Ok(())
    }
}

/// What [`fill`] made.
struct Tree {
    nodes: usize,
    big: i64,
    big_files: usize,
    /// A folder five deep, where commits land.
    leaf: i64,
    /// A first-level folder the big folder moves into and out of.
    away: i64,
    /// Another first-level folder, which `away` (with its whole tree) moves into and out of.
    other: i64,
}

/// About `n` nodes in the account's tree: `big` (a tenth of them, files `f0`…), and folders
/// `L1-i/L2-j/L3-k/L4-l` (a fan-out of `f` at each level) each last one holding files `g0`….
/// Every statement is plain SQL both databases run alike.
async fn fill(db: &api::db::Db, s: &SessionResponse, n: usize) -> Result<Tree> {
    let big_files = (n / 10).max(1);
    let fan = ((n as f64 / 100.0).powf(0.25).round() as usize).max(2);
    let folders: usize = (1..=4).map(|k| fan.pow(k)).sum();
    let per_leaf = (n.saturating_sub(big_files + folders + 2) / fan.pow(4)).max(1);
    let now = api::db::now_ms();
    let mut w = db.write().await?;
    let version: i64 = sqlx::query_scalar(
        "SELECT version_id FROM nodes WHERE namespace_id = $1 AND name = 'seed'",
    )
    .bind(s.namespace_id)
    .fetch_one(&mut *w.tx)
    .await?;
    let series = "WITH RECURSIVE s(i) AS (SELECT 0 UNION ALL SELECT i + 1 FROM s WHERE i + 1 < $4)";
    let cols = "INSERT INTO nodes (namespace_id, parent_id, name, name_key, kind, version_id, \
                created_at, modified_at)";
    sqlx::query(&format!(
        "{cols} VALUES ($1, $2, 'big', 'big', 'folder', NULL, $3, $3)"
    ))
    .bind(s.namespace_id)
    .bind(s.root_id)
    .bind(now)
    .execute(&mut *w.tx)
    .await?;
    let big: i64 = sqlx::query_scalar("SELECT id FROM nodes WHERE parent_id = $1 AND name = 'big'")
        .bind(s.root_id)
        .fetch_one(&mut *w.tx)
        .await?;
    sqlx::query(&format!(
        "{series} {cols} SELECT $1, $2, 'f' || i, 'f' || i, 'file', $5, $3, $3 FROM s"
    ))
    .bind(s.namespace_id)
    .bind(big)
    .bind(now)
    .bind(big_files as i64)
    .bind(version)
    .execute(&mut *w.tx)
    .await?;
    sqlx::query(&format!(
        "{series} {cols} SELECT $1, $2, 'L1-' || i, 'l1-' || i, 'folder', NULL, $3, $3 FROM s"
    ))
    .bind(s.namespace_id)
    .bind(s.root_id)
    .bind(now)
    .bind(fan as i64)
    .execute(&mut *w.tx)
    .await?;
    for level in 2..=4 {
        sqlx::query(&format!(
            "{series} {cols} SELECT p.namespace_id, p.id, 'L{level}-' || i, 'l{level}-' || i, \
             'folder', NULL, $3, $3 FROM nodes p CROSS JOIN s \
             WHERE p.namespace_id = $1 AND p.kind = 'folder' AND p.name_key LIKE $2"
        ))
        .bind(s.namespace_id)
        .bind(format!("l{}-%", level - 1))
        .bind(now)
        .bind(fan as i64)
        .execute(&mut *w.tx)
        .await?;
    }
    sqlx::query(&format!(
        "{series} {cols} SELECT p.namespace_id, p.id, 'g' || i, 'g' || i, 'file', $5, $3, $3 \
         FROM nodes p CROSS JOIN s \
         WHERE p.namespace_id = $1 AND p.kind = 'folder' AND p.name_key LIKE $2"
    ))
    .bind(s.namespace_id)
    .bind("l4-%")
    .bind(now)
    .bind(per_leaf as i64)
    .bind(version)
    .execute(&mut *w.tx)
    .await?;
    // The change log the commits would have left, and the namespace's place in it.
    let seq: i64 = sqlx::query_scalar("SELECT seq FROM namespaces WHERE id = $1")
        .bind(s.namespace_id)
        .fetch_one(&mut *w.tx)
        .await?;
    sqlx::query(
        "INSERT INTO changes (namespace_id, seq, node_id, kind, created_at) \
         SELECT namespace_id, $2 + ROW_NUMBER() OVER (ORDER BY id), id, 'create', created_at \
         FROM nodes WHERE namespace_id = $1 AND created_at = $3 AND name <> 'seed'",
    )
    .bind(s.namespace_id)
    .bind(seq)
    .bind(now)
    .execute(&mut *w.tx)
    .await?;
    sqlx::query(
        "UPDATE namespaces SET seq = (SELECT MAX(seq) FROM changes WHERE namespace_id = $1) \
         WHERE id = $1",
    )
    .bind(s.namespace_id)
    .execute(&mut *w.tx)
    .await?;
    let nodes: i64 = sqlx::query_scalar("SELECT COUNT(*) FROM nodes WHERE namespace_id = $1")
        .bind(s.namespace_id)
        .fetch_one(&mut *w.tx)
        .await?;
    let one = |name: &'static str| {
        sqlx::query_scalar::<_, i64>(
            "SELECT MIN(id) FROM nodes WHERE namespace_id = $1 AND name_key = $2",
        )
        .bind(s.namespace_id)
        .bind(name)
    };
    let leaf = one("l4-0").fetch_one(&mut *w.tx).await?;
    let away = one("l1-0").fetch_one(&mut *w.tx).await?;
    let other = one("l1-1").fetch_one(&mut *w.tx).await?;
    w.commit().await?;
    // Both databases plan from statistics; a running server's are kept fresh (autovacuum,
    // `PRAGMA optimize`), a database filled seconds ago has none.
    sqlx::query("ANALYZE").execute(&db.pool).await?;
    Ok(Tree {
        nodes: nodes as usize,
        big,
        big_files,
        leaf,
        away,
        other,
    })
}

/// Each operation's (p50, p99) in ms, in [`OPS`] order.
async fn measure(
    api: &Api,
    s: &SessionResponse,
    manifest: &Manifest,
    t: &Tree,
) -> Result<Vec<(f64, f64)>> {
    let first = format!("/api/v1/nodes/{}/children?limit={PAGE}", t.big);
    let r = api.get(&first).send().await?;
    let etag = r
        .headers()
        .get("etag")
        .and_then(|v| v.to_str().ok())
        .unwrap_or_default()
        .to_owned();
    let listing: wire::Listing = r.json().await?;
    if listing.children.len() != (PAGE as usize).min(t.big_files) {
        bail!("a listing page held {} children", listing.children.len());
    }
    let deep = format!(
        "/api/v1/nodes/{}/children?limit={PAGE}&after=f%3Af{}",
        t.big,
        t.big_files / 2
    );
    let few = format!("/api/v1/search?q=f{}", t.big_files * 2 / 3 + 7);
    let mut out = vec![
        timed(READS, |_| api.get(&first), StatusCode::OK).await?,
        timed(
            READS,
            |_| api.get(&first).header("if-none-match", &etag),
            StatusCode::NOT_MODIFIED,
        )
        .await?,
        timed(READS, |_| api.get(&few), StatusCode::OK).await?,
        timed(READS, |_| api.get("/api/v1/search?q=g1"), StatusCode::OK).await?,
        timed(
            MOVES,
            |i| {
                let to = if i % 2 == 0 { t.away } else { s.root_id };
                api.send_json(
                    reqwest::Method::PATCH,
                    &format!("/api/v1/nodes/{}", t.big),
                    json!({ "parent_id": to }),
                )
            },
            StatusCode::OK,
        )
        .await?,
        timed(
            READS,
            |_| api.get("/api/v1/changes?limit=500"),
            StatusCode::OK,
        )
        .await?,
    ];
    let mut commits = Vec::new();
    for i in 0..COMMITS {
        let up = api.upload(manifest).await?;
        let t0 = Instant::now();
        api.commit(&up.upload_id, t.leaf, &format!("new-{i}"))
            .await?;
        commits.push(t0.elapsed().as_secs_f64() * 1000.0);
    }
    out.push(p50_p99(commits));
    out.push(timed(READS, |_| api.get(&deep), StatusCode::OK).await?);
    out.push(
        timed(
            MOVES,
            |i| {
                let to = if i % 2 == 0 { t.other } else { s.root_id };
                api.send_json(
                    reqwest::Method::PATCH,
                    &format!("/api/v1/nodes/{}", t.away),
                    json!({ "parent_id": to }),
                )
            },
            StatusCode::OK,
        )
        .await?,
    );
    Ok(out)
}

/// Sends `count` requests one after another (`make(i)` builds the i-th), checks each answered
/// `want`, and gives the (p50, p99) of their times in ms.
async fn timed(
    count: usize,
    make: impl Fn(usize) -> reqwest::RequestBuilder,
    want: StatusCode,
) -> Result<(f64, f64)> {
    let mut ms = Vec::with_capacity(count);
    for i in 0..count {
        let req = make(i);
        let t0 = Instant::now();
        let r = req.send().await?;
        let status = r.status();
        r.bytes().await?;
        ms.push(t0.elapsed().as_secs_f64() * 1000.0);
        if status != want {
            bail!("expected {want}, got {status}");
        }
    }
    Ok(p50_p99(ms))
}

fn p50_p99(mut v: Vec<f64>) -> (f64, f64) {
    v.sort_by(|a, b| a.total_cmp(b));
    let at = |p: f64| v[((v.len() - 1) as f64 * p).round() as usize];
    (at(0.5), at(0.99))
}
