//! The proxy against tiny loopback upstreams: an echo server and an HTTP server answering a
//! fixed body, so each fault is seen from the client's side as a browser would see it.

use std::net::SocketAddr;
use std::time::{Duration, Instant};

use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpListener, TcpStream};

use crate::{Faults, Proxy};

/// Echoes every connection back until EOF; dropped with its runtime.
async fn echo() -> SocketAddr {
    let l = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = l.local_addr().unwrap();
    tokio::spawn(async move {
        while let Ok((mut s, _)) = l.accept().await {
            tokio::spawn(async move {
                let (mut r, mut w) = s.split();
                let _ = tokio::io::copy(&mut r, &mut w).await;
            });
        }
    });
    addr
}

/// Answers each connection's first request with `len` bytes of body, `Content-Length` set.
async fn http(len: usize) -> SocketAddr {
    let l = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = l.local_addr().unwrap();
    tokio::spawn(async move {
        while let Ok((mut s, _)) = l.accept().await {
            tokio::spawn(async move {
                let mut req = Vec::new();
                let mut buf = [0u8; 1024];
                while !req.windows(4).any(|w| w == b"\r\n\r\n") {
                    match s.read(&mut buf).await {
                        Ok(0) | Err(_) => return,
                        Ok(n) => req.extend_from_slice(&buf[..n]),
                    }
                }
                let head = format!("HTTP/1.1 200 OK\r\nContent-Length: {len}\r\n\r\n");
                let body: Vec<u8> = (0..len).map(|i| (i % 251) as u8).collect();
                let _ = s.write_all(head.as_bytes()).await;
                let _ = s.write_all(&body).await;
                let _ = s.shutdown().await;
            });
        }
    });
    addr
}

/// Sends `n` bytes through and reads back what comes; `Err` when the connection was reset.
async fn round_trip(addr: SocketAddr, n: usize) -> std::io::Result<Vec<u8>> {
    let mut s = TcpStream::connect(addr).await?;
    let data: Vec<u8> = (0..n).map(|i| (i % 253) as u8).collect();
    let (mut r, mut w) = s.split();
    let send = async {
        w.write_all(&data).await?;
        w.shutdown().await
    };
    let mut got = Vec::new();
    let (sent, read) = tokio::join!(send, r.read_to_end(&mut got));
    sent?;
    read?;
    Ok(got)
}

/// GETs from an [`http`] upstream: the raw answer, or the error that ended it.
async fn get(addr: SocketAddr) -> std::io::Result<Vec<u8>> {
    let mut s = TcpStream::connect(addr).await?;
    s.write_all(b"GET / HTTP/1.1\r\nHost: x\r\n\r\n").await?;
    let mut got = Vec::new();
    s.read_to_end(&mut got).await?;
    Ok(got)
}

fn body_len(answer: &[u8]) -> usize {
    let head = answer
        .windows(4)
        .position(|w| w == b"\r\n\r\n")
        .unwrap_or(answer.len());
    answer.len().saturating_sub(head + 4)
}

#[tokio::test]
async fn without_faults_bytes_pass_unchanged_both_ways() {
    let proxy = Proxy::start(echo().await, Faults::default()).await.unwrap();
    let got = round_trip(proxy.addr(), 3 << 20).await.unwrap();
    assert_eq!(got.len(), 3 << 20);
    assert!(got.iter().enumerate().all(|(i, &b)| b == (i % 253) as u8));
    let s = proxy.stats();
    assert_eq!(
        (s.connections, s.bytes_up, s.bytes_down),
        (1, 3 << 20, 3 << 20)
    );
    assert_eq!((s.resets, s.truncations, s.stalls), (0, 0, 0));
}

#[tokio::test]
async fn a_reset_cuts_a_large_transfer_with_an_error() {
    let faults = Faults {
        seed: 3,
        reset_chance: 1.0,
        ..Faults::default()
    };
    let proxy = Proxy::start(echo().await, faults).await.unwrap();
    for _ in 0..4 {
        // 4 MiB is past any reset offset: every connection must fail.
        let r = round_trip(proxy.addr(), 4 << 20).await;
        assert!(r.is_err(), "a reset connection ended cleanly");
    }
    assert_eq!(proxy.stats().resets, 4);
}

#[tokio::test]
async fn a_truncated_answer_ends_cleanly_short_of_its_length() {
    let faults = Faults {
        seed: 11,
        truncate_chance: 1.0,
        ..Faults::default()
    };
    let proxy = Proxy::start(http(1 << 20).await, faults).await.unwrap();
    let answer = get(proxy.addr())
        .await
        .expect("a truncation is a clean close");
    assert!(body_len(&answer) < 1 << 20, "{} bytes", answer.len());
    assert_eq!(proxy.stats().truncations, 1);
    assert_eq!(proxy.stats().bytes_down, answer.len() as u64);
}

