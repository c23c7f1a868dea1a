//! Several API nodes (or `cairn gc` beside a server) over one database: the collector runs on
//! one of them at a time (`db::exclusive`), and commits through different nodes into one
//! namespace keep its change sequence gap-free.

use std::time::Duration;

use crate::binary::Served;
use crate::fixture::{bytes, Backend, TestServer};
use api::db::exclusive::{try_hold, Job};

crate::both!(a_collector_skips_its_turn_while_another_holds_it,);

async fn a_collector_skips_its_turn_while_another_holds_it(backend: Backend) {
    let server = TestServer::on(backend)
        .settings(|s| s.version_retention = Duration::ZERO)
        .start()
        .await;
    let alice = server.register("alice").await;
    // Two versions of one file: the first one's chunk becomes garbage once pruned.
    let first = alice.upload_file("f", &bytes(1, 1000), None).await;
    alice
        .upload_file("f", &bytes(2, 1000), Some(first.version_id))
        .await;

    // Another node (or process) holds the collector: this one does nothing, the CLI too.
    let other = try_hold(&server.state.db, Job::Collector)
        .await
        .unwrap()
        .expect("free at first");
    assert!(
        try_hold(&server.state.db, Job::Collector)
            .await
            .unwrap()
            .is_none(),
        "one holder at a time"
    );
    // Other jobs have holds of their own (the scrubber's: no scrub runs in this test, where
    // the server's or `cairn gc`'s retention pass may hold its own for a moment).
    let scrub = try_hold(&server.state.db, Job::Scrub).await.unwrap();
    scrub
        .expect("the scrubber's hold is another")
        .release()
        .await;
    let report = api::gc::collect(&server.state).await.unwrap();
    assert!(report.busy, "{report:?}");
    assert_eq!(report.versions_pruned + report.chunks_deleted, 0);
    let out = std::process::Command::new(env!("CARGO_BIN_EXE_cairn"))
        .arg("gc")
        .arg("--database-url")
        .arg(&server.database_url)
        .arg("--data-dir")
        .arg(server.dir.path())
        .output()
        .unwrap();
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(out.status.success(), "{stdout}");
    assert!(
        stdout.contains("another node or process is collecting"),
        "{stdout}"
    );

    // Released (on PostgreSQL: its connection closed), the next pass runs.
    other.release().await;
    let report = api::gc::collect(&server.state).await.unwrap();
    assert!(!report.busy, "{report:?}");
    assert_eq!(report.versions_pruned, 1, "{report:?}");
    assert_eq!(report.chunks_deleted, 1, "{report:?}");

    // A hold dropped without release (a pass cut short) is gone too.
    drop(try_hold(&server.state.db, Job::Collector).await.unwrap());
    let deadline = tokio::time::Instant::now() + Duration::from_secs(10);
    loop {
        if let Some(h) = try_hold(&server.state.db, Job::Collector).await.unwrap() {
            h.release().await;
            break;
        }
        assert!(
            tokio::time::Instant::now() < deadline,
            "a dropped hold was never released"
        );
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
}

/// Two API nodes over one PostgreSQL database, both collecting on a tight loop while the other
/// commits: every pass either runs alone or is skipped, nothing fails, and what is committed
/// keeps its bytes. Meanwhile one account's two devices, one on each node, commit into the
/// same namespace at once, and its change log stays 1, 2, 3, … with no gap.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn two_nodes_collect_one_at_a_time_and_share_a_gap_free_sequence() {
    let node_a = TestServer::on(Backend::Postgres)
        .settings(|s| s.version_retention = Duration::ZERO)
        .start()
        .await;
    let url = node_a.database_url.clone();
    let node_b = TestServer::on(Backend::Postgres)
        .settings(move |s| {
            s.database_url = Some(url);
            s.version_retention = Duration::ZERO;
        })
        .start()
        .await;
    let laptop = node_a.register("alice").await;
    let phone = node_b.sign_in("alice", "phone").await;

    let stop = std::sync::Arc::new(std::sync::atomic::AtomicBool::new(false));
    let collectors: Vec<_> = [&node_a, &node_b]
        .into_iter()
        .map(|node| {
            let state = node.state.clone();
            let stop = stop.clone();
            tokio::spawn(async move {
                let (mut ran, mut skipped) = (0u32, 0u32);
                while !stop.load(std::sync::atomic::Ordering::Relaxed) {
                    let r = api::gc::collect(&state).await.expect("a pass");
                    if r.busy {
                        skipped += 1;
                    } else {
                        ran += 1;
                    }
                    tokio::time::sleep(Duration::from_millis(5)).await;
                }
                (ran, skipped)
            })
        })
        .collect();

    tokio::join!(
        commit_many(&laptop, "laptop", 10),
        commit_many(&phone, "phone", 100)
    );
    stop.store(true, std::sync::atomic::Ordering::Relaxed);
    let mut total_ran = 0;
    for c in collectors {
        let (ran, skipped) = c.await.unwrap();
        println!("a node's collector: {ran} passes, {skipped} skipped");
        total_ran += ran;
    }
    assert!(total_ran > 0);
    assert_eq!(
        node_a.change_seqs(laptop.session.namespace_id).await,
        (1..=2 * i64::from(EACH)).collect::<Vec<_>>(),
        "one sequence across both nodes, no gap"
    );
}

const EACH: u8 = 15;

/// `EACH` new files from `who`, each read back.
async fn commit_many(who: &crate::fixture::User<'_>, prefix: &str, seed: u64) {
    for i in 0..EACH {
        let data = bytes(seed + u64::from(i), 2000);
        let name = format!("{prefix}-{i}");
        let c = who.upload_file(&name, &data, None).await;
        assert_eq!(who.download(c.node.id).await, data, "{name}");
    }
}

/// The local chunk directory serves one node: a second `cairn` on the same PostgreSQL database
/// with a directory of its own refuses to start, saying why; once the first stops, it starts.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_second_node_with_a_local_chunk_directory_is_refused() {
    let db = crate::fixture::EmptyDatabase::create(Backend::Postgres).await;
    let (one, two) = (tempfile::tempdir().unwrap(), tempfile::tempdir().unwrap());
    let serve = |dir: &tempfile::TempDir| {
        Served::start(
            &[
                "--database-url",
                &db.url,
                "--data-dir",
                dir.path().to_str().unwrap(),
            ],
            &[],
        )
    };
    let first = serve(&one).expect("the first node starts");
    let refused = serve(&two).err().expect("the second node is refused");
    assert!(
        refused.contains("several nodes need one shared chunk store"),
        "{refused}"
    );
    // Killed, its connection closes and PostgreSQL lets go, which a starting node waits for
    // (a restart right after a crash must not be refused).
    drop(first);
    let again = serve(&two).expect("alone now, it starts");
    let r = reqwest::get(format!("{}/readyz", again.base))
        .await
        .unwrap();
    assert_eq!(r.status(), reqwest::StatusCode::OK);
}
