//! `cargo xtask bench-scale` (= `cargo run --release -p api --example bench_scale`): how far one
//! API node goes, each figure beside its baseline from the same run:
//! 1. idle event streams held by one node, and the server's memory per stream, against a bare
//!    axum SSE server holding as many (`SCALE_STREAMS`, default 10,000);
//! 2. commit → hint latency at one stream while 1,000 and then all of them receive every hint;
//! 3. commits per second on PostgreSQL through one API node and through two;
//! 4. a loopback soak (`SOAK_SECS`, default 600) of simulated sync clients — uploads, listings,
//!    feed pulls, an event stream each — counting 5xx and sampling the server's memory.
//!
//! Servers run as child processes (this binary re-run with `--child`), so their memory is
//! theirs alone: `VmRSS` of `/proc/<pid>/status`.

use std::io::{BufRead, BufReader};
use std::process::{Child, Command, Stdio};
use std::sync::atomic::{AtomicU64, AtomicUsize, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use anyhow::{bail, Context, Result};
use rand::RngCore;
use reqwest::Client;
use serde_json::{json, Value};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;
use wire::{Manifest, SessionResponse, UploadResponse};

mod support;

#[tokio::main]
async fn main() -> Result<()> {
    let args: Vec<String> = std::env::args().collect();
    if args.get(1).map(String::as_str) == Some("--child") {
        return child(&args[2..]).await;
    }
    let streams: usize = env_or("SCALE_STREAMS", 10_000);
    if std::env::var("SCALE_ONLY").as_deref() == Ok("idle-hints") {
        return idle_hints(streams).await;
    }
    let soak = Duration::from_secs(env_or("SOAK_SECS", 600));
    let phase = Duration::from_secs(env_or("BENCH_SECS", 10));

    println!("# idle event streams: {streams}");
    let bare = Served::start(&["bare"])?;
    let bare_kib = stream_memory(&bare, None, streams).await?.0;
    drop(bare);
    let dir = tempfile::tempdir()?;
    let cairn = Served::start(&["cairn", &sqlite_url(dir.path()), path(dir.path())])?;
    let http = Client::new();
    let user = register(&http, &cairn.base, "streams").await?;
    let (cairn_kib, held) = stream_memory(&cairn, Some(&user.token), streams).await?;
    println!(
        "  per stream: Cairn {cairn_kib:.1} KiB, bare axum {bare_kib:.1} KiB: {:.2}×",
        cairn_kib / bare_kib
    );

    println!("# commit → hint at one stream while every stream hears every hint");
    let (p50, p99) = hint_latency(&http, &cairn.base, &user, 200).await?;
    println!("  {streams} streams: p50 {p50:.1} ms, p99 {p99:.1} ms");
    drop(held.into_iter().skip(1000).collect::<Vec<_>>());
    tokio::time::sleep(Duration::from_secs(1)).await;
    let (p50, p99) = hint_latency(&http, &cairn.base, &user, 200).await?;
    println!("  1000 streams: p50 {p50:.1} ms, p99 {p99:.1} ms");
    drop(cairn);

    println!("# commits/s on PostgreSQL, 64 clients, {phase:?} each");
    let pg = support::TempDb::create(&support::pg_admin_url()).await?;
    let result = nodes_compared(&pg.url, phase).await;
    pg.drop_now().await;
    let (one, two) = result?;
    println!(
        "  one node {one:.0}/s, two nodes {two:.0}/s: {:.2}×",
        two / one
    );

    println!("# soak: {soak:?}");
    let dir = tempfile::tempdir()?;
    let server = Served::start(&["cairn", &sqlite_url(dir.path()), path(dir.path())])?;
    soak_run(&server, soak).await?;
    Ok(())
}

/// Commit → hint at one device while `streams` streams of 100 other accounts stay idle (a
/// node's usual load: hints go to the few devices that follow the tree that changed).
async fn idle_hints(streams: usize) -> Result<()> {
    let dir = tempfile::tempdir()?;
    let cairn = Served::start(&["cairn", &sqlite_url(dir.path()), path(dir.path())])?;
    let http = Client::new();
    let mut held = Vec::with_capacity(streams);
    for u in 0..100 {
        let other = register(&http, &cairn.base, &format!("idle{u}")).await?;
        for _ in 0..streams / 100 {
            held.push(open_stream(cairn.addr(), Some(&other.token), None).await?);
        }
    }
    let user = register(&http, &cairn.base, "probe").await?;
    let (p50, p99) = hint_latency(&http, &cairn.base, &user, 200).await?;
    println!("# commit → hint at one device beside {streams} idle streams of 100 other accounts: p50 {p50:.1} ms, p99 {p99:.1} ms");
    drop(held);
    Ok(())
}

fn env_or<T: std::str::FromStr>(name: &str, default: T) -> T {
    std::env::var(name)
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(default)
}

fn sqlite_url(dir: &std::path::Path) -> String {
    format!("sqlite://{}?mode=rwc", dir.join("cairn.db").display())
}

fn path(dir: &std::path::Path) -> &str {
    dir.to_str().expect("a UTF-8 temp path")
}

/// The child: `bare` (an axum SSE server, nothing else) or `cairn URL DIR`; prints its
/// address, serves until its parent closes stdin.
async fn child(args: &[String]) -> Result<()> {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await?;
    let addr = listener.local_addr()?;
    let stop = async {
        let _ = tokio::task::spawn_blocking(|| {
            let mut sink = String::new();
            let _ = std::io::stdin().read_line(&mut sink);
        })
        .await;
    };
    match args.first().map(String::as_str) {
        Some("bare") => {
            use axum::response::sse::{Event, KeepAlive, Sse};
            let app = axum::Router::new().route(
                "/api/v1/events",
                axum::routing::get(|| async {
                    Sse::new(futures::stream::pending::<
                        Result<Event, std::convert::Infallible>,
                    >())
                    .keep_alive(KeepAlive::new().interval(Duration::from_secs(15)))
                }),
            );
            println!("listening http://{addr}");
            axum::serve(listener, app)
                .with_graceful_shutdown(stop)
                .await?;
        }
        Some("cairn") => {
            let fast = "1000000/1".parse().map_err(anyhow::Error::msg)?;
            let settings = api::Settings {
                addr,
                database_url: Some(args[1].clone()),
                data_dir: args[2].clone().into(),
                signup_rate_per_ip: fast,
                signin_rate_per_ip: fast,
                account_rate: fast,
                sse_max_per_user: 1_000_000,
                ..api::Settings::default()
            };
            let state = api::build_state(settings).await?;
            println!("listening http://{addr}");
            api::serve(state, listener, stop).await?;
        }
        other => bail!("unknown child {other:?}"),
    }
    Ok(())
}

/// A child server process, stopped on drop.
struct Served {
    child: Child,
    base: String,
}

impl Served {
    fn start(args: &[&str]) -> Result<Served> {
        let mut child = Command::new(std::env::current_exe()?)
            .arg("--child")
            .args(args)
            .env("RUST_LOG", "error")
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::inherit())
            .spawn()?;
        let mut line = String::new();
        BufReader::new(child.stdout.take().context("stdout")?).read_line(&mut line)?;
        let base = line
            .trim()
            .strip_prefix("listening ")
            .context("the child did not start")?
            .to_owned();
        Ok(Served { child, base })
    }

    /// Resident memory, KiB.
    fn rss_kib(&self) -> Result<f64> {
        let status = std::fs::read_to_string(format!("/proc/{}/status", self.child.id()))?;
        let kib = status
            .lines()
            .find_map(|l| l.strip_prefix("VmRSS:"))
            .context("no VmRSS")?
            .trim()
            .trim_end_matches("kB")
            .trim()
            .parse()?;
        Ok(kib)
    }

    fn addr(&self) -> &str {
        self.base.trim_start_matches("http://")
    }
}

