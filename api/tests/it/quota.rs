//! Quotas: logical bytes per user; a commit past the quota is refused with 507 and changes
//! nothing; the trash counts until purged.

use reqwest::{Method, StatusCode};
use wire::MeResponse;

use crate::fixture::{assert_error, bytes, Backend, TestServer};

crate::both!(a_commit_past_the_quota_is_refused_and_changes_nothing);

async fn a_commit_past_the_quota_is_refused_and_changes_nothing(backend: Backend) {
    let server = TestServer::start_with(backend, |s| s.quota_bytes = 10_000).await;
    let alice = server.register("alice").await;
    let root = alice.session.root_id;
    let a = alice.upload_file("a.bin", &bytes(1, 6_000), None).await;
    assert_eq!(used(&alice).await, 6_000);
    let seqs = server.change_seqs(alice.session.namespace_id).await;

    // 6,000 + 5,000 > 10,000: refused, nothing changes.
    let data = bytes(2, 5_000);
    let (manifest, up) = alice.start_upload(&data).await;
    alice.put_missing(&manifest, &up, &data).await;
    let r = alice.commit(&up.upload_id, root, "b.bin", None).await;
    assert_error(r, StatusCode::INSUFFICIENT_STORAGE, "quota_exceeded").await;
    assert_eq!(alice.names(root).await, ["a.bin"]);
    assert_eq!(used(&alice).await, 6_000);
    assert_eq!(server.change_seqs(alice.session.namespace_id).await, seqs);

    // Replacing a file charges only the difference: 6,000 → 9,000 fits.
    let a2 = alice
        .upload_file("a.bin", &bytes(3, 9_000), a.node.version_id)
        .await;
    assert_eq!(used(&alice).await, 9_000);
    // Restoring the old, smaller version gives bytes back.
    let path = format!(
        "/api/v1/nodes/{}/versions/{}/restore",
        a.node.id, a.version_id
    );
    let _: wire::RestoreVersionResponse = alice.ok(Method::POST, &path, None).await;
    assert_eq!(used(&alice).await, 6_000);
    // And restoring the bigger one again is charged like any commit.
    let b = alice.upload_file("c.bin", &bytes(4, 3_500), None).await;
    assert_eq!(used(&alice).await, 9_500);
    let path = format!(
        "/api/v1/nodes/{}/versions/{}/restore",
        a.node.id, a2.version_id
    );
    assert_error(
        alice.call(Method::POST, &path, None).await,
        StatusCode::INSUFFICIENT_STORAGE,
        "quota_exceeded",
    )
    .await;

    // The trash still counts; purging frees the bytes.
    let r = alice
        .call(
            Method::DELETE,
            &format!("/api/v1/nodes/{}", b.node.id),
            None,
        )
        .await;
    assert_eq!(r.status(), StatusCode::NO_CONTENT);
    assert_eq!(used(&alice).await, 9_500);
    let r = alice
        .call(
            Method::DELETE,
            &format!("/api/v1/trash/{}", b.node.id),
            None,
        )
        .await;
    assert_eq!(r.status(), StatusCode::NO_CONTENT);
    assert_eq!(used(&alice).await, 6_000);
    // Exactly up to the quota is allowed.
    alice.upload_file("d.bin", &bytes(5, 4_000), None).await;
    assert_eq!(used(&alice).await, 10_000);
}

async fn used(u: &crate::fixture::User<'_>) -> u64 {
    u.ok::<MeResponse>(Method::GET, "/api/v1/me", None)
        .await
        .used_bytes
}
