//! `cargo xtask bench-share`: download MB/s of one file through a public share link
//! (`/s/{token}/download`: chunks read from the store, each BLAKE3-checked, streamed) against
//! the same bytes served as a static file by tower-http's `ServeDir` from a temp file, in the
//! same process and run, alternating which goes first, several rounds; on the local chunk
//! store and on a throwaway Garage. The owner's `/api/v1/nodes/{id}/content` is measured too,
//! and a link with a download limit (every piece charged to its budget in the database).
//!
//! `CAIRN_BENCH_MIB` sets the size (1024), `BENCH_ROUNDS` the rounds (5), `BENCH_ONLY=local`
//! or `=garage` one store. Figures are medians over the rounds.

// Only some of the test fixture is needed here.
#[allow(dead_code)]
#[path = "../tests/it/garage.rs"]
mod garage;

use std::time::Instant;

use anyhow::{ensure, Context, Result};
use futures::StreamExt;
use serde_json::{json, Value};
use wire::{CommitResponse, Manifest, SessionResponse, UploadResponse};

fn data(len: usize) -> Vec<u8> {
    let mut x: u64 = 0x9E37_79B9_7F4A_7C15;
    let mut out = Vec::with_capacity(len + 8);
    while out.len() < len {
        x ^= x >> 12;
        x ^= x << 25;
        x ^= x >> 27;
        out.extend_from_slice(&x.wrapping_mul(0x2545_F491_4F6C_DD1D).to_le_bytes());
    }
    out.truncate(len);
    out
}

/// GETs `url` and drains the body; answers the seconds it took.
async fn fetch(http: &reqwest::Client, url: &str, bearer: Option<&str>, len: usize) -> Result<f64> {
    let t = Instant::now();
    let mut req = http.get(url);
    if let Some(b) = bearer {
        req = req.bearer_auth(b);
    }
    let mut r = req.send().await?.error_for_status()?;
    let mut n = 0usize;
    while let Some(c) = r.chunk().await? {
        n += c.len();
    }
    let secs = t.elapsed().as_secs_f64();
    ensure!(n == len, "{url}: {n} bytes, not {len}");
    Ok(secs)
}

fn median(mut v: Vec<f64>) -> f64 {
    v.sort_by(f64::total_cmp);
    v[v.len() / 2]
}

/// A Cairn server on a free port over `s3` (or a temp chunk directory), with `file` uploaded
/// and shared: (base URL, owner token, node id, link tokens (unlimited, limited), guards).
async fn cairn_with(
    file: &[u8],
    s3: Option<api::settings::S3Settings>,
) -> Result<(String, String, i64, Vec<String>, Server)> {
    let dir = tempfile::tempdir()?;
    let settings = api::Settings {
        addr: "127.0.0.1:0".parse()?,
        data_dir: dir.path().to_owned(),
        s3,
        gc_interval: std::time::Duration::ZERO,
        ..api::Settings::default()
    };
    let listener = tokio::net::TcpListener::bind(settings.addr).await?;
    let base = format!("http://{}", listener.local_addr()?);
    let state = api::build_state(settings).await?;
    let (stop, stopped) = tokio::sync::oneshot::channel::<()>();
    let task = tokio::spawn(api::serve(state, listener, async {
        let _ = stopped.await;
    }));
    let http = reqwest::Client::new();
    let session: SessionResponse = http
        .post(format!("{base}/api/v1/accounts"))
        .json(&json!({"username": "bench", "password": "correct horse", "device_name": "bench"}))
        .send()
        .await?
        .error_for_status()?
        .json()
        .await?;
    let token = session.token.clone();
    let manifest = Manifest::from_chunks(wasm_chunker::chunk_all(file));
    let up: UploadResponse = http
        .post(format!("{base}/api/v1/uploads"))
        .bearer_auth(&token)
        .json(&json!({ "manifest": manifest }))
        .send()
        .await?
        .error_for_status()?
        .json()
        .await?;
    let puts = futures::stream::iter(up.missing.iter().map(|target| {
        let c = *manifest
            .chunks
            .iter()
            .find(|c| c.hash == target.hash)
            .expect("a missing chunk is in the manifest");
        let body = bytes::Bytes::copy_from_slice(
            &file[c.offset as usize..(c.offset + c.size as u64) as usize],
        );
        let (http, base) = (http.clone(), base.clone());
        let url = if target.url.starts_with('/') {
            format!("{base}{}", target.url)
        } else {
            target.url.clone()
        };
        async move {
            http.put(url)
                .body(body)
                .send()
                .await?
                .error_for_status()
                .map(|_| ())
        }
    }))
    .buffer_unordered(6)
    .collect::<Vec<_>>()
    .await;
    for p in puts {
        p.context("chunk PUT")?;
    }
    let commit: CommitResponse = http
        .post(format!("{base}/api/v1/commits"))
        .bearer_auth(&token)
        .json(
            &json!({"upload_id": up.upload_id, "parent_id": session.root_id, "name": "big.bin",
                      "base_version": null, "idempotency_key": up.upload_id}),
        )
        .send()
        .await?
        .error_for_status()?
        .json()
        .await?;
    let mut links = Vec::new();
    // One link without a limit, one whose limit (far away) makes every piece a charge.
    for body in [
        json!({ "node_id": commit.node.id }),
        json!({ "node_id": commit.node.id, "max_downloads": 1000 }),
    ] {
        let link: Value = http
            .post(format!("{base}/api/v1/links"))
            .bearer_auth(&token)
            .json(&body)
            .send()
            .await?
            .error_for_status()?
            .json()
            .await?;
        links.push(link["token"].as_str().context("a link token")?.to_owned());
    }
    Ok((
        base,
        token,
        commit.node.id,
        links,
        Server {
            stop: Some(stop),
            task,
            _dir: dir,
        },
    ))
}

