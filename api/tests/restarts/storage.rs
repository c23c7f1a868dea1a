//! Garage killed and started again on the same data and ports while clients upload
//! multi-chunk files through signed PUT URLs and download them through signed GET URLs. The
//! clients back off and finish; in the end every answered commit is there once with the
//! right bytes, read back from the store.

use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use reqwest::StatusCode;
use serde_json::json;
use wire::SessionResponse;

use crate::client::{self, Backoff, Job, Seen};
use crate::fixture::{bytes, TestRng};
use crate::garage::{Garage, REGION};
use crate::server::Cairn;

const CLIENTS: u64 = 3;

#[tokio::test]
async fn uploads_and_downloads_finish_across_garage_restarts() {
    let started = Instant::now();
    let rounds = crate::rounds();
    let mut rng = TestRng::seeded(crate::seed());
    let mut garage = Garage::start().await;
    let data = tempfile::tempdir().unwrap();
    let env = [
        ("CAIRN_S3_BUCKET", garage.bucket.clone()),
        ("CAIRN_S3_ENDPOINT", garage.endpoint.clone()),
        ("CAIRN_S3_REGION", REGION.to_owned()),
        ("CAIRN_S3_PATH_STYLE", "true".to_owned()),
        ("CAIRN_S3_ACCESS_KEY_ID", garage.access_key.clone()),
        ("CAIRN_S3_SECRET_ACCESS_KEY", garage.secret_key.clone()),
    ];
    let db = format!("sqlite://{}?mode=rwc", data.path().join("m.db").display());
    let mut server = Cairn::start(&data.path().join("chunks"), &db, &env);
    let http = client::http();
    let r = http
        .post(format!("{}/api/v1/accounts", server.base))
        .json(&json!({"username": "alice", "password": "correct horse", "device_name": "laptop"}))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), StatusCode::CREATED);
    let s: SessionResponse = r.json().await.unwrap();

    // Each client commits a file, then downloads one of its files drawn from the seed, until
    // told to stop (after the last restart).
    let stop = Arc::new(AtomicBool::new(false));
    let lanes: Vec<_> = (0..CLIENTS)
        .map(|c| {
            let (http, base, token) = (http.clone(), server.base.clone(), s.token.clone());
            let (stop, root) = (Arc::clone(&stop), s.root_id);
            let mut rng = TestRng::seeded(crate::seed() ^ (c + 1));
            tokio::spawn(async move {
                let (mut jobs, mut seen, mut downloads) = (Vec::<Job>::new(), Seen::default(), 0);
                while !stop.load(Ordering::Relaxed) {
                    let n = jobs.len();
                    // 0.5–3 MiB: one to four chunks (256 KiB minimum, 1 MiB on average).
                    let size = 500_000 + rng.below(2_600_000) as usize;
                    let mut job = Job {
                        name: format!("c{c}-{n}.bin"),
                        data: bytes(rng.next_u64(), size),
                        key: format!("s3-{c}-{n}"),
                        upload_id: None,
                        answer: None,
                    };
                    client::finish(&http, &base, &token, root, &mut job, &mut seen).await;
                    jobs.push(job);
                    let pick = &jobs[rng.below(jobs.len() as u64) as usize];
                    let node = pick.answer.as_ref().unwrap().node.id;
                    let mut b = Backoff::new(
                        format!("download of {}", pick.name),
                        Duration::from_secs(60),
                    );
                    let got = loop {
                        match client::download(&http, &base, &token, node, &mut seen).await {
                            Ok(got) => break got,
                            Err(why) => b.wait(why, &mut seen).await,
                        }
                    };
                    assert!(got == pick.data, "{} came back with other bytes", pick.name);
                    downloads += 1;
                }
                (jobs, seen, downloads)
            })
        })
        .collect();

    for _ in 0..rounds {
        tokio::time::sleep(Duration::from_millis(300 + rng.below(900))).await;
        garage.kill();
        tokio::time::sleep(Duration::from_millis(500 + rng.below(1_500))).await;
        server.assert_alive();
        garage.restart().await;
    }
    tokio::time::sleep(Duration::from_millis(500)).await;
    stop.store(true, Ordering::Relaxed);
    let (mut jobs, mut seen, mut downloads) = (Vec::new(), Seen::default(), 0);
    for lane in lanes {
        let (j, s, d) = lane.await.unwrap();
        jobs.extend(j);
        seen.add(&s);
        downloads += d;
    }
    server.assert_alive();
    let chunks: usize = jobs
        .iter()
        .map(|j| wasm_chunker::chunk_all(&j.data).len())
        .sum();
    eprintln!(
        "garage restarts: {rounds} restarts, {} commits ({chunks} chunks), {downloads} \
         downloads, {} retries, statuses {:?}, {} transport errors",
        jobs.len(),
        seen.retries,
        seen.statuses,
        seen.transport
    );
    for line in server
        .log()
        .lines()
        .filter(|l| l.contains("internal error"))
    {
        eprintln!("garage restarts: the server logged {line}");
    }
    client::assert_end_state(&http, &server.base, &s.token, s.root_id, &jobs).await;
    eprintln!("garage restarts: {:?} in all", started.elapsed());
}
