//! `TestServer`: a Cairn server on 127.0.0.1:0 over a temp data dir and a fresh metadata
//! database (a SQLite file, or a new PostgreSQL database dropped again), stopped on `Drop`.
//! `both!` runs one test body on each backend, so every endpoint is proven on both.

use rand::RngCore;
use reqwest::{Client, Method, Response, StatusCode};
use serde::de::DeserializeOwned;
use serde_json::{json, Value};
use sqlx::Connection;
use tokio::sync::oneshot;
use wire::shares::Share;
use wire::{CommitResponse, Manifest, SessionResponse, UploadResponse};

/// Which metadata database a test server runs on.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Backend {
    Sqlite,
    Postgres,
}

/// Generates, for each named `async fn(Backend)`, a module with a `sqlite` and a `postgres`
/// test (`upload::a_retried_commit::postgres`), on a multi-threaded runtime so requests
/// really run in parallel.
#[macro_export]
macro_rules! both {
    ($($name:ident),* $(,)?) => {$(
        mod $name {
            #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
            async fn sqlite() {
                super::$name($crate::fixture::Backend::Sqlite).await
            }
            #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
            async fn postgres() {
                super::$name($crate::fixture::Backend::Postgres).await
            }
        }
    )*};
}

/// The PostgreSQL server tests create their databases on: `DATABASE_URL`, else the local one.
pub fn postgres_admin_url() -> String {
    std::env::var("DATABASE_URL")
        .ok()
        .filter(|u| u.starts_with("postgres"))
        .unwrap_or_else(|| "postgres://postgres@127.0.0.1:5432/postgres".to_owned())
}

/// `admin` with its database name replaced by `db`.
fn with_database(admin: &str, db: &str) -> String {
    let (base, query) = match admin.split_once('?') {
        Some((b, q)) => (b, format!("?{q}")),
        None => (admin, String::new()),
    };
    let scheme_end = base.find("://").map(|i| i + 3).unwrap_or(0);
    let host_end = base[scheme_end..]
        .find('/')
        .map(|i| scheme_end + i)
        .unwrap_or(base.len());
    format!("{}/{db}{query}", &base[..host_end])
}

/// A PostgreSQL database made for one test and dropped (connections and all) with it.
struct TempDatabase {
    admin: String,
    name: String,
}

impl TempDatabase {
    async fn create() -> (TempDatabase, String) {
        let admin = postgres_admin_url();
        let mut id = [0u8; 8];
        rand::rngs::OsRng.fill_bytes(&mut id);
        let name = format!("cairn_test_{}", hex::encode(id));
        let mut conn = sqlx::PgConnection::connect(&admin).await.unwrap_or_else(|e| {
            panic!("PostgreSQL is needed at {admin} (set DATABASE_URL, or run `cargo xtask setup`): {e}")
        });
        sqlx::raw_sql(&format!("CREATE DATABASE {name}"))
            .execute(&mut conn)
            .await
            .unwrap();
        let _ = conn.close().await;
        let url = with_database(&admin, &name);
        (TempDatabase { admin, name }, url)
    }
}

impl Drop for TempDatabase {
    fn drop(&mut self) {
        let admin = self.admin.clone();
        let name = self.name.clone();
        // Drop runs inside the test's runtime, which cannot be blocked on; a short-lived
        // thread with its own runtime drops the database (FORCE ends the server's connections).
        let done = std::thread::spawn(move || {
            let rt = tokio::runtime::Builder::new_current_thread()
                .enable_all()
                .build()
                .unwrap();
            rt.block_on(async {
                if let Ok(mut conn) = sqlx::PgConnection::connect(&admin).await {
                    let _ = sqlx::raw_sql(&format!("DROP DATABASE IF EXISTS {name} WITH (FORCE)"))
                        .execute(&mut conn)
                        .await;
                    let _ = conn.close().await;
                }
            })
        });
        let _ = done.join();
    }
}

/// An empty metadata database of either backend (no migrations applied), removed on `Drop`.
pub struct EmptyDatabase {
    pub url: String,
    _dir: tempfile::TempDir,
    _pg: Option<TempDatabase>,
}

impl EmptyDatabase {
    pub async fn create(backend: Backend) -> EmptyDatabase {
        let dir = tempfile::tempdir().unwrap();
        match backend {
            Backend::Sqlite => EmptyDatabase {
                url: format!("sqlite://{}?mode=rwc", dir.path().join("m.db").display()),
                _dir: dir,
                _pg: None,
            },
            Backend::Postgres => {
                let (pg, url) = TempDatabase::create().await;
                EmptyDatabase {
                    url,
                    _dir: dir,
                    _pg: Some(pg),
                }
            }
        }
    }
}

