//! The `fault-proxy` binary as the browser tests drive it: started with an upstream, it prints
//! its address, carries a connection through, answers `stats`, and exits when stdin closes.
//! (Being an integration test, this also makes `cargo test` build the binary the browser
//! tests run, with the workspace's test features: no second build of it.)

use std::io::{BufRead, BufReader, Read, Write};
use std::net::{TcpListener, TcpStream};
use std::process::{Command, Stdio};
use std::time::Duration;

#[test]
fn the_binary_carries_bytes_and_exits_when_stdin_closes() {
    let upstream = TcpListener::bind("127.0.0.1:0").unwrap();
    let port = upstream.local_addr().unwrap().port();
    let echo = std::thread::spawn(move || {
        let (mut c, _) = upstream.accept().unwrap();
        let mut buf = [0u8; 5];
        c.read_exact(&mut buf).unwrap();
        c.write_all(&buf).unwrap();
    });
    let mut child = Command::new(env!("CARGO_BIN_EXE_fault-proxy"))
        .args(["--upstream", &format!("127.0.0.1:{port}")])
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .spawn()
        .unwrap();
    let mut out = BufReader::new(child.stdout.take().unwrap());
    let mut line = String::new();
    out.read_line(&mut line).unwrap();
    let addr = line
        .trim()
        .strip_prefix("listening on ")
        .unwrap_or_else(|| panic!("first line: {line:?}"))
        .to_owned();

    let mut c = TcpStream::connect(&addr).unwrap();
    c.set_read_timeout(Some(Duration::from_secs(10))).unwrap();
    c.write_all(b"hello").unwrap();
    let mut back = [0u8; 5];
    c.read_exact(&mut back).unwrap();
    assert_eq!(&back, b"hello");
    echo.join().unwrap();

    let mut stdin = child.stdin.take().unwrap();
    stdin.write_all(b"stats\n").unwrap();
    line.clear();
    out.read_line(&mut line).unwrap();
    assert!(line.trim_start().starts_with('{'), "stats: {line:?}");
    drop(stdin);
    let status = child.wait().unwrap();
    assert!(status.success(), "{status}");
}
