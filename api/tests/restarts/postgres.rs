//! PostgreSQL restarted under load: a private cluster is stopped `-m immediate` (every backend
//! gone, as in a crash) and started again, several times, while clients upload and commit.
//! The clients back off and finish; in the end every answered commit is there once with its
//! bytes, the change log has no gap, and an event stream opened before the first restart is
//! hinted of the last commit (the server's LISTEN came back each time). While the database is
//! down a request waits for it up to `PG_ACQUIRE_TIMEOUT` (10 s), then is answered a JSON 503
//! `unavailable`: not a hang, not a crash.

use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use reqwest::StatusCode;
use serde_json::json;
use wire::SessionResponse;

use crate::client::{self, Events, Job, Seen};
use crate::cluster::Cluster;
use crate::fixture::{bytes, TestRng};
use crate::server::Cairn;

const CLIENTS: u64 = 3;

/// Longer than the server waits for a database connection (`PG_ACQUIRE_TIMEOUT`).
const LONG_OUTAGE: Duration = Duration::from_secs(12);

/// What a request made while the database was down got, and after how long.
#[derive(Debug)]
struct Probe {
    took: Duration,
    status: Option<u16>,
    body: String,
}

async fn probe(http: &reqwest::Client, base: &str, token: &str, root: i64) -> Probe {
    let t = Instant::now();
    let r = http
        .get(format!("{base}/api/v1/nodes/{root}/children"))
        .bearer_auth(token)
        .timeout(Duration::from_secs(60))
        .send()
        .await;
    match r {
        Ok(r) => {
            let status = r.status().as_u16();
            let body = r.text().await.unwrap_or_default();
            Probe {
                took: t.elapsed(),
                status: Some(status),
                body,
            }
        }
        Err(e) => Probe {
            took: t.elapsed(),
            status: None,
            body: e.to_string(),
        },
    }
}

#[tokio::test]
async fn clients_finish_and_hints_flow_across_postgresql_restarts() {
    assert!(api::db::PG_ACQUIRE_TIMEOUT + Duration::from_secs(1) < LONG_OUTAGE);
    let started = Instant::now();
    let rounds = crate::rounds();
    let mut rng = TestRng::seeded(crate::seed());
    let pg = Cluster::start();
    let data = tempfile::tempdir().unwrap();
    let mut server = Cairn::start(&data.path().join("chunks"), &pg.url(), &[]);
    let http = client::http();
    let r = http
        .post(format!("{}/api/v1/accounts", server.base))
        .json(&json!({"username": "alice", "password": "correct horse", "device_name": "laptop"}))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), StatusCode::CREATED);
    let s: SessionResponse = r.json().await.unwrap();
    let mut events = Events::open(&http, &server.base, &s.token).await;

    // Clients commit one file after another until told to stop (after the last restart).
    let stop = Arc::new(AtomicBool::new(false));
    let lanes: Vec<_> = (0..CLIENTS)
        .map(|c| {
            let (http, base, token) = (http.clone(), server.base.clone(), s.token.clone());
            let (stop, root) = (Arc::clone(&stop), s.root_id);
            let mut rng = TestRng::seeded(crate::seed() ^ (c + 1));
            tokio::spawn(async move {
                let (mut jobs, mut seen) = (Vec::new(), Seen::default());
                while !stop.load(Ordering::Relaxed) {
                    let n = jobs.len();
                    // Most files one chunk, some several (chunks are ≥ 256 KiB).
                    let size = 1_000 + rng.below(1_200_000) as usize;
                    let mut job = Job {
                        name: format!("c{c}-{n}.bin"),
                        data: bytes(rng.next_u64(), size),
                        key: format!("pg-{c}-{n}"),
                        upload_id: None,
                        answer: None,
                    };
                    client::finish(&http, &base, &token, root, &mut job, &mut seen).await;
                    jobs.push(job);
                }
                (jobs, seen)
            })
        })
        .collect();

    let mut probes = Vec::new();
    for round in 0..rounds {
        tokio::time::sleep(Duration::from_millis(300 + rng.below(900))).await;
        pg.crash();
        // A request while the database is away, and the server's answer to it.
        let p = {
            let (http, base, token) = (http.clone(), server.base.clone(), s.token.clone());
            tokio::spawn(async move { probe(&http, &base, &token, s.root_id).await })
        };
        // The first outage outlasts the server's wait for a connection; the others are
        // shorter, as a restart is.
        let down = if round == 0 {
            LONG_OUTAGE
        } else {
            Duration::from_millis(500 + rng.below(1_500))
        };
        tokio::time::sleep(down).await;
        server.assert_alive();
        pg.up();
        let p = p.await.unwrap();
        server.assert_alive();
        probes.push(p);
    }
    tokio::time::sleep(Duration::from_millis(500)).await;
    stop.store(true, Ordering::Relaxed);
    let (mut jobs, mut seen) = (Vec::new(), Seen::default());
    for lane in lanes {
        let (j, s) = lane.await.unwrap();
        jobs.extend(j);
        seen.add(&s);
    }
    eprintln!(
        "postgres restarts: {rounds} restarts, {} commits, {} retries, statuses {:?}, {} \
         transport errors; probes while down: {:?}",
        jobs.len(),
        seen.retries,
        seen.statuses,
        seen.transport,
        probes
            .iter()
            .map(|p| (p.status, p.took))
            .collect::<Vec<_>>()
    );
    // Past the wait: a JSON 503 `unavailable`, once the wait is over, not later.
    let p = &probes[0];
    assert_eq!(p.status, Some(503), "{p:?}");
    assert!(p.body.contains("\"unavailable\""), "{p:?}");
    assert!(p.took < LONG_OUTAGE, "{p:?}");
    for p in &probes {
        // Answered (no hang past the client's patience, no dropped connection), and if it
        // was an error, the JSON error body every error has.
        let status = p
            .status
            .unwrap_or_else(|| panic!("no answer while down: {p:?}"));
        if status != 200 {
            let v: serde_json::Value =
                serde_json::from_str(&p.body).unwrap_or_else(|_| panic!("not a JSON error: {p:?}"));
            assert!(v["error"]["code"].is_string(), "{p:?}");
        }
    }

    client::assert_end_state(&http, &server.base, &s.token, s.root_id, &jobs).await;
    let last = jobs.len() as i64;
    assert!(
        events
            .wait_for(s.namespace_id, last, Duration::from_secs(20))
            .await,
        "the open stream never heard of seq {last} (got {:?}):\n{}",
        events.newest,
        server.log()
    );
    server.assert_alive();
    for line in server
        .log()
        .lines()
        .filter(|l| l.contains("internal error"))
    {
        eprintln!("postgres restarts: the server logged {line}");
    }
    eprintln!("postgres restarts: {:?} in all", started.elapsed());
}
