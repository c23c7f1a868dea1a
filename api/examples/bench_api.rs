//! `cargo run --release -p api --example bench_api` (or `cargo xtask bench-api`): durable
//! commits per second through the real HTTP API with 1, 8 and 64 concurrent clients, next to
//! the raw baseline on the same database (one single-row INSERT per transaction at the same
//! durability; pgbench TPC-B too for PostgreSQL), and commit → SSE hint latency with 1,000
//! idle subscribers — on SQLite and on PostgreSQL in one run.
//!
//! PostgreSQL: `DATABASE_URL` (an admin URL) or postgres://postgres@127.0.0.1:5432/postgres;
//! a fresh database is created for the run and dropped after. `BENCH_SECS` sets the length of
//! each timed phase (default 3).

use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use anyhow::{bail, Context, Result};
use rand::RngCore;
use reqwest::Client;
use serde_json::json;
use wire::{Manifest, SessionResponse, UploadResponse};

mod support;
use support::TempDb;

const CLIENTS: [usize; 3] = [1, 8, 64];
const IDLE_SUBSCRIBERS: usize = 1000;
const LATENCY_SAMPLES: usize = 200;

#[tokio::main]
async fn main() -> Result<()> {
    let secs: u64 = std::env::var("BENCH_SECS")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(3);
    let phase = Duration::from_secs(secs);
    // BENCH_ONLY=sqlite or =postgres runs one database (for profiling); both by default.
    let only = std::env::var("BENCH_ONLY").unwrap_or_default();
    let mut report = Vec::new();

    let dir = tempfile::tempdir()?;
    let sqlite = format!(
        "sqlite://{}?mode=rwc",
        dir.path().join("cairn.db").display()
    );
    let raw_sqlite = format!("sqlite://{}?mode=rwc", dir.path().join("raw.db").display());
    if only != "postgres" {
        report.push(run_backend("SQLite", &sqlite, &raw_sqlite, dir.path(), phase, None).await?);
    }
    if only == "sqlite" {
        print_report(secs, &report);
        return Ok(());
    }

    let pg = TempDb::create(&support::pg_admin_url()).await?;
    let pg_dir = tempfile::tempdir()?;
    let r = run_backend(
        "PostgreSQL",
        &pg.url,
        &pg.url,
        pg_dir.path(),
        phase,
        Some(&pg),
    )
    .await;
    pg.drop_now().await;
    report.push(r?);
    print_report(secs, &report);
    Ok(())
}

fn print_report(secs: u64, report: &[BackendReport]) {
    println!("\n## Results ({secs} s per phase)\n");
    println!("| database | clients | raw single-row commits/s | pgbench TPC-B tps | Cairn API commits/s | commits per transaction |");
    println!("|---|---|---|---|---|---|");
    for b in report {
        for row in &b.rows {
            println!(
                "| {} | {} | {:.0} | {} | {:.0} | {:.1} |",
                b.name,
                row.clients,
                row.raw,
                row.pgbench.map_or("–".to_owned(), |t| format!("{t:.0}")),
                row.api,
                row.batch
            );
        }
    }
    println!("\n| database | subscribers | commit → hint p50 | p99 | max | fan-out to all 1,000: p50 | p99 |");
    println!("|---|---|---|---|---|---|---|");
    for b in report {
        println!(
            "| {} | {} idle + 1 | {:.1} ms | {:.1} ms | {:.1} ms | {:.1} ms | {:.1} ms |",
            b.name, IDLE_SUBSCRIBERS, b.latency.0, b.latency.1, b.latency.2, b.fanout.0, b.fanout.1
        );
    }
}

struct Row {
    clients: usize,
    raw: f64,
    pgbench: Option<f64>,
    api: f64,
    batch: f64,
}

struct BackendReport {
    name: &'static str,
    rows: Vec<Row>,
    /// p50, p99, max in ms.
    latency: (f64, f64, f64),
    fanout: (f64, f64),
}

