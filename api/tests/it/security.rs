//! What a browser and a hostile client meet on every answer: the security headers (CSP with
//! `frame-ancestors 'none'`, nosniff, no referrer, no framing) on API JSON, errors, the static
//! app, chunks and whole-file content; `no-store` on every API answer that did not choose its
//! own caching; the bucket's origin in the CSP when chunks live in S3; and the time limits —
//! a trickled body gets 408 `timeout`, a trickled request head loses its connection, while
//! event streams outlive the request limit.

use std::time::{Duration, Instant};

use reqwest::{Method, Response, StatusCode};
use serde_json::{json, Value};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;

use crate::fixture::{Backend, TestServer};
use crate::sse::{Events, Frame};

crate::both!(
    every_answer_carries_the_security_headers,
    api_answers_are_not_stored_unless_they_say_how,
    a_trickled_body_is_answered_408_timeout,
    a_trickled_request_head_loses_its_connection,
    event_streams_outlive_the_request_timeout,
);

const WAIT: Duration = Duration::from_secs(10);

fn header<'a>(r: &'a Response, name: &str) -> Option<&'a str> {
    r.headers().get(name).map(|v| v.to_str().unwrap())
}

fn assert_secured(r: &Response, what: &str) {
    let csp = header(r, "content-security-policy").unwrap_or_else(|| panic!("{what}: no CSP"));
    for directive in [
        "default-src 'self'",
        "script-src 'self' 'wasm-unsafe-eval'",
        "frame-ancestors 'none'",
        "object-src 'none'",
        "base-uri 'none'",
        "form-action 'self'",
    ] {
        assert!(
            csp.contains(directive),
            "{what}: {directive} missing from {csp}"
        );
    }
    assert!(!csp.contains("unsafe-inline"), "{what}: {csp}");
    assert_eq!(
        header(r, "x-content-type-options"),
        Some("nosniff"),
        "{what}"
    );
    assert_eq!(header(r, "referrer-policy"), Some("no-referrer"), "{what}");
    assert_eq!(header(r, "x-frame-options"), Some("DENY"), "{what}");
    assert_eq!(
        header(r, "cross-origin-opener-policy"),
        Some("same-origin"),
        "{what}"
    );
}

async fn every_answer_carries_the_security_headers(backend: Backend) {
    let server = TestServer::on(backend).start().await;
    let alice = server.register("alice").await;
    let file = alice
        .upload_file("a.txt", b"some private words", None)
        .await;
    let node = file.node.id;
    let download: Value = alice
        .ok(Method::GET, &format!("/api/v1/nodes/{node}/download"), None)
        .await;
    let chunk_url = download["chunks"][0]["url"].as_str().unwrap().to_owned();

    let anonymous = |path: &str| server.http.get(server.url(path)).send();
    let cases: Vec<(&str, Response)> = vec![
        ("the app shell", anonymous("/").await.unwrap()),
        ("a script", anonymous("/js/app.js").await.unwrap()),
        ("the service worker", anonymous("/sw.js").await.unwrap()),
        (
            "an unknown page (the shell)",
            anonymous("/no/such/page").await.unwrap(),
        ),
        ("metrics", anonymous("/metrics").await.unwrap()),
        ("an API error", anonymous("/api/v1/me").await.unwrap()),
        (
            "an unknown endpoint",
            anonymous("/api/v1/nope").await.unwrap(),
        ),
        ("me", alice.call(Method::GET, "/api/v1/me", None).await),
        (
            "a listing",
            alice
                .call(
                    Method::GET,
                    &format!("/api/v1/nodes/{}/children", alice.session.root_id),
                    None,
                )
                .await,
        ),
        (
            "whole-file content",
            alice
                .call(Method::GET, &format!("/api/v1/nodes/{node}/content"), None)
                .await,
        ),
        ("a chunk", anonymous(&chunk_url).await.unwrap()),
    ];
    for (what, r) in &cases {
        assert!(r.status().as_u16() < 500, "{what}: {}", r.status());
        assert_secured(r, what);
    }
    // Served content keeps the type it was given, and the browser may not guess another.
    let content = &cases
        .iter()
        .find(|(w, _)| *w == "whole-file content")
        .unwrap()
        .1;
    assert_eq!(
        header(content, "content-type"),
        Some("application/octet-stream")
    );
    assert!(header(content, "content-disposition")
        .unwrap()
        .starts_with("attachment"));
}

