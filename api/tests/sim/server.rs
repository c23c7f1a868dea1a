//! The real API in process: the axum router of the `api` library over a fresh SQLite file and
//! chunk directory, called with `tower::ServiceExt::oneshot` (no socket, no port). Every
//! request of a device goes through `Net::call`, where the scheduler injects the faults.

use std::collections::BTreeMap;
use std::net::SocketAddr;
use std::time::Duration;

use axum::body::Body;
use axum::extract::ConnectInfo;
use axum::http::Request;
use serde::de::DeserializeOwned;
use tower::ServiceExt;

use crate::scheduler::{Rng, Trace};

pub struct Server {
    app: axum::Router,
    _state: api::AppState,
    dir: tempfile::TempDir,
}

/// A database made once per process and copied for every seed: migrations applied, and the
/// users signed up with their devices' sessions. Signing up and signing in cost an Argon2 hash
/// each, four or more per seed, which was most of a seed's time; the tree a seed plays on
/// starts empty either way.
pub struct Template {
    _dir: tempfile::TempDir,
    db: std::path::PathBuf,
    /// Per user: the sessions of its devices, `(token, root)`.
    pub sessions: Vec<Vec<(String, i64)>>,
}

/// Devices per user in the template: enough for every seed's mix (one user with up to five
/// devices, or two users sharing them).
const TEMPLATE_DEVICES: [usize; 2] = [5, 3];

impl Template {
    pub async fn make() -> Template {
        let server = Server::start_on(scratch_dir(), None).await;
        let mut sessions = Vec::new();
        for (user, &devices) in TEMPLATE_DEVICES.iter().enumerate() {
            let mut mine = Vec::new();
            for i in 0..devices {
                let body = serde_json::json!({
                    "username": format!("user{user}"),
                    "password": "correct horse",
                    "device_name": format!("dev{user}-{i}"),
                });
                let (path, want) = if i == 0 {
                    ("/api/v1/accounts", 201)
                } else {
                    ("/api/v1/sessions", 200)
                };
                let a = server.raw("POST", path, None, Payload::Json(body)).await;
                assert_eq!(a.status, want, "{}", String::from_utf8_lossy(&a.body));
                let s: wire::SessionResponse = a.json();
                mine.push((s.token, s.root_id));
            }
            sessions.push(mine);
        }
        share_a_folder(&server, &sessions).await;
        // A standalone copy, whatever the server's pool holds in its WAL.
        let dir = scratch_dir();
        let db = dir.path().join("template.db");
        let url = format!("sqlite://{}", server.dir.path().join("cairn.db").display());
        let mut c = <sqlx::SqliteConnection as sqlx::Connection>::connect(&url)
            .await
            .unwrap();
        sqlx::query(&format!("VACUUM INTO '{}'", db.display()))
            .execute(&mut c)
            .await
            .unwrap();
        Template {
            _dir: dir,
            db,
            sessions,
        }
    }
}

/// The first user's folder `Team`, shared with the second user as an editor and accepted, so
/// when a seed plays both users their devices write into one tree from two homes (the member
/// sees it at the top of their own tree). A seed with one user has it as a plain folder.
async fn share_a_folder(server: &Server, sessions: &[Vec<(String, i64)>]) {
    let (owner, root) = &sessions[0][0];
    let (member, _) = &sessions[1][0];
    let call = |token: &str, path: String, body: serde_json::Value| {
        let token = token.to_owned();
        async move {
            let a = server
                .raw("POST", &path, Some(&token), Payload::Json(body))
                .await;
            assert!(a.ok(), "{path}: {}", String::from_utf8_lossy(&a.body));
            a.json::<serde_json::Value>()
        }
    };
    let folder = call(
        owner,
        "/api/v1/folders".into(),
        serde_json::json!({"parent_id": root, "name": "Team"}),
    )
    .await;
    let share = call(
        owner,
        format!("/api/v1/nodes/{}/share", folder["id"]),
        serde_json::json!({}),
    )
    .await;
    let share = &share["id"];
    call(
        owner,
        format!("/api/v1/shares/{share}/members"),
        serde_json::json!({"username": "user1", "role": "editor"}),
    )
    .await;
    call(
        member,
        format!("/api/v1/shares/{share}/accept"),
        serde_json::json!({}),
    )
    .await;
}

/// In memory where there is a tmpfs: a seed never outlives its process, so what fsync buys is
/// nothing here, and it was most of a seed's time on a disk.
fn scratch_dir() -> tempfile::TempDir {
    let shm = std::path::Path::new("/dev/shm");
    if shm.is_dir() {
        tempfile::tempdir_in(shm)
    } else {
        tempfile::tempdir()
    }
    .unwrap()
}