async fn run_backend(
    name: &'static str,
    url: &str,
    raw_url: &str,
    data_dir: &std::path::Path,
    phase: Duration,
    pg: Option<&TempDb>,
) -> Result<BackendReport> {
    println!("# {name}");
    let server = Server::start(url, data_dir).await?;
    let mut rows = Vec::new();
    let users = server.users(64, "c").await?;
    // BENCH_CLIENTS=64 (a comma list) runs some of the client counts (for profiling).
    let only: Vec<usize> = std::env::var("BENCH_CLIENTS")
        .unwrap_or_default()
        .split(',')
        .filter_map(|c| c.trim().parse().ok())
        .collect();
    for clients in CLIENTS
        .into_iter()
        .filter(|c| only.is_empty() || only.contains(c))
    {
        let raw = raw_commits(raw_url, clients, phase).await?;
        let pgbench = match pg {
            Some(db) => pgbench(db, clients, phase)?,
            None => None,
        };
        println!("  {clients:>2} clients: API phase starts");
        let (api, batch) = server.commits(&users[..clients], phase).await?;
        println!(
            "  {clients:>2} clients: raw {raw:.0}/s, pgbench {}, API {api:.0}/s ({batch:.1} commits per transaction)",
            pgbench.map_or("–".to_owned(), |t| format!("{t:.0} tps"))
        );
        rows.push(Row {
            clients,
            raw,
            pgbench,
            api,
            batch,
        });
    }
    let latency = server.sse_latency().await?;
    println!(
        "  commit → hint with {IDLE_SUBSCRIBERS} idle subscribers: p50 {:.1} ms, p99 {:.1} ms",
        latency.0, latency.1
    );
    let fanout = server.sse_fanout().await?;
    println!(
        "  commit → hint at all of {IDLE_SUBSCRIBERS} subscribers: p50 {:.1} ms, p99 {:.1} ms",
        fanout.0, fanout.1
    );
    server.stop().await;
    Ok(BackendReport {
        name,
        rows,
        latency,
        fanout,
    })
}

/// The baseline: each client INSERTs one row per transaction, as fast as it can, at the same
/// durability as Cairn (SQLite WAL + synchronous=FULL; PostgreSQL defaults).
async fn raw_commits(url: &str, clients: usize, phase: Duration) -> Result<f64> {
    let db = Arc::new(api::db::Db::connect(url).await?);
    sqlx::query("CREATE TABLE IF NOT EXISTS bench_raw (id BIGINT NOT NULL, payload TEXT NOT NULL)")
        .execute(&db.pool)
        .await?;
    let done = Arc::new(AtomicUsize::new(0));
    let started = Instant::now();
    let tasks: Vec<_> = (0..clients)
        .map(|c| {
            let db = Arc::clone(&db);
            let done = Arc::clone(&done);
            tokio::spawn(async move {
                let mut i = 0i64;
                while started.elapsed() < phase {
                    let mut w = db.write().await?;
                    sqlx::query("INSERT INTO bench_raw (id, payload) VALUES ($1, $2)")
                        .bind(c as i64 * 1_000_000_000 + i)
                        .bind("a row the size of a small change entry")
                        .execute(&mut *w.tx)
                        .await?;
                    w.commit().await?;
                    done.fetch_add(1, Ordering::Relaxed);
                    i += 1;
                }
                anyhow::Ok(())
            })
        })
        .collect();
    for t in tasks {
        t.await??;
    }
    let rate = done.load(Ordering::Relaxed) as f64 / started.elapsed().as_secs_f64();
    db.pool.close().await;
    Ok(rate)
}

fn pgbench(db: &TempDb, clients: usize, phase: Duration) -> Result<Option<f64>> {
    let Ok(bin) = which("pgbench") else {
        return Ok(None);
    };
    let url = &db.url;
    // The TPC-B tables are made once per run, by the first phase.
    static READY: std::sync::atomic::AtomicBool = std::sync::atomic::AtomicBool::new(false);
    if !READY.swap(true, Ordering::Relaxed) {
        let s = std::process::Command::new(&bin)
            .args(["-i", "-s", "1", "-q", url])
            .output()?;
        if !s.status.success() {
            bail!("pgbench -i failed: {}", String::from_utf8_lossy(&s.stderr));
        }
    }
    let out = std::process::Command::new(&bin)
        .args([
            "-c",
            &clients.to_string(),
            "-j",
            "2",
            "-T",
            &phase.as_secs().max(1).to_string(),
            url,
        ])
        .output()?;
    let text = String::from_utf8_lossy(&out.stdout);
    let tps = text
        .lines()
        .find(|l| l.starts_with("tps = "))
        .and_then(|l| l[6..].split_whitespace().next())
        .and_then(|v| v.parse().ok());
    if tps.is_none() {
        bail!(
            "cannot read pgbench output: {text}{}",
            String::from_utf8_lossy(&out.stderr)
        );
    }
    Ok(tps)
}

