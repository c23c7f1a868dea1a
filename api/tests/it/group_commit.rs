//! Group commit over HTTP: many concurrent commits share transactions, each stays atomic (a
//! failing one sinks nobody), retries and conflicts keep their meaning, and the change log
//! stays gap-free.

use reqwest::{Method, StatusCode};
use wire::{ChangesResponse, CommitResponse, Listing, UploadResponse};

use crate::fixture::{bytes, Backend, TestServer, User};

crate::both!(
    concurrent_commits_share_transactions_and_a_failure_sinks_nobody,
    retries_and_races_on_one_file_keep_their_meaning_inside_groups,
    a_database_failure_mid_commit_sinks_only_that_commit,
    accounts_sharing_a_group_keep_their_own_quota_and_log,
);

/// Uploads the chunks of `n` files without committing them.
async fn prepared(u: &User<'_>, n: u64, seed: u64) -> Vec<UploadResponse> {
    let mut out = Vec::new();
    for i in 0..n {
        let data = bytes(seed + i, 2000 + i as usize);
        let (m, up) = u.start_upload(&data).await;
        u.put_missing(&m, &up, &data).await;
        out.push(up);
    }
    out
}

async fn seqs(u: &User<'_>) -> Vec<i64> {
    let p: ChangesResponse = u.ok(Method::GET, "/api/v1/changes?limit=1000", None).await;
    assert!(!p.has_more);
    p.changes.iter().map(|c| c.seq).collect()
}

async fn concurrent_commits_share_transactions_and_a_failure_sinks_nobody(backend: Backend) {
    let server = TestServer::on(backend).start().await;
    let alice = server.register("alice").await;
    let root = alice.session.root_id;
    let taken = alice.mkdir(root, "taken").await;
    let ups = prepared(&alice, 48, 100).await;
    // Every sixth commit fails inside the transaction: its upload's chunks never came.
    let mut unsent = Vec::new();
    for i in 0..8 {
        unsent.push(alice.start_upload(&bytes(900 + i, 1500)).await.1);
    }
    let commits = ups.iter().enumerate().map(|(i, up)| {
        let alice = &alice;
        let up = if i % 6 == 5 { &unsent[i / 6] } else { up };
        async move {
            let name = format!("file {i}");
            (i, alice.commit(&up.upload_id, root, &name, None).await)
        }
    });
    let answers = futures::future::join_all(commits).await;
    let mut ok = 0;
    for (i, r) in answers {
        if i % 6 == 5 {
            crate::fixture::assert_error(r, StatusCode::CONFLICT, "upload_incomplete").await;
        } else {
            assert_eq!(r.status(), StatusCode::OK);
            let c: CommitResponse = r.json().await.unwrap();
            assert_eq!(c.node.name, format!("file {i}"));
            ok += 1;
        }
    }
    assert_eq!(ok, 40);
    let listing: Listing = alice
        .ok(Method::GET, &format!("/api/v1/nodes/{root}/children"), None)
        .await;
    assert_eq!(listing.children.len(), 41);
    assert!(listing.children.contains(&taken));
    assert_eq!(
        seqs(&alice).await,
        (1..=41).collect::<Vec<_>>(),
        "gap-free log"
    );
    assert_eq!(
        server.change_seqs(alice.session.namespace_id).await,
        (1..=41).collect::<Vec<_>>(),
        "the log beneath the API too"
    );
    assert_eq!(alice.names(root).await.len(), 41);
    let batches = server.metric("cairn_commit_batch_size_count").await;
    assert!(
        batches < 48.0,
        "48 concurrent commits took {batches} transactions: no grouping happened"
    );
}

async fn retries_and_races_on_one_file_keep_their_meaning_inside_groups(backend: Backend) {
    let server = TestServer::on(backend).start().await;
    let alice = server.register("alice").await;
    let root = alice.session.root_id;
    let base = alice.upload_file("doc.txt", b"v0", None).await;

    // The same commit sent four times at once: one version, four equal answers.
    let ups = prepared(&alice, 1, 500).await;
    let same = (0..4).map(|_| alice.commit(&ups[0].upload_id, root, "other.txt", None));
    let answers: Vec<CommitResponse> =
        futures::future::join_all(futures::future::join_all(same).await.into_iter().map(
            |r| async move {
                assert_eq!(r.status(), StatusCode::OK);
                r.json::<CommitResponse>().await.unwrap()
            },
        ))
        .await;
    assert!(answers
        .iter()
        .all(|a| a.version_id == answers[0].version_id));
    assert_eq!(alice.download(answers[0].node.id).await, bytes(500, 2000));

    // Eight devices' edits from the same base at once: one wins, seven conflicted copies.
    let ups = prepared(&alice, 8, 600).await;
    let race = ups
        .iter()
        .map(|up| alice.commit(&up.upload_id, root, "doc.txt", Some(base.version_id)));
    let mut winners = 0;
    let mut copies = std::collections::BTreeSet::new();
    for r in futures::future::join_all(race).await {
        assert_eq!(r.status(), StatusCode::OK);
        let c: CommitResponse = r.json().await.unwrap();
        match c.conflict {
            None => winners += 1,
            Some(conflict) => {
                assert_eq!(conflict.original_node_id, base.node.id);
                copies.insert(c.node.name);
            }
        }
    }
    assert_eq!(winners, 1);
    assert_eq!(copies.len(), 7, "{copies:?}");
    assert_eq!(seqs(&alice).await, (1..=10).collect::<Vec<_>>());
}