impl Server {
    /// A server over a copy of the template's database.
    pub async fn start(template: &Template) -> Server {
        Server::start_on(scratch_dir(), Some(&template.db)).await
    }

    async fn start_on(dir: tempfile::TempDir, copy_of: Option<&std::path::Path>) -> Server {
        if let Some(db) = copy_of {
            std::fs::copy(db, dir.path().join("cairn.db")).unwrap();
        }
        let settings = api::Settings {
            addr: "127.0.0.1:0".parse().unwrap(),
            data_dir: dir.path().to_owned(),
            database_url: Some(format!(
                "sqlite://{}?mode=rwc",
                dir.path().join("cairn.db").display()
            )),
            gc_interval: Duration::ZERO,
            // Every acknowledged version must stay retrievable: no count limit.
            version_keep: 0,
            ..api::Settings::default()
        };
        let state = api::build_state_with_clock(settings, api::clock::Clock::adjustable())
            .await
            .unwrap();
        Server {
            app: api::router(state.clone()),
            _state: state,
            dir,
        }
    }

    /// One request, answered in full.
    pub async fn raw(
        &self,
        method: &str,
        path: &str,
        token: Option<&str>,
        body: Payload,
    ) -> Answer {
        let mut r = Request::builder().method(method).uri(path);
        if let Some(t) = token {
            r = r.header("authorization", format!("Bearer {t}"));
        }
        let body = match body {
            Payload::None => Body::empty(),
            Payload::Json(v) => {
                r = r.header("content-type", "application/json");
                Body::from(serde_json::to_vec(&v).unwrap())
            }
            Payload::Bytes(b) => {
                r = r.header("content-type", "application/octet-stream");
                Body::from(b)
            }
        };
        let peer: SocketAddr = "127.0.0.1:40000".parse().unwrap();
        let req = r.extension(ConnectInfo(peer)).body(body).unwrap();
        let resp = self.app.clone().oneshot(req).await.unwrap();
        let status = resp.status().as_u16();
        let body = axum::body::to_bytes(resp.into_body(), usize::MAX)
            .await
            .unwrap()
            .to_vec();
        Answer { status, body }
    }
}

#[derive(Debug, Clone)]
pub enum Payload {
    None,
    Json(serde_json::Value),
    Bytes(Vec<u8>),
}

/// An answer as the device saw it; status 0: no answer (offline, or the response was lost).
#[derive(Debug, Clone)]
pub struct Answer {
    pub status: u16,
    pub body: Vec<u8>,
}

impl Answer {
    pub fn lost() -> Answer {
        Answer {
            status: 0,
            body: Vec::new(),
        }
    }

    pub fn ok(&self) -> bool {
        (200..300).contains(&self.status)
    }

    pub fn json<T: DeserializeOwned>(&self) -> T {
        serde_json::from_slice(&self.body).unwrap_or_else(|e| {
            panic!(
                "answer {} is not the expected JSON ({e}): {}",
                self.status,
                String::from_utf8_lossy(&self.body)
            )
        })
    }

    /// The error's machine code, or "" when the body is not an error.
    pub fn code(&self) -> String {
        serde_json::from_slice::<serde_json::Value>(&self.body)
            .ok()
            .and_then(|v| v["error"]["code"].as_str().map(str::to_owned))
            .unwrap_or_default()
    }
}

/// Counters of one run (or of many, added up).
#[derive(Debug, Default, Clone)]
pub struct Stats {
    pub seeds: u64,
    pub steps: u64,
    pub requests: u64,
    pub ops: BTreeMap<&'static str, u64>,
    pub faults: BTreeMap<&'static str, u64>,
    pub outcomes: BTreeMap<String, u64>,
    pub divergences: u64,
    /// Uploads started, and how each ended.
    pub edits_started: u64,
    pub edits: BTreeMap<&'static str, u64>,
}

impl Stats {
    pub fn op(&mut self, name: &'static str) {
        *self.ops.entry(name).or_default() += 1;
    }

    pub fn fault(&mut self, name: &'static str) {
        *self.faults.entry(name).or_default() += 1;
    }

    pub fn outcome(&mut self, what: String) {
        *self.outcomes.entry(what).or_default() += 1;
    }

    pub fn add(&mut self, o: &Stats) {
        self.seeds += o.seeds;
        self.steps += o.steps;
        self.requests += o.requests;
        self.divergences += o.divergences;
        self.edits_started += o.edits_started;
        for (k, v) in &o.edits {
            *self.edits.entry(k).or_default() += v;
        }
        for (k, v) in &o.ops {
            *self.ops.entry(k).or_default() += v;
        }
        for (k, v) in &o.faults {
            *self.faults.entry(k).or_default() += v;
        }
        for (k, v) in &o.outcomes {
            *self.outcomes.entry(k.clone()).or_default() += v;
        }
    }
}