fn which(name: &str) -> Result<std::path::PathBuf> {
    std::env::var_os("PATH")
        .into_iter()
        .flat_map(|p| std::env::split_paths(&p).collect::<Vec<_>>())
        .map(|d| d.join(name))
        .find(|p| p.is_file())
        .context("not found")
}

/// A Cairn server in this process on a free loopback port.
struct Server {
    base: String,
    http: Client,
    db: Arc<api::db::Db>,
    state: api::AppState,
    stop: tokio::sync::oneshot::Sender<()>,
    task: tokio::task::JoinHandle<()>,
}

struct BenchUser {
    session: SessionResponse,
    manifest: Manifest,
    /// Upload sessions with all chunks present, ready to commit.
    spare: Vec<String>,
}

impl Server {
    async fn start(url: &str, data_dir: &std::path::Path) -> Result<Server> {
        let settings = api::Settings {
            addr: "127.0.0.1:0".parse()?,
            data_dir: data_dir.to_owned(),
            database_url: Some(url.to_owned()),
            // The benchmark signs up and in far more often than a person could.
            signup_rate_per_ip: "1000000/1".parse().map_err(anyhow::Error::msg)?,
            signin_rate_per_ip: "1000000/1".parse().map_err(anyhow::Error::msg)?,
            account_rate: "1000000/1".parse().map_err(anyhow::Error::msg)?,
            // The fan-out measure holds all its streams as one user, past the usual cap.
            sse_max_per_user: IDLE_SUBSCRIBERS + 16,
            ..api::Settings::default()
        };
        let listener = tokio::net::TcpListener::bind(settings.addr).await?;
        let base = format!("http://{}", listener.local_addr()?);
        let state = api::build_state(settings).await?;
        let db = Arc::clone(&state.db);
        let (stop, rx) = tokio::sync::oneshot::channel::<()>();
        let serving = state.clone();
        let task = tokio::spawn(async move {
            let _ = api::serve(serving, listener, async {
                let _ = rx.await;
            })
            .await;
        });
        Ok(Server {
            base,
            http: Client::builder().pool_max_idle_per_host(2048).build()?,
            db,
            state,
            stop,
            task,
        })
    }

    async fn stop(self) {
        let _ = self.stop.send(());
        let _ = tokio::time::timeout(Duration::from_secs(10), self.task).await;
        drop(self.state);
    }

    async fn register(&self, username: &str) -> Result<SessionResponse> {
        let r = self
            .http
            .post(format!("{}/api/v1/accounts", self.base))
            .json(&json!({"username": username, "password": "benchmark password", "device_name": "bench"}))
            .send()
            .await?;
        if !r.status().is_success() {
            bail!("register: {} {}", r.status(), r.text().await?);
        }
        Ok(r.json().await?)
    }

    /// `n` users, each with one verified chunk uploaded through the real protocol.
    async fn users(&self, n: usize, prefix: &str) -> Result<Vec<BenchUser>> {
        let mut out = Vec::new();
        for i in 0..n {
            let session = self.register(&format!("{prefix}{i}")).await?;
            let mut data = vec![0u8; 4096];
            rand::rngs::OsRng.fill_bytes(&mut data);
            let manifest = Manifest::from_chunks(wasm_chunker::chunk_all(&data));
            let up: UploadResponse = self
                .http
                .post(format!("{}/api/v1/uploads", self.base))
                .bearer_auth(&session.token)
                .json(&json!({ "manifest": manifest }))
                .send()
                .await?
                .json()
                .await?;
            for t in &up.missing {
                let r = self
                    .http
                    .put(format!("{}{}", self.base, t.url))
                    .body(data.clone())
                    .send()
                    .await?;
                if !r.status().is_success() {
                    bail!("chunk PUT: {}", r.status());
                }
            }
            out.push(BenchUser {
                session,
                manifest,
                spare: vec![up.upload_id],
            });
        }
        Ok(out)
    }

    /// Adds `per_user` ready upload sessions per user, in one transaction (setup, not timed).
    /// Created round-robin across users, as concurrent clients create them, with the server's
    /// own ids (time-ordered): rows committed together then sit near each other as they would.
    async fn refill(&self, users: &mut [BenchUser], per_user: usize) -> Result<()> {
        let mut w = self.db.write().await?;
        let expires = api::db::now_ms() + 3_600_000;
        let manifests = users
            .iter()
            .map(|u| serde_json::to_string(&u.manifest))
            .collect::<Result<Vec<_>, _>>()?;
        for round in 0..per_user {
            for (u, manifest) in users.iter_mut().zip(&manifests) {
                if round < u.spare.len() {
                    continue;
                }
                let id = api::db::uploads::new_id();
                sqlx::query(
                    "INSERT INTO uploads (id, namespace_id, device_id, manifest, created_at, expires_at) \
                     VALUES ($1, $2, $3, $4, $5, $6)",
                )
                .bind(&id)
                .bind(u.session.namespace_id)
                .bind(u.session.device_id)
                .bind(manifest)
                .bind(api::db::now_ms())
                .bind(expires)
                .execute(&mut *w.tx)
                .await?;
                u.spare.push(id);
            }
        }
        w.commit().await?;
        Ok(())
    }

