//! A batch of commits written set-based ends exactly as the same commits made one at a time
//! would: the group committer's split and set-based path (`commit::batch`) against
//! `commit::one`, over random batches from one starting state. Each way runs in a
//! transaction that is read and then rolled back, so both start from the same rows.
//!
//! The batches mix what makes commits differ: names already held (by a file or a folder),
//! current, stale and missing bases, repeated idempotency keys, two devices of one user and
//! another user, a namespace near its quota (old versions must make room), an upload used by
//! two commits, one whose chunks never arrived, and invalid names.

use rand::rngs::StdRng;
use rand::{Rng, SeedableRng};
use reqwest::Method;
use sqlx::Row as _;
use wire::{CommitRequest, CommitResponse};

use api::commit::{batch, one, rules::Commit};
use api::db::batch_tx::SqlxTx;
use api::db::uploads::{self, Upload};
use api::db::users::Caller;
use api::db::Db;
use api::error::ApiResult;

use crate::fixture::{bytes, Backend, TestServer, User};

crate::both!(a_batch_ends_as_one_at_a_time_commits_would);

/// Random batches per database.
const CASES: u64 = 600;

/// One device able to commit, with its upload sessions.
struct Device {
    caller: Caller,
    folder: i64,
    uploads: Vec<Upload>,
}

/// `f/` with `a.txt` (one version), `b.txt` (two) and folder `c` in `u`'s root; returns `f`.
async fn starting_tree(u: &User<'_>) -> i64 {
    let f = u.mkdir(u.session.root_id, "f").await.id;
    u.upload_to(f, "a.txt", &bytes(1, 3000), None).await;
    let b = u.upload_to(f, "b.txt", &bytes(2, 2000), None).await;
    u.upload_to(f, "b.txt", &bytes(3, 2200), Some(b.version_id))
        .await;
    u.mkdir(f, "c").await;
    f
}

/// Upload sessions of `u`: two of each content (one equals `a.txt`), chunks sent, and one whose
/// chunks never arrive.
async fn sessions(db: &Db, u: &User<'_>) -> Vec<Upload> {
    let mut ids = Vec::new();
    for seed in [1, 10, 11, 12, 10, 11] {
        let data = bytes(seed, 1500 + 500 * (seed as usize % 4));
        let (m, up) = u.start_upload(&data).await;
        u.put_missing(&m, &up, &data).await;
        ids.push(up.upload_id);
    }
    let (_, unsent) = u.start_upload(&bytes(99, 2500)).await;
    ids.push(unsent.upload_id);
    let mut out = Vec::new();
    for id in ids {
        out.push(uploads::get(db, &id).await.unwrap().unwrap());
    }
    out
}

fn caller(u: &User<'_>, username: &str, device_name: &str, quota: u64) -> Caller {
    Caller {
        user_id: u.session.user_id,
        username: username.into(),
        device_id: u.session.device_id,
        device_name: device_name.into(),
        namespace_id: u.session.namespace_id,
        root_id: u.session.root_id,
        quota_bytes: quota,
        shared_bytes: 0,
        last_seen_at: 0,
    }
}

/// What a way of committing left: answers and the rows that matter, ids left out (new nodes
/// and versions get other ids in each way), change-log entries as a sorted multiset per
/// namespace with its seqs.
#[derive(Debug, PartialEq)]
struct End {
    answers: Vec<String>,
    nodes: Vec<String>,
    namespaces: Vec<String>,
    changes: Vec<String>,
    rest: Vec<String>,
}

fn answer(r: &ApiResult<CommitResponse>) -> String {
    match r {
        Ok(c) => format!(
            "ok {} size={} unchanged={} conflict={}",
            c.node.name,
            c.node.size,
            c.unchanged,
            c.conflict.is_some()
        ),
        Err(e) => format!("err {}", e.code()),
    }
}

async fn rows(tx: &mut sqlx::Transaction<'static, sqlx::Any>, sql: &str) -> Vec<String> {
    let mut out: Vec<String> = sqlx::query(sql)
        .fetch_all(&mut **tx)
        .await
        .unwrap()
        .iter()
        .map(|r| {
            (0..r.len())
                .map(|i| {
                    r.try_get::<Option<i64>, _>(i)
                        .map(|v| format!("{v:?}"))
                        .or_else(|_| r.try_get::<Option<String>, _>(i).map(|v| format!("{v:?}")))
                        .unwrap()
                })
                .collect::<Vec<_>>()
                .join(" ")
        })
        .collect();
    out.sort();
    out
}

async fn end(
    tx: &mut sqlx::Transaction<'static, sqlx::Any>,
    answers: &[ApiResult<CommitResponse>],
) -> End {
    End {
        answers: answers.iter().map(answer).collect(),
        nodes: rows(
            tx,
            "SELECT n.namespace_id, n.parent_id, n.name, n.kind, v.content_hash, \
             (SELECT COUNT(*) FROM versions x WHERE x.node_id = n.id), \
             (SELECT COUNT(*) FROM versions x JOIN version_chunks c ON c.version_id = x.id \
              WHERE x.node_id = n.id) \
             FROM nodes n LEFT JOIN versions v ON v.id = n.version_id WHERE n.deleted_at IS NULL",
        )
        .await,
        namespaces: rows(
            tx,
            "SELECT id, used_bytes, history_bytes, staged_bytes, seq FROM namespaces",
        )
        .await,
        changes: [
            rows(tx, "SELECT c.namespace_id, c.seq FROM changes c").await,
            rows(
                tx,
                "SELECT c.namespace_id, n.name, c.kind FROM changes c JOIN nodes n ON n.id = c.node_id",
            )
            .await,
        ]
        .concat(),
        rest: [
            rows(tx, "SELECT id, reserved_bytes FROM uploads").await,
            rows(tx, "SELECT upload_id, hash FROM upload_chunks").await,
            rows(tx, "SELECT device_id, key FROM idempotency").await,
        ]
        .concat(),
    }
}