struct Server {
    stop: Option<tokio::sync::oneshot::Sender<()>>,
    task: tokio::task::JoinHandle<anyhow::Result<()>>,
    _dir: tempfile::TempDir,
}

impl Server {
    async fn stop(mut self) -> Result<()> {
        if let Some(s) = self.stop.take() {
            let _ = s.send(());
        }
        (&mut self.task).await??;
        Ok(())
    }
}

#[tokio::main]
async fn main() -> Result<()> {
    let env = |k: &str, d: usize| -> Result<usize> {
        Ok(std::env::var(k)
            .ok()
            .map(|v| v.parse())
            .transpose()?
            .unwrap_or(d))
    };
    let mib = env("CAIRN_BENCH_MIB", 1024)?;
    let rounds = env("BENCH_ROUNDS", 5)?.max(1);
    let only = std::env::var("BENCH_ONLY").unwrap_or_default();
    let len = mib * 1024 * 1024;
    println!("generating {mib} MiB …");
    let file = data(len);

    // The baseline: the same bytes as a static file, ServeDir on its own port.
    let static_dir = tempfile::tempdir()?;
    std::fs::write(static_dir.path().join("big.bin"), &file)?;
    let app = axum::Router::new().nest_service(
        "/static",
        tower_http::services::ServeDir::new(static_dir.path()),
    );
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await?;
    let static_url = format!("http://{}/static/big.bin", listener.local_addr()?);
    tokio::spawn(async move { axum::serve(listener, app).await });

    let http = reqwest::Client::new();
    let mut rows = Vec::new();
    for store in ["local", "garage"] {
        if !only.is_empty() && only != store {
            continue;
        }
        let g = if store == "garage" {
            Some(garage::Garage::start().await)
        } else {
            None
        };
        println!("{store}: uploading and sharing …");
        let (base, owner, node, tokens, server) =
            cairn_with(&file, g.as_ref().map(|g| g.settings())).await?;
        let share = format!("{base}/s/{}/download", tokens[0]);
        let limited = format!("{base}/s/{}/download", tokens[1]);
        let content = format!("{base}/api/v1/nodes/{node}/content");
        // Warm-up: page cache, connections, allocator.
        fetch(&http, &share, None, len).await?;
        fetch(&http, &static_url, None, len).await?;
        let (mut s, mut c, mut d, mut l) = (Vec::new(), Vec::new(), Vec::new(), Vec::new());
        for round in 0..rounds {
            // Alternate who goes first, so neither always meets a warmer machine.
            if round % 2 == 0 {
                s.push(fetch(&http, &share, None, len).await?);
                d.push(fetch(&http, &static_url, None, len).await?);
            } else {
                d.push(fetch(&http, &static_url, None, len).await?);
                s.push(fetch(&http, &share, None, len).await?);
            }
            c.push(fetch(&http, &content, Some(&owner), len).await?);
            l.push(fetch(&http, &limited, None, len).await?);
            println!(
                "  round {}: share {:.0} MB/s, ServeDir {:.0} MB/s, content {:.0} MB/s, limited link {:.0} MB/s",
                round + 1,
                len as f64 / 1e6 / s[round],
                len as f64 / 1e6 / d[round],
                len as f64 / 1e6 / c[round],
                len as f64 / 1e6 / l[round],
            );
        }
        let mbps = |v: Vec<f64>| len as f64 / 1e6 / median(v);
        rows.push((store, mbps(s), mbps(d), mbps(c), mbps(l)));
        server.stop().await?;
        drop(g);
    }
    println!(
        "\n{mib} MiB, {rounds} rounds (median), client and servers in one process on loopback"
    );
    println!(
        "| chunk store | /s/{{token}}/download MB/s | ServeDir MB/s | ratio | owner /content MB/s | link with a limit MB/s |"
    );
    println!("|---|---|---|---|---|---|");
    for (store, s, d, c, l) in rows {
        println!(
            "| {store} | {s:.0} | {d:.0} | {:.2} | {c:.0} | {l:.0} |",
            s / d
        );
    }
    Ok(())
}