    fn batches(&self) -> (f64, f64) {
        let text = self.state.metrics.render();
        let get = |name: &str| {
            text.lines()
                .find_map(|l| l.strip_prefix(name))
                .and_then(|v| v.trim().parse::<f64>().ok())
                .unwrap_or(0.0)
        };
        (
            get("cairn_commit_batch_size_sum "),
            get("cairn_commit_batch_size_count "),
        )
    }

    /// Each client commits new files back to back for `phase`; returns commits/s and the mean
    /// commits per transaction.
    async fn commits(&self, users: &[BenchUser], phase: Duration) -> Result<(f64, f64)> {
        let clients = users.len();
        // Enough sessions that nobody runs dry: generous for ~20k commits/s in total.
        let per_user = ((25_000.0 * phase.as_secs_f64()) as usize / clients).clamp(200, 20_000);
        let mut ready: Vec<BenchUser> = users
            .iter()
            .map(|u| BenchUser {
                session: u.session.clone(),
                manifest: u.manifest.clone(),
                spare: vec![],
            })
            .collect();
        self.refill(&mut ready, per_user).await?;
        // PostgreSQL plans from statistics that autovacuum keeps fresh on a running server; a
        // database a few seconds old, grown from empty, still has those of its first rows, and
        // its plans scan whole tables (the batch's reads took 8-20 ms instead of under 1).
        if self.db.backend == api::db::Backend::Postgres {
            sqlx::query("ANALYZE").execute(&self.db.pool).await?;
        }
        let (sum0, count0) = self.batches();
        println!("  {clients:>2} clients: timed commits start");
        let done = Arc::new(AtomicUsize::new(0));
        let started = Instant::now();
        let tasks: Vec<_> = ready
            .into_iter()
            .enumerate()
            .map(|(c, u)| {
                let http = self.http.clone();
                let base = self.base.clone();
                let done = Arc::clone(&done);
                tokio::spawn(async move {
                    for (i, id) in u.spare.iter().enumerate() {
                        if started.elapsed() >= phase {
                            break;
                        }
                        let r = http
                            .post(format!("{base}/api/v1/commits"))
                            .bearer_auth(&u.session.token)
                            .json(&json!({"upload_id": id, "parent_id": u.session.root_id,
                                "name": format!("c{clients}-{c}-{i}"), "base_version": null,
                                "idempotency_key": id}))
                            .send()
                            .await?;
                        if !r.status().is_success() {
                            bail!("commit: {} {}", r.status(), r.text().await?);
                        }
                        done.fetch_add(1, Ordering::Relaxed);
                    }
                    anyhow::Ok(())
                })
            })
            .collect();
        for t in tasks {
            t.await??;
        }
        let rate = done.load(Ordering::Relaxed) as f64 / started.elapsed().as_secs_f64();
        let (sum1, count1) = self.batches();
        Ok((rate, (sum1 - sum0) / (count1 - count0).max(1.0)))
    }

    /// 1,000 idle streams (another user's namespace) plus one listening device: time from
    /// sending a commit on one device to the hint arriving on the other.
    async fn sse_latency(&self) -> Result<(f64, f64, f64)> {
        let idle = self.register("idle").await?;
        let mut idle_streams = Vec::new();
        for _ in 0..IDLE_SUBSCRIBERS {
            idle_streams.push(self.open_events(&idle.token).await?);
        }
        let mut users = self.users(1, "latency").await?;
        let laptop = users.remove(0);
        let phone = self.login("latency0", "phone").await?;
        let mut stream = self.open_events(&phone.token).await?;
        let mut buf = String::new();
        // The stream first announces where the namespace is (its chunk upload made no change).
        let mut laptop_ready = vec![laptop];
        self.refill(&mut laptop_ready, LATENCY_SAMPLES).await?;
        let laptop = laptop_ready.remove(0);
        let mut samples = Vec::new();
        for (i, id) in laptop.spare.iter().enumerate().take(LATENCY_SAMPLES) {
            let t0 = Instant::now();
            let r = self
                .http
                .post(format!("{}/api/v1/commits", self.base))
                .bearer_auth(&laptop.session.token)
                .json(
                    &json!({"upload_id": id, "parent_id": laptop.session.root_id,
                    "name": format!("lat-{i}"), "base_version": null, "idempotency_key": id}),
                )
                .send()
                .await?;
            if !r.status().is_success() {
                bail!("commit: {}", r.status());
            }
            let want = (i + 1) as i64;
            loop {
                let id = next_event_id(&mut stream, &mut buf).await?;
                if id >= want {
                    break;
                }
            }
            samples.push(t0.elapsed().as_secs_f64() * 1000.0);
        }
        drop(idle_streams);
        Ok(percentiles(samples))
    }

