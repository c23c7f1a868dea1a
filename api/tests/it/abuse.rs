//! The unauthenticated surface under attack: metrics series nobody can multiply, `/metrics`
//! closed unless configured, rate limits on sign-in and sign-up (per account, any case, and
//! per client address, through a trusted proxy only), a bound on concurrent password hashes,
//! password length errors, and the bookkeeping tables that retention now shrinks.

use std::num::NonZeroU32;

use futures::stream::{FuturesUnordered, StreamExt};
use reqwest::{Method, Response, StatusCode};
use serde_json::{json, Value};
use sqlx::Row as _;

use crate::fixture::{assert_error, bytes, Backend, TestServer, User, METRICS_TOKEN};

crate::both!(
    metrics_labels_come_from_a_closed_set,
    metrics_are_off_unless_a_token_is_set,
    sign_in_is_limited_per_account_in_any_case_without_hashing,
    sign_in_is_limited_per_client_address_and_trusts_only_listed_proxies,
    sign_up_is_limited_per_client_address,
    usernames_are_unique_and_found_in_any_case,
    passwords_over_1024_bytes_get_their_own_error,
    concurrent_password_hashes_are_bounded_and_the_rest_shed,
    retention_prunes_idempotency_records_and_old_revoked_devices,
);

fn rate(count: u32, secs: u64) -> api::abuse::RateSpec {
    api::abuse::RateSpec::new(NonZeroU32::new(count).unwrap(), secs)
}

fn generous(s: &mut api::Settings) {
    s.signin_rate_per_ip = rate(100_000, 1);
    s.signup_rate_per_ip = rate(100_000, 1);
    s.account_rate = rate(100_000, 1);
}

async fn sign_in(server: &TestServer, username: &str, password: &str) -> Response {
    sign_in_from(server, username, password, None).await
}

async fn sign_in_from(
    server: &TestServer,
    username: &str,
    password: &str,
    forwarded_for: Option<&str>,
) -> Response {
    let mut r = server
        .http
        .post(server.url("/api/v1/sessions"))
        .json(&json!({"username": username, "password": password, "device_name": "x"}));
    if let Some(f) = forwarded_for {
        r = r.header("x-forwarded-for", f);
    }
    r.send().await.unwrap()
}

/// Another device of `username` (password `correct horse`).
async fn new_device<'a>(server: &'a TestServer, username: &str) -> User<'a> {
    let r = sign_in(server, username, "correct horse").await;
    assert_eq!(r.status(), StatusCode::OK);
    User {
        server,
        session: r.json().await.unwrap(),
    }
}

async fn sign_up(server: &TestServer, username: &str, password: &str) -> Response {
    server
        .post(
            "/api/v1/accounts",
            json!({"username": username, "password": password, "device_name": "x"}),
        )
        .await
}

/// A 429 `rate_limited` with a `Retry-After` of at least a second.
async fn assert_limited(r: Response) {
    let retry: u64 = r
        .headers()
        .get("retry-after")
        .expect("Retry-After")
        .to_str()
        .unwrap()
        .parse()
        .unwrap();
    assert!(retry >= 1);
    assert_error(r, StatusCode::TOO_MANY_REQUESTS, "rate_limited").await;
}

async fn metrics_labels_come_from_a_closed_set(backend: Backend) {
    let server = TestServer::on(backend).start().await;
    let client = crate::fixture::fresh_client();
    for i in 0..100 {
        let method = Method::from_bytes(format!("JUNK{i}").as_bytes()).unwrap();
        for path in ["/api/v1/me", "/no/such/page", "/healthz"] {
            client
                .request(method.clone(), server.url(path))
                .send()
                .await
                .unwrap();
        }
    }
    let text = server.metrics_text().await;
    let mut methods = std::collections::BTreeSet::new();
    for line in text.lines().filter(|l| l.contains("_count{method=")) {
        let m = line.split("method=\"").nth(1).unwrap();
        methods.insert(m.split('"').next().unwrap().to_owned());
    }
    let closed = [
        "GET", "POST", "PUT", "PATCH", "DELETE", "HEAD", "OPTIONS", "other",
    ];
    assert!(
        methods.iter().all(|m| closed.contains(&m.as_str())),
        "{methods:?}"
    );
    assert!(methods.contains("other"), "{methods:?}");
    // 300 junk requests, a handful of series.
    let series = text
        .matches("cairn_http_request_duration_seconds_count{")
        .count();
    assert!(series <= 6, "{series} series:\n{text}");
}

