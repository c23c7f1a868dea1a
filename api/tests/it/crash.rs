//! `kill -9` of the real `cairn` process while clients upload and commit, again and again, on
//! SQLite and on PostgreSQL. After every crash the server restarts on the same data and the
//! clients carry on as the PWA does: a commit that got no answer is sent again with its
//! idempotency key (resuming its upload first), one whose upload never started starts over.
//! In the end every commit a client was answered for is there with its bytes, every file was
//! written exactly once (one version each: no retry wrote twice), and the change log has no
//! gap.
//!
//! `CAIRN_CRASH_ROUNDS` runs more rounds (default 6); `CAIRN_CRASH_SEED` picks the timing.

use std::collections::BTreeMap;
use std::io::BufRead;
use std::path::Path;
use std::process::{Child, Command, Stdio};
use std::time::Duration;

use reqwest::{Client, StatusCode};
use serde_json::json;
use wire::{ChangesResponse, CommitResponse, Listing, Manifest, SessionResponse, UploadResponse};

use crate::fixture::{bytes, Backend, EmptyDatabase, TestRng};

crate::both!(commits_survive_the_server_being_killed_mid_flight);

/// Clients committing at once, and files each commits per round.
const CLIENTS: usize = 4;
const FILES: usize = 3;

/// The `cairn` binary, serving on a free loopback port.
struct Server {
    child: Child,
    base: String,
}

impl Server {
    fn start(data: &Path, database_url: &str) -> Server {
        let mut child = Command::new(env!("CARGO_BIN_EXE_cairn"))
            .args(["--addr", "127.0.0.1:0", "--database-url", database_url])
            .arg("--data-dir")
            .arg(data)
            .env("RUST_LOG", "error")
            .env("CAIRN_GC_INTERVAL_SECS", "0")
            .env("CAIRN_SCRUB_INTERVAL_SECS", "0")
            .stdout(Stdio::piped())
            .stderr(Stdio::null())
            .spawn()
            .expect("cannot start cairn");
        let stdout = child.stdout.take().unwrap();
        let (tx, rx) = std::sync::mpsc::channel();
        // Reads the port from the first line, then drains the pipe so the server never blocks.
        std::thread::spawn(move || {
            for line in std::io::BufReader::new(stdout).lines() {
                let Ok(line) = line else { break };
                if let Some(base) = line.strip_prefix("cairn listening on ") {
                    let _ = tx.send(base.to_owned());
                }
            }
        });
        let base = rx
            .recv_timeout(Duration::from_secs(60))
            .expect("cairn did not start within a minute");
        Server { child, base }
    }

    /// `kill -9`: no shutdown, no flush, nothing the process could still do.
    fn kill(mut self) {
        self.child.kill().unwrap();
        self.child.wait().unwrap();
    }
}

