//! The real `cairn` binary as a serving process: started on a free loopback port, its stdout
//! read line by line, killed however the test ends.

use std::io::{BufRead, BufReader};
use std::process::{Child, Command, Stdio};
use std::sync::mpsc;
use std::time::Duration;

pub struct Served {
    child: Child,
    lines: mpsc::Receiver<String>,
    /// `http://127.0.0.1:<port>`, once it listens.
    pub base: String,
    /// The lines it printed before it listened.
    pub before: Vec<String>,
}

impl Served {
    /// `cairn <args> --addr 127.0.0.1:0` with `env` added; waits until it listens, or panics
    /// with what it said if it exits first.
    pub fn start(args: &[&str], env: &[(&str, &str)]) -> Result<Served, String> {
        let mut cmd = Command::new(env!("CARGO_BIN_EXE_cairn"));
        cmd.args(args)
            .args(["--addr", "127.0.0.1:0"])
            .env("RUST_LOG", "warn")
            .env_remove("CAIRN_LOG_FORMAT")
            .stdout(Stdio::piped())
            .stderr(Stdio::piped());
        for (k, v) in env {
            cmd.env(k, v);
        }
        let mut child = cmd.spawn().unwrap();
        let (tx, lines) = mpsc::channel::<String>();
        for out in [
            Box::new(child.stdout.take().unwrap()) as Box<dyn std::io::Read + Send>,
            Box::new(child.stderr.take().unwrap()),
        ] {
            let tx = tx.clone();
            std::thread::spawn(move || {
                for line in BufReader::new(out).lines().map_while(Result::ok) {
                    if tx.send(line).is_err() {
                        break;
                    }
                }
            });
        }
        drop(tx);
        let mut before = Vec::new();
        loop {
            match lines.recv_timeout(Duration::from_secs(60)) {
                Ok(line) => match line.strip_prefix("cairn listening on ") {
                    Some(url) => {
                        return Ok(Served {
                            base: url.to_owned(),
                            child,
                            lines,
                            before,
                        })
                    }
                    None => before.push(line),
                },
                // Both pipes closed: it exited without listening.
                Err(mpsc::RecvTimeoutError::Disconnected) => {
                    let status = child.wait().unwrap();
                    return Err(format!("{status}: {}", before.join("\n")));
                }
                Err(mpsc::RecvTimeoutError::Timeout) => {
                    let _ = child.kill();
                    panic!("cairn did not listen within 60 s: {}", before.join("\n"));
                }
            }
        }
    }

    /// The next line it prints (stdout or stderr), within a minute.
    pub fn next_line(&self) -> String {
        self.lines
            .recv_timeout(Duration::from_secs(60))
            .expect("a line")
    }
}

impl Drop for Served {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}