async fn metrics_are_off_unless_a_token_is_set(backend: Backend) {
    let server = TestServer::on(backend)
        .settings(|s| s.metrics_token = None)
        .start()
        .await;
    let r = server
        .http
        .get(server.url("/metrics"))
        .bearer_auth(METRICS_TOKEN)
        .send()
        .await
        .unwrap();
    assert_error(r, StatusCode::NOT_FOUND, "not_found").await;

    let server = TestServer::on(backend).start().await;
    let get = |auth: Option<&'static str>| {
        let mut r = server.http.get(server.url("/metrics"));
        if let Some(a) = auth {
            r = r.header("authorization", a);
        }
        r.send()
    };
    for auth in [None, Some("Bearer wrong-token-0123456789"), Some("Basic x")] {
        assert_error(
            get(auth).await.unwrap(),
            StatusCode::UNAUTHORIZED,
            "unauthorized",
        )
        .await;
    }
    assert!(server
        .metrics_text()
        .await
        .contains("cairn_commits_total 0"));
}

async fn sign_in_is_limited_per_account_in_any_case_without_hashing(backend: Backend) {
    let server = TestServer::on(backend)
        .settings(|s| {
            s.signin_rate_per_ip = rate(100_000, 1);
            s.account_rate = rate(5, 3600);
        })
        .start()
        .await;
    server.register("alice").await;
    let gate = &server.state.guards.hashes;
    let hashed_at_start = gate.granted();
    // The sign-up spent one attempt of the name; four wrong guesses in any spelling of it
    // use up the rest…
    for name in ["alice", "Alice", "ALICE", "aLiCe"] {
        assert_error(
            sign_in(&server, name, "wrong password").await,
            StatusCode::UNAUTHORIZED,
            "bad_credentials",
        )
        .await;
    }
    // …then even the right password waits, and costs no hash.
    assert_limited(sign_in(&server, "alice", "correct horse").await).await;
    assert_limited(sign_in(&server, "ALICE", "correct horse").await).await;
    // A name nobody has is limited exactly alike, so the limit tells nothing either.
    for _ in 0..5 {
        assert_error(
            sign_in(&server, "nobody", "wrong password").await,
            StatusCode::UNAUTHORIZED,
            "bad_credentials",
        )
        .await;
    }
    assert_limited(sign_in(&server, "Nobody", "wrong password").await).await;
    assert_eq!(
        gate.granted() - hashed_at_start,
        9,
        "one hash per admitted attempt"
    );
    // Other accounts are not held up.
    server.register("bob").await;
    assert_eq!(
        sign_in(&server, "bob", "correct horse").await.status(),
        StatusCode::OK
    );
}

async fn sign_in_is_limited_per_client_address_and_trusts_only_listed_proxies(backend: Backend) {
    // No proxy configured: a forwarding header is anyone's to write and changes nothing.
    let server = TestServer::on(backend)
        .settings(|s| {
            s.signin_rate_per_ip = rate(3, 3600);
            s.account_rate = rate(100_000, 1);
        })
        .start()
        .await;
    for i in 0..3 {
        let r = sign_in_from(
            &server,
            &format!("u{i}"),
            "wrong password",
            Some(&format!("192.0.2.{i}")),
        )
        .await;
        assert_eq!(r.status(), StatusCode::UNAUTHORIZED);
    }
    assert_limited(sign_in_from(&server, "u9", "wrong password", Some("192.0.2.99")).await).await;

    // Behind a listed proxy (the test client's loopback address), each forwarded client has
    // its own attempts.
    let server = TestServer::on(backend)
        .settings(|s| {
            s.signin_rate_per_ip = rate(3, 3600);
            s.account_rate = rate(100_000, 1);
            s.trusted_proxy = Some(api::abuse::TrustedProxy {
                header: "x-forwarded-for".into(),
                proxies: vec!["127.0.0.0/8".parse().unwrap()],
            });
        })
        .start()
        .await;
    for i in 0..3 {
        let r = sign_in_from(
            &server,
            &format!("u{i}"),
            "wrong password",
            Some("198.51.100.7"),
        )
        .await;
        assert_eq!(r.status(), StatusCode::UNAUTHORIZED);
    }
    assert_limited(sign_in_from(&server, "u3", "wrong password", Some("198.51.100.7")).await).await;
    // A client that forges an address left of the real one gains nothing.
    assert_limited(
        sign_in_from(
            &server,
            "u4",
            "wrong password",
            Some("203.0.113.1, 198.51.100.7"),
        )
        .await,
    )
    .await;
    let r = sign_in_from(&server, "u5", "wrong password", Some("198.51.100.8")).await;
    assert_eq!(r.status(), StatusCode::UNAUTHORIZED);
    // One IPv6 subscriber (a /64) is one client, whatever address it picks in it.
    for i in 0..3 {
        let r = sign_in_from(
            &server,
            "u6",
            "wrong password",
            Some(&format!("2001:db8:5:6::{i:x}")),
        )
        .await;
        assert_eq!(r.status(), StatusCode::UNAUTHORIZED);
    }
    assert_limited(
        sign_in_from(
            &server,
            "u6",
            "wrong password",
            Some("2001:db8:5:6:ffff::1"),
        )
        .await,
    )
    .await;
}

