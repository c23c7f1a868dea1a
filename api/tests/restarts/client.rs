//! A client as the PWA behaves when the server's dependencies go away: every failure that is
//! not the client's fault (no connection, a timeout, a 5xx) is retried after a growing pause,
//! an upload is resumed rather than started again, and a commit is retried with its
//! idempotency key. A 4xx other than those the protocol expects fails the test.

use std::time::Duration;

use reqwest::{Client, Method, StatusCode};
use serde_json::{json, Value};
use wire::{CommitResponse, DownloadResponse, EventHint, Manifest, UploadResponse};

/// Why a step did not finish: worth retrying, with what was seen (for the figures).
#[derive(Debug)]
pub struct Retry(pub String);

/// What the clients saw go wrong, counted over a run.
#[derive(Debug, Default, Clone)]
pub struct Seen {
    pub retries: u64,
    pub statuses: std::collections::BTreeMap<u16, u64>,
    pub transport: u64,
}

impl Seen {
    pub fn add(&mut self, other: &Seen) {
        self.retries += other.retries;
        self.transport += other.transport;
        for (k, v) in &other.statuses {
            *self.statuses.entry(*k).or_default() += v;
        }
    }
}

pub fn http() -> Client {
    Client::builder()
        .timeout(Duration::from_secs(20))
        .connect_timeout(Duration::from_secs(5))
        .build()
        .unwrap()
}

/// One request; a refusal the caller did not expect fails the test, a failure to be served
/// is a `Retry`. Answers the status and the body.
pub async fn send(
    http: &Client,
    method: Method,
    url: &str,
    token: Option<&str>,
    body: Option<reqwest::Body>,
    json_body: Option<&Value>,
    seen: &mut Seen,
) -> Result<(StatusCode, bytes::Bytes), Retry> {
    let mut r = http.request(method, url);
    if let Some(t) = token {
        r = r.bearer_auth(t);
    }
    if let Some(b) = body {
        r = r.body(b);
    }
    if let Some(j) = json_body {
        r = r.json(j);
    }
    let r = match r.send().await {
        Ok(r) => r,
        Err(e) => {
            seen.transport += 1;
            return Err(Retry(e.to_string()));
        }
    };
    let status = r.status();
    let bytes = match r.bytes().await {
        Ok(b) => b,
        Err(e) => {
            seen.transport += 1;
            return Err(Retry(e.to_string()));
        }
    };
    if status.is_server_error() {
        *seen.statuses.entry(status.as_u16()).or_default() += 1;
        return Err(Retry(format!(
            "{status} {}",
            String::from_utf8_lossy(&bytes)
        )));
    }
    Ok((status, bytes))
}

/// A chunk store's refusal: S3 servers answer 4xx too while they start (the key or bucket
/// not loaded yet), and a signed URL may expire while a client waits out an outage; the
/// retry resumes the upload or asks for the download again, with fresh URLs.
fn store_answer(status: StatusCode, body: &[u8], seen: &mut Seen) -> Result<(), Retry> {
    if status.is_success() {
        return Ok(());
    }
    *seen.statuses.entry(status.as_u16()).or_default() += 1;
    Err(Retry(format!(
        "chunk store: {status} {}",
        String::from_utf8_lossy(body)
    )))
}

/// One file a client commits, and what it knows of it.
#[derive(Clone, Debug)]
pub struct Job {
    pub name: String,
    pub data: Vec<u8>,
    pub key: String,
    pub upload_id: Option<String>,
    pub answer: Option<CommitResponse>,
}

