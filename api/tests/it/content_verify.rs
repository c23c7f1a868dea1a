//! Bytes served by the API are checked against their chunk hashes as they stream: a chunk
//! that rotted in the store ends the answer before any of its bytes, and validators (ETag,
//! Last-Modified, If-None-Match, If-Range) let tools resume and revalidate safely.

use reqwest::header::{ETAG, IF_NONE_MATCH, IF_RANGE, LAST_MODIFIED, RANGE};
use reqwest::StatusCode;

use crate::fixture::{assert_error, bytes, Backend, TestServer};

/// Flips one byte in the middle of a stored chunk's file (same size, other content).
pub fn corrupt_chunk(server: &TestServer, hash: &wire::Hash) {
    let hex = hash.to_string();
    let path = server.dir.path().join("chunks").join(&hex[..2]).join(&hex);
    assert!(
        server
            .stored_files()
            .iter()
            .any(|(p, _)| p == &path.display().to_string()),
        "chunk {hex} is not stored where expected"
    );
    let mut b = std::fs::read(&path).unwrap();
    let mid = b.len() / 2;
    b[mid] ^= 0x55;
    let mut perms = std::fs::metadata(&path).unwrap().permissions();
    #[allow(clippy::permissions_set_readonly_false)]
    perms.set_readonly(false);
    std::fs::set_permissions(&path, perms).unwrap();
    std::fs::write(&path, b).unwrap();
}

/// The body of `r` read until it ends or fails: (bytes received, whether it failed).
pub async fn drain(mut r: reqwest::Response) -> (Vec<u8>, bool) {
    let mut got = Vec::new();
    loop {
        match r.chunk().await {
            Ok(Some(b)) => got.extend_from_slice(&b),
            Ok(None) => return (got, false),
            Err(_) => return (got, true),
        }
    }
}

#[tokio::test]
async fn a_rotten_chunk_ends_the_answer_before_its_bytes() {
    let server = TestServer::on(Backend::Sqlite).start().await;
    let alice = server.register("alice").await;
    let data = bytes(71, 9 * 1024 * 1024 + 77);
    let f = alice.upload_file("big.bin", &data, None).await;
    let plan = alice.download_plan(f.node.id).await;
    let chunks = &plan.manifest.chunks;
    assert!(chunks.len() >= 4, "{} chunks", chunks.len());
    let bad = chunks[2];
    corrupt_chunk(&server, &bad.hash);
    let url = server.url(&format!("/api/v1/nodes/{}/content", f.node.id));

    let r = server
        .http
        .get(&url)
        .bearer_auth(&alice.session.token)
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), StatusCode::OK);
    assert_eq!(r.content_length(), Some(data.len() as u64));
    let (got, failed) = drain(r).await;
    assert!(failed, "the body must end in an error, not look complete");
    assert!(
        got.len() as u64 <= bad.offset,
        "{} bytes reached the client",
        got.len()
    );
    assert_eq!(got, &data[..got.len()]);

    // A range that starts in the bad chunk fails before anything is sent.
    let r = server
        .http
        .get(&url)
        .bearer_auth(&alice.session.token)
        .header(RANGE, format!("bytes={}-", bad.offset + 10))
        .send()
        .await
        .unwrap();
    assert_error(r, StatusCode::INTERNAL_SERVER_ERROR, "internal").await;

    // Ranges inside good chunks are still served.
    let r = server
        .http
        .get(&url)
        .bearer_auth(&alice.session.token)
        .header(RANGE, format!("bytes=0-{}", bad.offset - 1))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), StatusCode::PARTIAL_CONTENT);
    assert_eq!(r.bytes().await.unwrap(), &data[..bad.offset as usize]);
}

#[tokio::test]
async fn validators_answer_304_and_guard_resumed_ranges() {
    let server = TestServer::on(Backend::Sqlite).start().await;
    let alice = server.register("alice").await;
    let data = bytes(72, 300_000);
    let f = alice.upload_file("v.bin", &data, None).await;
    let url = server.url(&format!("/api/v1/nodes/{}/content", f.node.id));
    let get = |h: Vec<(reqwest::header::HeaderName, String)>| {
        let mut r = server.http.get(&url).bearer_auth(&alice.session.token);
        for (k, v) in h {
            r = r.header(k, v);
        }
        r.send()
    };
    let r = get(vec![]).await.unwrap();
    let etag = r.headers()[ETAG].to_str().unwrap().to_owned();
    let modified = r.headers()[LAST_MODIFIED].to_str().unwrap().to_owned();
    let hash = alice.download_plan(f.node.id).await.manifest.hash;
    assert_eq!(etag, format!("\"{hash}\""));
    assert!(modified.ends_with(" GMT"), "{modified}");
    assert_eq!(r.bytes().await.unwrap(), &data[..]);

    let r = get(vec![(IF_NONE_MATCH, etag.clone())]).await.unwrap();
    assert_eq!(r.status(), StatusCode::NOT_MODIFIED);
    assert_eq!(r.headers()[ETAG], etag.as_str());
    assert!(r.bytes().await.unwrap().is_empty());
    let r = get(vec![(IF_NONE_MATCH, "\"other\"".into())])
        .await
        .unwrap();
    assert_eq!(r.status(), StatusCode::OK);

    // If-Range with the current tag (or date): the range; with a stale one: the whole file.
    for (validator, want) in [
        (etag.clone(), StatusCode::PARTIAL_CONTENT),
        (modified.clone(), StatusCode::PARTIAL_CONTENT),
        ("\"stale\"".to_owned(), StatusCode::OK),
    ] {
        let r = get(vec![
            (RANGE, "bytes=100-".into()),
            (IF_RANGE, validator.clone()),
        ])
        .await
        .unwrap();
        assert_eq!(r.status(), want, "{validator}");
        let body = r.bytes().await.unwrap();
        let from = if want == StatusCode::OK { 0 } else { 100 };
        assert_eq!(body, &data[from..]);
    }
    // A new version gets a new tag: a resume with the old tag starts over.
    alice
        .upload_file("v.bin", &bytes(73, 1000), Some(f.version_id))
        .await;
    let hash = alice.download_plan(f.node.id).await.manifest.hash;
    let r = get(vec![(RANGE, "bytes=100-".into()), (IF_RANGE, etag.clone())])
        .await
        .unwrap();
    assert_eq!(r.status(), StatusCode::OK);
    assert_eq!(r.headers()[ETAG].to_str().unwrap(), format!("\"{hash}\""));
    assert_eq!(r.bytes().await.unwrap().len(), 1000);
}
