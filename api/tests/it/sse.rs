//! Server-sent events over HTTP: a commit on one device reaches another device's open stream,
//! hints resume after `Last-Event-ID`, skip what the device already pulled, keep-alives flow,
//! and the stream refuses anonymous callers, device tokens in the URL, and tickets that are
//! forged, expired or of a revoked device; one user holds at most the capped number of streams.

use std::time::{Duration, Instant};

use reqwest::{Method, StatusCode};
use serde_json::json;
use wire::{EventHint, SessionResponse, StreamTicket};

use crate::fixture::{assert_error, Backend, TestServer, User};

crate::both!(
    a_commit_on_one_device_reaches_the_other_devices_stream,
    resume_after_last_event_id_and_no_hint_for_what_the_device_pulled,
    the_stream_takes_a_bearer_token_or_a_ticket_never_a_token_in_the_url,
    revoking_a_device_ends_its_open_stream,
    a_ticket_of_a_revoked_device_opens_nothing,
    one_user_holds_at_most_the_capped_number_of_streams,
);

/// One parsed SSE frame: an event (id + data) or a comment (keep-alive).
#[derive(Debug, PartialEq)]
pub enum Frame {
    Event {
        id: i64,
        hint: EventHint,
    },
    /// A hint of a shared namespace: no `id` (`Last-Event-ID` speaks of the own tree alone).
    Shared(EventHint),
    /// An event with an `event:` name (the hints have none), e.g. `revoked`.
    Named(String),
    Comment(String),
}

/// A reader over an open `text/event-stream` response.
pub struct Events {
    body: reqwest::Response,
    buf: String,
}

/// A stream ticket for the device whose token is `token`, as a browser gets one.
pub async fn ticket(base: &str, token: &str) -> StreamTicket {
    let r = reqwest::Client::new()
        .post(format!("{base}/api/v1/events/ticket"))
        .bearer_auth(token)
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), StatusCode::OK);
    r.json().await.unwrap()
}

/// `GET /api/v1/events?ticket=` on a connection of its own, as an `EventSource` makes it.
async fn get_with_ticket(base: &str, ticket: &str) -> reqwest::Response {
    reqwest::Client::new()
        .get(format!("{base}/api/v1/events?ticket={ticket}"))
        .send()
        .await
        .unwrap()
}

impl Events {
    /// Opens the device's stream the browser's way: a fresh ticket, then `?ticket=`.
    pub async fn open(base: &str, token: &str, last_event_id: Option<i64>) -> Events {
        let t = ticket(base, token).await;
        let mut req =
            reqwest::Client::new().get(format!("{base}/api/v1/events?ticket={}", t.ticket));
        if let Some(id) = last_event_id {
            req = req.header("last-event-id", id.to_string());
        }
        let r = req.send().await.unwrap();
        assert_eq!(r.status(), StatusCode::OK);
        assert_eq!(r.headers()["content-type"], "text/event-stream");
        Events {
            body: r,
            buf: String::new(),
        }
    }

    /// The next frame, failing the test if none arrives within `within`.
    pub async fn next(&mut self, within: Duration) -> Frame {
        let deadline = tokio::time::Instant::now() + within;
        loop {
            if let Some(end) = self.buf.find("\n\n") {
                let block: String = self.buf.drain(..end + 2).collect();
                let (mut id, mut data, mut comment) = (None, None, None);
                if let Some(name) = block.lines().find_map(|l| l.strip_prefix("event:")) {
                    return Frame::Named(name.trim().to_owned());
                }
                for line in block.lines() {
                    if let Some(v) = line.strip_prefix("id:") {
                        id = Some(v.trim().parse::<i64>().unwrap());
                    } else if let Some(v) = line.strip_prefix("data:") {
                        data = Some(serde_json::from_str::<EventHint>(v.trim()).unwrap());
                    } else if let Some(v) = line.strip_prefix(':') {
                        comment = Some(v.trim().to_owned());
                    }
                }
                return match (id, data, comment) {
                    (Some(id), Some(hint), _) => Frame::Event { id, hint },
                    (None, Some(hint), _) => Frame::Shared(hint),
                    (_, _, Some(c)) => Frame::Comment(c),
                    other => panic!("unexpected frame {other:?} in {block:?}"),
                };
            }
            let chunk = tokio::time::timeout_at(deadline, self.body.chunk())
                .await
                .expect("no SSE frame before the deadline")
                .unwrap()
                .expect("the stream ended");
            self.buf.push_str(std::str::from_utf8(&chunk).unwrap());
        }
    }

