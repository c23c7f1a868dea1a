//! `Garage`: a real single-node Garage S3 server on free loopback ports, its metadata and data
//! under a temp dir, with a bucket and a key made at start; ready when a signed request to the
//! bucket succeeds (polled, never slept for), and killed in `Drop`.

use std::net::TcpListener;
use std::path::PathBuf;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use aws_sdk_s3::config::{BehaviorVersion, Credentials, Region};
use aws_sdk_s3::types::{CorsConfiguration, CorsRule};
use aws_sdk_s3::Client;

pub struct Garage {
    pub endpoint: String,
    pub bucket: String,
    pub access_key: String,
    pub secret_key: String,
    pub client: Client,
    dir: tempfile::TempDir,
    child: Child,
}

pub const REGION: &str = "garage";

/// The Garage binary: `GARAGE_BIN`, else `~/.cargo/bin/garage` (where `cargo xtask setup`
/// installs it), else `garage` on the PATH.
pub fn binary() -> PathBuf {
    if let Some(p) = std::env::var_os("GARAGE_BIN") {
        return p.into();
    }
    if let Some(home) = std::env::var_os("HOME") {
        let p = PathBuf::from(home).join(".cargo/bin/garage");
        if p.exists() {
            return p;
        }
    }
    PathBuf::from("garage")
}

fn free_port() -> u16 {
    TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}

fn random_hex(bytes: usize) -> String {
    use rand::RngCore;
    let mut b = vec![0u8; bytes];
    rand::rngs::OsRng.fill_bytes(&mut b);
    hex::encode(b)
}

impl Garage {
    pub async fn start() -> Garage {
        let dir = tempfile::tempdir().unwrap();
        let (rpc, s3, admin) = (free_port(), free_port(), free_port());
        let config = format!(
            r#"metadata_dir = "{meta}"
data_dir = "{data}"
db_engine = "sqlite"
replication_factor = 1
rpc_bind_addr = "127.0.0.1:{rpc}"
rpc_public_addr = "127.0.0.1:{rpc}"
rpc_secret = "{secret}"

[s3_api]
s3_region = "{REGION}"
api_bind_addr = "127.0.0.1:{s3}"
root_domain = ".s3.garage.localhost"

[admin]
api_bind_addr = "127.0.0.1:{admin}"
"#,
            meta = dir.path().join("meta").display(),
            data = dir.path().join("data").display(),
            secret = random_hex(32),
        );
        let conf_path = dir.path().join("garage.toml");
        std::fs::write(&conf_path, config).unwrap();
        let access_key = format!("GK{}", random_hex(12));
        let secret_key = random_hex(32);
        let bucket = "cairn".to_owned();
        let child = spawn(&dir, &access_key, &secret_key, &bucket);
        let endpoint = format!("http://127.0.0.1:{s3}");
        let client = client(&endpoint, &access_key, &secret_key);
        let mut g = Garage {
            endpoint,
            bucket,
            access_key,
            secret_key,
            client,
            dir,
            child,
        };
        g.wait_ready().await;
        g
    }

    /// `kill -9`, keeping the data, ports and keys for [`Garage::restart`].
    #[allow(dead_code)] // `tests/restarts` uses it
    pub fn kill(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }

    /// Starts the server again on the same data and ports; ready when this returns.
    #[allow(dead_code)] // `tests/restarts` uses it
    pub async fn restart(&mut self) {
        self.kill();
        self.child = spawn(&self.dir, &self.access_key, &self.secret_key, &self.bucket);
        self.wait_ready().await;
    }

