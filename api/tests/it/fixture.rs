//! `TestServer`: a Cairn server on 127.0.0.1:0 over a temp data dir, stopped on `Drop`.

use reqwest::{Client, Method, Response, StatusCode};
use serde::de::DeserializeOwned;
use serde_json::{json, Value};
use tokio::sync::oneshot;
use wire::{CommitResponse, Manifest, SessionResponse, UploadResponse};

pub struct TestServer {
    pub base: String,
    pub http: Client,
    pub dir: tempfile::TempDir,
    stop: Option<oneshot::Sender<()>>,
    task: Option<tokio::task::JoinHandle<()>>,
}

impl TestServer {
    pub async fn start() -> TestServer {
        Self::start_with(|_| {}).await
    }

    /// A server whose settings `tune` adjusts (limits, intervals) before it starts.
    pub async fn start_with(tune: impl FnOnce(&mut api::Settings)) -> TestServer {
        let dir = tempfile::tempdir().unwrap();
        let mut settings = api::Settings {
            addr: "127.0.0.1:0".parse().unwrap(),
            data_dir: dir.path().to_owned(),
            ..api::Settings::default()
        };
        tune(&mut settings);
        let listener = tokio::net::TcpListener::bind(settings.addr).await.unwrap();
        let base = format!("http://{}", listener.local_addr().unwrap());
        let state = api::build_state(settings).await.unwrap();
        let (tx, rx) = oneshot::channel::<()>();
        let task = tokio::spawn(async move {
            api::serve(state, listener, async {
                let _ = rx.await;
            })
            .await
            .unwrap();
        });
        TestServer {
            base,
            http: Client::new(),
            dir,
            stop: Some(tx),
            task: Some(task),
        }
    }

    pub fn url(&self, path: &str) -> String {
        if path.starts_with("http") {
            path.to_owned()
        } else {
            format!("{}{}", self.base, path)
        }
    }

    pub async fn register(&self, username: &str) -> User<'_> {
        let r = self
            .http
            .post(self.url("/api/v1/accounts"))
            .json(&json!({"username": username, "password": "correct horse", "device_name": "laptop"}))
            .send()
            .await
            .unwrap();
        assert_eq!(r.status(), StatusCode::CREATED);
        let s: SessionResponse = r.json().await.unwrap();
        User {
            server: self,
            session: s,
        }
    }

    /// Every file under the data dir with its length: a fingerprint of what is stored.
    pub fn stored_files(&self) -> Vec<(String, u64)> {
        let mut out = Vec::new();
        let mut stack = vec![self.dir.path().join("chunks")];
        while let Some(d) = stack.pop() {
            for e in std::fs::read_dir(d).unwrap() {
                let e = e.unwrap();
                if e.file_type().unwrap().is_dir() {
                    stack.push(e.path());
                } else {
                    out.push((e.path().display().to_string(), e.metadata().unwrap().len()));
                }
            }
        }
        out.sort();
        out
    }
}

impl Drop for TestServer {
    fn drop(&mut self) {
        if let Some(tx) = self.stop.take() {
            let _ = tx.send(());
        }
        if let Some(t) = self.task.take() {
            t.abort();
        }
    }
}

pub struct User<'a> {
    pub server: &'a TestServer,
    pub session: SessionResponse,
}

impl User<'_> {
    pub async fn call(&self, method: Method, path: &str, body: Option<Value>) -> Response {
        let mut r = self
            .server
            .http
            .request(method, self.server.url(path))
            .bearer_auth(&self.session.token);
        if let Some(b) = body {
            r = r.json(&b);
        }
        r.send().await.unwrap()
    }

    pub async fn ok<T: DeserializeOwned>(
        &self,
        method: Method,
        path: &str,
        body: Option<Value>,
    ) -> T {
        let r = self.call(method, path, body).await;
        let status = r.status();
        let text = r.text().await.unwrap();
        assert!(status.is_success(), "{path}: {status} {text}");
        serde_json::from_str(&text).unwrap()
    }

    pub async fn start_upload(&self, data: &[u8]) -> (Manifest, UploadResponse) {
        let manifest = Manifest::from_chunks(wasm_chunker::chunk_all(data));
        let up: UploadResponse = self
            .ok(
                Method::POST,
                "/api/v1/uploads",
                Some(json!({ "manifest": manifest })),
            )
            .await;
        (manifest, up)
    }

    pub async fn put_missing(&self, manifest: &Manifest, up: &UploadResponse, data: &[u8]) {
        for t in &up.missing {
            let c = manifest.chunks.iter().find(|c| c.hash == t.hash).unwrap();
            let bytes = data[c.offset as usize..(c.offset + c.size as u64) as usize].to_vec();
            let r = self
                .server
                .http
                .put(self.server.url(&t.url))
                .body(bytes)
                .send()
                .await
                .unwrap();
            assert_eq!(r.status(), StatusCode::OK, "{}", r.text().await.unwrap());
        }
    }

    pub async fn commit(
        &self,
        upload_id: &str,
        parent: i64,
        name: &str,
        base: Option<i64>,
    ) -> Response {
        self.call(
            Method::POST,
            "/api/v1/commits",
            Some(json!({"upload_id": upload_id, "parent_id": parent, "name": name, "base_version": base, "idempotency_key": upload_id})),
        )
        .await
    }

    /// Upload + PUT + commit of `data` as `name` in the root folder.
    pub async fn upload_file(&self, name: &str, data: &[u8], base: Option<i64>) -> CommitResponse {
        let (manifest, up) = self.start_upload(data).await;
        self.put_missing(&manifest, &up, data).await;
        let r = self
            .commit(&up.upload_id, self.session.root_id, name, base)
            .await;
        assert_eq!(r.status(), StatusCode::OK);
        r.json().await.unwrap()
    }
}

/// Deterministic pseudo-random bytes (xorshift64*), so failures reproduce.
pub fn bytes(seed: u64, len: usize) -> Vec<u8> {
    let mut x = seed.wrapping_mul(0x9E37_79B9_7F4A_7C15) | 1;
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

/// Asserts an error answer: the status, and a JSON body with the machine code.
pub async fn assert_error(r: Response, status: StatusCode, code: &str) {
    assert_eq!(r.status(), status);
    let ct = r
        .headers()
        .get("content-type")
        .map(|v| v.to_str().unwrap().to_owned());
    assert_eq!(ct.as_deref(), Some("application/json"));
    let v: Value = r.json().await.unwrap();
    assert_eq!(v["error"]["code"], code, "{v}");
    assert!(v["error"]["message"]
        .as_str()
        .is_some_and(|m| !m.is_empty()));
}