    /// The next hint of any namespace, skipping keep-alives.
    pub async fn next_hint(&mut self, within: Duration) -> EventHint {
        loop {
            match self.next(within).await {
                Frame::Event { hint, .. } | Frame::Shared(hint) => return hint,
                _ => {}
            }
        }
    }

    /// The next event of the own tree, skipping keep-alives and shared namespaces' hints.
    pub async fn next_event(&mut self, within: Duration) -> (i64, EventHint) {
        loop {
            if let Frame::Event { id, hint } = self.next(within).await {
                return (id, hint);
            }
        }
    }
}

async fn second_device(server: &TestServer, username: &str) -> SessionResponse {
    let r = server
        .post(
            "/api/v1/sessions",
            json!({"username": username, "password": "correct horse", "device_name": "phone"}),
        )
        .await;
    assert_eq!(r.status(), StatusCode::OK);
    r.json().await.unwrap()
}

async fn folder(u: &User<'_>, name: &str) {
    let r = u.new_folder(u.session.root_id, name).await;
    assert_eq!(r.status(), StatusCode::CREATED);
}

const WAIT: Duration = Duration::from_secs(10);

async fn a_commit_on_one_device_reaches_the_other_devices_stream(backend: Backend) {
    let server = TestServer::on(backend)
        .settings(|s| s.sse_keepalive = Duration::from_millis(200))
        .start()
        .await;
    let laptop = server.register("alice").await;
    let phone = second_device(&server, "alice").await;
    let mut events = Events::open(&server.base, &phone.token, None).await;
    // Nothing to announce yet: the first frame is a keep-alive comment.
    assert_eq!(events.next(WAIT).await, Frame::Comment("keep-alive".into()));

    let started = Instant::now();
    laptop
        .upload_file("notes.txt", b"hello from the laptop", None)
        .await;
    let (id, hint) = events.next_event(WAIT).await;
    let latency = started.elapsed();
    assert_eq!(id, 1);
    assert_eq!(
        hint,
        EventHint {
            namespace_id: laptop.session.namespace_id,
            seq: 1
        }
    );
    println!("commit → SSE on another device: {latency:?}");

    folder(&laptop, "a").await;
    folder(&laptop, "b").await;
    let (id, _) = events.next_event(WAIT).await;
    assert!(id == 2 || id == 3, "hints coalesce but never go back: {id}");
    if id == 2 {
        assert_eq!(events.next_event(WAIT).await.0, 3);
    }

    let text = server.metrics_text().await;
    assert!(text.contains("cairn_sse_clients 1"), "{text}");
}

async fn resume_after_last_event_id_and_no_hint_for_what_the_device_pulled(backend: Backend) {
    let server = TestServer::on(backend)
        .settings(|s| s.sse_keepalive = Duration::from_millis(200))
        .start()
        .await;
    let laptop = server.register("alice").await;
    let phone = second_device(&server, "alice").await;
    for name in ["a", "b", "c"] {
        folder(&laptop, name).await;
    }
    // A fresh device is told where the namespace is at once.
    let mut fresh = Events::open(&server.base, &phone.token, None).await;
    assert_eq!(fresh.next_event(WAIT).await.0, 3);
    drop(fresh);

    // Reconnecting with Last-Event-ID: 3 announces nothing old, then the next change.
    let mut resumed = Events::open(&server.base, &phone.token, Some(3)).await;
    assert_eq!(
        resumed.next(WAIT).await,
        Frame::Comment("keep-alive".into())
    );
    folder(&laptop, "d").await;
    assert_eq!(resumed.next_event(WAIT).await.0, 4);
    drop(resumed);

    // The phone pulls the feed up to 4 and acknowledges it: a new stream stays quiet.
    let phone_user = User {
        server: &server,
        session: phone.clone(),
    };
    let all: wire::ChangesResponse = phone_user.ok(Method::GET, "/api/v1/changes", None).await;
    assert_eq!(all.changes.len(), 4);
    let r = phone_user
        .call(
            Method::POST,
            "/api/v1/changes/ack",
            Some(json!({"cursor": all.cursor})),
        )
        .await;
    assert_eq!(r.status(), StatusCode::NO_CONTENT);
    let mut quiet = Events::open(&server.base, &phone.token, None).await;
    assert_eq!(quiet.next(WAIT).await, Frame::Comment("keep-alive".into()));
    folder(&laptop, "e").await;
    assert_eq!(quiet.next_event(WAIT).await.0, 5);
}

