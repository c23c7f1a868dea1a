//! A manifest's chunk sizes are checked against the stored chunks' verified sizes wherever a
//! chunk reference is accepted (the upload, both commit paths, a version restore): a chunk
//! named at a false size would be charged, listed and served wrongly.

use reqwest::{Method, StatusCode};
use serde_json::json;
use wasm_chunker::{file_hash, ChunkRef, Manifest, CHUNKER_ID};

use crate::fixture::{assert_error, bytes, Backend, TestServer, User};

crate::both!(
    a_stored_chunk_named_at_a_false_size_is_refused,
    a_version_listing_false_sizes_is_not_restored,
);

/// A one-chunk manifest naming `hash` at `size` bytes: valid on its face (the last chunk may
/// be small), false if the chunk's bytes are longer.
fn lying_manifest(hash: wasm_chunker::Hash, size: u32) -> Manifest {
    let chunks = vec![ChunkRef {
        hash,
        offset: 0,
        size,
    }];
    Manifest {
        chunker: CHUNKER_ID.to_owned(),
        size: u64::from(size),
        hash: file_hash(CHUNKER_ID, &chunks),
        chunks,
    }
}

async fn announce(u: &User<'_>, m: &Manifest) -> reqwest::Response {
    u.call(
        Method::POST,
        "/api/v1/uploads",
        Some(json!({ "manifest": m })),
    )
    .await
}

async fn a_stored_chunk_named_at_a_false_size_is_refused(backend: Backend) {
    let server = TestServer::on(backend).start().await;
    let alice = server.register("alice").await;
    let root = alice.session.root_id;
    let data = bytes(1, 3 << 20);
    let a = alice.upload_file("a.bin", &data, None).await;
    let stored = alice.download_plan(a.node.id).await.manifest.chunks[0];
    assert!(stored.size > 1);
    let before = me(&alice).await;

    // At the upload: the caller stores the chunk, at another size.
    let r = announce(&alice, &lying_manifest(stored.hash, 1)).await;
    assert_error(r, StatusCode::BAD_REQUEST, "invalid_manifest").await;

    // At the commit: announced while the chunk was unknown (so nothing could be checked), and
    // committed after the real bytes arrived through another upload.
    let other = bytes(2, 3 << 20);
    let real = Manifest::from_chunks(wasm_chunker::chunk_all(&other));
    let lie = lying_manifest(real.chunks[0].hash, 1);
    let up: wire::UploadResponse = {
        let r = announce(&alice, &lie).await;
        assert_eq!(r.status(), StatusCode::CREATED);
        r.json().await.unwrap()
    };
    // Its signed URL is for one byte, which cannot hash to the chunk's name.
    let r = server
        .http
        .put(server.url(&up.missing[0].url))
        .body(other[..1].to_vec())
        .send()
        .await
        .unwrap();
    assert_error(r, StatusCode::BAD_REQUEST, "hash_mismatch").await;
    alice.upload_file("b.bin", &other, None).await;
    let seqs = server.change_seqs(alice.session.namespace_id).await;
    let r = alice.commit(&up.upload_id, root, "lie.bin", None).await;
    assert_error(r, StatusCode::BAD_REQUEST, "invalid_manifest").await;
    assert_eq!(alice.names(root).await, ["a.bin", "b.bin"]);
    assert_eq!(server.change_seqs(alice.session.namespace_id).await, seqs);

    // Nothing was charged for the lies, and every file still downloads whole.
    let after = me(&alice).await;
    assert_eq!(after.files_bytes, before.files_bytes + other.len() as u64);
    assert_eq!(alice.download(a.node.id).await, data);

    // One manifest naming one chunk at two sizes is refused before anything is looked up.
    let c = real.chunks[0];
    let chunks = vec![
        ChunkRef { size: c.size, ..c },
        ChunkRef {
            offset: u64::from(c.size),
            size: c.size - 1,
            ..c
        },
    ];
    let twice = Manifest {
        chunker: CHUNKER_ID.to_owned(),
        size: u64::from(2 * c.size - 1),
        hash: file_hash(CHUNKER_ID, &chunks),
        chunks,
    };
    let r = announce(&alice, &twice).await;
    assert_error(r, StatusCode::BAD_REQUEST, "invalid_manifest").await;
}

async fn a_version_listing_false_sizes_is_not_restored(backend: Backend) {
    let server = TestServer::on(backend).start().await;
    let alice = server.register("alice").await;
    let v1 = alice.upload_file("a.bin", &bytes(1, 100_000), None).await;
    alice
        .upload_file("a.bin", &bytes(2, 100_000), v1.node.version_id)
        .await;
    // What a server before the size checks could have written.
    let db = server.db().await;
    sqlx::query("UPDATE version_chunks SET size = 1 WHERE version_id = $1")
        .bind(v1.version_id)
        .execute(&db.pool)
        .await
        .unwrap();
    db.pool.close().await;
    let path = format!(
        "/api/v1/nodes/{}/versions/{}/restore",
        v1.node.id, v1.version_id
    );
    let r = alice.call(Method::POST, &path, None).await;
    assert_error(r, StatusCode::CONFLICT, "conflict").await;
    assert_eq!(alice.download(v1.node.id).await, bytes(2, 100_000));
}

async fn me(u: &User<'_>) -> wire::MeResponse {
    u.ok(Method::GET, "/api/v1/me", None).await
}