    /// 1,000 streams on the committing user's namespace: time from sending a commit until each
    /// stream has the hint (fan-out), over all streams and commits.
    async fn sse_fanout(&self) -> Result<(f64, f64)> {
        let mut users = self.users(1, "fanout").await?;
        self.refill(&mut users, 20).await?;
        let user = users.remove(0);
        let (tx, mut rx) = tokio::sync::mpsc::unbounded_channel::<(i64, Instant)>();
        let mut readers = Vec::new();
        for _ in 0..IDLE_SUBSCRIBERS {
            let mut stream = self.open_events(&user.session.token).await?;
            let tx = tx.clone();
            readers.push(tokio::spawn(async move {
                let mut buf = String::new();
                while let Ok(id) = next_event_id(&mut stream, &mut buf).await {
                    if tx.send((id, Instant::now())).is_err() {
                        break;
                    }
                }
            }));
        }
        drop(tx);
        let mut samples = Vec::new();
        for (i, id) in user.spare.iter().enumerate().take(20) {
            let t0 = Instant::now();
            let r = self
                .http
                .post(format!("{}/api/v1/commits", self.base))
                .bearer_auth(&user.session.token)
                .json(&json!({"upload_id": id, "parent_id": user.session.root_id,
                    "name": format!("fan-{i}"), "base_version": null, "idempotency_key": id}))
                .send()
                .await?;
            if !r.status().is_success() {
                bail!("commit: {}", r.status());
            }
            let want = (i + 1) as i64;
            let mut got = 0;
            while got < IDLE_SUBSCRIBERS {
                let (id, at) = tokio::time::timeout(Duration::from_secs(10), rx.recv())
                    .await
                    .context("fan-out hint timed out")?
                    .context("readers ended")?;
                if id >= want {
                    got += 1;
                    samples.push(at.duration_since(t0).as_secs_f64() * 1000.0);
                }
            }
        }
        for r in readers {
            r.abort();
        }
        let (p50, p99, _) = percentiles(samples);
        Ok((p50, p99))
    }

    async fn login(&self, username: &str, device: &str) -> Result<SessionResponse> {
        let r = self
            .http
            .post(format!("{}/api/v1/sessions", self.base))
            .json(&json!({"username": username, "password": "benchmark password", "device_name": device}))
            .send()
            .await?;
        Ok(r.error_for_status()?.json().await?)
    }

    async fn open_events(&self, token: &str) -> Result<reqwest::Response> {
        // One connection per stream, as separate browsers would have.
        let r = Client::new()
            .get(format!("{}/api/v1/events", self.base))
            .bearer_auth(token)
            .send()
            .await?;
        Ok(r.error_for_status()?)
    }
}

/// Reads frames until the next event and returns its id (keep-alives are skipped).
async fn next_event_id(stream: &mut reqwest::Response, buf: &mut String) -> Result<i64> {
    loop {
        while let Some(end) = buf.find("\n\n") {
            let block: String = buf.drain(..end + 2).collect();
            if let Some(id) = block.lines().find_map(|l| l.strip_prefix("id:")) {
                return Ok(id.trim().parse()?);
            }
        }
        let chunk = tokio::time::timeout(Duration::from_secs(10), stream.chunk())
            .await
            .context("no hint within 10 s")??
            .context("stream ended")?;
        buf.push_str(std::str::from_utf8(&chunk)?);
    }
}

fn percentiles(mut v: Vec<f64>) -> (f64, f64, f64) {
    v.sort_by(|a, b| a.total_cmp(b));
    let at = |q: f64| v[((v.len() as f64 * q).ceil() as usize).clamp(1, v.len()) - 1];
    (at(0.50), at(0.99), *v.last().unwrap_or(&0.0))
}
