//! The real `cairn` process on a free loopback port, killed with `-9` and started again on
//! the same data, and the metadata database it runs on (a SQLite file, or a PostgreSQL
//! database made for the test and dropped after it).

use std::io::BufRead;
use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::Duration;

use rand::RngCore;
use sqlx::Connection;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Backend {
    Sqlite,
    Postgres,
}

/// Where the server keeps its chunks (and, on SQLite, its database): on `/dev/shm` when there
/// is one, so fsync does not set the pace; removed on `Drop`.
pub struct Data {
    pub dir: tempfile::TempDir,
    pub database_url: String,
    pg: Option<(String, String)>,
}

impl Data {
    pub async fn create(backend: Backend) -> Data {
        let shm = Path::new("/dev/shm");
        let dir = if shm.is_dir() {
            tempfile::tempdir_in(shm).unwrap()
        } else {
            tempfile::tempdir().unwrap()
        };
        std::fs::create_dir_all(dir.path().join("data")).unwrap();
        match backend {
            Backend::Sqlite => Data {
                database_url: format!("sqlite://{}?mode=rwc", dir.path().join("m.db").display()),
                dir,
                pg: None,
            },
            Backend::Postgres => {
                let admin = std::env::var("DATABASE_URL")
                    .ok()
                    .filter(|u| u.starts_with("postgres"))
                    .unwrap_or_else(|| "postgres://postgres@127.0.0.1:5432/postgres".to_owned());
                let mut id = [0u8; 8];
                rand::rngs::OsRng.fill_bytes(&mut id);
                let name = format!("cairn_churn_{}", hex::encode(id));
                let mut conn = sqlx::PgConnection::connect(&admin)
                    .await
                    .unwrap_or_else(|e| panic!("PostgreSQL is needed at {admin}: {e}"));
                sqlx::raw_sql(&format!("CREATE DATABASE {name}"))
                    .execute(&mut conn)
                    .await
                    .unwrap();
                let _ = conn.close().await;
                let (base, query) = admin.split_once('?').unwrap_or((&admin, ""));
                let host_end = base.rfind('/').unwrap();
                let query = if query.is_empty() {
                    String::new()
                } else {
                    format!("?{query}")
                };
                Data {
                    database_url: format!("{}/{name}{query}", &base[..host_end]),
                    dir,
                    pg: Some((admin, name)),
                }
            }
        }
    }

    pub fn path(&self) -> PathBuf {
        self.dir.path().join("data")
    }
}

impl Drop for Data {
    fn drop(&mut self) {
        let Some((admin, name)) = self.pg.take() else {
            return;
        };
        // Drop runs inside the test's runtime, which cannot be blocked on: a thread of its
        // own drops the database (FORCE ends whatever connections a killed server left).
        let _ = std::thread::spawn(move || {
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
        })
        .join();
    }
}

/// The `cairn` binary, serving on a free loopback port.
pub struct Server {
    child: Child,
    pub base: String,
    pub addr: SocketAddr,
}

impl Server {
    pub fn start(data: &Data) -> Server {
        let mut child = Command::new(env!("CARGO_BIN_EXE_cairn"))
            .args([
                "--addr",
                "127.0.0.1:0",
                "--database-url",
                &data.database_url,
            ])
            .arg("--data-dir")
            .arg(data.path())
            .env("RUST_LOG", "error")
            .env("CAIRN_GC_INTERVAL_SECS", "0")
            .env("CAIRN_SCRUB_INTERVAL_SECS", "0")
            .stdout(Stdio::piped())
            .stderr(Stdio::null())
            .spawn()
            .expect("cannot start cairn");
        let stdout = child.stdout.take().unwrap();
        let (tx, rx) = std::sync::mpsc::channel();
        // Reads the address from its line, then drains the pipe so the server never blocks.
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
        let addr = base
            .trim_start_matches("http://")
            .parse()
            .unwrap_or_else(|e| panic!("{base}: {e}"));
        Server { child, base, addr }
    }

    /// `kill -9`: no shutdown, no flush, nothing the process could still do.
    pub fn kill(mut self) {
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