/// A commit the database itself fails halfway (a trigger refuses its version row, after its
/// node and quota were written): the group is redone with savepoints, that commit alone is
/// answered 500 and leaves no trace, and everyone else in its group is committed.
async fn a_database_failure_mid_commit_sinks_only_that_commit(backend: Backend) {
    let server = TestServer::on(backend).start().await;
    let trigger = match backend {
        Backend::Sqlite => {
            "CREATE TRIGGER boom BEFORE INSERT ON versions WHEN NEW.size = 2005 \
             BEGIN SELECT RAISE(ABORT, 'boom'); END"
        }
        Backend::Postgres => {
            "CREATE FUNCTION boom() RETURNS trigger AS $$ BEGIN \
               IF NEW.size = 2005 THEN RAISE EXCEPTION 'boom'; END IF; RETURN NEW; END $$ \
             LANGUAGE plpgsql; \
             CREATE TRIGGER boom BEFORE INSERT ON versions FOR EACH ROW EXECUTE FUNCTION boom()"
        }
    };
    sqlx::raw_sql(trigger)
        .execute(&server.state.db.pool)
        .await
        .unwrap();
    let alice = server.register("alice").await;
    let root = alice.session.root_id;
    let ups = prepared(&alice, 24, 100).await;
    let commits = ups.iter().enumerate().map(|(i, up)| {
        let alice = &alice;
        async move {
            (
                i,
                alice
                    .commit(&up.upload_id, root, &format!("f{i}"), None)
                    .await,
            )
        }
    });
    let mut sizes = 0;
    for (i, r) in futures::future::join_all(commits).await {
        if i == 5 {
            assert_eq!(r.status(), StatusCode::INTERNAL_SERVER_ERROR);
        } else {
            assert_eq!(r.status(), StatusCode::OK, "commit {i}");
            sizes += 2000 + i as u64;
        }
    }
    assert_eq!(
        alice.names(root).await.len(),
        23,
        "no node left by the failed one"
    );
    assert_eq!(
        seqs(&alice).await,
        (1..=23).collect::<Vec<_>>(),
        "gap-free log"
    );
    let me: wire::MeResponse = alice.ok(Method::GET, "/api/v1/me", None).await;
    assert_eq!(
        me.files_bytes, sizes,
        "the failed commit's quota charge is undone"
    );
    assert_eq!(me.uploads_bytes, 2005, "its upload keeps its reservation");
    assert!(server.metric("cairn_commit_batch_size_count").await < 24.0);
}

/// Two accounts commit at once into shared transactions, each past its quota: every account
/// gets exactly the commits that fit (any four of its six files fit, no five do), its own
/// gap-free log, and usage equal to what it committed. The uploads reserved nothing (as
/// uploads announced before reservations existed, or whose chunks were all stored already),
/// so the quota is decided at the commits, inside the shared batches.
async fn accounts_sharing_a_group_keep_their_own_quota_and_log(backend: Backend) {
    let server = TestServer::on(backend).start().await;
    let alice = server.register("alice").await;
    let bob = server.register("bob").await;
    let (a_ups, b_ups) = (prepared(&alice, 6, 100).await, prepared(&bob, 6, 100).await);
    sqlx::raw_sql(
        "UPDATE users SET quota_bytes = 10000; UPDATE namespaces SET staged_bytes = 0; \
         UPDATE uploads SET reserved_bytes = 0",
    )
    .execute(&server.state.db.pool)
    .await
    .unwrap();
    let commits = [(&alice, &a_ups), (&bob, &b_ups)]
        .into_iter()
        .flat_map(|(u, ups)| {
            ups.iter().enumerate().map(move |(i, up)| async move {
                let r = u
                    .commit(&up.upload_id, u.session.root_id, &format!("f{i}"), None)
                    .await;
                (u.session.user_id, i, r.status())
            })
        });
    let answers = futures::future::join_all(commits).await;
    for u in [&alice, &bob] {
        let mine: Vec<_> = answers
            .iter()
            .filter(|a| a.0 == u.session.user_id)
            .collect();
        let ok: Vec<usize> = mine
            .iter()
            .filter(|a| a.2 == StatusCode::OK)
            .map(|a| a.1)
            .collect();
        assert_eq!(ok.len(), 4, "{mine:?}");
        assert!(mine
            .iter()
            .all(|a| a.2 == StatusCode::OK || a.2 == StatusCode::INSUFFICIENT_STORAGE));
        assert_eq!(seqs(u).await, (1..=4).collect::<Vec<_>>());
        let me: wire::MeResponse = u.ok(Method::GET, "/api/v1/me", None).await;
        let sizes: u64 = ok.iter().map(|&i| 2000 + i as u64).sum();
        assert_eq!(me.used_bytes, sizes);
        assert_eq!(u.names(u.session.root_id).await.len(), 4);
    }
    assert!(server.metric("cairn_commit_batch_size_count").await < 12.0);
}
