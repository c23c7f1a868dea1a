//! The one writer: a steady stream of files created, edited, renamed, moved and trashed,
//! straight to the server (not through the proxy), so only restarts reach it. An operation
//! whose answer a restart swallowed is finished as the PWA would: a commit is sent again with
//! its idempotency key (its upload resumed first); a rename, move or trash is first looked
//! for in the tree and sent again only if it did not happen. So every operation is logged
//! exactly once, and the writer knows which.

use std::collections::BTreeMap;
use std::sync::{Arc, RwLock};
use std::time::Duration;

use reqwest::{Client, Method, StatusCode};
use serde_json::{json, Value};
use tokio::time::Instant;
use wire::{CommitResponse, Listing, Manifest, UploadResponse};

use crate::Rng;

/// A file as the writer last left it.
#[derive(Debug, Clone)]
pub struct File {
    pub id: i64,
    pub parent: i64,
    pub name: String,
    pub version: i64,
    /// Every version the writer was answered for, oldest first.
    pub versions: Vec<i64>,
    pub live: bool,
}

/// What the writer did, as the change log should show it.
#[derive(Debug, Default)]
pub struct Log {
    pub folders: Vec<i64>,
    pub files: BTreeMap<i64, File>,
    /// One entry per operation answered: (kind as logged, node).
    pub ops: Vec<(&'static str, i64)>,
    /// When each operation of `ops` was answered.
    pub at: Vec<Instant>,
    /// Operations whose first answer was lost to a restart.
    pub retried: u64,
}

impl Log {
    fn did(&mut self, op: (&'static str, i64)) {
        self.ops.push(op);
        self.at.push(Instant::now());
    }
}

/// A request failed in a way a restart explains (refused, reset, no answer): try again.
struct Lost;

pub struct Writer {
    pub http: Client,
    pub token: String,
    pub root: i64,
    /// The live server's address, moved by every restart.
    pub base: Arc<RwLock<String>>,
}

impl Writer {
    fn base(&self) -> String {
        self.base.read().unwrap().clone()
    }

    /// One request; a failure to reach the server is `Lost`, any answer is returned.
    async fn send(
        &self,
        method: Method,
        path: &str,
        body: Option<Value>,
    ) -> Result<(StatusCode, String), Lost> {
        let mut r = self
            .http
            .request(method, format!("{}{path}", self.base()))
            .bearer_auth(&self.token);
        if let Some(b) = body {
            r = r.json(&b);
        }
        let r = r.send().await.map_err(|_| Lost)?;
        let status = r.status();
        let text = r.text().await.map_err(|_| Lost)?;
        if status == StatusCode::SERVICE_UNAVAILABLE || status == StatusCode::BAD_GATEWAY {
            return Err(Lost);
        }
        Ok((status, text))
    }

    /// A request that must succeed.
    async fn ok<T: serde::de::DeserializeOwned>(
        &self,
        method: Method,
        path: &str,
        body: Option<Value>,
    ) -> Result<T, Lost> {
        let (status, text) = self.send(method, path, body).await?;
        assert!(status.is_success(), "{path}: {status} {text}");
        Ok(serde_json::from_str(&text).unwrap_or_else(|e| panic!("{path}: {e}: {text}")))
    }

    /// Retries `op` until it gets through; a restart takes well under the deadline.
    async fn until_done<T, F, Fut>(&self, log: &mut Log, mut op: F) -> T
    where
        F: FnMut(bool) -> Fut,
        Fut: std::future::Future<Output = Result<T, Lost>>,
    {
        let deadline = Instant::now() + Duration::from_secs(60);
        let mut again = false;
        loop {
            match op(again).await {
                Ok(v) => return v,
                Err(Lost) => {
                    if !again {
                        log.retried += 1;
                    }
                    again = true;
                    assert!(Instant::now() < deadline, "the server stayed away a minute");
                    tokio::time::sleep(Duration::from_millis(20)).await;
                }
            }
        }
    }

    pub async fn mkdir(&self, log: &mut Log, name: &str) {
        let root = self.root;
        let id = self
            .until_done(log, |again| async move {
                if again {
                    if let Some(n) = self.child(root, name).await? {
                        return Ok(n.id);
                    }
                }
                let n: wire::Node = self
                    .ok(
                        Method::POST,
                        "/api/v1/folders",
                        Some(json!({"parent_id": root, "name": name})),
                    )
                    .await?;
                Ok(n.id)
            })
            .await;
        log.folders.push(id);
        log.did(("create", id));
    }

    async fn child(&self, parent: i64, name: &str) -> Result<Option<wire::Node>, Lost> {
        let l: Listing = self
            .ok(
                Method::GET,
                &format!("/api/v1/nodes/{parent}/children"),
                None,
            )
            .await?;
        Ok(l.children.into_iter().find(|n| n.name == name))
    }

