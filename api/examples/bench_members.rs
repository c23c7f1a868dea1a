//! `cargo xtask bench-members`: what sharing a folder costs the sync plane. An owner shares a
//! folder (the sharing routes: share, invite, accept) and commits into it while its members
//! follow it, each member with two devices holding an event stream: the time from sending a
//! commit to the hint at one member device (p50/p99) and at every member device (fan-out),
//! with 1 and with 100 members. Then a user who belongs to 100 shared folders against one who
//! belongs to none: their list of shared folders, the feed, search, and a folder listing in
//! their own tree against one in a shared folder (the role check's cost). SQLite, in process,
//! over HTTP on loopback.

use std::time::{Duration, Instant};

use anyhow::{bail, Context, Result};
use reqwest::Client;
use serde_json::json;
use wire::{Manifest, SessionResponse, UploadResponse};

/// Commits timed per member count.
const COMMITS: usize = 30;
/// Feed and search requests timed per user.
const READS: usize = 300;

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
        signup_rate_per_ip: "1000000/1".parse().map_err(anyhow::Error::msg)?,
        signin_rate_per_ip: "1000000/1".parse().map_err(anyhow::Error::msg)?,
        account_rate: "1000000/1".parse().map_err(anyhow::Error::msg)?,
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
    let b = Bench {
        http: Client::builder().pool_max_idle_per_host(1024).build()?,
        base,
        state,
    };

    println!("| members (2 devices each) | commit → hint at one member device p50 | p99 | at all member devices p50 | p99 |");
    println!("|---|---|---|---|---|");
    for members in [1, 100] {
        let (one, all) = b.hints(members).await?;
        println!(
            "| {members} | {:.1} ms | {:.1} ms | {:.1} ms | {:.1} ms |",
            one.0, one.1, all.0, all.1
        );
    }

    println!("\n| user | GET /shares µs | GET /changes (no news) µs | GET /changes/latest µs | GET /search µs |");
    println!("|---|---|---|---|---|");
    let lone = b.register("lone").await?;
    let many = b.register("many").await?;
    let mut shared_root = 0;
    for i in 0..100 {
        let owner = b.register(&format!("owner{i}")).await?;
        let (ns, root) = b.share(&owner, &format!("team {i}")).await?;
        b.upload(&owner, root, &format!("file {i}.txt")).await?;
        b.join(&owner, ns, &many).await?;
        shared_root = root;
    }
    b.upload(&lone, lone.root_id, "file.txt").await?;
    for (name, who) in [("in no shared folder", &lone), ("in 100", &many)] {
        let latest: wire::ChangesResponse = b.get(who, "/api/v1/changes/latest").await?;
        let pull = format!("/api/v1/changes?cursor={}", latest.cursor);
        let shares = b.time(who, "/api/v1/shares").await?;
        let feed = b.time(who, &pull).await?;
        let top = b.time(who, "/api/v1/changes/latest").await?;
        let search = b.time(who, "/api/v1/search?q=file").await?;
        println!("| {name} | {shares:.0} | {feed:.0} | {top:.0} | {search:.0} |");
    }
    println!("\n| GET /nodes/{{id}}/children of | µs |");
    println!("|---|---|");
    let own = format!("/api/v1/nodes/{}/children", many.root_id);
    let shared = format!("/api/v1/nodes/{shared_root}/children");
    let lone_root = format!("/api/v1/nodes/{}/children", lone.root_id);
    for (name, who, path) in [
        ("a user's own root (in no shared folder)", &lone, &lone_root),
        ("a member's own root", &many, &own),
        ("a shared folder, as its member", &many, &shared),
    ] {
        println!("| {name} | {:.0} |", b.time(who, path).await?);
    }
    let _ = stop.send(());
    let _ = tokio::time::timeout(Duration::from_secs(10), task).await;
    Ok(())
}

struct Bench {
    http: Client,
    base: String,
    state: api::state::AppState,
}

impl Bench {
    async fn register(&self, username: &str) -> Result<SessionResponse> {
        let r = self
            .http
            .post(format!("{}/api/v1/accounts", self.base))
            .json(&json!({"username": username, "password": "benchmark password", "device_name": "one"}))
            .send()
            .await?;
        if !r.status().is_success() {
            bail!("register: {} {}", r.status(), r.text().await?);
        }
        Ok(r.json().await?)
    }