impl Drop for Server {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// One file a client commits, and what it knows of it.
#[derive(Clone, Debug)]
struct Job {
    name: String,
    data: Vec<u8>,
    key: String,
    upload_id: Option<String>,
    answer: Option<CommitResponse>,
}

/// Any failure reaching the server (it was killed) is `Err`; a refusal fails the test.
async fn call(
    http: &Client,
    base: &str,
    token: &str,
    method: reqwest::Method,
    path: &str,
    body: Option<serde_json::Value>,
) -> Result<serde_json::Value, String> {
    let mut r = http
        .request(method, format!("{base}{path}"))
        .bearer_auth(token);
    if let Some(b) = body {
        r = r.json(&b);
    }
    let r = r.send().await.map_err(|e| e.to_string())?;
    let status = r.status();
    let text = r.text().await.map_err(|e| e.to_string())?;
    assert!(status.is_success(), "{path}: {status} {text}");
    serde_json::from_str(&text).map_err(|e| format!("{e}: {text}"))
}

/// Takes `job` as far as it goes: an upload (resumed if it has one), its missing chunks, the
/// commit. Stops at the first failure, keeping what it learnt.
async fn push(http: &Client, base: &str, token: &str, root: i64, job: &mut Job) {
    use reqwest::Method;
    let manifest = Manifest::from_chunks(wasm_chunker::chunk_all(&job.data));
    let up = match &job.upload_id {
        Some(id) => {
            let r = http
                .get(format!("{base}/api/v1/uploads/{id}"))
                .bearer_auth(token)
                .send()
                .await;
            match r {
                Err(_) => return,
                // Committed already, its answer lost with the server: the commit's record
                // answers the retry.
                Ok(r) if r.status() == StatusCode::NOT_FOUND => None,
                Ok(r) => {
                    assert_eq!(r.status(), StatusCode::OK);
                    let Ok(up) = r.json::<UploadResponse>().await else {
                        return;
                    };
                    Some(up)
                }
            }
        }
        None => {
            let body = json!({ "manifest": manifest });
            let Ok(up) = call(
                http,
                base,
                token,
                Method::POST,
                "/api/v1/uploads",
                Some(body),
            )
            .await
            else {
                return;
            };
            Some(serde_json::from_value::<UploadResponse>(up).unwrap())
        }
    };
    let missing = up.as_ref().map(|u| u.missing.clone()).unwrap_or_default();
    if let Some(up) = &up {
        job.upload_id = Some(up.upload_id.clone());
    }
    let upload_id = job.upload_id.clone().unwrap();
    for t in &missing {
        let c = manifest.chunks.iter().find(|c| c.hash == t.hash).unwrap();
        let body = job.data[c.offset as usize..(c.offset + c.size as u64) as usize].to_vec();
        let Ok(r) = http.put(format!("{base}{}", t.url)).body(body).send().await else {
            return;
        };
        if r.status() != StatusCode::OK {
            return;
        }
    }
    let body = json!({"upload_id": upload_id, "parent_id": root, "name": job.name,
        "base_version": null, "idempotency_key": job.key});
    if let Ok(v) = call(
        http,
        base,
        token,
        Method::POST,
        "/api/v1/commits",
        Some(body),
    )
    .await
    {
        job.answer = Some(serde_json::from_value(v).unwrap());
    }
}

async fn commits_survive_the_server_being_killed_mid_flight(backend: Backend) {
    let rounds: u64 = std::env::var("CAIRN_CRASH_ROUNDS")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(6);
    let seed = std::env::var("CAIRN_CRASH_SEED")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(0xc4a5);
    let mut rng = TestRng::seeded(seed);
    let db = EmptyDatabase::create(backend).await;
    let data = tempfile::tempdir().unwrap();
    let http = Client::builder()
        .timeout(Duration::from_secs(30))
        .build()
        .unwrap();

    let mut server = Server::start(data.path(), &db.url);
    let r = http
        .post(format!("{}/api/v1/accounts", server.base))
        .json(&json!({"username": "alice", "password": "correct horse", "device_name": "laptop"}))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), StatusCode::CREATED);
    let session: SessionResponse = r.json().await.unwrap();
    let (token, root) = (session.token.clone(), session.root_id);

    let mut jobs: Vec<Job> = Vec::new();
    let (mut killed_answered, mut killed_unanswered) = (0, 0);
    for round in 0..rounds {
        // A round's files, pushed by CLIENTS clients at once, until the server is killed at a
        // moment drawn from the seed.
        let start = jobs.len();
        for i in 0..CLIENTS * FILES {
            let size = 1_000 + rng.below(300_000) as usize;
            jobs.push(Job {
                name: format!("r{round}-f{i}.bin"),
                data: bytes(rng.next_u64(), size),
                key: format!("crash-{round}-{i}"),
                upload_id: None,
                answer: None,
            });
        }
        let mut lanes: Vec<Vec<Job>> = vec![Vec::new(); CLIENTS];
        for (i, job) in jobs.drain(start..).enumerate() {
            lanes[i % CLIENTS].push(job);
        }
        let base = server.base.clone();
        let tasks: Vec<_> = lanes
            .into_iter()
            .map(|mut lane| {
                let (http, base, token) = (http.clone(), base.clone(), token.clone());
                tokio::spawn(async move {
                    for job in &mut lane {
                        push(&http, &base, &token, root, job).await;
                    }
                    lane
                })
            })
            .collect();
        tokio::time::sleep(Duration::from_millis(20 + rng.below(400))).await;
        server.kill();
        for t in tasks {
            jobs.extend(t.await.unwrap());
        }
        let answered = jobs[start..].iter().filter(|j| j.answer.is_some()).count();
        killed_answered += answered;
        killed_unanswered += jobs.len() - start - answered;

        // Back up on the same data; every client finishes what it had not been answered for.
        server = Server::start(data.path(), &db.url);
        for job in jobs.iter_mut().filter(|j| j.answer.is_none()) {
            push(&http, &server.base, &token, root, job).await;
            assert!(job.answer.is_some(), "{} could not be finished", job.name);
        }
    }
    eprintln!(
        "crash: {rounds} kills, {} commits: {killed_answered} answered before the kill, \
         {killed_unanswered} finished after it",
        jobs.len()
    );

    // Every file once, with its bytes and a single version.
    let listing: Listing = serde_json::from_value(
        call(
            &http,
            &server.base,
            &token,
            reqwest::Method::GET,
            &format!("/api/v1/nodes/{root}/children"),
            None,
        )
        .await
        .unwrap(),
    )
    .unwrap();
    let names: BTreeMap<&str, i64> = listing
        .children
        .iter()
        .map(|n| (n.name.as_str(), n.id))
        .collect();
    assert_eq!(names.len(), jobs.len(), "every file exactly once");
    for job in &jobs {
        let answer = job.answer.as_ref().unwrap();
        assert_eq!(
            names.get(job.name.as_str()),
            Some(&answer.node.id),
            "{}",
            job.name
        );
        let v: wire::VersionList = serde_json::from_value(
            call(
                &http,
                &server.base,
                &token,
                reqwest::Method::GET,
                &format!("/api/v1/nodes/{}/versions", answer.node.id),
                None,
            )
            .await
            .unwrap(),
        )
        .unwrap();
        assert_eq!(
            v.versions.len(),
            1,
            "{} was written more than once",
            job.name
        );
        let r = http
            .get(format!(
                "{}/api/v1/nodes/{}/content",
                server.base, answer.node.id
            ))
            .bearer_auth(&token)
            .send()
            .await
            .unwrap();
        assert_eq!(r.status(), StatusCode::OK);
        assert!(
            r.bytes().await.unwrap() == job.data,
            "{} lost bytes",
            job.name
        );
    }
    // The change log: one entry per file, numbered without a gap.
    let mut seqs = Vec::new();
    let mut cursor: Option<String> = None;
    loop {
        let path = match &cursor {
            Some(c) => format!("/api/v1/changes?cursor={c}"),
            None => "/api/v1/changes".into(),
        };
        let page: ChangesResponse = serde_json::from_value(
            call(
                &http,
                &server.base,
                &token,
                reqwest::Method::GET,
                &path,
                None,
            )
            .await
            .unwrap(),
        )
        .unwrap();
        seqs.extend(page.changes.iter().map(|c| c.seq));
        cursor = Some(page.cursor);
        if !page.has_more {
            break;
        }
    }
    assert_eq!(seqs, (1..=jobs.len() as i64).collect::<Vec<_>>());
    server.kill();
}
