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

use anyhow::{ensure, Result};
use aws_sdk_s3::primitives::ByteStream;
use futures::StreamExt;
use serde_json::json;
use wire::{CommitResponse, DownloadResponse, Manifest, SessionResponse, UploadResponse};

/// Parallel chunk transfers, as the web client does.
const PARALLEL: usize = 6;

fn data(len: usize) -> Vec<u8> {
    data_seeded(len, 0)
}

fn data_seeded(len: usize, seed: u64) -> Vec<u8> {
    let mut x: u64 = 0x9E37_79B9_7F4A_7C15 ^ seed.wrapping_mul(0xA24B_AED4_963E_E407);
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

/// One upload through the pre-signed flow.
struct Uploaded {
    commit: CommitResponse,
    /// From the upload's start to the last PUT's answer.
    put_secs: f64,
    /// From the upload's start to the commit's answer.
    total_secs: f64,
}

/// Manifest → PUT the missing chunks, `PARALLEL` at a time → commit. With `early`, every
/// `sent_every` chunks PUT are named to `/uploads/{id}/sent` as the web client does.
async fn upload(
    http: &reqwest::Client,
    base: &str,
    session: &SessionResponse,
    file: &[u8],
    manifest: &Manifest,
    early: bool,
) -> Result<Uploaded> {
    let token = &session.token;
    let t = Instant::now();
    let up: UploadResponse = http
        .post(format!("{base}/api/v1/uploads"))
        .bearer_auth(token)
        .json(&json!({ "manifest": manifest }))
        .send()
        .await?
        .error_for_status()?
        .json()
        .await?;
    // Only where the store asks for it (S3).
    let every = up.sent_every.map(|e| e as usize).filter(|_| early);
    let unsaid = std::sync::Mutex::new(Vec::new());
    let sent_url = format!("{base}/api/v1/uploads/{}/sent", up.upload_id);
    let puts = futures::stream::iter(up.missing.iter().map(|target| {
        let c = *manifest
            .chunks
            .iter()
            .find(|c| c.hash == target.hash)
            .expect("a missing chunk is in the manifest");
        let body = bytes::Bytes::copy_from_slice(
            &file[c.offset as usize..(c.offset + c.size as u64) as usize],
        );
        let (unsaid, sent_url) = (&unsaid, &sent_url);
        // The local store's URLs are relative to the API.
        let url = if target.url.starts_with('/') {
            format!("{base}{}", target.url)
        } else {
            target.url.clone()
        };
        async move {
            http.put(url).body(body).send().await?.error_for_status()?;
            let batch = {
                let mut u = unsaid.lock().unwrap();
                u.push(c.hash);
                every
                    .is_some_and(|e| u.len() >= e)
                    .then(|| std::mem::take(&mut *u))
            };
            if let Some(hashes) = batch {
                http.post(sent_url)
                    .bearer_auth(token)
                    .json(&json!({ "hashes": hashes }))
                    .send()
                    .await?
                    .error_for_status()?;
            }
            Ok::<_, reqwest::Error>(())
        }
    }))
    .buffer_unordered(PARALLEL)
    .collect::<Vec<_>>()
    .await;
    for p in puts {
        p.map_err(|e| anyhow::anyhow!("chunk PUT: {e:?}"))?;
    }
    let put_secs = t.elapsed().as_secs_f64();
    let name = if early { "early.bin" } else { "late.bin" };
    let commit: CommitResponse = http
        .post(format!("{base}/api/v1/commits"))
        .bearer_auth(token)
        .json(
            &json!({"upload_id": up.upload_id, "parent_id": session.root_id, "name": name,
                      "base_version": null, "idempotency_key": up.upload_id}),
        )
        .send()
        .await?
        .error_for_status()?
        .json()
        .await?;
    Ok(Uploaded {
        commit,
        put_secs,
        total_secs: t.elapsed().as_secs_f64(),
    })
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
    let cairn = Cairn::start(Some(g.settings())).await?;
    let base = cairn.base.clone();

    println!("generating {mib} MiB …");
    let file = Arc::new(data(len));
    let http = reqwest::Client::new();

    // Cairn: chunk + hash (what the browser's workers do), then the protocol.
    let t = Instant::now();
    let manifest = Manifest::from_chunks(wasm_chunker::chunk_all(&file));
    let chunk_secs = t.elapsed().as_secs_f64();
    let session = cairn.sign_up(&http).await?;
    let token = session.token.clone();

    // Verified at the commit (as before `/sent`), then while sending (the web client's way),
    // each with bytes of its own so no run finds the other's chunks.
    let late_file = Arc::new(data_seeded(len, 7));
    let late_manifest = Manifest::from_chunks(wasm_chunker::chunk_all(&late_file));
    let late = upload(&http, &base, &session, &late_file, &late_manifest, false).await?;
    drop(late_file);
    let early = upload(&http, &base, &session, &file, &manifest, true).await?;
    let commit = &early.commit;

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

    let up_c = mbps(len, early.total_secs);
    let up_late = mbps(len, late.total_secs);
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
        "| path | upload MB/s | download MB/s |\n|---|---|---|\n| Cairn pre-signed, checked while sending (PUTs {:.1} s, then the commit {:.0} ms) | {up_c:.0} | {down_c:.0} |\n| Cairn pre-signed, checked at the commit (PUTs {:.1} s, then the commit {:.1} s) | {up_late:.0} | |\n| plain aws-sdk-s3 put/get | {up_p:.0} | {down_p:.0} |\n| ratio Cairn (checked while sending) / plain | {:.2} | {:.2} |\n| ratio Cairn (checked at the commit) / plain | {:.2} | |",
        early.put_secs,
        (early.total_secs - early.put_secs) * 1000.0,
        late.put_secs,
        late.total_secs - late.put_secs,
        up_c / up_p,
        down_c / down_p,
        up_late / up_p,
    );
    cairn.stop().await?;
    local_store(&file, &manifest).await
}