async fn the_stream_takes_a_bearer_token_or_a_ticket_never_a_token_in_the_url(backend: Backend) {
    let server = TestServer::on(backend).start().await;
    let alice = server.register("alice").await;
    let token = &alice.session.token;
    let device = alice.session.device_id;
    let hash = api::auth::token_hash(token);
    let now = server.now_ms();
    let real = ticket(&server.base, token).await;
    assert!(
        real.expires_at > now && real.expires_at <= now + 61_000,
        "{real:?}"
    );
    // A ticket minted with the right key but already expired, one moved to another device,
    // one whose expiry was pushed out by hand, and the device token itself in the URL.
    let expired = api::stream_ticket::mint(&hash, device, now - 1);
    let parts: Vec<&str> = real.ticket.split('.').collect();
    let moved = format!("{}.{}.{}.{}", device + 1, parts[1], parts[2], parts[3]);
    let extended = format!(
        "{}.{}.{}.{}",
        parts[0],
        real.expires_at + 3_600_000,
        parts[2],
        parts[3]
    );
    for url in [
        "/api/v1/events".to_owned(),
        format!("/api/v1/events?token={token}"),
        "/api/v1/events?ticket=nope".to_owned(),
        format!("/api/v1/events?ticket={expired}"),
        format!("/api/v1/events?ticket={moved}"),
        format!("/api/v1/events?ticket={extended}"),
    ] {
        let r = server.get(&url).await;
        assert_error(r, StatusCode::UNAUTHORIZED, "unauthorized").await;
    }
    // A ticket needs a signed-in device.
    let r = server
        .http
        .post(server.url("/api/v1/events/ticket"))
        .send()
        .await
        .unwrap();
    assert_error(r, StatusCode::UNAUTHORIZED, "unauthorized").await;
    let r = server
        .http
        .post(server.url("/api/v1/events/ticket"))
        .bearer_auth("0".repeat(64))
        .send()
        .await
        .unwrap();
    assert_error(r, StatusCode::UNAUTHORIZED, "unauthorized").await;

    // The good forms: a live ticket (twice: it works until it expires, for EventSource's own
    // quick reconnects), and the header for clients that can send one.
    for _ in 0..2 {
        let r = get_with_ticket(&server.base, &real.ticket).await;
        assert_eq!(r.status(), StatusCode::OK);
        assert_eq!(r.headers()["content-type"], "text/event-stream");
    }
    let r = server
        .http
        .get(server.url("/api/v1/events"))
        .bearer_auth(token)
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), StatusCode::OK);
    assert_eq!(r.headers()["content-type"], "text/event-stream");
}

async fn a_ticket_of_a_revoked_device_opens_nothing(backend: Backend) {
    let server = TestServer::on(backend).start().await;
    let laptop = server.register("alice").await;
    let phone = second_device(&server, "alice").await;
    let t = ticket(&server.base, &phone.token).await;
    revoke(&laptop, phone.device_id).await;
    let r = get_with_ticket(&server.base, &t.ticket).await;
    assert_error(r, StatusCode::UNAUTHORIZED, "unauthorized").await;
    // The other device's tickets still work.
    let mine = ticket(&server.base, &laptop.session.token).await;
    assert_eq!(
        get_with_ticket(&server.base, &mine.ticket).await.status(),
        StatusCode::OK
    );
}