async fn sign_up_is_limited_per_client_address(backend: Backend) {
    let server = TestServer::on(backend)
        .settings(|s| s.signup_rate_per_ip = rate(3, 3600))
        .start()
        .await;
    assert_eq!(
        sign_up(&server, "first", "correct horse").await.status(),
        StatusCode::CREATED
    );
    // Taken names and bad input spend attempts too: probing for names costs the same.
    assert_eq!(
        sign_up(&server, "first", "correct horse").await.status(),
        StatusCode::CONFLICT
    );
    assert_eq!(
        sign_up(&server, "bad name!", "correct horse")
            .await
            .status(),
        StatusCode::BAD_REQUEST
    );
    assert_limited(sign_up(&server, "second", "correct horse").await).await;
    let n: i64 = sqlx::query("SELECT COUNT(*) FROM users")
        .fetch_one(&server.db().await.pool)
        .await
        .unwrap()
        .get(0);
    assert_eq!(n, 1);
}

async fn usernames_are_unique_and_found_in_any_case(backend: Backend) {
    let server = TestServer::on(backend).settings(generous).start().await;
    let alice = server.register("Alice").await;
    assert_error(
        sign_up(&server, "alice", "another password").await,
        StatusCode::CONFLICT,
        "username_taken",
    )
    .await;
    for name in ["alice", "ALICE", "Alice"] {
        let r = sign_in(&server, name, "correct horse").await;
        assert_eq!(r.status(), StatusCode::OK, "{name}");
        let s: Value = r.json().await.unwrap();
        assert_eq!(s["user_id"], alice.session.user_id, "{name}");
    }
    // Racing sign-ups for one name in different cases: exactly one account.
    let names = ["bob", "Bob", "BOB", "bOb", "boB", "BOb", "bOB", "BoB"];
    let answers: Vec<StatusCode> = futures::future::join_all(
        names
            .iter()
            .map(|n| async { sign_up(&server, n, "correct horse").await.status() }),
    )
    .await;
    let created = answers
        .iter()
        .filter(|s| **s == StatusCode::CREATED)
        .count();
    let taken = answers
        .iter()
        .filter(|s| **s == StatusCode::CONFLICT)
        .count();
    assert_eq!((created, taken), (1, names.len() - 1), "{answers:?}");
    let me: wire::MeResponse = alice.ok(Method::GET, "/api/v1/me", None).await;
    assert_eq!(me.username, "Alice", "the name keeps its case");
}

async fn passwords_over_1024_bytes_get_their_own_error(backend: Backend) {
    let server = TestServer::on(backend).settings(generous).start().await;
    let too_long = "x".repeat(1025);
    let r = sign_up(&server, "carol", &too_long).await;
    assert_eq!(r.status(), StatusCode::BAD_REQUEST);
    let v: Value = r.json().await.unwrap();
    assert_eq!(v["error"]["code"], "bad_request");
    let message = v["error"]["message"].as_str().unwrap();
    assert!(message.contains("at most 1024 bytes"), "{message}");
    // 1024 bytes is allowed (here 512 two-byte characters).
    let longest = "é".repeat(512);
    assert_eq!(
        sign_up(&server, "carol", &longest).await.status(),
        StatusCode::CREATED
    );
    assert_eq!(
        sign_in(&server, "carol", &longest).await.status(),
        StatusCode::OK
    );
    let r = sign_in(&server, "carol", &too_long).await;
    assert_eq!(r.status(), StatusCode::BAD_REQUEST);
    let v: Value = r.json().await.unwrap();
    assert!(v["error"]["message"]
        .as_str()
        .unwrap()
        .contains("at most 1024 bytes"));
}