async fn versions(u: &User<'_>, folder: i64) -> Vec<(String, Option<i64>)> {
    let l: wire::Listing = u
        .ok(
            Method::GET,
            &format!("/api/v1/nodes/{folder}/children"),
            None,
        )
        .await;
    l.children
        .iter()
        .map(|n| (n.name.clone(), n.version_id))
        .collect()
}

async fn set_based(db: &Db, batch: &[Commit<'_>]) -> End {
    let mut w = db.write().await.unwrap();
    let mut tx = SqlxTx {
        tx: &mut w.tx,
        backend: db.backend,
    };
    let now = api::db::now_ms();
    let answers = batch::fast(&mut tx, batch, now).await.unwrap();
    let answers = batch::finish(&mut w.tx, batch, answers, now).await.unwrap();
    let e = end(&mut w.tx, &answers).await;
    w.rollback().await.unwrap();
    e
}

async fn one_at_a_time(db: &Db, batch: &[Commit<'_>]) -> End {
    let mut w = db.write().await.unwrap();
    let mut answers = Vec::new();
    let now = api::db::now_ms();
    for c in batch {
        answers.push(one::commit_in(&mut w.tx, *c, now).await);
    }
    let e = end(&mut w.tx, &answers).await;
    w.rollback().await.unwrap();
    e
}

async fn a_batch_ends_as_one_at_a_time_commits_would(backend: Backend) {
    let server = TestServer::on(backend).start().await;
    let db = server.db().await;
    let alice = server.register("alice").await;
    let phone = server.sign_in("alice", "phone").await;
    let bob = server.register("bob").await;
    let fa = starting_tree(&alice).await;
    let fb = starting_tree(&bob).await;
    let mut devices = vec![
        Device {
            caller: caller(&alice, "alice", "laptop", 1 << 40),
            folder: fa,
            uploads: sessions(&db, &alice).await,
        },
        Device {
            caller: caller(&phone, "alice", "phone", 1 << 40),
            folder: fa,
            uploads: sessions(&db, &phone).await,
        },
    ];
    // Bob is near his quota: what he holds now (files, history, open uploads) and a little.
    let bob_uploads = sessions(&db, &bob).await;
    let held: i64 = sqlx::query(
        "SELECT used_bytes + history_bytes + staged_bytes FROM namespaces WHERE id = $1",
    )
    .bind(bob.session.namespace_id)
    .fetch_one(&db.pool)
    .await
    .unwrap()
    .get(0);
    devices.push(Device {
        caller: caller(&bob, "bob", "laptop", held as u64 + 500),
        folder: fb,
        uploads: bob_uploads,
    });
    // Version ids of the starting tree, by name.
    let current = [versions(&alice, fa).await, versions(&bob, fb).await];

    let names = [
        "a.txt", "b.txt", "c", "n1.txt", "n2.txt", "A.TXT", "bad:name",
    ];
    let mut commits_run = 0;
    let mut outcomes = std::collections::BTreeMap::new();
    for seed in 0..CASES {
        let mut rng = StdRng::seed_from_u64(seed);
        let n = rng.gen_range(1..=10);
        let mut reqs = Vec::new();
        let mut who = Vec::new();
        for _ in 0..n {
            let d = rng.gen_range(0..devices.len());
            let dev = &devices[d];
            let name = names[rng.gen_range(0..names.len())];
            let tree = &current[usize::from(d == 2)];
            let now = tree
                .iter()
                .find(|(n, _)| n.eq_ignore_ascii_case(name))
                .and_then(|(_, v)| *v);
            let base = match rng.gen_range(0..10) {
                0..=3 => None,
                4..=7 => now,
                _ => now.map(|v| v - 1),
            };
            let parent = match rng.gen_range(0..20) {
                0 => devices[(d + 2) % 3].folder,
                1 => dev.caller.root_id,
                _ => dev.folder,
            };
            let upload = &dev.uploads[rng.gen_range(0..dev.uploads.len())];
            reqs.push(CommitRequest {
                upload_id: upload.id.clone(),
                parent_id: parent,
                name: name.into(),
                base_version: base,
                idempotency_key: format!("k{}", rng.gen_range(0..6)),
                content_type: None,
            });
            who.push((d, upload));
        }
        let batch: Vec<Commit<'_>> = who
            .iter()
            .zip(&reqs)
            .map(|(&(d, upload), req)| Commit::home(&devices[d].caller, upload, req))
            .collect();
        let a = set_based(&db, &batch).await;
        let b = one_at_a_time(&db, &batch).await;
        assert_eq!(
            a, b,
            "seed {seed}: the batch (left) ended otherwise than one commit at a time (right); \
             batch: {reqs:#?}"
        );
        commits_run += n;
        for a in &a.answers {
            let kind = match a.split_whitespace().collect::<Vec<_>>()[..] {
                ["err", code] => code.to_string(),
                _ if a.contains("unchanged=true") => "unchanged".into(),
                _ if a.contains("conflict=true") => "conflicted copy".into(),
                _ => "written".into(),
            };
            *outcomes.entry(kind).or_insert(0) += 1;
        }
    }
    println!(
        "{backend:?}: {CASES} random batches, {commits_run} commits, set-based = one at a time; \
         outcomes {outcomes:?}"
    );
    for kind in ["written", "unchanged", "conflicted copy", "quota_exceeded"] {
        assert!(
            outcomes.contains_key(kind),
            "no batch led to {kind}: {outcomes:?}"
        );
    }
}