async fn one_user_holds_at_most_the_capped_number_of_streams(backend: Backend) {
    let server = TestServer::on(backend)
        .settings(|s| s.sse_max_per_user = 3)
        .start()
        .await;
    let alice = server.register("alice").await;
    let phone = second_device(&server, "alice").await;
    // Three streams over two devices: the user's cap, not a device's.
    let mut open = vec![
        Events::open(&server.base, &alice.session.token, None).await,
        Events::open(&server.base, &phone.token, None).await,
        Events::open(&server.base, &phone.token, None).await,
    ];
    for token in [&alice.session.token, &phone.token] {
        let t = ticket(&server.base, token).await;
        let r = get_with_ticket(&server.base, &t.ticket).await;
        let retry = r.headers().get("retry-after").cloned();
        assert_error(r, StatusCode::TOO_MANY_REQUESTS, "rate_limited").await;
        assert!(retry.is_some_and(|v| v.to_str().unwrap().parse::<u64>().unwrap() > 0));
    }
    let r = server
        .http
        .get(server.url("/api/v1/events"))
        .bearer_auth(&alice.session.token)
        .send()
        .await
        .unwrap();
    assert_error(r, StatusCode::TOO_MANY_REQUESTS, "rate_limited").await;

    // Another user is not held back by alice's streams.
    let bob = server.register("bob").await;
    let _bobs = Events::open(&server.base, &bob.session.token, None).await;

    // A stream that ends gives its place back (once the server has seen the client go).
    drop(open.pop());
    let deadline = Instant::now() + WAIT;
    let _reopened = loop {
        let t = ticket(&server.base, &phone.token).await;
        let r = get_with_ticket(&server.base, &t.ticket).await;
        if r.status() == StatusCode::OK {
            break r;
        }
        assert_error(r, StatusCode::TOO_MANY_REQUESTS, "rate_limited").await;
        assert!(
            Instant::now() < deadline,
            "the closed stream's place never came back"
        );
        tokio::task::yield_now().await;
    };
    assert_eq!(server.state.streams.open(alice.session.user_id), 3);
    drop(open);
}

impl Events {
    /// Reads until the `revoked` event, then expects the stream to end.
    pub async fn expect_revoked(&mut self) {
        while self.next(WAIT).await != Frame::Named("revoked".into()) {}
        let end = tokio::time::timeout(WAIT, self.body.chunk())
            .await
            .expect("the stream stays open after `revoked`")
            .unwrap();
        assert_eq!(end, None, "nothing follows `revoked`");
    }
}

async fn revoke(by: &User<'_>, device_id: i64) {
    let r = by
        .call(
            Method::DELETE,
            &format!("/api/v1/devices/{device_id}"),
            None,
        )
        .await;
    assert_eq!(r.status(), StatusCode::NO_CONTENT);
}

async fn revoking_a_device_ends_its_open_stream(backend: Backend) {
    let server = TestServer::on(backend).start().await;
    let laptop = server.register("alice").await;
    let phone = second_device(&server, "alice").await;
    let mut events = Events::open(&server.base, &phone.token, None).await;
    folder(&laptop, "before").await;
    events.next_event(WAIT).await;
    revoke(&laptop, phone.device_id).await;
    events.expect_revoked().await;
    // And it cannot come back.
    let r = server
        .http
        .get(server.url("/api/v1/events"))
        .bearer_auth(&phone.token)
        .send()
        .await
        .unwrap();
    assert_error(r, StatusCode::UNAUTHORIZED, "unauthorized").await;
}

/// Two API nodes on one PostgreSQL database: a change written through one reaches a stream
/// held by the other, carried by LISTEN/NOTIFY.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn hints_cross_api_nodes_through_postgres_notify() {
    let node_a = TestServer::on(Backend::Postgres).start().await;
    let url = node_a.database_url.clone();
    let node_b = TestServer::on(Backend::Postgres)
        .settings(move |s| {
            s.database_url = Some(url);
            s.sse_keepalive = Duration::from_millis(200);
        })
        .start()
        .await;
    let laptop = node_a.register("alice").await;
    let phone = second_device(&node_b, "alice").await;
    let mut events = Events::open(&node_b.base, &phone.token, None).await;
    assert_eq!(events.next(WAIT).await, Frame::Comment("keep-alive".into()));
    let started = Instant::now();
    folder(&laptop, "from node a").await;
    let (id, hint) = events.next_event(WAIT).await;
    assert_eq!((id, hint.namespace_id), (1, laptop.session.namespace_id));
    println!("commit on node A → SSE on node B: {:?}", started.elapsed());

    // A revocation through node A ends the stream held by node B.
    revoke(&laptop, phone.device_id).await;
    events.expect_revoked().await;
}