/// Takes `job` one attempt as far as it goes: an upload (resumed if it has one), its missing
/// chunks (to whatever URL the store signed: the server's own or S3's), the commit.
pub async fn push(
    http: &Client,
    base: &str,
    token: &str,
    root: i64,
    job: &mut Job,
    seen: &mut Seen,
) -> Result<(), Retry> {
    let manifest = Manifest::from_chunks(wasm_chunker::chunk_all(&job.data));
    let up: Option<UploadResponse> = match &job.upload_id {
        Some(id) => {
            let url = format!("{base}/api/v1/uploads/{id}");
            let (status, body) =
                send(http, Method::GET, &url, Some(token), None, None, seen).await?;
            match status {
                // Committed already, its answer lost: the commit's record answers the retry.
                StatusCode::NOT_FOUND => None,
                StatusCode::OK => Some(serde_json::from_slice(&body).unwrap()),
                other => panic!("{url}: {other} {}", String::from_utf8_lossy(&body)),
            }
        }
        None => {
            let url = format!("{base}/api/v1/uploads");
            let body = json!({ "manifest": manifest });
            let (status, body) = send(
                http,
                Method::POST,
                &url,
                Some(token),
                None,
                Some(&body),
                seen,
            )
            .await?;
            assert!(status.is_success(), "{url}: {status} {body:?}");
            Some(serde_json::from_slice(&body).unwrap())
        }
    };
    if let Some(up) = &up {
        job.upload_id = Some(up.upload_id.clone());
    }
    for t in up.iter().flat_map(|u| &u.missing) {
        let c = manifest.chunks.iter().find(|c| c.hash == t.hash).unwrap();
        let bytes = job.data[c.offset as usize..(c.offset + c.size as u64) as usize].to_vec();
        let url = absolute(base, &t.url);
        let (status, body) = send(
            http,
            Method::PUT,
            &url,
            None,
            Some(bytes.into()),
            None,
            seen,
        )
        .await?;
        store_answer(status, &body, seen)?;
    }
    let url = format!("{base}/api/v1/commits");
    let body = json!({"upload_id": job.upload_id, "parent_id": root, "name": job.name,
        "base_version": null, "idempotency_key": job.key});
    let (status, body) = send(
        http,
        Method::POST,
        &url,
        Some(token),
        None,
        Some(&body),
        seen,
    )
    .await?;
    assert!(
        status.is_success(),
        "commit of {}: {status} {}",
        job.name,
        String::from_utf8_lossy(&body)
    );
    job.answer = Some(serde_json::from_slice(&body).unwrap());
    Ok(())
}

/// The store's URLs are relative for the local store, absolute for S3.
pub fn absolute(base: &str, url: &str) -> String {
    if url.starts_with('/') {
        format!("{base}{url}")
    } else {
        url.to_owned()
    }
}

/// The pause between retries: 50 ms doubling to 1 s, and a deadline past which still
/// failing fails the test.
pub struct Backoff {
    what: String,
    deadline: tokio::time::Instant,
    pause: Duration,
}

impl Backoff {
    pub fn new(what: impl Into<String>, within: Duration) -> Backoff {
        Backoff {
            what: what.into(),
            deadline: tokio::time::Instant::now() + within,
            pause: Duration::from_millis(50),
        }
    }

    pub async fn wait(&mut self, why: Retry, seen: &mut Seen) {
        assert!(
            tokio::time::Instant::now() < self.deadline,
            "{}: still failing: {}",
            self.what,
            why.0
        );
        seen.retries += 1;
        tokio::time::sleep(self.pause).await;
        self.pause = (self.pause * 2).min(Duration::from_secs(1));
    }
}

/// [`push`] again and again until `job` is answered.
pub async fn finish(
    http: &Client,
    base: &str,
    token: &str,
    root: i64,
    job: &mut Job,
    seen: &mut Seen,
) {
    let mut b = Backoff::new(format!("commit of {}", job.name), Duration::from_secs(60));
    while let Err(why) = push(http, base, token, root, job, seen).await {
        b.wait(why, seen).await;
    }
}

/// A download as the PWA makes it: the manifest and signed GET URLs, every chunk fetched and
/// its hash checked, the file assembled.
pub async fn download(
    http: &Client,
    base: &str,
    token: &str,
    node: i64,
    seen: &mut Seen,
) -> Result<Vec<u8>, Retry> {
    let url = format!("{base}/api/v1/nodes/{node}/download");
    let (status, body) = send(http, Method::GET, &url, Some(token), None, None, seen).await?;
    assert_eq!(status, StatusCode::OK, "{url}: {body:?}");
    let d: DownloadResponse = serde_json::from_slice(&body).unwrap();
    let mut out = Vec::with_capacity(d.manifest.size as usize);
    for c in &d.manifest.chunks {
        let t = d.chunks.iter().find(|t| t.hash == c.hash).unwrap();
        let (status, bytes) = send(
            http,
            Method::GET,
            &absolute(base, &t.url),
            None,
            None,
            None,
            seen,
        )
        .await?;
        store_answer(status, &bytes, seen)?;
        assert_eq!(
            wire::Hash(*blake3::hash(&bytes).as_bytes()),
            c.hash,
            "a chunk came back with other bytes"
        );
        out.extend_from_slice(&bytes);
    }
    Ok(out)
}

/// An open event stream, read frame by frame.
pub struct Events {
    body: reqwest::Response,
    buf: String,
    /// The highest seq hinted per namespace so far.
    pub newest: std::collections::BTreeMap<i64, i64>,
}

impl Events {
    pub async fn open(http: &Client, base: &str, token: &str) -> Events {
        let body = http
            .get(format!("{base}/api/v1/events"))
            .bearer_auth(token)
            .timeout(Duration::from_secs(3600))
            .send()
            .await
            .unwrap();
        assert_eq!(body.status(), StatusCode::OK);
        Events {
            body,
            buf: String::new(),
            newest: Default::default(),
        }
    }