    /// Upload and commit `data` as `name` in `parent` (an edit when `base` is set), with
    /// idempotency key `key`; resumed and retried until answered.
    async fn commit(
        &self,
        log: &mut Log,
        parent: i64,
        name: &str,
        base: Option<i64>,
        data: &[u8],
        key: &str,
    ) -> CommitResponse {
        let manifest = Manifest::from_chunks(wasm_chunker::chunk_all(data));
        let upload: std::sync::Mutex<Option<String>> = Default::default();
        let manifest = &manifest;
        let upload = &upload;
        self.until_done(log, |_| async move {
            let known = upload.lock().unwrap().clone();
            let up = match known {
                Some(id) => {
                    let (status, text) = self
                        .send(Method::GET, &format!("/api/v1/uploads/{id}"), None)
                        .await?;
                    if status == StatusCode::NOT_FOUND {
                        // Committed already, its answer lost: the key answers the retry.
                        None
                    } else {
                        assert_eq!(status, StatusCode::OK, "{text}");
                        Some(serde_json::from_str::<UploadResponse>(&text).unwrap())
                    }
                }
                None => Some(
                    self.ok::<UploadResponse>(
                        Method::POST,
                        "/api/v1/uploads",
                        Some(json!({ "manifest": manifest })),
                    )
                    .await?,
                ),
            };
            if let Some(up) = &up {
                *upload.lock().unwrap() = Some(up.upload_id.clone());
                for t in &up.missing {
                    let c = manifest.chunks.iter().find(|c| c.hash == t.hash).unwrap();
                    let bytes =
                        data[c.offset as usize..(c.offset + c.size as u64) as usize].to_vec();
                    let r = self
                        .http
                        .put(format!("{}{}", self.base(), t.url))
                        .body(bytes)
                        .send()
                        .await
                        .map_err(|_| Lost)?;
                    if !r.status().is_success() {
                        return Err(Lost);
                    }
                }
            }
            let id = upload.lock().unwrap().clone().unwrap();
            self.ok(
                Method::POST,
                "/api/v1/commits",
                Some(json!({"upload_id": id, "parent_id": parent, "name": name,
                    "base_version": base, "idempotency_key": key})),
            )
            .await
        })
        .await
    }

    /// One operation drawn from `rng`.
    pub async fn step(&self, log: &mut Log, rng: &mut Rng, n: u64) {
        let live: Vec<i64> = log
            .files
            .values()
            .filter(|f| f.live)
            .map(|f| f.id)
            .collect();
        let roll = rng.below(100);
        let data = format!("step {n} seed {}", rng.next_u64()).into_bytes();
        if live.len() < 4 || roll < 30 {
            let parent = log.folders[rng.below(log.folders.len() as u64) as usize];
            let name = format!("f{n}.txt");
            let a = self
                .commit(log, parent, &name, None, &data, &format!("new-{n}"))
                .await;
            assert!(a.conflict.is_none() && !a.unchanged, "{a:?}");
            log.did(("version", a.node.id));
            log.files.insert(
                a.node.id,
                File {
                    id: a.node.id,
                    parent,
                    name,
                    version: a.version_id,
                    versions: vec![a.version_id],
                    live: true,
                },
            );
            return;
        }
        let id = live[rng.below(live.len() as u64) as usize];
        let f = log.files[&id].clone();
        if roll < 65 {
            let a = self
                .commit(
                    log,
                    f.parent,
                    &f.name,
                    Some(f.version),
                    &data,
                    &format!("edit-{n}"),
                )
                .await;
            assert!(
                a.conflict.is_none() && !a.unchanged && a.node.id == id,
                "{a:?}"
            );
            log.did(("version", id));
            let f = log.files.get_mut(&id).unwrap();
            f.version = a.version_id;
            f.versions.push(a.version_id);
        } else if roll < 92 {
            // A rename, or a move to another folder.
            let to = log.folders[rng.below(log.folders.len() as u64) as usize];
            let (kind, parent, name) = if to == f.parent {
                ("rename", f.parent, format!("f{n}-renamed.txt"))
            } else {
                ("move", to, f.name.clone())
            };
            let name = &name;
            self.until_done(log, |again| async move {
                if again {
                    if let Some(now) = self.child(parent, name).await? {
                        assert_eq!(now.id, id);
                        return Ok(());
                    }
                }
                let _: Value = self
                    .ok(
                        Method::PATCH,
                        &format!("/api/v1/nodes/{id}"),
                        Some(json!({"name": name, "parent_id": parent})),
                    )
                    .await?;
                Ok(())
            })
            .await;
            log.did((kind, id));
            let f = log.files.get_mut(&id).unwrap();
            f.parent = parent;
            f.name = name.clone();
        } else {
            self.until_done(log, |again| async move {
                let (status, text) = self
                    .send(Method::DELETE, &format!("/api/v1/nodes/{id}"), None)
                    .await?;
                // Trashed already by the try whose answer was lost.
                if again && status == StatusCode::NOT_FOUND {
                    return Ok(());
                }
                assert_eq!(status, StatusCode::NO_CONTENT, "{text}");
                Ok(())
            })
            .await;
            log.did(("trash", id));
            log.files.get_mut(&id).unwrap().live = false;
        }
    }
}
