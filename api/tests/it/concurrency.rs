//! Many devices committing at once, to one file and into one folder: the tree stays
//! consistent (one winner per version, everyone else a conflicted copy, names unique) and the
//! change log is gap-free (seq 1..n, one row per change).

use std::collections::HashSet;

use futures::future::join_all;
use reqwest::{Method, StatusCode};
use wire::{CommitResponse, Listing, VersionList};

use crate::fixture::{bytes, Backend, TestServer, User};

crate::both!(
    parallel_commits_to_one_file_keep_one_winner_and_a_gap_free_log,
    parallel_commits_and_folders_in_one_folder_stay_consistent,
    crossing_moves_never_make_a_cycle,
);

const N: usize = 16;

/// Uploads (but does not commit) `N` distinct contents; returns their upload ids.
async fn prepared(alice: &User<'_>, seed: u64) -> Vec<String> {
    let mut ids = Vec::new();
    for i in 0..N {
        let data = bytes(seed + i as u64, 1000 + i);
        let (manifest, up) = alice.start_upload(&data).await;
        alice.put_missing(&manifest, &up, &data).await;
        ids.push(up.upload_id);
    }
    ids
}

fn assert_gap_free(seqs: &[i64]) {
    let expected: Vec<i64> = (1..=seqs.len() as i64).collect();
    assert_eq!(seqs, expected, "the change log has gaps or duplicates");
}

async fn parallel_commits_to_one_file_keep_one_winner_and_a_gap_free_log(backend: Backend) {
    let server = TestServer::on(backend).start().await;
    let alice = server.register("alice").await;
    let root = alice.session.root_id;
    let base = alice.upload_file("shared.txt", b"base", None).await;
    let uploads = prepared(&alice, 100).await;
    // Every device edits from the same base version at the same moment.
    let answers = join_all(
        uploads
            .iter()
            .map(|u| alice.commit(u, root, "shared.txt", base.node.version_id)),
    )
    .await;
    let mut results = Vec::new();
    for r in answers {
        assert_eq!(r.status(), StatusCode::OK);
        results.push(r.json::<CommitResponse>().await.unwrap());
    }
    let winners: Vec<&CommitResponse> = results.iter().filter(|r| r.conflict.is_none()).collect();
    assert_eq!(
        winners.len(),
        1,
        "exactly one commit saw the base as current"
    );
    assert_eq!(winners[0].node.id, base.node.id);
    let copies: HashSet<&str> = results
        .iter()
        .filter(|r| r.conflict.is_some())
        .map(|r| r.node.name.as_str())
        .collect();
    assert_eq!(
        copies.len(),
        N - 1,
        "every loser got its own conflicted copy"
    );

    let listing: Listing = alice
        .ok(Method::GET, &format!("/api/v1/nodes/{root}/children"), None)
        .await;
    assert_eq!(listing.children.len(), N);
    let keys: HashSet<String> = listing
        .children
        .iter()
        .map(|n| n.name.to_lowercase())
        .collect();
    assert_eq!(keys.len(), N, "names are unique");
    let history: VersionList = alice
        .ok(
            Method::GET,
            &format!("/api/v1/nodes/{}/versions", base.node.id),
            None,
        )
        .await;
    assert_eq!(history.versions.len(), 2, "base + the one winner");

    let seqs = server.change_seqs(alice.session.namespace_id).await;
    assert_eq!(seqs.len(), 1 + N);
    assert_gap_free(&seqs);
}

async fn parallel_commits_and_folders_in_one_folder_stay_consistent(backend: Backend) {
    let server = TestServer::on(backend).start().await;
    let alice = server.register("alice").await;
    let dir = alice.mkdir(alice.session.root_id, "inbox").await;
    let uploads = prepared(&alice, 200).await;
    let names: Vec<String> = (0..N).map(|i| format!("file {i}.bin")).collect();
    let commits = uploads
        .iter()
        .zip(&names)
        .map(|(u, name)| alice.commit(u, dir.id, name, None));
    // Folders created at the same time, half of them racing for one name.
    let folder_names: Vec<String> = (0..N)
        .map(|i| {
            if i % 2 == 0 {
                "same".to_owned()
            } else {
                format!("dir {i}")
            }
        })
        .collect();
    let folders = folder_names
        .iter()
        .map(|name| alice.new_folder(dir.id, name));
    let (commits, folders) = tokio::join!(join_all(commits), join_all(folders));
    for r in commits {
        assert_eq!(r.status(), StatusCode::OK);
    }
    let mut created = 0;
    let mut taken = 0;
    for r in folders {
        match r.status() {
            StatusCode::CREATED => created += 1,
            StatusCode::CONFLICT => taken += 1,
            other => panic!("unexpected {other}: {}", r.text().await.unwrap()),
        }
    }
    assert_eq!((created, taken), (N / 2 + 1, N / 2 - 1));
    let listing: Listing = alice
        .ok(
            Method::GET,
            &format!("/api/v1/nodes/{}/children", dir.id),
            None,
        )
        .await;
    assert_eq!(listing.children.len(), N + N / 2 + 1);
    let seqs = server.change_seqs(alice.session.namespace_id).await;
    // The inbox folder, N files, N/2 + 1 folders.
    assert_eq!(seqs.len(), 1 + N + N / 2 + 1);
    assert_gap_free(&seqs);
}

async fn crossing_moves_never_make_a_cycle(backend: Backend) {
    let server = TestServer::on(backend).start().await;
    let alice = server.register("alice").await;
    let root = alice.session.root_id;
    for round in 0..8 {
        let a = alice.mkdir(root, &format!("a{round}")).await;
        let b = alice.mkdir(root, &format!("b{round}")).await;
        // a into b and b into a at the same moment: one must lose, or the two would form a
        // cycle cut off from the root.
        let (path_a, path_b) = (
            format!("/api/v1/nodes/{}", a.id),
            format!("/api/v1/nodes/{}", b.id),
        );
        let (x, y) = tokio::join!(
            alice.call(
                Method::PATCH,
                &path_a,
                Some(serde_json::json!({"parent_id": b.id})),
            ),
            alice.call(
                Method::PATCH,
                &path_b,
                Some(serde_json::json!({"parent_id": a.id})),
            ),
        );
        let mut statuses = [x.status(), y.status()];
        statuses.sort();
        assert_eq!(statuses, [StatusCode::OK, StatusCode::BAD_REQUEST]);
        let top = alice.names(root).await;
        assert!(
            top.contains(&format!("a{round}")) ^ top.contains(&format!("b{round}")),
            "{top:?}"
        );
    }
    assert_gap_free(&server.change_seqs(alice.session.namespace_id).await);
}