impl Drop for Served {
    fn drop(&mut self) {
        drop(self.child.stdin.take());
        let deadline = Instant::now() + Duration::from_secs(10);
        while Instant::now() < deadline {
            if let Ok(Some(_)) = self.child.try_wait() {
                return;
            }
            std::thread::sleep(Duration::from_millis(50));
        }
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// One event stream on its own connection, its frames read (and counted) by a task until the
/// handle drops.
struct Stream(tokio::task::JoinHandle<()>);

impl Drop for Stream {
    fn drop(&mut self) {
        self.0.abort();
    }
}

/// Opens an event stream; `ids` (if any) gets the id of every event it hears.
async fn open_stream(
    addr: &str,
    token: Option<&str>,
    ids: Option<tokio::sync::mpsc::UnboundedSender<(i64, Instant)>>,
) -> Result<Stream> {
    let mut tcp = TcpStream::connect(addr).await?;
    let auth = token.map_or(String::new(), |t| format!("authorization: Bearer {t}\r\n"));
    tcp.write_all(format!("GET /api/v1/events HTTP/1.1\r\nhost: {addr}\r\n{auth}\r\n").as_bytes())
        .await?;
    let mut head = Vec::new();
    let mut byte = [0u8; 1];
    while !head.ends_with(b"\r\n\r\n") {
        if tcp.read(&mut byte).await? == 0 {
            bail!("the stream closed before its head");
        }
        head.push(byte[0]);
    }
    if !head.starts_with(b"HTTP/1.1 200") {
        bail!("stream refused: {}", String::from_utf8_lossy(&head));
    }
    Ok(Stream(tokio::spawn(async move {
        let mut buf = vec![0u8; 2048];
        let mut text = String::new();
        while let Ok(n) = tcp.read(&mut buf).await {
            if n == 0 {
                return;
            }
            let Some(tx) = &ids else { continue };
            text.push_str(&String::from_utf8_lossy(&buf[..n]));
            while let Some(end) = text.find("\n\n") {
                let frame: String = text.drain(..end + 2).collect();
                let id = frame
                    .lines()
                    .find_map(|l| l.strip_prefix("id: "))
                    .and_then(|v| v.trim().parse().ok());
                if let Some(id) = id {
                    let _ = tx.send((id, Instant::now()));
                }
            }
        }
    })))
}

/// Opens `n` streams on `server`; answers the memory per stream (KiB) and the streams.
async fn stream_memory(
    server: &Served,
    token: Option<&str>,
    n: usize,
) -> Result<(f64, Vec<Stream>)> {
    tokio::time::sleep(Duration::from_millis(500)).await;
    let before = server.rss_kib()?;
    let mut held = Vec::with_capacity(n);
    let started = Instant::now();
    for _ in 0..n {
        held.push(open_stream(server.addr(), token, None).await?);
    }
    let opened = started.elapsed();
    // Keep-alives have gone out on every stream at least once.
    tokio::time::sleep(Duration::from_secs(16)).await;
    let after = server.rss_kib()?;
    println!(
        "  {n} streams opened in {opened:.1?}; server RSS {:.0} → {:.0} MiB",
        before / 1024.0,
        after / 1024.0
    );
    Ok(((after - before) / n as f64, held))
}

async fn register(http: &Client, base: &str, name: &str) -> Result<SessionResponse> {
    let r = http
        .post(format!("{base}/api/v1/accounts"))
        .json(&json!({"username": name, "password": "benchmark password", "device_name": "bench"}))
        .send()
        .await?;
    if !r.status().is_success() {
        bail!("register: {} {}", r.status(), r.text().await?);
    }
    Ok(r.json().await?)
}

/// Uploads `data` (chunks PUT to their signed URLs) and commits it as `name` over `base`.
async fn put_file(
    http: &Client,
    base: &str,
    user: &SessionResponse,
    name: &str,
    data: &[u8],
    base_version: Option<i64>,
) -> Result<(reqwest::StatusCode, Option<Value>)> {
    let manifest = Manifest::from_chunks(wasm_chunker::chunk_all(data));
    let r = http
        .post(format!("{base}/api/v1/uploads"))
        .bearer_auth(&user.token)
        .json(&json!({ "manifest": manifest }))
        .send()
        .await?;
    if !r.status().is_success() {
        return Ok((r.status(), None));
    }
    let up: UploadResponse = r.json().await?;
    for t in &up.missing {
        let c = manifest
            .chunks
            .iter()
            .find(|c| c.hash == t.hash)
            .context("a missing chunk the manifest lacks")?;
        let bytes = data[c.offset as usize..(c.offset + u64::from(c.size)) as usize].to_vec();
        let r = http
            .put(format!("{base}{}", t.url))
            .body(bytes)
            .send()
            .await?;
        if !r.status().is_success() {
            return Ok((r.status(), None));
        }
    }
    let r = http
        .post(format!("{base}/api/v1/commits"))
        .bearer_auth(&user.token)
        .json(
            &json!({"upload_id": up.upload_id, "parent_id": user.root_id, "name": name,
            "base_version": base_version, "idempotency_key": up.upload_id}),
        )
        .send()
        .await?;
    let status = r.status();
    Ok((status, r.json().await.ok()))
}

/// `samples` commits one after another; for each, the time from sending it to its hint at a
/// fresh probe stream (while the streams already open hear it too). p50 and p99, ms.
async fn hint_latency(
    http: &Client,
    base: &str,
    user: &SessionResponse,
    samples: usize,
) -> Result<(f64, f64)> {
    let (tx, mut rx) = tokio::sync::mpsc::unbounded_channel();
    let _probe = open_stream(
        base.trim_start_matches("http://"),
        Some(&user.token),
        Some(tx),
    )
    .await?;
    // A new stream may first hear where the log stands; what comes later is news.
    tokio::time::sleep(Duration::from_millis(500)).await;
    let mut last = 0;
    while let Ok((id, _)) = rx.try_recv() {
        last = last.max(id);
    }
    let mut ms = Vec::with_capacity(samples);
    let mut data = vec![0u8; 256];
    for i in 0..samples {
        rand::rngs::OsRng.fill_bytes(&mut data);
        let t0 = Instant::now();
        let name = format!("hint-{i}-{}", hex::encode(&data[..4]));
        let (status, _) = put_file(http, base, user, &name, &data, None).await?;
        if !status.is_success() {
            bail!("commit: {status}");
        }
        // Each commit is one change of the log: the next id past `last` is its hint.
        loop {
            let (id, at) = tokio::time::timeout(Duration::from_secs(30), rx.recv())
                .await
                .context("no hint within 30 s")?
                .context("the probe stream ended")?;
            if id > last {
                last = id;
                ms.push(at.duration_since(t0).as_secs_f64() * 1000.0);
                break;
            }
        }
    }
    ms.sort_by(f64::total_cmp);
    let at = |q: f64| ms[((ms.len() - 1) as f64 * q).round() as usize];
    Ok((at(0.5), at(0.99)))
}

/// 64 clients committing new files for `phase` through one node, then through two nodes on
/// the same database (half the clients each). Commits per second of each.
async fn nodes_compared(url: &str, phase: Duration) -> Result<(f64, f64)> {
    let dirs = [tempfile::tempdir()?, tempfile::tempdir()?];
    let nodes = [
        Served::start(&["cairn", url, path(dirs[0].path())])?,
        Served::start(&["cairn", url, path(dirs[1].path())])?,
    ];
    let http = Client::builder().pool_max_idle_per_host(256).build()?;
    let mut users = Vec::new();
    for i in 0..64 {
        users.push(register(&http, &nodes[0].base, &format!("c{i}")).await?);
    }
    let mut rates = Vec::new();
    for spread in [1, 2] {
        let done = Arc::new(AtomicUsize::new(0));
        let until = Instant::now() + phase;
        let tasks: Vec<_> = users
            .iter()
            .enumerate()
            .map(|(i, u)| {
                let (http, u, done) = (http.clone(), u.clone(), done.clone());
                let base = nodes[i % spread].base.clone();
                tokio::spawn(async move {
                    let mut n = 0u64;
                    while Instant::now() < until {
                        let name = format!("n{spread}-{n}");
                        let (status, _) =
                            put_file(&http, &base, &u, &name, name.as_bytes(), None).await?;
                        if !status.is_success() {
                            bail!("commit: {status}");
                        }
                        n += 1;
                        done.fetch_add(1, Ordering::Relaxed);
                    }
                    Ok(())
                })
            })
            .collect();
        for t in tasks {
            t.await??;
        }
        let rate = done.load(Ordering::Relaxed) as f64 / phase.as_secs_f64();
        println!("  {spread} node(s): {rate:.0} commits/s");
        rates.push(rate);
    }
    Ok((rates[0], rates[1]))
}

/// 16 devices, each holding an event stream and looping: a new version of one of its 20
/// files, a listing of the root, a feed pull. Counts 5xx and errors; samples the server's RSS.
async fn soak_run(server: &Served, length: Duration) -> Result<()> {
    let http = Client::builder().pool_max_idle_per_host(64).build()?;
    let fives = Arc::new(AtomicU64::new(0));
    let errors = Arc::new(AtomicU64::new(0));
    let ops = Arc::new(AtomicU64::new(0));
    let until = Instant::now() + length;
    let mut tasks = Vec::new();
    for d in 0..16 {
        let user = register(&http, &server.base, &format!("soak{d}")).await?;
        let stream = open_stream(server.addr(), Some(&user.token), None).await?;
        let (http, base) = (http.clone(), server.base.clone());
        let (fives, errors, ops) = (fives.clone(), errors.clone(), ops.clone());
        tasks.push(tokio::spawn(async move {
            let _stream = stream;
            let mut versions = [None::<i64>; 20];
            let mut cursor: Option<String> = None;
            let mut data = vec![0u8; 8192];
            let mut i = 0usize;
            while Instant::now() < until {
                rand::rngs::OsRng.fill_bytes(&mut data);
                let slot = i % 20;
                let mut statuses = Vec::new();
                match put_file(
                    &http,
                    &base,
                    &user,
                    &format!("f{slot}"),
                    &data,
                    versions[slot],
                )
                .await
                {
                    Ok((s, body)) => {
                        statuses.push(s);
                        if let Some(v) = body.as_ref().and_then(|b| b["version_id"].as_i64()) {
                            versions[slot] = Some(v);
                        }
                    }
                    Err(_) => {
                        errors.fetch_add(1, Ordering::Relaxed);
                    }
                }
                let feed = match &cursor {
                    Some(c) => format!("{base}/api/v1/changes?cursor={c}&limit=500"),
                    None => format!("{base}/api/v1/changes?limit=500"),
                };
                let calls = [
                    format!("{base}/api/v1/nodes/{}/children", user.root_id),
                    feed,
                ];
                for (k, url) in calls.iter().enumerate() {
                    match http.get(url).bearer_auth(&user.token).send().await {
                        Ok(r) => {
                            statuses.push(r.status());
                            if k == 1 {
                                if let Ok(v) = r.json::<Value>().await {
                                    if let Some(c) = v["cursor"].as_str() {
                                        cursor = Some(c.to_owned());
                                    }
                                }
                            }
                        }
                        Err(_) => {
                            errors.fetch_add(1, Ordering::Relaxed);
                        }
                    }
                }
                for s in statuses {
                    if s.is_server_error() {
                        fives.fetch_add(1, Ordering::Relaxed);
                    }
                }
                ops.fetch_add(1, Ordering::Relaxed);
                i += 1;
                tokio::time::sleep(Duration::from_millis(20)).await;
            }
        }));
    }
    let started = Instant::now();
    let mut samples = Vec::new();
    while Instant::now() < until {
        tokio::time::sleep(Duration::from_secs(10).min(until - Instant::now())).await;
        let rss = server.rss_kib()? / 1024.0;
        let t = started.elapsed().as_secs();
        println!(
            "  {t:>4} s: RSS {rss:.1} MiB, {} rounds, {} 5xx, {} errors",
            ops.load(Ordering::Relaxed),
            fives.load(Ordering::Relaxed),
            errors.load(Ordering::Relaxed)
        );
        samples.push((t, rss));
    }
    for t in tasks {
        t.await?;
    }
    // Minute 2 and the end (for the default 10 minutes: minute 10), or the first and last
    // fifths of a shorter run.
    let early = samples
        .iter()
        .find(|(t, _)| *t as f64 >= length.as_secs_f64() / 5.0)
        .or(samples.first())
        .context("no sample")?;
    let last = samples.last().context("no sample")?;
    println!(
        "  soak: {} rounds, {} 5xx, {} errors; RSS at {} s {:.1} MiB, at {} s {:.1} MiB: {:+.1} %",
        ops.load(Ordering::Relaxed),
        fives.load(Ordering::Relaxed),
        errors.load(Ordering::Relaxed),
        early.0,
        early.1,
        last.0,
        last.1,
        (last.1 / early.1 - 1.0) * 100.0
    );
    Ok(())
}