    async fn sign_in(&self, username: &str) -> Result<SessionResponse> {
        let r = self
            .http
            .post(format!("{}/api/v1/sessions", self.base))
            .json(&json!({"username": username, "password": "benchmark password", "device_name": "two"}))
            .send()
            .await?;
        Ok(r.error_for_status()?.json().await?)
    }

    async fn post<T: serde::de::DeserializeOwned>(
        &self,
        who: &SessionResponse,
        path: &str,
        body: serde_json::Value,
    ) -> Result<T> {
        let r = self
            .http
            .post(format!("{}{path}", self.base))
            .bearer_auth(&who.token)
            .json(&body)
            .send()
            .await?;
        if !r.status().is_success() {
            bail!("POST {path}: {} {}", r.status(), r.text().await?);
        }
        Ok(r.json().await?)
    }

    /// A new folder `name` of `owner`'s, shared: (its namespace, its root).
    async fn share(&self, owner: &SessionResponse, name: &str) -> Result<(i64, i64)> {
        let body = json!({"parent_id": owner.root_id, "name": name});
        let folder: wire::Node = self.post(owner, "/api/v1/folders", body).await?;
        let path = format!("/api/v1/nodes/{}/share", folder.id);
        let s: wire::shares::Share = self.post(owner, &path, json!(null)).await?;
        Ok((s.id, s.root_id))
    }

    /// `member` an accepted editor of shared folder `ns`: invited, and accepting.
    async fn join(&self, owner: &SessionResponse, ns: i64, member: &SessionResponse) -> Result<()> {
        let username: String = sqlx::query_scalar("SELECT username FROM users WHERE id = $1")
            .bind(member.user_id)
            .fetch_one(&self.state.db.pool)
            .await?;
        let invite = json!({"username": username, "role": "editor"});
        let path = format!("/api/v1/shares/{ns}/members");
        let _: serde_json::Value = self.post(owner, &path, invite).await?;
        let path = format!("/api/v1/shares/{ns}/accept");
        let _: serde_json::Value = self.post(member, &path, json!(null)).await?;
        Ok(())
    }

    /// Namespace `ns`'s change sequence now.
    async fn seq(&self, ns: i64) -> Result<i64> {
        Ok(
            sqlx::query_scalar("SELECT seq FROM namespaces WHERE id = $1")
                .bind(ns)
                .fetch_one(&self.state.db.pool)
                .await?,
        )
    }

    async fn get<T: serde::de::DeserializeOwned>(
        &self,
        who: &SessionResponse,
        path: &str,
    ) -> Result<T> {
        let r = self
            .http
            .get(format!("{}{path}", self.base))
            .bearer_auth(&who.token)
            .send()
            .await?;
        Ok(r.error_for_status()?.json().await?)
    }

    /// Mean µs of `READS` sequential GETs of `path`.
    async fn time(&self, who: &SessionResponse, path: &str) -> Result<f64> {
        let t = Instant::now();
        for _ in 0..READS {
            let r = self
                .http
                .get(format!("{}{path}", self.base))
                .bearer_auth(&who.token)
                .send()
                .await?;
            r.error_for_status()?.bytes().await?;
        }
        Ok(t.elapsed().as_secs_f64() * 1e6 / READS as f64)
    }

    /// An upload of a small file named `name`, its bytes sent: ready to commit.
    async fn prepare(&self, who: &SessionResponse, name: &str) -> Result<String> {
        let data = format!("{name} {}", rand::random::<u64>()).into_bytes();
        let manifest = Manifest::from_chunks(wasm_chunker::chunk_all(&data));
        let r = self
            .http
            .post(format!("{}/api/v1/uploads", self.base))
            .bearer_auth(&who.token)
            .json(&json!({ "manifest": manifest }))
            .send()
            .await?;
        let up: UploadResponse = r.error_for_status()?.json().await?;
        for t in &up.missing {
            let c = manifest.chunks.iter().find(|c| c.hash == t.hash).unwrap();
            let body = data[c.offset as usize..(c.offset + c.size as u64) as usize].to_vec();
            let r = self
                .http
                .put(format!("{}{}", self.base, t.url))
                .body(body)
                .send()
                .await?;
            r.error_for_status()?;
        }
        Ok(up.upload_id)
    }

