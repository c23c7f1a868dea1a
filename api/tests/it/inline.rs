//! An S3 store's small chunks sent through the API (`blob::inline`): they are PUT to the API's
//! own signed URLs, hashed on arrival, and written once, straight to `chunks/<hash>`; bytes
//! that do not match are refused before anything is stored.

use reqwest::StatusCode;
use wire::{CommitResponse, Hash, Manifest, UploadResponse};

use crate::both;
use crate::fixture::{assert_error, bytes, Backend, TestServer, User};

async fn server(backend: Backend) -> TestServer {
    TestServer::on(backend)
        .s3(true)
        .settings(|s| s.s3.as_mut().unwrap().inline_max = 256 * 1024)
        .start()
        .await
}

/// PUTs `body` to `url` (one of the upload's targets).
async fn put(alice: &User<'_>, url: &str, body: Vec<u8>) -> reqwest::Response {
    alice
        .server
        .http
        .put(alice.server.url(url))
        .body(body)
        .send()
        .await
        .unwrap()
}

fn chunk_of<'a>(manifest: &Manifest, data: &'a [u8], hash: &Hash) -> &'a [u8] {
    let c = manifest.chunks.iter().find(|c| c.hash == *hash).unwrap();
    &data[c.offset as usize..(c.offset + c.size as u64) as usize]
}

async fn small_files_go_straight_to_their_address(backend: Backend) {
    let server = server(backend).await;
    let garage = server.garage.as_ref().unwrap();
    let alice = server.register("alice").await;
    // Twenty small files and one of several chunks, all started before any is sent.
    let mut files: Vec<Vec<u8>> = (0..20)
        .map(|i| bytes(100 + i, 1024 + 2500 * i as usize))
        .collect();
    files.push(bytes(7, 3 * 1024 * 1024 + 5));
    let mut started = Vec::new();
    for data in &files {
        started.push(alice.start_upload(data).await);
    }
    for (up, data) in started.iter().map(|(_, u)| u).zip(&files) {
        for t in &up.missing {
            if t.size <= 256 * 1024 {
                assert!(
                    t.url
                        .starts_with(&format!("/blobs/staging/{}/{}?", up.upload_id, t.hash)),
                    "a small chunk goes to the API: {}",
                    t.url
                );
            } else {
                assert!(t.url.starts_with(&garage.endpoint), "{}", t.url);
            }
        }
        assert!(data.len() > 256 * 1024 || up.missing.len() == 1);
    }
    // Every PUT at once, so the server writes them in groups.
    let puts = started.iter().zip(&files).flat_map(|((m, up), data)| {
        up.missing
            .iter()
            .map(|t| put(&alice, &t.url, chunk_of(m, data, &t.hash).to_vec()))
            .collect::<Vec<_>>()
    });
    for r in futures::future::join_all(puts).await {
        assert_eq!(r.status(), StatusCode::OK);
    }
    // The small ones were written once, to their address: nothing waits in staging for them.
    let small: Vec<Hash> = started
        .iter()
        .flat_map(|(_, up)| {
            up.missing
                .iter()
                .filter(|t| t.size <= 256 * 1024)
                .map(|t| t.hash)
        })
        .collect();
    let stored: Vec<String> = garage
        .keys("chunks/")
        .await
        .into_iter()
        .map(|(k, _)| k)
        .collect();
    for h in &small {
        assert!(stored.contains(&format!("chunks/{h}")), "{h} stored");
    }
    let staged = garage.keys("staging/").await;
    assert!(
        staged
            .iter()
            .all(|(k, size)| *size > 256 * 1024 && k.starts_with("staging/")),
        "only the big file's large chunks are staged: {staged:?}"
    );
    for (i, ((_, up), data)) in started.iter().zip(&files).enumerate() {
        let r = alice
            .commit(
                &up.upload_id,
                alice.session.root_id,
                &format!("f{i}.bin"),
                None,
            )
            .await;
        assert_eq!(r.status(), StatusCode::OK, "{}", r.text().await.unwrap());
        let c: CommitResponse = r.json().await.unwrap();
        assert_eq!(&alice.download(c.node.id).await, data);
    }
    assert!(garage.keys("staging/").await.is_empty());
}

