//! The scrubber: a chunk that rotted or vanished on disk or in the bucket is found, its bytes
//! are never served as the file's, and the next upload that holds the same bytes heals it.

use reqwest::StatusCode;

use crate::content_verify::corrupt_chunk;
use crate::fixture::{bytes, Backend, TestServer, User};

crate::both!(rot_and_loss_on_disk_are_found_and_healed_by_the_next_upload);

/// The chunk of single-chunk file `id`.
async fn chunk_of(user: &User<'_>, id: i64) -> wire::Hash {
    let plan = user.download_plan(id).await;
    assert_eq!(plan.manifest.chunks.len(), 1);
    plan.manifest.chunks[0].hash
}

/// What a GET of chunk `hash`'s signed URL answers, as `user` would be given it for `id`.
async fn fetch(user: &User<'_>, id: i64) -> (StatusCode, Vec<u8>) {
    let plan = user.download_plan(id).await;
    let r = user
        .server
        .http
        .get(user.server.url(&plan.chunks[0].url))
        .send()
        .await
        .unwrap();
    (r.status(), r.bytes().await.unwrap().to_vec())
}

async fn rot_and_loss_on_disk_are_found_and_healed_by_the_next_upload(backend: Backend) {
    let server = TestServer::on(backend).start().await;
    let alice = server.register("alice").await;
    let (a, b) = (bytes(1, 5_000), bytes(2, 7_000));
    let fa = alice.upload_file("a.bin", &a, None).await;
    let fb = alice.upload_file("b.bin", &b, None).await;
    let report = api::scrub::run(&server.state).await.unwrap();
    assert_eq!((report.checked, report.bytes), (2, 12_000), "{report}");
    assert!(report.corrupt.is_empty() && report.missing.is_empty());

    // One chunk rots, another vanishes.
    let (ha, hb) = (
        chunk_of(&alice, fa.node.id).await,
        chunk_of(&alice, fb.node.id).await,
    );
    corrupt_chunk(&server, &ha);
    let api::blob::BlobStore::Local(store) = &server.state.blobs else {
        unreachable!("a local store")
    };
    std::fs::remove_file(store.chunk_path(&hb)).unwrap();
    let report = api::scrub::run(&server.state).await.unwrap();
    assert_eq!(report.corrupt, [ha.to_string()], "{report}");
    assert_eq!(report.missing, [hb.to_string()], "{report}");
    // The rotten bytes are gone, never served.
    assert_eq!(fetch(&alice, fa.node.id).await.0, StatusCode::NOT_FOUND);

    // The next upload of the same bytes is asked for them, and heals every file that uses them.
    let (_, up) = alice.start_upload(&a).await;
    assert_eq!(up.missing.len(), 1, "the damaged chunk is asked for again");
    alice.upload_file("a again.bin", &a, None).await;
    alice.upload_file("b again.bin", &b, None).await;
    assert_eq!(alice.download(fa.node.id).await, a);
    assert_eq!(alice.download(fb.node.id).await, b);
    let report = api::scrub::run(&server.state).await.unwrap();
    assert!(
        report.corrupt.is_empty() && report.missing.is_empty(),
        "{report}"
    );
    assert_eq!(report.checked, 2);
}

#[tokio::test]
async fn rot_in_the_bucket_is_found_and_healed_by_the_next_upload() {
    let server = TestServer::on(Backend::Sqlite).s3(true).start().await;
    let alice = server.register("alice").await;
    let a = bytes(3, 6_000);
    let fa = alice.upload_file("a.bin", &a, None).await;
    let ha = chunk_of(&alice, fa.node.id).await;
    let api::blob::BlobStore::S3(store) = &server.state.blobs else {
        unreachable!("an S3 store")
    };
    let mut rotten = a.clone();
    rotten[100] ^= 1;
    store
        .put_bytes(&api::blob::s3::chunk_key(&ha), rotten.into())
        .await
        .unwrap();
    let report = api::scrub::run(&server.state).await.unwrap();
    assert_eq!(report.corrupt, [ha.to_string()], "{report}");
    assert!(!server.state.blobs.chunk_exists(&ha).await.unwrap());

    alice.upload_file("a again.bin", &a, None).await;
    assert_eq!(alice.download(fa.node.id).await, a);
    let report = api::scrub::run(&server.state).await.unwrap();
    assert!(report.corrupt.is_empty(), "{report}");
}