async fn api_answers_are_not_stored_unless_they_say_how(backend: Backend) {
    let server = TestServer::on(backend).start().await;
    let alice = server.register("alice").await;
    let file = alice.upload_file("a.txt", b"cache me not", None).await;
    let node = file.node.id;

    // Answers that carry a token or private data, and errors.
    let login = server
        .post(
            "/api/v1/sessions",
            json!({"username": "alice", "password": "correct horse", "device_name": "tablet"}),
        )
        .await;
    assert_eq!(login.status(), StatusCode::OK);
    let ticket = alice
        .call(Method::POST, "/api/v1/events/ticket", None)
        .await;
    assert_eq!(ticket.status(), StatusCode::OK);
    let cases = vec![
        ("sign-in (a token)", login),
        ("a stream ticket", ticket),
        ("me", alice.call(Method::GET, "/api/v1/me", None).await),
        (
            "devices",
            alice.call(Method::GET, "/api/v1/devices", None).await,
        ),
        (
            "download URLs",
            alice
                .call(Method::GET, &format!("/api/v1/nodes/{node}/download"), None)
                .await,
        ),
        (
            "a change-feed page",
            alice.call(Method::GET, "/api/v1/changes", None).await,
        ),
        ("an error", server.get("/api/v1/me").await),
        ("metrics", server.get("/metrics").await),
    ];
    for (what, r) in &cases {
        assert_eq!(header(r, "cache-control"), Some("no-store"), "{what}");
    }
    // Answers that chose their own caching keep it: listings and content revalidate by ETag.
    let listing = alice
        .call(
            Method::GET,
            &format!("/api/v1/nodes/{}/children", alice.session.root_id),
            None,
        )
        .await;
    assert_eq!(header(&listing, "cache-control"), Some("private, no-cache"));
    let etag = header(&listing, "etag").unwrap().to_owned();
    let unchanged = server
        .http
        .get(server.url(&format!("/api/v1/nodes/{}/children", alice.session.root_id)))
        .bearer_auth(&alice.session.token)
        .header("if-none-match", etag)
        .send()
        .await
        .unwrap();
    assert_eq!(unchanged.status(), StatusCode::NOT_MODIFIED);
    let content = alice
        .call(Method::GET, &format!("/api/v1/nodes/{node}/content"), None)
        .await;
    assert_eq!(header(&content, "cache-control"), Some("private, no-cache"));
    // The static app is not an API answer: the browser may keep it (the service worker does).
    let shell = server.get("/index.html").await;
    assert_eq!(header(&shell, "cache-control"), None);
}

/// The whole answer a raw connection gets (until the server closes it), bounded in time.
async fn read_all(conn: &mut TcpStream) -> String {
    let mut out = Vec::new();
    tokio::time::timeout(WAIT, conn.read_to_end(&mut out))
        .await
        .expect("the server neither answered nor closed the connection in time")
        .unwrap();
    String::from_utf8_lossy(&out).into_owned()
}

/// Sends a request head promising `promised` body bytes and only `sent` of them, then waits.
async fn trickle_body(server: &TestServer, method: &str, path: &str, token: &str) -> String {
    let addr = server.base.trim_start_matches("http://");
    let mut conn = TcpStream::connect(addr).await.unwrap();
    let head = format!(
        "{method} {path} HTTP/1.1\r\nhost: {addr}\r\nauthorization: Bearer {token}\r\n\
         content-type: application/json\r\ncontent-length: 100\r\n\r\n{{\"name\": "
    );
    conn.write_all(head.as_bytes()).await.unwrap();
    read_all(&mut conn).await
}

