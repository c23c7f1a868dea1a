//! `cargo xtask bench-s3`: upload and download MB/s of one file through Cairn's pre-signed flow
//! (manifest → PUT missing chunks to staging → commit, which verifies and promotes → download
//! manifest → GET chunks, each hash checked) against plain aws-sdk-s3 put/get of the same bytes
//! to the same Garage, in one run on one machine. `CAIRN_BENCH_MIB` sets the size (1024).

// Only some of the test fixture is needed here.
#[allow(dead_code)]
#[path = "../tests/it/garage.rs"]
mod garage;

use std::sync::Arc;
use std::time::Instant;

use anyhow::{ensure, Context, Result};
use aws_sdk_s3::primitives::ByteStream;
use futures::StreamExt;
use serde_json::json;
use wire::{CommitResponse, DownloadResponse, Manifest, SessionResponse, UploadResponse};

/// Parallel chunk transfers, as the web client does.
const PARALLEL: usize = 6;

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

fn mbps(bytes: usize, secs: f64) -> f64 {
    bytes as f64 / 1e6 / secs
}

#[tokio::main]
async fn main() -> Result<()> {
    let mib: usize = std::env::var("CAIRN_BENCH_MIB")
        .ok()
        .map(|v| v.parse())
        .transpose()?
        .unwrap_or(1024);
    let len = mib * 1024 * 1024;
    let g = garage::Garage::start().await;
    let dir = tempfile::tempdir()?;
    let settings = api::Settings {
        addr: "127.0.0.1:0".parse()?,
        data_dir: dir.path().to_owned(),
        s3: Some(g.settings()),
        gc_interval: std::time::Duration::ZERO,
        ..api::Settings::default()
    };
    let listener = tokio::net::TcpListener::bind(settings.addr).await?;
    let base = format!("http://{}", listener.local_addr()?);
    let state = api::build_state(settings).await?;
    let (stop, stopped) = tokio::sync::oneshot::channel::<()>();
    let server = tokio::spawn(api::serve(state, listener, async {
        let _ = stopped.await;
    }));

    println!("generating {mib} MiB …");
    let file = Arc::new(data(len));
    let http = reqwest::Client::new();

    // Cairn: chunk + hash (what the browser's workers do), then the protocol.
    let t = Instant::now();
    let manifest = Manifest::from_chunks(wasm_chunker::chunk_all(&file));
    let chunk_secs = t.elapsed().as_secs_f64();
    let session: SessionResponse = http
        .post(format!("{base}/api/v1/accounts"))
        .json(&json!({"username": "bench", "password": "correct horse", "device_name": "bench"}))
        .send()
        .await?
        .error_for_status()?
        .json()
        .await?;
    let token = session.token.clone();

    let t = Instant::now();
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
        let http = http.clone();
        let url = target.url.clone();
        async move {
            http.put(url)
                .body(body)
                .send()
                .await?
                .error_for_status()
                .map(|_| ())
        }
    }))
    .buffer_unordered(PARALLEL)
    .collect::<Vec<_>>()
    .await;
    for p in puts {
        p.context("chunk PUT")?;
    }
    let put_secs = t.elapsed().as_secs_f64();
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
    let upload_secs = t.elapsed().as_secs_f64();

    let t = Instant::now();
    let d: DownloadResponse = http
        .get(format!("{base}/api/v1/nodes/{}/download", commit.node.id))
        .bearer_auth(&token)
        .send()
        .await?
        .error_for_status()?
        .json()
        .await?;
    let urls: std::collections::HashMap<_, _> =
        d.chunks.iter().map(|c| (c.hash, c.url.clone())).collect();
    let mut out = vec![0u8; len];
    let gets = futures::stream::iter(d.manifest.chunks.iter().map(|c| {
        let http = http.clone();
        let url = urls[&c.hash].clone();
        let c = *c;
        async move {
            let got = http
                .get(url)
                .send()
                .await?
                .error_for_status()?
                .bytes()
                .await?;
            anyhow::ensure!(
                wasm_chunker::hash_chunk(&got) == c.hash,
                "chunk hash mismatch"
            );
            Ok::<_, anyhow::Error>((c, got))
        }
    }))
    .buffer_unordered(PARALLEL);
    tokio::pin!(gets);
    while let Some(r) = gets.next().await {
        let (c, got) = r?;
        out[c.offset as usize..c.offset as usize + got.len()].copy_from_slice(&got);
    }
    let download_secs = t.elapsed().as_secs_f64();
    ensure!(out == *file, "downloaded bytes differ");
    drop(out);

    // Plain aws-sdk-s3: one PutObject and one GetObject of the same bytes.
    let t = Instant::now();
    g.client
        .put_object()
        .bucket(&g.bucket)
        .key("bench/plain")
        .body(ByteStream::from(bytes::Bytes::copy_from_slice(&file)))
        .send()
        .await?;
    let plain_put = t.elapsed().as_secs_f64();
    let t = Instant::now();
    let got = g
        .client
        .get_object()
        .bucket(&g.bucket)
        .key("bench/plain")
        .send()
        .await?
        .body
        .collect()
        .await?
        .into_bytes();
    let plain_get = t.elapsed().as_secs_f64();
    ensure!(got.len() == len, "plain GET returned {} bytes", got.len());

    let up_c = mbps(len, upload_secs);
    let down_c = mbps(len, download_secs);
    let up_p = mbps(len, plain_put);
    let down_p = mbps(len, plain_get);
    println!(
        "\n{mib} MiB, {} chunks, Garage single node on loopback, {PARALLEL} parallel chunk transfers",
        manifest.chunks.len()
    );
    println!(
        "chunk + hash (native, not counted below): {:.0} MB/s",
        mbps(len, chunk_secs)
    );
    println!(
        "| path | upload MB/s | download MB/s |\n|---|---|---|\n| Cairn pre-signed (PUTs {:.1} s + commit/verify {:.1} s) | {up_c:.0} | {down_c:.0} |\n| plain aws-sdk-s3 put/get | {up_p:.0} | {down_p:.0} |\n| ratio Cairn / plain | {:.2} | {:.2} |",
        put_secs,
        upload_secs - put_secs,
        up_c / up_p,
        down_c / down_p
    );
    let _ = stop.send(());
    server.await??;
    Ok(())
}