    /// Reads frames until the stream says the device was revoked; false if `within` passed
    /// first.
    pub async fn wait_revoked(&mut self, within: Duration) -> bool {
        let deadline = tokio::time::Instant::now() + within;
        loop {
            if let Some(end) = self.buf.find("\n\n") {
                let block: String = self.buf.drain(..end + 2).collect();
                if block.lines().any(|l| l.trim() == "event: revoked") {
                    return true;
                }
                continue;
            }
            let chunk = match tokio::time::timeout_at(deadline, self.body.chunk()).await {
                Err(_) => return false,
                Ok(c) => match c.expect("the event stream failed") {
                    Some(c) => c,
                    None => return false,
                },
            };
            self.buf.push_str(std::str::from_utf8(&chunk).unwrap());
        }
    }

    /// Reads hints until `namespace` has been hinted at `seq` or later; false if `within`
    /// passed first. The stream ending fails the test.
    pub async fn wait_for(&mut self, namespace: i64, seq: i64, within: Duration) -> bool {
        let deadline = tokio::time::Instant::now() + within;
        loop {
            if self.newest.get(&namespace).is_some_and(|s| *s >= seq) {
                return true;
            }
            if let Some(end) = self.buf.find("\n\n") {
                let block: String = self.buf.drain(..end + 2).collect();
                for line in block.lines() {
                    if let Some(v) = line.strip_prefix("data:") {
                        if let Ok(h) = serde_json::from_str::<EventHint>(v.trim()) {
                            let e = self.newest.entry(h.namespace_id).or_default();
                            *e = (*e).max(h.seq);
                        }
                    }
                }
                continue;
            }
            let chunk = match tokio::time::timeout_at(deadline, self.body.chunk()).await {
                Err(_) => return false,
                Ok(c) => c
                    .expect("the event stream failed")
                    .expect("the event stream ended"),
            };
            self.buf.push_str(std::str::from_utf8(&chunk).unwrap());
        }
    }
}

/// A GET of the API, retried until answered, as JSON.
pub async fn get_json<T: serde::de::DeserializeOwned>(
    http: &Client,
    base: &str,
    token: &str,
    path: &str,
) -> T {
    let mut seen = Seen::default();
    let mut b = Backoff::new(format!("GET {path}"), Duration::from_secs(60));
    loop {
        let url = format!("{base}{path}");
        match send(http, Method::GET, &url, Some(token), None, None, &mut seen).await {
            Ok((status, body)) => {
                assert_eq!(status, StatusCode::OK, "{path}: {body:?}");
                return serde_json::from_slice(&body).unwrap();
            }
            Err(why) => b.wait(why, &mut seen).await,
        }
    }
}

/// The end every run must reach: every answered commit is there once, as answered, with one
/// version (no retry wrote twice) and its bytes; the change log holds one entry per file,
/// numbered without a gap.
pub async fn assert_end_state(http: &Client, base: &str, token: &str, root: i64, jobs: &[Job]) {
    let listing: wire::Listing =
        get_json(http, base, token, &format!("/api/v1/nodes/{root}/children")).await;
    let names: std::collections::BTreeMap<&str, i64> = listing
        .children
        .iter()
        .map(|n| (n.name.as_str(), n.id))
        .collect();
    assert_eq!(names.len(), jobs.len(), "every file exactly once");
    let mut seen = Seen::default();
    for job in jobs {
        let answer = job.answer.as_ref().expect("every job answered");
        assert_eq!(
            names.get(job.name.as_str()),
            Some(&answer.node.id),
            "{}",
            job.name
        );
        let v: wire::VersionList = get_json(
            http,
            base,
            token,
            &format!("/api/v1/nodes/{}/versions", answer.node.id),
        )
        .await;
        assert_eq!(
            v.versions.len(),
            1,
            "{} was written more than once",
            job.name
        );
        let mut b = Backoff::new(format!("download of {}", job.name), Duration::from_secs(60));
        let got = loop {
            match download(http, base, token, answer.node.id, &mut seen).await {
                Ok(got) => break got,
                Err(why) => b.wait(why, &mut seen).await,
            }
        };
        assert!(got == job.data, "{} lost bytes", job.name);
    }
    let mut seqs = Vec::new();
    let mut cursor: Option<String> = None;
    loop {
        let path = match &cursor {
            Some(c) => format!("/api/v1/changes?cursor={c}"),
            None => "/api/v1/changes".into(),
        };
        let page: wire::ChangesResponse = get_json(http, base, token, &path).await;
        seqs.extend(page.changes.iter().map(|c| c.seq));
        cursor = Some(page.cursor);
        if !page.has_more {
            break;
        }
    }
    assert_eq!(
        seqs,
        (1..=jobs.len() as i64).collect::<Vec<_>>(),
        "the change log"
    );
}