/// The network between the devices and the server, and the scheduler's hand on it.
pub struct Net {
    pub server: Server,
    pub rng: Rng,
    pub trace: Trace,
    pub stats: Stats,
    /// Faults are injected only while true (off for the final convergence).
    pub faults: bool,
    /// Problems found (each one a divergence).
    pub problems: Vec<String>,
    /// Every commit answer a device received (200).
    pub acked: Vec<crate::check::Acked>,
    /// The counter fresh names and file contents are made from.
    pub names: u64,
    /// Uploads the users started.
    pub edits: u64,
    /// Requests held in the network, delivered later.
    pub delayed: Vec<Delayed>,
}

/// A request the network holds back.
#[derive(Debug, Clone)]
pub struct Delayed {
    dev: usize,
    method: String,
    path: String,
    token: String,
    body: Payload,
}

impl Net {
    /// Delivers the held request at `index` (its answer goes nowhere).
    pub async fn deliver(&mut self, index: usize) {
        let d = self.delayed.remove(index);
        self.stats.requests += 1;
        let a = self
            .server
            .raw(&d.method, &d.path, Some(&d.token), d.body)
            .await;
        if a.status >= 500 {
            self.problems.push(format!(
                "server error on a delayed request: d{} {} {} answered {}",
                d.dev, d.method, d.path, a.status
            ));
        }
        self.trace.push(format!(
            "d{} delayed {} {} arrives: {}",
            d.dev,
            d.method,
            stable(&d.path),
            a.status
        ));
    }

    /// How one upload the user started ended.
    pub fn edit_end(&mut self, how: &'static str) {
        *self.stats.edits.entry(how).or_default() += 1;
    }
}

/// A path with what is random per run (upload ids, blob URLs) taken out, for the trace.
fn stable(path: &str) -> String {
    if path.starts_with("/blobs/") {
        return "/blobs/…".into();
    }
    if path.starts_with("/api/v1/uploads/") {
        return "/api/v1/uploads/…".into();
    }
    path.to_owned()
}

impl Net {
    /// A device's request. Offline: no answer. Online, a mutation may have its response lost
    /// after the server acted, or be delivered twice (the device sees the first answer).
    pub async fn call(
        &mut self,
        dev: usize,
        online: bool,
        token: &str,
        method: &str,
        path: &str,
        body: Payload,
    ) -> Answer {
        if !online {
            self.trace
                .push(format!("d{dev} {method} {} offline", stable(path)));
            return Answer::lost();
        }
        let mutation = method != "GET";
        let fault = if self.faults {
            let roll = self.rng.below(100);
            if mutation && roll < 6 {
                Some("response_lost")
            } else if mutation && roll < 10 {
                Some("request_duplicated")
            } else if mutation && roll < 13 {
                Some("request_delayed")
            } else if !mutation && path.starts_with("/api/v1/changes") && roll < 5 {
                Some("feed_answer_lost")
            } else {
                None
            }
        } else {
            None
        };
        if fault == Some("request_delayed") {
            // Held in the network: it reaches the server at a later step, after whatever the
            // device does about the missing answer (reordered with its retry).
            self.stats.fault("request_delayed");
            self.delayed.push(Delayed {
                dev,
                method: method.to_owned(),
                path: path.to_owned(),
                token: token.to_owned(),
                body,
            });
            self.trace.push(format!(
                "d{dev} {method} {} 0 [request_delayed]",
                stable(path)
            ));
            return Answer::lost();
        }
        self.stats.requests += 1;
        let answer = self
            .server
            .raw(method, path, Some(token), body.clone())
            .await;
        if answer.status >= 500 {
            self.problems.push(format!(
                "server error: d{dev} {method} {path} answered {}: {}",
                answer.status,
                String::from_utf8_lossy(&answer.body)
            ));
        }
        let seen = match fault {
            Some(kind @ ("response_lost" | "feed_answer_lost")) => {
                self.stats.fault(kind);
                Answer::lost()
            }
            Some(kind) => {
                self.stats.fault(kind);
                self.stats.requests += 1;
                let second = self.server.raw(method, path, Some(token), body).await;
                if second.status >= 500 {
                    self.problems.push(format!(
                        "server error on a duplicate: d{dev} {method} {path} answered {}",
                        second.status
                    ));
                }
                self.trace.push(format!(
                    "d{dev} dup {method} {} {}",
                    stable(path),
                    second.status
                ));
                answer
            }
            None => answer,
        };
        self.trace.push(format!(
            "d{dev} {method} {} {}{}",
            stable(path),
            seen.status,
            fault.map(|f| format!(" [{f}]")).unwrap_or_default()
        ));
        seen
    }
}