    async fn commit(
        &self,
        who: &SessionResponse,
        upload_id: &str,
        parent: i64,
        name: &str,
    ) -> Result<()> {
        let r = self
            .http
            .post(format!("{}/api/v1/commits", self.base))
            .bearer_auth(&who.token)
            .json(
                &json!({"upload_id": upload_id, "parent_id": parent, "name": name,
                "base_version": null, "idempotency_key": upload_id}),
            )
            .send()
            .await?;
        if !r.status().is_success() {
            bail!("commit: {} {}", r.status(), r.text().await?);
        }
        Ok(())
    }

    async fn upload(&self, who: &SessionResponse, parent: i64, name: &str) -> Result<()> {
        let id = self.prepare(who, name).await?;
        self.commit(who, &id, parent, name).await
    }

    /// An owner's shared folder with `members` members, two streams each; `COMMITS` commits
    /// into it by the owner:
    /// (p50, p99) ms to the first member device's hint, and to every member device's.
    async fn hints(&self, members: usize) -> Result<((f64, f64), (f64, f64))> {
        let tag = format!("h{members}");
        let owner = self.register(&format!("{tag}-owner")).await?;
        let (ns, root) = self.share(&owner, "team").await?;
        let (tx, mut rx) = tokio::sync::mpsc::unbounded_channel::<(usize, i64, Instant)>();
        let mut readers = Vec::new();
        let devices = 2 * members;
        for m in 0..members {
            let name = format!("{tag}-member{m}");
            let first = self.register(&name).await?;
            self.join(&owner, ns, &first).await?;
            let second = self.sign_in(&name).await?;
            for (d, session) in [first, second].into_iter().enumerate() {
                let mut stream = Client::new()
                    .get(format!("{}/api/v1/events", self.base))
                    .bearer_auth(&session.token)
                    .send()
                    .await?
                    .error_for_status()?;
                let (tx, device) = (tx.clone(), 2 * m + d);
                readers.push(tokio::spawn(async move {
                    let mut buf = String::new();
                    while let Ok(seq) = next_hint(&mut stream, &mut buf, ns).await {
                        if tx.send((device, seq, Instant::now())).is_err() {
                            break;
                        }
                    }
                }));
            }
        }
        drop(tx);
        let mut spare = Vec::new();
        for i in 0..COMMITS {
            spare.push(self.prepare(&owner, &format!("{tag}-{i}")).await?);
        }
        // Let every stream open and say its first hint.
        tokio::time::sleep(Duration::from_millis(500)).await;
        while rx.try_recv().is_ok() {}
        let base = self.seq(ns).await?;
        let (mut one, mut all) = (Vec::new(), Vec::new());
        for (i, id) in spare.iter().enumerate() {
            let t0 = Instant::now();
            self.commit(&owner, id, root, &format!("{tag}-{i}")).await?;
            let want = base + (i + 1) as i64;
            let mut heard = vec![false; devices];
            let mut got = 0;
            while got < devices {
                let (device, seq, at) = tokio::time::timeout(Duration::from_secs(10), rx.recv())
                    .await
                    .context("hint timed out")?
                    .context("streams ended")?;
                if seq >= want && !heard[device] {
                    heard[device] = true;
                    got += 1;
                    let ms = at.duration_since(t0).as_secs_f64() * 1000.0;
                    if device == 0 {
                        one.push(ms);
                    }
                    all.push(ms);
                }
            }
        }
        for r in readers {
            r.abort();
        }
        Ok((percentiles(one), percentiles(all)))
    }
}

/// Reads frames until a hint of namespace `ns` and returns its seq.
async fn next_hint(stream: &mut reqwest::Response, buf: &mut String, ns: i64) -> Result<i64> {
    loop {
        while let Some(end) = buf.find("\n\n") {
            let block: String = buf.drain(..end + 2).collect();
            let Some(data) = block.lines().find_map(|l| l.strip_prefix("data:")) else {
                continue;
            };
            let hint: wire::EventHint = serde_json::from_str(data.trim())?;
            if hint.namespace_id == ns {
                return Ok(hint.seq);
            }
        }
        let chunk = tokio::time::timeout(Duration::from_secs(30), stream.chunk())
            .await
            .context("no hint within 30 s")??
            .context("stream ended")?;
        buf.push_str(std::str::from_utf8(&chunk)?);
    }
}

fn percentiles(mut v: Vec<f64>) -> (f64, f64) {
    v.sort_by(|a, b| a.total_cmp(b));
    let at = |q: f64| v[((v.len() as f64 * q).ceil() as usize).clamp(1, v.len()) - 1];
    (at(0.50), at(0.99))
}
