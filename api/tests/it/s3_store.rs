//! The upload protocol against a real Garage: chunks go straight to pre-signed staging URLs,
//! the API verifies and promotes them before the commit, downloads use pre-signed GETs, and
//! resuming an upload lists only what is still missing.

use reqwest::{Method, StatusCode};
use wire::UploadResponse;

use crate::fixture::{bytes, Backend, TestServer};

#[tokio::test]
async fn upload_to_garage_then_download_the_same_bytes() {
    let server = TestServer::on(Backend::Sqlite).s3(true).start().await;
    let garage = server.garage.as_ref().unwrap();
    let alice = server.register("alice").await;
    let data = bytes(11, 3 * 1024 * 1024 + 777);
    let (manifest, up) = alice.start_upload(&data).await;
    assert!(manifest.chunks.len() >= 2);
    for t in &up.missing {
        assert!(
            t.url.starts_with(&garage.endpoint)
                && t.url
                    .contains(&format!("/cairn/staging/{}/{}?", up.upload_id, t.hash)),
            "PUT URLs point at per-upload staging keys: {}",
            t.url
        );
        assert!(t.url.contains("X-Amz-Expires="));
    }
    alice.put_missing(&manifest, &up, &data).await;
    assert_eq!(
        garage.keys("chunks/").await.len(),
        0,
        "nothing is promoted before verification"
    );
    let r = alice
        .commit(&up.upload_id, alice.session.root_id, "a.bin", None)
        .await;
    assert_eq!(r.status(), StatusCode::OK, "{}", r.text().await.unwrap());
    let committed: wire::CommitResponse = r.json().await.unwrap();

    // Verified bytes sit under chunks/<hash>; the staging area is empty again.
    let keys = garage.keys("chunks/").await;
    assert_eq!(keys.len(), up.missing.len());
    assert!(garage.keys("staging/").await.is_empty());
    for t in &up.missing {
        let stored = garage.get(&format!("chunks/{}", t.hash)).await.unwrap();
        assert_eq!(wasm_chunker::hash_chunk(&stored), t.hash);
    }

    let d = alice.download_plan(committed.node.id).await;
    for t in &d.chunks {
        assert!(t.url.contains(&format!("/cairn/chunks/{}?", t.hash)));
    }
    assert_eq!(alice.download(committed.node.id).await, data);
}

#[tokio::test]
async fn the_bucket_lets_the_web_app_origin_use_signed_urls() {
    let server = TestServer::on(Backend::Sqlite).s3(true).start().await;
    let garage = server.garage.as_ref().unwrap();
    garage.allow_origin(&server.base).await;
    let preflight = |origin: String| {
        server
            .http
            .request(
                Method::OPTIONS,
                format!("{}/cairn/staging/x/y", garage.endpoint),
            )
            .header("origin", origin)
            .header("access-control-request-method", "PUT")
            .send()
    };
    let r = preflight(server.base.clone()).await.unwrap();
    assert!(r.status().is_success(), "{}", r.status());
    assert_eq!(
        r.headers()["access-control-allow-origin"].to_str().unwrap(),
        server.base
    );
    let r = preflight("http://evil.example".into()).await.unwrap();
    let allowed = r
        .headers()
        .get("access-control-allow-origin")
        .map(|v| v.to_str().unwrap().to_owned());
    assert!(
        !r.status().is_success() || allowed.is_none(),
        "another origin is refused: {} {allowed:?}",
        r.status()
    );
}

#[tokio::test]
async fn a_resumed_upload_lists_only_what_is_still_missing() {
    for s3 in [false, true] {
        let server = TestServer::on(Backend::Sqlite).s3(s3).start().await;
        let alice = server.register("alice").await;
        let data = bytes(12, 5 * 1024 * 1024);
        let (manifest, up) = alice.start_upload(&data).await;
        assert!(up.missing.len() >= 3);
        // The page reloads after sending two chunks.
        let sent = UploadResponse {
            missing: up.missing[..2].to_vec(),
            ..up.clone()
        };
        alice.put_missing(&manifest, &sent, &data).await;
        let again: UploadResponse = alice
            .ok(
                Method::GET,
                &format!("/api/v1/uploads/{}", up.upload_id),
                None,
            )
            .await;
        let left: Vec<_> = again.missing.iter().map(|t| t.hash).collect();
        let want: Vec<_> = up.missing[2..].iter().map(|t| t.hash).collect();
        assert_eq!(left, want, "s3={s3}");
        alice.put_missing(&manifest, &again, &data).await;
        let r = alice
            .commit(&up.upload_id, alice.session.root_id, "big.bin", None)
            .await;
        assert_eq!(r.status(), StatusCode::OK, "s3={s3}");
    }
}