async fn bad_small_chunks_are_refused_and_nothing_is_stored(backend: Backend) {
    let server = server(backend).await;
    let garage = server.garage.as_ref().unwrap();
    let alice = server.register("alice").await;
    let data = bytes(3, 40_000);
    let (_, up) = alice.start_upload(&data).await;
    let t = &up.missing[0];
    let mut forged = data.clone();
    forged[100] ^= 1;
    assert_error(
        put(&alice, &t.url, forged).await,
        StatusCode::BAD_REQUEST,
        "hash_mismatch",
    )
    .await;
    assert_error(
        put(&alice, &t.url, data[..1000].to_vec()).await,
        StatusCode::BAD_REQUEST,
        "hash_mismatch",
    )
    .await;
    let mut longer = data.clone();
    longer.push(0);
    assert_error(
        put(&alice, &t.url, longer).await,
        StatusCode::PAYLOAD_TOO_LARGE,
        "too_large",
    )
    .await;
    let tampered = t.url.replace("&sig=", "&sig=00");
    assert_error(
        put(&alice, &tampered, data.clone()).await,
        StatusCode::FORBIDDEN,
        "bad_signature",
    )
    .await;
    let bigger = t.url.replace(
        &format!("max={}", data.len()),
        &format!("max={}", data.len() + 1),
    );
    assert_error(
        put(&alice, &bigger, data.clone()).await,
        StatusCode::FORBIDDEN,
        "bad_signature",
    )
    .await;
    assert!(garage.keys("chunks/").await.is_empty(), "nothing stored");
    assert!(garage.keys("staging/").await.is_empty());
    let r = alice
        .commit(&up.upload_id, alice.session.root_id, "a.bin", None)
        .await;
    assert_error(r, StatusCode::CONFLICT, "upload_incomplete").await;
    // The right bytes, twice (a retried PUT): stored, and the commit goes through.
    for _ in 0..2 {
        assert_eq!(
            put(&alice, &t.url, data.clone()).await.status(),
            StatusCode::OK
        );
    }
    let r = alice
        .commit(&up.upload_id, alice.session.root_id, "a.bin", None)
        .await;
    assert_eq!(r.status(), StatusCode::OK);
    let c: CommitResponse = r.json().await.unwrap();
    assert_eq!(alice.download(c.node.id).await, data);
}

async fn two_users_send_the_same_small_chunk_at_once(backend: Backend) {
    let server = server(backend).await;
    let garage = server.garage.as_ref().unwrap();
    let alice = server.register("alice").await;
    let bob = server.register("bob").await;
    let data = bytes(9, 20_000);
    let (_, a): (_, UploadResponse) = alice.start_upload(&data).await;
    let (_, b): (_, UploadResponse) = bob.start_upload(&data).await;
    let (ra, rb) = tokio::join!(
        put(&alice, &a.missing[0].url, data.clone()),
        put(&bob, &b.missing[0].url, data.clone())
    );
    assert_eq!((ra.status(), rb.status()), (StatusCode::OK, StatusCode::OK));
    assert_eq!(garage.keys("chunks/").await.len(), 1);
    for (who, up) in [(&alice, &a), (&bob, &b)] {
        let r = who
            .commit(&up.upload_id, who.session.root_id, "same.bin", None)
            .await;
        assert_eq!(r.status(), StatusCode::OK);
        let c: CommitResponse = r.json().await.unwrap();
        assert_eq!(who.download(c.node.id).await, data);
    }
}

both!(
    small_files_go_straight_to_their_address,
    bad_small_chunks_are_refused_and_nothing_is_stored,
    two_users_send_the_same_small_chunk_at_once,
);