/// The `/metrics` bearer token of every test server (`metrics_text` sends it).
pub const METRICS_TOKEN: &str = "test-metrics-token-0123456789";

pub struct TestServer {
    pub base: String,
    pub http: Client,
    pub dir: tempfile::TempDir,
    /// The server's state, for calling background jobs (GC, expiry) directly.
    pub state: api::AppState,
    /// The S3 server the chunks go to, when not the local directory.
    pub garage: Option<crate::garage::Garage>,
    /// The metadata database this server runs on, for tests that look beneath the API.
    pub database_url: String,
    stop: Option<oneshot::Sender<()>>,
    task: Option<tokio::task::JoinHandle<()>>,
    // Declared last: dropped after the server is told to stop.
    _db: Option<TempDatabase>,
}

/// One adjustment of the settings a test server starts with.
type Tweak<'a> = Box<dyn FnOnce(&mut api::Settings) + 'a>;

/// How a [`TestServer`] is set up: `TestServer::on(backend)`, then `.s3(..)` and
/// `.settings(..)` as the test needs, then `.start()`.
#[must_use]
pub struct Builder<'a> {
    backend: Backend,
    s3: bool,
    tweaks: Vec<Tweak<'a>>,
}

impl<'a> Builder<'a> {
    /// Chunks in a fresh Garage when `s3`, else in the local directory (the default).
    pub fn s3(mut self, s3: bool) -> Builder<'a> {
        self.s3 = s3;
        self
    }

    /// Adjusts the settings (quotas, TTLs…); several calls apply in order.
    pub fn settings(mut self, tweak: impl FnOnce(&mut api::Settings) + 'a) -> Builder<'a> {
        self.tweaks.push(Box::new(tweak));
        self
    }

    pub async fn start(self) -> TestServer {
        let garage = if self.s3 {
            Some(crate::garage::Garage::start().await)
        } else {
            None
        };
        let dir = tempfile::tempdir().unwrap();
        let (db, database_url) = match self.backend {
            Backend::Sqlite => (
                None,
                format!(
                    "sqlite://{}?mode=rwc",
                    dir.path().join("cairn.db").display()
                ),
            ),
            Backend::Postgres => {
                let (db, url) = TempDatabase::create().await;
                (Some(db), url)
            }
        };
        let mut settings = api::Settings {
            addr: "127.0.0.1:0".parse().unwrap(),
            data_dir: dir.path().to_owned(),
            database_url: Some(database_url.clone()),
            s3: garage.as_ref().map(|g| g.settings()),
            // Tests run the collector themselves, at the moment they choose.
            gc_interval: std::time::Duration::ZERO,
            metrics_token: Some(METRICS_TOKEN.to_owned()),
            ..api::Settings::default()
        };
        for tweak in self.tweaks {
            tweak(&mut settings);
        }
        let listener = tokio::net::TcpListener::bind(settings.addr).await.unwrap();
        let base = format!("http://{}", listener.local_addr().unwrap());
        let state = api::build_state_with_clock(settings, api::clock::Clock::adjustable())
            .await
            .unwrap();
        let served = state.clone();
        let (tx, rx) = oneshot::channel::<()>();
        let task = tokio::spawn(async move {
            let state = served;
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
            state,
            garage,
            database_url,
            stop: Some(tx),
            task: Some(task),
            _db: db,
        }
    }
}

impl TestServer {
    /// A server on `backend`, set up by the returned builder.
    pub fn on<'a>(backend: Backend) -> Builder<'a> {
        Builder {
            backend,
            s3: false,
            tweaks: Vec::new(),
        }
    }

    /// An unauthenticated POST of a JSON body.
    pub async fn post(&self, path: &str, body: Value) -> Response {
        self.http
            .post(self.url(path))
            .json(&body)
            .send()
            .await
            .unwrap()
    }

    /// An unauthenticated GET.
    pub async fn get(&self, path: &str) -> Response {
        self.http.get(self.url(path)).send().await.unwrap()
    }

    /// An unauthenticated GET of a JSON document (`/openapi.json`, `/healthz`).
    pub async fn get_json(&self, path: &str) -> Value {
        self.get(path).await.json().await.unwrap()
    }

    /// The server's "now" (its test clock), in ms since the epoch.
    pub fn now_ms(&self) -> i64 {
        self.state.clock.now_ms()
    }

    /// Moves the server's clock forward: what expires by time expires, without waiting.
    pub fn advance(&self, by: std::time::Duration) {
        self.state.clock.advance(by)
    }

    /// The Prometheus text of `/metrics`.
    pub async fn metrics_text(&self) -> String {
        let r = self
            .http
            .get(self.url("/metrics"))
            .bearer_auth(METRICS_TOKEN)
            .send()
            .await
            .unwrap();
        assert_eq!(r.status(), StatusCode::OK);
        r.text().await.unwrap()
    }

    /// One unlabelled figure of `/metrics`.
    pub async fn metric(&self, name: &str) -> f64 {
        let text = self.metrics_text().await;
        text.lines()
            .find_map(|l| l.strip_prefix(&format!("{name} ")))
            .unwrap_or_else(|| panic!("{name} not in {text}"))
            .parse()
            .unwrap()
    }

    pub fn url(&self, path: &str) -> String {
        if path.starts_with("http") {
            path.to_owned()
        } else {
            format!("{}{}", self.base, path)
        }
    }

    /// A new account (password `correct horse`), signed in on its device `laptop`.
    pub async fn register(&self, username: &str) -> User<'_> {
        self.session("/api/v1/accounts", username, "laptop", StatusCode::CREATED)
            .await
    }

    /// `username` signed in on another device, `device_name`.
    pub async fn sign_in(&self, username: &str, device_name: &str) -> User<'_> {
        self.session("/api/v1/sessions", username, device_name, StatusCode::OK)
            .await
    }

    async fn session(
        &self,
        path: &str,
        username: &str,
        device_name: &str,
        status: StatusCode,
    ) -> User<'_> {
        let r = self
            .http
            .post(self.url(path))
            .json(&json!({"username": username, "password": "correct horse", "device_name": device_name}))
            .send()
            .await
            .unwrap();
        assert_eq!(r.status(), status);
        let s: SessionResponse = r.json().await.unwrap();
        User {
            server: self,
            session: s,
        }
    }

    /// A second handle on the server's metadata database, to look beneath the API.
    pub async fn db(&self) -> api::db::Db {
        api::db::Db::connect(&self.database_url).await.unwrap()
    }

    /// The namespace's usage counters (files, old versions, open uploads), read beneath the
    /// API: one tree's apart from its owner's others (a shared folder's, their own tree's).
    pub async fn counters(&self, namespace_id: i64) -> (u64, u64, u64) {
        let db = self.db().await;
        let u = api::db::usage::read(&db, namespace_id).await.unwrap();
        db.pool.close().await;
        (u.current, u.history, u.staged)
    }

    /// The namespace's change log sequence numbers, in order.
    pub async fn change_seqs(&self, namespace_id: i64) -> Vec<i64> {
        use sqlx::Row as _;
        let db = self.db().await;
        let rows = sqlx::query("SELECT seq FROM changes WHERE namespace_id = $1 ORDER BY seq")
            .bind(namespace_id)
            .fetch_all(&db.pool)
            .await
            .unwrap();
        db.pool.close().await;
        rows.iter().map(|r| r.get::<i64, _>(0)).collect()
    }

    /// The namespace's change log as (node id, kind), in order.
    pub async fn changes(&self, namespace_id: i64) -> Vec<(i64, String)> {
        use sqlx::Row as _;
        let db = self.db().await;
        let rows =
            sqlx::query("SELECT node_id, kind FROM changes WHERE namespace_id = $1 ORDER BY seq")
                .bind(namespace_id)
                .fetch_all(&db.pool)
                .await
                .unwrap();
        db.pool.close().await;
        rows.iter().map(|r| (r.get(0), r.get(1))).collect()
    }

    /// Every chunk file under the data dir with its length: a fingerprint of what is stored.
    pub fn stored_files(&self) -> Vec<(String, u64)> {
        let mut out = Vec::new();
        let mut stack = vec![self.dir.path().join("chunks")];
        while let Some(d) = stack.pop() {
            for e in std::fs::read_dir(d).unwrap() {
                let e = e.unwrap();
                if e.file_type().unwrap().is_dir() {
                    stack.push(e.path());
                } else if !e.file_name().to_string_lossy().contains('.') {
                    // (A name with a dot is a second copy waiting for the collector.)
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
        // Every test is a contract check too: whatever the server answered must be in
        // `/openapi.json`, or a client written from it meets statuses it was never told of.
        if !std::thread::panicking() {
            let undocumented = undocumented(&self.state.metrics.answered());
            assert!(
                undocumented.is_empty(),
                "answers missing from /openapi.json (method, route, status): {undocumented:?}"
            );
        }
    }
}

/// The answered (method, route template, status) that the OpenAPI document does not list.
/// Requests no route matched (the web app's static files) and 405s (a method the route does
/// not have) are the router's, not an operation's, and are left out.
pub fn undocumented(answered: &[(&'static str, String, u16)]) -> Vec<(String, String, u16)> {
    let doc = serde_json::to_value(api::openapi::document()).unwrap();
    answered
        .iter()
        // `/api/v1/{*rest}` is the router's "no such endpoint" answer, not an operation.
        .filter(|(_, route, status)| {
            route.starts_with('/') && route != "/api/v1/{*rest}" && *status != 405
        })
        .filter(|(method, route, status)| {
            let path = route.replace("{*", "{");
            let responses = &doc["paths"][&path][method.to_lowercase()]["responses"];
            responses.get(status.to_string()).is_none() && responses.get("default").is_none()
        })
        .map(|(m, r, s)| (m.to_string(), r.clone(), *s))
        .collect()
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
        self.upload_to(self.session.root_id, name, data, base).await
    }

    /// Upload + PUT + commit of `data` as `name` in folder `parent`.
    pub async fn upload_to(
        &self,
        parent: i64,
        name: &str,
        data: &[u8],
        base: Option<i64>,
    ) -> CommitResponse {
        let (manifest, up) = self.start_upload(data).await;
        self.put_missing(&manifest, &up, data).await;
        let r = self.commit(&up.upload_id, parent, name, base).await;
        let status = r.status();
        let text = r.text().await.unwrap();
        assert_eq!(status, StatusCode::OK, "{text}");
        serde_json::from_str(&text).unwrap()
    }

    /// Asks for a new folder `name` in `parent`; the answer as it came.
    pub async fn new_folder(&self, parent: i64, name: &str) -> Response {
        let body = json!({"parent_id": parent, "name": name});
        self.call(Method::POST, "/api/v1/folders", Some(body)).await
    }

    /// A new folder `name` in `parent`.
    pub async fn mkdir(&self, parent: i64, name: &str) -> wire::Node {
        let r = self.new_folder(parent, name).await;
        let status = r.status();
        let text = r.text().await.unwrap();
        assert_eq!(status, StatusCode::CREATED, "mkdir {name}: {text}");
        serde_json::from_str(&text).unwrap()
    }

    /// Shares folder `folder` of the caller's own tree (`POST /nodes/{id}/share`): it becomes
    /// a namespace of its own (`Share::id`) rooted at the folder (`Share::root_id`).
    pub async fn share(&self, folder: i64) -> Share {
        let r = self
            .call(Method::POST, &format!("/api/v1/nodes/{folder}/share"), None)
            .await;
        let status = r.status();
        let text = r.text().await.unwrap();
        assert_eq!(status, StatusCode::CREATED, "share {folder}: {text}");
        serde_json::from_str(&text).unwrap()
    }

    /// Invites `member` (signed up as `username`) into the caller's shared folder `share` with
    /// `role`, as the owner does; when `accepted`, the member accepts, which places the folder
    /// at the top of their own tree.
    pub async fn invite(
        &self,
        share: i64,
        member: &User<'_>,
        username: &str,
        role: &str,
        accepted: bool,
    ) {
        let body = json!({ "username": username, "role": role });
        let path = format!("/api/v1/shares/{share}/members");
        let r = self.call(Method::POST, &path, Some(body)).await;
        let status = r.status();
        let text = r.text().await.unwrap();
        assert_eq!(status, StatusCode::CREATED, "invite {username}: {text}");
        if accepted {
            let _: Share = member
                .ok(
                    Method::POST,
                    &format!("/api/v1/shares/{share}/accept"),
                    None,
                )
                .await;
        }
    }

    /// `DELETE /shares/{share}/members/{user_id}`: the owner removes a member, or a member
    /// (their own id) leaves.
    pub async fn drop_member(&self, share: i64, user_id: i64) {
        let path = format!("/api/v1/shares/{share}/members/{user_id}");
        let r = self.call(Method::DELETE, &path, None).await;
        assert_eq!(r.status(), StatusCode::NO_CONTENT, "{path}");
    }

    /// Moves node `id` (and what is below it) to the trash.
    pub async fn trash(&self, id: i64) {
        let r = self
            .call(Method::DELETE, &format!("/api/v1/nodes/{id}"), None)
            .await;
        assert_eq!(r.status(), StatusCode::NO_CONTENT, "trash {id}");
    }

    /// Deletes trashed node `id` for good.
    pub async fn purge(&self, id: i64) {
        let r = self
            .call(Method::DELETE, &format!("/api/v1/trash/{id}"), None)
            .await;
        assert_eq!(r.status(), StatusCode::NO_CONTENT, "purge {id}");
    }

    /// Revokes share link `id` (204).
    pub async fn revoke_link(&self, id: i64) {
        let r = self
            .call(Method::DELETE, &format!("/api/v1/links/{id}"), None)
            .await;
        assert_eq!(r.status(), StatusCode::NO_CONTENT);
    }

    /// The names in folder `id`, in listing order.
    pub async fn names(&self, id: i64) -> Vec<String> {
        let l: wire::Listing = self
            .ok(Method::GET, &format!("/api/v1/nodes/{id}/children"), None)
            .await;
        l.children.into_iter().map(|n| n.name).collect()
    }

    /// The download answer for a file: its manifest and a signed GET URL per chunk.
    pub async fn download_plan(&self, id: i64) -> wire::DownloadResponse {
        self.ok(Method::GET, &format!("/api/v1/nodes/{id}/download"), None)
            .await
    }

    /// The whole file as the download protocol returns it, every chunk hash checked.
    pub async fn download(&self, id: i64) -> Vec<u8> {
        let d = self.download_plan(id).await;
        let mut out = Vec::new();
        for c in &d.manifest.chunks {
            let t = d.chunks.iter().find(|t| t.hash == c.hash).unwrap();
            let got = self
                .server
                .http
                .get(self.server.url(&t.url))
                .send()
                .await
                .unwrap()
                .bytes()
                .await
                .unwrap();
            assert_eq!(wasm_chunker::hash_chunk(&got), c.hash);
            out.extend_from_slice(&got);
        }
        out
    }
}

/// `owner` shares their folder `folder` with `member` (signed up as `member_username`) in
/// `role`: the sharing routes' way, invited and (when `accepted`) accepted.
pub async fn share_with(
    owner: &User<'_>,
    folder: i64,
    member: &User<'_>,
    member_username: &str,
    role: &str,
    accepted: bool,
) -> Share {
    let s = owner.share(folder).await;
    owner
        .invite(s.id, member, member_username, role, accepted)
        .await;
    s
}

/// A client that never reuses a connection. A server may answer a request it refuses before
/// reading its body and then hang up; a pooled client could send the next request down that
/// dead connection and fail with `IncompleteMessage`. Use it wherever a test sends refused
/// bodies.
pub fn fresh_client() -> Client {
    Client::builder().pool_max_idle_per_host(0).build().unwrap()
}

/// Polls `probe` until it gives `Some`, at most `within`; panics saying `what` otherwise. For
/// what the server finishes after answering (a tally, a rollback): never a fixed sleep.
pub async fn eventually<T, F, Fut>(within: std::time::Duration, what: &str, mut probe: F) -> T
where
    F: FnMut() -> Fut,
    Fut: std::future::Future<Output = Option<T>>,
{
    let deadline = tokio::time::Instant::now() + within;
    loop {
        if let Some(v) = probe().await {
            return v;
        }
        assert!(
            tokio::time::Instant::now() < deadline,
            "not within {within:?}: {what}"
        );
        tokio::time::sleep(std::time::Duration::from_millis(20)).await;
    }
}

/// The tests' one source of made-up data: xorshift64*, seeded, so a failure replays.
pub struct TestRng(u64);

impl TestRng {
    pub fn seeded(seed: u64) -> TestRng {
        TestRng(seed.wrapping_mul(0x9E37_79B9_7F4A_7C15) | 1)
    }

    pub fn next_u64(&mut self) -> u64 {
        self.0 ^= self.0 >> 12;
        self.0 ^= self.0 << 25;
        self.0 ^= self.0 >> 27;
        self.0.wrapping_mul(0x2545_F491_4F6C_DD1D)
    }

    /// A number in `0..below` (0 when `below` is 0).
    pub fn below(&mut self, below: u64) -> u64 {
        self.next_u64() % below.max(1)
    }

    pub fn coin(&mut self) -> bool {
        self.next_u64() & 1 == 1
    }

    pub fn bytes(&mut self, len: usize) -> Vec<u8> {
        let mut out = Vec::with_capacity(len + 8);
        while out.len() < len {
            out.extend_from_slice(&self.next_u64().to_le_bytes());
        }
        out.truncate(len);
        out
    }
}

/// `len` deterministic pseudo-random bytes from `seed`.
pub fn bytes(seed: u64, len: usize) -> Vec<u8> {
    TestRng::seeded(seed).bytes(len)
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
