//! What the server keeps, and for how long: the trash empties itself after
//! `trash_retention`, and a file keeps at most `version_keep` old versions for at most
//! `version_retention`; both free quota and let the collector reclaim the chunks.

use std::time::Duration;

use reqwest::Method;
use wire::{MeResponse, TrashList, VersionList};

use crate::fixture::{bytes, Backend, TestServer, User};

crate::both!(
    the_trash_empties_itself_after_its_retention,
    a_file_keeps_at_most_its_count_of_old_versions_for_at_most_its_time,
);

const DAY_MS: i64 = 24 * 3600 * 1000;

async fn the_trash_empties_itself_after_its_retention(backend: Backend) {
    let server = TestServer::on(backend)
        .settings(|s| s.trash_retention = Duration::from_secs(30 * 24 * 3600))
        .start()
        .await;
    let alice = server.register("alice").await;
    let a = alice.upload_file("a.bin", &bytes(1, 300_000), None).await;
    let keep = alice.upload_file("keep.bin", &bytes(2, 1000), None).await;
    alice.trash(a.node.id).await;
    let me: MeResponse = alice.ok(Method::GET, "/api/v1/me", None).await;
    assert_eq!(me.files_bytes, 301_000, "the trash counts");
    assert_eq!(me.retention.trash_secs, 30 * 24 * 3600);

    // Not yet: a day later the item is still there to restore.
    let now = server.now_ms();
    let report = api::gc::collect_at(&server.state, now + DAY_MS)
        .await
        .unwrap();
    assert_eq!(report.trash_emptied, 0);
    assert_eq!(trash(&alice).await, 1);

    // A month later it is gone for good: quota freed, chunks collected, devices told.
    let report = api::gc::collect_at(&server.state, now + 31 * DAY_MS)
        .await
        .unwrap();
    assert_eq!(report.trash_emptied, 1);
    assert!(report.chunks_deleted >= 1);
    assert_eq!(trash(&alice).await, 0);
    let me: MeResponse = alice.ok(Method::GET, "/api/v1/me", None).await;
    assert_eq!(me.used_bytes, 1000);
    let kinds = server.changes(alice.session.namespace_id).await;
    assert_eq!(kinds.last().map(|(_, k)| k.as_str()), Some("purge"));
    assert_eq!(alice.download(keep.node.id).await, bytes(2, 1000));
    assert_eq!(
        server.stored_files().len(),
        1,
        "only keep.bin's chunk is left"
    );
    crate::quota::assert_counters_true(&server, alice.session.namespace_id).await;

    // With no retention set, the trash waits for its owner.
    let server = TestServer::on(backend)
        .settings(|s| s.trash_retention = Duration::ZERO)
        .start()
        .await;
    let bob = server.register("bob").await;
    let b = bob.upload_file("b.bin", &bytes(3, 1000), None).await;
    bob.trash(b.node.id).await;
    let report = api::gc::collect_at(&server.state, server.now_ms() + 365 * DAY_MS)
        .await
        .unwrap();
    assert_eq!(report.trash_emptied, 0);
    assert_eq!(trash(&bob).await, 1);
}

async fn a_file_keeps_at_most_its_count_of_old_versions_for_at_most_its_time(backend: Backend) {
    let server = TestServer::on(backend)
        .settings(|s| {
            s.version_keep = 2;
            s.version_retention = Duration::from_secs(30 * 24 * 3600);
        })
        .start()
        .await;
    let alice = server.register("alice").await;
    let mut last = alice.upload_file("doc.bin", &bytes(10, 1000), None).await;
    for i in 1..5u64 {
        last = alice
            .upload_file(
                "doc.bin",
                &bytes(10 + i, 1000 + i as usize),
                last.node.version_id,
            )
            .await;
    }
    assert_eq!(versions(&alice, last.node.id).await.len(), 5);

    // Now: the two newest old versions stay, the two before them go.
    let now = server.now_ms();
    let report = api::gc::collect_at(&server.state, now).await.unwrap();
    assert_eq!(report.versions_pruned, 2);
    let kept = versions(&alice, last.node.id).await;
    let sizes: Vec<u64> = kept.iter().map(|v| v.size).collect();
    assert_eq!(sizes, [1004, 1003, 1002]);
    let me: MeResponse = alice.ok(Method::GET, "/api/v1/me", None).await;
    assert_eq!((me.files_bytes, me.versions_bytes), (1004, 1003 + 1002));
    assert_eq!(me.retention.versions_max, 2);
    assert!(report.chunks_deleted >= 2, "{report:?}");
    crate::quota::assert_counters_true(&server, alice.session.namespace_id).await;

    // A month on, no old version is left; the current one always stays.
    let report = api::gc::collect_at(&server.state, now + 31 * DAY_MS)
        .await
        .unwrap();
    assert_eq!(report.versions_pruned, 2);
    assert_eq!(versions(&alice, last.node.id).await.len(), 1);
    assert_eq!(alice.download(last.node.id).await, bytes(14, 1004));
    crate::quota::assert_counters_true(&server, alice.session.namespace_id).await;
}

async fn trash(u: &User<'_>) -> usize {
    let list: TrashList = u.ok(Method::GET, "/api/v1/trash", None).await;
    list.items.len()
}

async fn versions(u: &User<'_>, node: i64) -> Vec<wire::VersionInfo> {
    let list: VersionList = u
        .ok(Method::GET, &format!("/api/v1/nodes/{node}/versions"), None)
        .await;
    list.versions
}