async fn a_trickled_body_is_answered_408_timeout(backend: Backend) {
    // Long enough for every honest request of the test (sign-up hashes a password) on a busy
    // machine; the trickled ones never finish, whatever the limit.
    let limit = Duration::from_secs(2);
    let server = TestServer::on(backend)
        .settings(|s| s.request_timeout = limit)
        .start()
        .await;
    let alice = server.register("alice").await;
    let token = alice.session.token.clone();
    // An ordinary route (the whole request is timed) and a commit (only its body is).
    for path in ["/api/v1/folders", "/api/v1/commits"] {
        let started = Instant::now();
        let answer = trickle_body(&server, "POST", path, &token).await;
        assert!(
            started.elapsed() >= limit,
            "{path}: answered before the limit"
        );
        assert!(answer.starts_with("HTTP/1.1 408"), "{path}: {answer}");
        assert!(answer.contains("\"code\":\"timeout\""), "{path}: {answer}");
        assert!(
            answer.contains("content-security-policy"),
            "{path}: {answer}"
        );
    }
    // Nothing was made by the half-sent request.
    let root: Value = alice
        .ok(
            Method::GET,
            &format!("/api/v1/nodes/{}/children", alice.session.root_id),
            None,
        )
        .await;
    assert_eq!(root["children"].as_array().unwrap().len(), 0);
    // The OpenAPI document says so for limited routes, and only for them.
    let doc: Value = server.get_json("/openapi.json").await;
    let responses = |path: &str, method: &str| doc["paths"][path][method]["responses"].clone();
    assert!(responses("/api/v1/folders", "post")["408"].is_object());
    assert!(responses("/api/v1/commits", "post")["408"].is_object());
    assert!(responses("/api/v1/events", "get")["408"].is_null());
    assert!(responses("/api/v1/nodes/{id}/content", "get")["408"].is_null());
    // A request in time is untouched by the limit.
    let r = alice.new_folder(alice.session.root_id, "in time").await;
    assert_eq!(r.status(), StatusCode::CREATED);
}

async fn a_trickled_request_head_loses_its_connection(backend: Backend) {
    let limit = Duration::from_millis(300);
    let server = TestServer::on(backend)
        .settings(|s| s.header_read_timeout = limit)
        .start()
        .await;
    let addr = server.base.trim_start_matches("http://");
    // Half a head, then silence: the connection is closed, with no request ever served. (The
    // server's clock starts when it accepts, which may be before `connect` returns here.)
    let started = Instant::now();
    let mut slow = TcpStream::connect(addr).await.unwrap();
    slow.write_all(b"GET /api/v1/me HTTP/1.1\r\nhost: x\r\nx-slow: ")
        .await
        .unwrap();
    let answer = read_all(&mut slow).await;
    assert!(started.elapsed() >= limit);
    assert!(!answer.contains("200 OK"), "{answer}");
    // A connection that sends nothing at all goes the same way.
    let mut silent = TcpStream::connect(addr).await.unwrap();
    assert_eq!(read_all(&mut silent).await, "");
    // A client that sends its head in time is served as usual.
    let r = server.get("/healthz").await;
    assert_eq!(r.status(), StatusCode::OK);
}

async fn event_streams_outlive_the_request_timeout(backend: Backend) {
    let limit = Duration::from_secs(1);
    let server = TestServer::on(backend)
        .settings(|s| {
            s.request_timeout = limit;
            s.sse_keepalive = Duration::from_millis(100);
        })
        .start()
        .await;
    let alice = server.register("alice").await;
    let mut events = Events::open(&server.base, &alice.session.token, None).await;
    // Keep-alives well past the limit: the stream is not cut.
    let started = Instant::now();
    while started.elapsed() < limit * 2 {
        assert_eq!(events.next(WAIT).await, Frame::Comment("keep-alive".into()));
    }
}

/// With chunks in S3 the signed URLs point at the bucket's endpoint: the policy must let
/// pages connect there, and to nothing else outside our origin.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_csp_lets_pages_reach_the_chunk_store() {
    let server = TestServer::on(Backend::Sqlite).s3(true).start().await;
    let alice = server.register("alice").await;
    let (_, up) = alice.start_upload(b"bytes bound for the bucket").await;
    let put_url = &up.missing[0].url;
    let origin = api::routes::headers::origin_of(put_url).expect("an absolute S3 URL");
    let r = server.get("/").await;
    let csp = header(&r, "content-security-policy").unwrap();
    assert!(
        csp.contains(&format!("connect-src 'self' {origin};")),
        "{origin} not allowed by {csp}"
    );
    assert_secured(&r, "the app shell, S3 store");
}
