//! The real `cairn` binary on a free loopback port, as `it/crash.rs` runs it, its log (it
//! logs to stdout) kept so a failure can show it.

use std::io::{BufRead, Write};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::Duration;

pub struct Cairn {
    child: Child,
    pub base: String,
    log: PathBuf,
}

impl Cairn {
    /// Starts `cairn` on `database_url`, chunks under `data` (or in S3 when `env` says so).
    pub fn start(data: &Path, database_url: &str, env: &[(&str, String)]) -> Cairn {
        let log = data.with_extension("log");
        let mut cmd = Command::new(env!("CARGO_BIN_EXE_cairn"));
        cmd.args(["--addr", "127.0.0.1:0", "--database-url", database_url])
            .arg("--data-dir")
            .arg(data)
            .env("RUST_LOG", "warn")
            .env("CAIRN_GC_INTERVAL_SECS", "0")
            .env("CAIRN_SCRUB_INTERVAL_SECS", "0")
            .stdout(Stdio::piped())
            .stderr(std::fs::File::create(&log).unwrap());
        for (k, v) in env {
            cmd.env(k, v);
        }
        let mut child = cmd.spawn().expect("cannot start cairn");
        let stdout = child.stdout.take().unwrap();
        let (tx, rx) = std::sync::mpsc::channel();
        // Reads the port from the first line, then drains the pipe so the server never blocks.
        let mut keep = std::fs::OpenOptions::new().append(true).open(&log).unwrap();
        std::thread::spawn(move || {
            for line in std::io::BufReader::new(stdout).lines() {
                let Ok(line) = line else { break };
                let _ = writeln!(keep, "{line}");
                if let Some(base) = line.strip_prefix("cairn listening on ") {
                    let _ = tx.send(base.to_owned());
                }
            }
        });
        let base = rx
            .recv_timeout(Duration::from_secs(60))
            .unwrap_or_else(|_| {
                panic!(
                    "cairn did not start within a minute:\n{}",
                    std::fs::read_to_string(&log).unwrap_or_default()
                )
            });
        Cairn { child, base, log }
    }

    /// Still running (a panic or an exit would fail the test here).
    pub fn assert_alive(&mut self) {
        if let Some(status) = self.child.try_wait().unwrap() {
            panic!("cairn exited ({status}):\n{}", self.log());
        }
    }

    pub fn log(&self) -> String {
        std::fs::read_to_string(&self.log).unwrap_or_default()
    }
}

impl Drop for Cairn {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}