    async fn wait_ready(&mut self) {
        let deadline = Instant::now() + Duration::from_secs(30);
        let mut last = String::new();
        while Instant::now() < deadline {
            if let Some(status) = self.child.try_wait().unwrap() {
                panic!("garage exited early ({status}):\n{}", self.log());
            }
            match self
                .client
                .list_objects_v2()
                .bucket(&self.bucket)
                .max_keys(1)
                .send()
                .await
            {
                Ok(_) => return,
                Err(e) => last = aws_sdk_s3::error::DisplayErrorContext(e).to_string(),
            }
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
        panic!("garage was not ready within 30 s: {last}\n{}", self.log());
    }

    pub fn log(&self) -> String {
        std::fs::read_to_string(self.dir.path().join("garage.log")).unwrap_or_default()
    }

    /// Lets pages from `origin` PUT and GET objects (what a browser needs for signed URLs).
    pub async fn allow_origin(&self, origin: &str) {
        let rule = CorsRule::builder()
            .allowed_origins(origin)
            .allowed_methods("GET")
            .allowed_methods("PUT")
            .allowed_methods("HEAD")
            .allowed_headers("*")
            .expose_headers("ETag")
            .max_age_seconds(600)
            .build()
            .unwrap();
        self.client
            .put_bucket_cors()
            .bucket(&self.bucket)
            .cors_configuration(
                CorsConfiguration::builder()
                    .cors_rules(rule)
                    .build()
                    .unwrap(),
            )
            .send()
            .await
            .unwrap();
    }

    pub fn settings(&self) -> api::settings::S3Settings {
        api::settings::S3Settings {
            endpoint: Some(self.endpoint.clone()),
            bucket: self.bucket.clone(),
            region: REGION.into(),
            path_style: true,
            access_key_id: self.access_key.clone(),
            secret_access_key: self.secret_key.clone(),
            // Every chunk to the store's pre-signed URLs, as the tests of that path expect
            // (their files are small); `it/inline.rs` raises it.
            inline_max: 0,
        }
    }

    /// Every key in the bucket under `prefix`, with its size.
    pub async fn keys(&self, prefix: &str) -> Vec<(String, i64)> {
        let mut out = Vec::new();
        let mut token = None;
        loop {
            let page = self
                .client
                .list_objects_v2()
                .bucket(&self.bucket)
                .prefix(prefix)
                .set_continuation_token(token)
                .send()
                .await
                .unwrap();
            for o in page.contents() {
                out.push((o.key().unwrap().to_owned(), o.size().unwrap_or(0)));
            }
            match page.next_continuation_token() {
                Some(t) if page.is_truncated() == Some(true) => token = Some(t.to_owned()),
                _ => break,
            }
        }
        out.sort();
        out
    }

    pub async fn get(&self, key: &str) -> Option<Vec<u8>> {
        let o = self
            .client
            .get_object()
            .bucket(&self.bucket)
            .key(key)
            .send()
            .await
            .ok()?;
        Some(o.body.collect().await.unwrap().into_bytes().to_vec())
    }
}

/// The server on the config in `dir`, its output appended to `garage.log` there.
fn spawn(dir: &tempfile::TempDir, access_key: &str, secret_key: &str, bucket: &str) -> Child {
    let log = std::fs::OpenOptions::new()
        .create(true)
        .append(true)
        .open(dir.path().join("garage.log"))
        .unwrap();
    Command::new(binary())
        .arg("-c")
        .arg(dir.path().join("garage.toml"))
        .args(["server", "--single-node", "--default-bucket"])
        .env("GARAGE_DEFAULT_ACCESS_KEY", access_key)
        .env("GARAGE_DEFAULT_SECRET_KEY", secret_key)
        .env("GARAGE_DEFAULT_BUCKET", bucket)
        .env("RUST_LOG", "warn")
        .stdin(Stdio::null())
        .stdout(log.try_clone().unwrap())
        .stderr(log)
        .spawn()
        .unwrap_or_else(|e| {
            panic!(
                "cannot start {} ({e}); `cargo xtask setup` installs Garage",
                binary().display()
            )
        })
}

pub fn client(endpoint: &str, access_key: &str, secret_key: &str) -> Client {
    let conf = aws_sdk_s3::Config::builder()
        .behavior_version(BehaviorVersion::latest())
        .region(Region::new(REGION))
        .endpoint_url(endpoint)
        .credentials_provider(Credentials::new(access_key, secret_key, None, None, "test"))
        .force_path_style(true)
        .build();
    Client::from_conf(conf)
}

impl Drop for Garage {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}