/// A Cairn in this process on a free loopback port, over a temp directory.
struct Cairn {
    base: String,
    dir: tempfile::TempDir,
    stop: tokio::sync::oneshot::Sender<()>,
    server: tokio::task::JoinHandle<Result<()>>,
}

impl Cairn {
    /// On the local chunk directory, or on `s3`.
    async fn start(s3: Option<api::settings::S3Settings>) -> Result<Cairn> {
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
        let server = tokio::spawn(api::serve(state, listener, async {
            let _ = stopped.await;
        }));
        Ok(Cairn {
            base,
            dir,
            stop,
            server,
        })
    }

    /// A new account's session.
    async fn sign_up(&self, http: &reqwest::Client) -> Result<SessionResponse> {
        Ok(http
            .post(format!("{}/api/v1/accounts", self.base))
            .json(
                &json!({"username": "bench", "password": "correct horse", "device_name": "bench"}),
            )
            .send()
            .await?
            .error_for_status()?
            .json()
            .await?)
    }

    async fn stop(self) -> Result<()> {
        let _ = self.stop.send(());
        self.server.await?
    }
}

/// The embedded store against a plain file write: the same bytes uploaded to a Cairn on the
/// local chunk directory (each chunk hashed on receipt, fsynced and renamed), and written once
/// to a file beside it with one fsync.
async fn local_store(file: &[u8], manifest: &Manifest) -> Result<()> {
    let cairn = Cairn::start(None).await?;
    let http = reqwest::Client::new();
    let session = cairn.sign_up(&http).await?;
    let up = upload(&http, &cairn.base, &session, file, manifest, true).await?;
    let dir = cairn.dir.path();
    let t = Instant::now();
    {
        use std::io::Write;
        let mut f = std::fs::File::create(dir.join("plain.bin"))?;
        f.write_all(file)?;
        f.sync_all()?;
    }
    let plain = t.elapsed().as_secs_f64();
    let len = file.len();
    println!(
        "\nlocal chunk directory ({}):\n| path | upload MB/s |\n|---|---|\n| Cairn signed PUTs to the API (PUTs {:.1} s, then the commit {:.0} ms) | {:.0} |\n| plain file write + fsync | {:.0} |\n| ratio Cairn / plain | {:.2} |",
        dir.display(),
        up.put_secs,
        (up.total_secs - up.put_secs) * 1000.0,
        mbps(len, up.total_secs),
        mbps(len, plain),
        plain / up.total_secs,
    );
    cairn.stop().await
}