#[tokio::test]
async fn a_stall_holds_the_bytes_then_delivers_them_all() {
    let faults = Faults {
        seed: 5,
        stall_chance: 1.0,
        stall: Duration::from_millis(300),
        ..Faults::default()
    };
    let proxy = Proxy::start(echo().await, faults).await.unwrap();
    let t = Instant::now();
    let got = round_trip(proxy.addr(), 1 << 16).await.unwrap();
    assert_eq!(got.len(), 1 << 16);
    assert!(
        t.elapsed() >= Duration::from_millis(300),
        "{:?}",
        t.elapsed()
    );
    assert_eq!(proxy.stats().stalls, 1);
}

#[tokio::test]
async fn latency_is_added_per_forwarded_read() {
    let faults = Faults {
        latency: Duration::from_millis(40),
        ..Faults::default()
    };
    let proxy = Proxy::start(echo().await, faults).await.unwrap();
    let t = Instant::now();
    // One read each way at least: two delays.
    assert_eq!(round_trip(proxy.addr(), 10).await.unwrap().len(), 10);
    assert!(
        t.elapsed() >= Duration::from_millis(80),
        "{:?}",
        t.elapsed()
    );
}

#[tokio::test]
async fn the_same_seed_fails_the_same_connections() {
    let faults = Faults {
        seed: 42,
        reset_chance: 0.5,
        ..Faults::default()
    };
    let mut runs = Vec::new();
    for _ in 0..2 {
        let proxy = Proxy::start(echo().await, faults.clone()).await.unwrap();
        let mut failed = Vec::new();
        for _ in 0..12 {
            failed.push(round_trip(proxy.addr(), 3 << 20).await.is_err());
        }
        runs.push(failed);
    }
    assert_eq!(runs[0], runs[1]);
    assert!(
        runs[0].contains(&true) && runs[0].contains(&false),
        "{:?}",
        runs[0]
    );
}

#[tokio::test]
async fn reset_all_closes_every_open_connection() {
    let proxy = Proxy::start(echo().await, Faults::default()).await.unwrap();
    let mut a = TcpStream::connect(proxy.addr()).await.unwrap();
    let mut b = TcpStream::connect(proxy.addr()).await.unwrap();
    for s in [&mut a, &mut b] {
        s.write_all(b"ping").await.unwrap();
        let mut buf = [0u8; 4];
        s.read_exact(&mut buf).await.unwrap();
    }
    assert_eq!(proxy.reset_all(), 2);
    for s in [&mut a, &mut b] {
        let mut buf = [0u8; 4];
        let r = s.read(&mut buf).await;
        assert!(!matches!(r, Ok(n) if n > 0), "{r:?}");
    }
    assert_eq!(proxy.stats().resets, 2);
}

#[tokio::test]
async fn new_connections_follow_set_upstream() {
    let proxy = Proxy::start(http(3).await, Faults::default())
        .await
        .unwrap();
    assert_eq!(body_len(&get(proxy.addr()).await.unwrap()), 3);
    proxy.set_upstream(http(7).await);
    assert_eq!(body_len(&get(proxy.addr()).await.unwrap()), 7);
}

#[tokio::test]
async fn faults_off_calls_off_what_open_connections_had_planned() {
    let faults = Faults {
        seed: 9,
        reset_chance: 1.0,
        ..Faults::default()
    };
    let proxy = Proxy::start(echo().await, faults).await.unwrap();
    let mut s = TcpStream::connect(proxy.addr()).await.unwrap();
    s.write_all(b"x").await.unwrap();
    let mut one = [0u8; 1];
    // The reset may land on the first byte; then there is nothing to call off.
    if s.read_exact(&mut one).await.is_err() {
        return;
    }
    proxy.set_faults(Faults::default());
    let (mut r, mut w) = s.split();
    let data = vec![7u8; 4 << 20];
    let send = async {
        w.write_all(&data).await.unwrap();
        w.shutdown().await.unwrap();
    };
    let mut got = Vec::new();
    let (_, read) = tokio::join!(send, r.read_to_end(&mut got));
    read.unwrap();
    assert_eq!(got.len(), 4 << 20);
}

#[tokio::test]
async fn dropping_the_proxy_closes_its_port_and_connections() {
    let proxy = Proxy::start(echo().await, Faults::default()).await.unwrap();
    let addr = proxy.addr();
    let mut s = TcpStream::connect(addr).await.unwrap();
    s.write_all(b"a").await.unwrap();
    let mut one = [0u8; 1];
    s.read_exact(&mut one).await.unwrap();
    drop(proxy);
    let r = s.read(&mut one).await;
    assert!(!matches!(r, Ok(n) if n > 0), "{r:?}");
    assert!(TcpStream::connect(addr).await.is_err());
}

#[tokio::test]
async fn only_loopback_upstreams_are_accepted() {
    let far: SocketAddr = "192.0.2.1:80".parse().unwrap();
    assert!(Proxy::start(far, Faults::default()).await.is_err());
}