async fn concurrent_password_hashes_are_bounded_and_the_rest_shed(backend: Backend) {
    const PERMITS: usize = 2;
    const WAITING: usize = 8 * PERMITS;
    const CALLERS: usize = 64;
    let server = TestServer::on(backend)
        .settings(|s| {
            generous(s);
            s.password_hash_concurrency = PERMITS;
        })
        .start()
        .await;
    let gate = server.state.guards.hashes.clone();
    // Hold every permit, so what the gate does with the callers is decided while we look.
    let mut held = Vec::new();
    for _ in 0..PERMITS {
        held.push(gate.acquire().await.unwrap());
    }
    let client = crate::fixture::fresh_client();
    let mut calls: FuturesUnordered<_> = (0..CALLERS)
        .map(|i| {
            let r = client
                .post(server.url("/api/v1/sessions"))
                .json(&json!({"username": format!("ghost{i}"), "password": "guess guess", "device_name": "x"}))
                .send();
            async move {
                let r = r.await.unwrap();
                let retry = r.headers().get("retry-after").cloned();
                let status = r.status();
                let body: Value = r.json().await.unwrap();
                (status, retry, body["error"]["code"].as_str().unwrap().to_owned())
            }
        })
        .collect();
    // All but the few allowed to wait are answered at once, before any hash.
    let deadline = tokio::time::Instant::now() + std::time::Duration::from_secs(30);
    for _ in 0..CALLERS - WAITING {
        let (status, retry, code) = tokio::time::timeout_at(deadline, calls.next())
            .await
            .expect("shed callers are answered while the permits are held")
            .unwrap();
        assert_eq!(status, StatusCode::SERVICE_UNAVAILABLE);
        assert_eq!(code, "backoff");
        assert_eq!(retry.unwrap(), "1");
    }
    assert_eq!(gate.waiting(), WAITING);
    drop(held);
    let mut rest = 0;
    while let Some((status, _, code)) = calls.next().await {
        assert_eq!(
            (status, code.as_str()),
            (StatusCode::UNAUTHORIZED, "bad_credentials")
        );
        rest += 1;
    }
    assert_eq!(rest, WAITING);
    assert!(gate.peak() <= PERMITS, "peak {}", gate.peak());
}

async fn retention_prunes_idempotency_records_and_old_revoked_devices(backend: Backend) {
    let server = TestServer::on(backend).settings(generous).start().await;
    let laptop = server.register("alice").await;
    let phone = new_device(&server, "alice").await;
    let tablet = new_device(&server, "alice").await;
    laptop.upload_file("a", &bytes(1, 100), None).await;
    let by_tablet = tablet.upload_file("b", &bytes(2, 100), None).await;
    // The phone acknowledges a cursor, so it has a row in `device_cursors` too.
    let latest: Value = phone.ok(Method::GET, "/api/v1/changes/latest", None).await;
    let r = phone
        .call(
            Method::POST,
            "/api/v1/changes/ack",
            Some(json!({"cursor": latest["cursor"]})),
        )
        .await;
    assert_eq!(r.status(), StatusCode::NO_CONTENT);
    for d in [&phone, &tablet] {
        let r = laptop
            .call(
                Method::DELETE,
                &format!("/api/v1/devices/{}", d.session.device_id),
                None,
            )
            .await;
        assert_eq!(r.status(), StatusCode::NO_CONTENT);
    }
    let db = server.db().await;
    let count = |sql: &'static str| {
        let pool = db.pool.clone();
        async move {
            sqlx::query(sql)
                .fetch_one(&pool)
                .await
                .unwrap()
                .get::<i64, _>(0)
        }
    };
    assert_eq!(count("SELECT COUNT(*) FROM idempotency").await, 2);
    assert_eq!(count("SELECT COUNT(*) FROM devices").await, 3);
    assert_eq!(count("SELECT COUNT(*) FROM device_cursors").await, 1);

    let keep = api::retention::Keep::from_settings(&server.state.settings);
    // Within their time, nothing goes.
    let report = api::retention::run(&server.state.db, keep, server.now_ms())
        .await
        .unwrap();
    assert_eq!((report.idempotency, report.devices), (0, 0));
    // Past it: the records, and the revoked phone that wrote nothing; the revoked tablet
    // stays while a version names it.
    let later = server.now_ms()
        + i64::try_from(keep.idempotency.max(keep.revoked_devices).as_millis()).unwrap()
        + 1000;
    let report = api::retention::run(&server.state.db, keep, later)
        .await
        .unwrap();
    assert_eq!((report.idempotency, report.devices), (2, 1));
    assert_eq!(count("SELECT COUNT(*) FROM idempotency").await, 0);
    assert_eq!(count("SELECT COUNT(*) FROM device_cursors").await, 0);
    let ids: Vec<i64> = sqlx::query("SELECT id FROM devices ORDER BY id")
        .fetch_all(&db.pool)
        .await
        .unwrap()
        .iter()
        .map(|r| r.get(0))
        .collect();
    assert_eq!(ids, [laptop.session.device_id, tablet.session.device_id]);
    // The phone's token is still refused; the tablet's version still names its device.
    assert_error(
        phone.call(Method::GET, "/api/v1/me", None).await,
        StatusCode::UNAUTHORIZED,
        "unauthorized",
    )
    .await;
    let versions: wire::VersionList = laptop
        .ok(
            Method::GET,
            &format!("/api/v1/nodes/{}/versions", by_tablet.node.id),
            None,
        )
        .await;
    assert_eq!(versions.versions[0].device_name, "x");
    db.pool.close().await;
}
