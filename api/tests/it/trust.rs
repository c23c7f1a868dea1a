//! The trust rules, each tried as an attack against both stores (the local directory and a real
//! Garage): poisoned hashes, commits by hash alone, dedup probing, replayed, expired, tampered,
//! misdirected and oversized signed URLs.

use std::time::Duration;

use reqwest::{Method, StatusCode};
use wire::UploadResponse;

use crate::fixture::{assert_error, bytes, eventually, fresh_client, Backend, TestServer, User};

/// Which chunk objects are stored (local `chunks/` files or S3 `chunks/` keys).
async fn stored_chunks(server: &TestServer) -> Vec<String> {
    match &server.garage {
        Some(g) => g.keys("chunks/").await.into_iter().map(|k| k.0).collect(),
        None => server.stored_files().into_iter().map(|f| f.0).collect(),
    }
}

async fn put(server: &TestServer, url: &str, body: Vec<u8>) -> reqwest::Response {
    fresh_client()
        .put(server.url(url))
        .body(body)
        .send()
        .await
        .unwrap()
}

async fn missing_of(user: &User<'_>, upload_id: &str) -> Vec<wire::Hash> {
    let r: UploadResponse = user
        .ok(Method::GET, &format!("/api/v1/uploads/{upload_id}"), None)
        .await;
    r.missing.iter().map(|t| t.hash).collect()
}

/// Starts an upload of `data` and sends its first missing chunk with other bytes of the same
/// length (from `seed`), the rest honestly; answers the forged PUT's response too.
async fn forged_first(
    server: &TestServer,
    user: &User<'_>,
    data: &[u8],
    seed: u64,
) -> (wasm_chunker::Manifest, UploadResponse, reqwest::Response) {
    let (manifest, up) = user.start_upload(data).await;
    let first = &up.missing[0];
    let r = put(server, &first.url, bytes(seed, first.size as usize)).await;
    let rest = UploadResponse {
        missing: up.missing[1..].to_vec(),
        ..up.clone()
    };
    user.put_missing(&manifest, &rest, data).await;
    (manifest, up, r)
}

/// The commit of an upload whose chunk `forged` got forged bytes is refused (S3 re-hashes and
/// finds them; the local store never took them), and those bytes are stored nowhere.
async fn commit_refused_and_unstored(
    server: &TestServer,
    user: &User<'_>,
    upload_id: &str,
    forged: &wire::Hash,
) {
    let r = user
        .commit(upload_id, user.session.root_id, "x.bin", None)
        .await;
    if server.garage.is_some() {
        assert_error(r, StatusCode::BAD_REQUEST, "hash_mismatch").await;
    } else {
        assert_error(r, StatusCode::CONFLICT, "upload_incomplete").await;
    }
    assert!(!stored_chunks(server)
        .await
        .iter()
        .any(|k| k.ends_with(&forged.to_string())));
}

#[tokio::test]
async fn bytes_put_under_a_wrong_hash_never_become_usable() {
    for s3 in [false, true] {
        let server = TestServer::on(Backend::Sqlite).s3(s3).start().await;
        let alice = server.register("alice").await;
        let data = bytes(21, 2 * 1024 * 1024);
        let (manifest, up, r) = forged_first(&server, &alice, &data, 999).await;
        let first = &up.missing[0];
        if s3 {
            // S3 cannot check BLAKE3: it stores the bytes in staging, where they stay unusable.
            assert_eq!(r.status(), StatusCode::OK);
        } else {
            assert_error(r, StatusCode::BAD_REQUEST, "hash_mismatch").await;
        }
        commit_refused_and_unstored(&server, &alice, &up.upload_id, &first.hash).await;
        if let Some(g) = &server.garage {
            assert!(
                g.keys("staging/").await.is_empty(),
                "forged staged bytes are deleted"
            );
        }
        // The chunk is still missing, and the honest bytes finish the upload.
        assert_eq!(missing_of(&alice, &up.upload_id).await, vec![first.hash]);
        let again: UploadResponse = alice
            .ok(
                Method::GET,
                &format!("/api/v1/uploads/{}", up.upload_id),
                None,
            )
            .await;
        alice.put_missing(&manifest, &again, &data).await;
        let r = alice
            .commit(&up.upload_id, alice.session.root_id, "x.bin", None)
            .await;
        assert_eq!(r.status(), StatusCode::OK, "s3={s3}");
    }
}

/// Chunks named as sent are checked while the upload goes on (`blob::early`), under the same
/// rule as at the commit: the honest ones are promoted before the commit, a forged one is
/// deleted and the commit refused with `hash_mismatch` as if it had found it itself.
#[tokio::test]
async fn chunks_named_as_sent_are_checked_early_and_forged_ones_still_refused() {
    for s3 in [false, true] {
        let server = TestServer::on(Backend::Sqlite).s3(s3).start().await;
        let alice = server.register("alice").await;
        let data = bytes(24, 4 * 1024 * 1024);
        let (manifest, up, _) = forged_first(&server, &alice, &data, 998).await;
        assert!(up.missing.len() >= 2);
        let first = &up.missing[0];
        let sent = format!("/api/v1/uploads/{}/sent", up.upload_id);
        let hashes: Vec<_> = up.missing.iter().map(|t| t.hash).collect();
        let r = alice
            .call(
                Method::POST,
                &sent,
                Some(serde_json::json!({ "hashes": hashes })),
            )
            .await;
        assert_eq!(r.status(), StatusCode::ACCEPTED);
        if let Some(g) = &server.garage {
            // The honest chunks reach their content address before any commit.
            eventually(Duration::from_secs(20), "the early check", || async {
                let stored = g.keys("chunks/").await;
                let staged = g.keys("staging/").await;
                (stored.len() == hashes.len() - 1 && staged.is_empty()).then_some(())
            })
            .await;
        }
        commit_refused_and_unstored(&server, &alice, &up.upload_id, &first.hash).await;
        assert_eq!(missing_of(&alice, &up.upload_id).await, vec![first.hash]);

        // What it refuses: a chunk of no upload of the caller's, too many names, another's upload.
        let stranger = wire::Hash([7; 32]);
        let r = alice
            .call(
                Method::POST,
                &sent,
                Some(serde_json::json!({ "hashes": [stranger] })),
            )
            .await;
        assert_error(r, StatusCode::BAD_REQUEST, "bad_request").await;
        let r = alice
            .call(
                Method::POST,
                &sent,
                Some(serde_json::json!({ "hashes": vec![stranger; 1001] })),
            )
            .await;
        assert_error(r, StatusCode::BAD_REQUEST, "bad_request").await;
        let bob = server.register("bob").await;
        let r = bob
            .call(
                Method::POST,
                &sent,
                Some(serde_json::json!({ "hashes": hashes })),
            )
            .await;
        assert_error(r, StatusCode::NOT_FOUND, "not_found").await;

        // The honest bytes of the first chunk finish it.
        let again: UploadResponse = alice
            .ok(
                Method::GET,
                &format!("/api/v1/uploads/{}", up.upload_id),
                None,
            )
            .await;
        alice.put_missing(&manifest, &again, &data).await;
        let r = alice
            .commit(&up.upload_id, alice.session.root_id, "x.bin", None)
            .await;
        assert_eq!(r.status(), StatusCode::OK, "s3={s3}");
        assert_eq!(
            alice
                .download(r.json::<wire::CommitResponse>().await.unwrap().node.id)
                .await,
            data
        );
    }
}

#[tokio::test]
async fn a_commit_cannot_reference_a_chunk_by_its_hash_alone() {
    for s3 in [false, true] {
        let server = TestServer::on(Backend::Sqlite).s3(s3).start().await;
        let alice = server.register("alice").await;
        let bob = server.register("bob").await;
        let data = bytes(22, 3 * 1024 * 1024);
        alice.upload_file("secret.bin", &data, None).await;

        // Bob knows every hash of Alice's file: the answer is the same as for content nobody has.
        let (manifest, up) = bob.start_upload(&data).await;
        let all: Vec<_> = {
            let mut seen = std::collections::HashSet::new();
            manifest
                .chunks
                .iter()
                .filter(|c| seen.insert(c.hash))
                .map(|c| c.hash)
                .collect()
        };
        let got: Vec<_> = up.missing.iter().map(|t| t.hash).collect();
        assert_eq!(got, all, "missing never reveals what another user stores");
        let (fresh_manifest, fresh) = bob.start_upload(&bytes(23, 3 * 1024 * 1024)).await;
        assert_eq!(
            fresh.missing.len(),
            fresh_manifest.chunks.len(),
            "same answer shape for unknown content"
        );

        // Committing without sending the bytes is refused, and nothing appears in his tree.
        let r = bob
            .commit(&up.upload_id, bob.session.root_id, "stolen.bin", None)
            .await;
        assert_error(r, StatusCode::CONFLICT, "upload_incomplete").await;
        assert!(bob.names(bob.session.root_id).await.is_empty());

        // Sending them proves he has the data; storage keeps one copy per hash.
        let before = stored_chunks(&server).await;
        bob.put_missing(&manifest, &up, &data).await;
        let r = bob
            .commit(&up.upload_id, bob.session.root_id, "mine.bin", None)
            .await;
        assert_eq!(r.status(), StatusCode::OK);
        assert_eq!(stored_chunks(&server).await, before, "s3={s3}");
    }
}

#[tokio::test]
async fn a_replayed_put_url_cannot_touch_verified_bytes() {
    for s3 in [false, true] {
        let server = TestServer::on(Backend::Sqlite).s3(s3).start().await;
        let alice = server.register("alice").await;
        let data = bytes(24, 1024 * 1024 + 5);
        let (manifest, up) = alice.start_upload(&data).await;
        alice.put_missing(&manifest, &up, &data).await;
        let r = alice
            .commit(&up.upload_id, alice.session.root_id, "f.bin", None)
            .await;
        assert_eq!(r.status(), StatusCode::OK);
        let node: wire::CommitResponse = r.json().await.unwrap();
        let before = stored_chunks(&server).await;

        // The URL is still within its lifetime; it only ever named a staging key.
        let t = &up.missing[0];
        let r = put(&server, &t.url, bytes(777, t.size as usize)).await;
        if s3 {
            assert_eq!(
                r.status(),
                StatusCode::OK,
                "S3 lets a URL be replayed until it expires"
            );
        } else {
            assert_error(r, StatusCode::NOT_FOUND, "not_found").await;
        }
        assert_eq!(stored_chunks(&server).await, before);
        // Every chunk still downloads and hashes to its name.
        alice.download(node.node.id).await;
        // What the replay left in staging belongs to no live upload and is swept.
        api::gc::expire_uploads(&server.state, server.now_ms())
            .await
            .unwrap();
        if let Some(g) = &server.garage {
            assert!(g.keys("staging/").await.is_empty());
        }
    }
}

/// A URL with the query parameter `name` replaced by `value`.
fn with_param(url: &str, name: &str, value: &str) -> String {
    let (base, query) = url.split_once('?').unwrap();
    let query: Vec<String> = query
        .split('&')
        .map(|kv| match kv.split_once('=') {
            Some((k, _)) if k == name => format!("{k}={value}"),
            _ => kv.to_owned(),
        })
        .collect();
    format!("{base}?{}", query.join("&"))
}

fn refused(status: StatusCode) -> bool {
    status.is_client_error()
}

/// A PUT the server refuses: a 4xx, or the connection closed while the refused body was still
/// being sent (a store may answer early and hang up on a body it will not read).
async fn put_refused(server: &TestServer, url: &str, body: Vec<u8>) -> bool {
    match fresh_client().put(server.url(url)).body(body).send().await {
        Ok(r) => refused(r.status()),
        Err(e) => !e.is_connect() && !e.is_timeout(),
    }
}

#[tokio::test]
async fn tampered_misdirected_misused_and_oversized_urls_are_refused() {
    for s3 in [false, true] {
        let server = TestServer::on(Backend::Sqlite).s3(s3).start().await;
        let alice = server.register("alice").await;
        let data = bytes(25, 3 * 1024 * 1024);
        let (manifest, up) = alice.start_upload(&data).await;
        assert!(up.missing.len() >= 2);
        let (a, b) = (&up.missing[0], &up.missing[1]);
        let body_of = |t: &wire::ChunkTarget| {
            let c = manifest.chunks.iter().find(|c| c.hash == t.hash).unwrap();
            data[c.offset as usize..(c.offset + c.size as u64) as usize].to_vec()
        };
        let sig = if s3 { "X-Amz-Signature" } else { "sig" };

        // Tampered signature.
        let tampered = with_param(&a.url, sig, &"0".repeat(64));
        assert!(
            put_refused(&server, &tampered, body_of(a)).await,
            "s3={s3} tampered"
        );
        // Tampered expiry (pushed into the future).
        let exp = if s3 { "X-Amz-Expires" } else { "exp" };
        let later = with_param(&a.url, exp, "99999999999");
        assert!(
            put_refused(&server, &later, body_of(a)).await,
            "s3={s3} expiry"
        );
        // Wrong object: chunk a's signature on chunk b's key.
        let wrong = a.url.replace(&a.hash.to_string(), &b.hash.to_string());
        assert!(
            put_refused(&server, &wrong, body_of(b)).await,
            "s3={s3} object"
        );
        // Wrong method: a PUT URL used to GET.
        let r = fresh_client().get(server.url(&a.url)).send().await.unwrap();
        assert!(refused(r.status()), "s3={s3} method: {}", r.status());
        // Oversize: one byte more than the signed length.
        let mut big = body_of(a);
        big.push(0);
        assert!(put_refused(&server, &a.url, big).await, "s3={s3} oversize");
        // Undersize.
        let mut small = body_of(a);
        small.pop();
        if s3 {
            // Garage may answer an error or close the connection: either way nothing is stored.
            assert!(put_refused(&server, &a.url, small).await, "s3 undersize");
        } else {
            let r = put(&server, &a.url, small).await;
            assert_error(r, StatusCode::BAD_REQUEST, "hash_mismatch").await;
        }

        // None of that made anything usable.
        assert!(stored_chunks(&server).await.is_empty(), "s3={s3}");
        let left = missing_of(&alice, &up.upload_id).await;
        assert_eq!(left.len(), up.missing.len(), "s3={s3}");
        let r = alice
            .commit(&up.upload_id, alice.session.root_id, "x", None)
            .await;
        assert_error(r, StatusCode::CONFLICT, "upload_incomplete").await;

        // A GET URL used to PUT is refused too, once there is a verified chunk to GET.
        let d = alice.upload_file("ok.bin", &data, None).await;
        let dl = alice.download_plan(d.node.id).await;
        let before = stored_chunks(&server).await;
        let g = &dl.chunks[0];
        let r = put(&server, &g.url, vec![0u8; g.size as usize]).await;
        assert!(
            refused(r.status()),
            "s3={s3} GET URL used to PUT: {}",
            r.status()
        );
        assert_eq!(stored_chunks(&server).await, before);
        let tampered = with_param(&g.url, sig, &"1".repeat(64));
        let r = fresh_client()
            .get(server.url(&tampered))
            .send()
            .await
            .unwrap();
        assert!(refused(r.status()), "s3={s3} tampered GET: {}", r.status());
    }
}

#[tokio::test]
async fn expired_urls_are_refused() {
    for s3 in [false, true] {
        let server = TestServer::on(Backend::Sqlite)
            .s3(s3)
            .settings(|s| s.url_ttl = Duration::from_secs(1))
            .start()
            .await;
        let alice = server.register("alice").await;
        let data = bytes(26, 512 * 1024);
        // Nothing but time makes a URL old. The URLs are signed ten seconds ago by the
        // server's clock, then the clock is set right again: their one-second lifetime
        // (rounded to whole seconds by both stores) is over for our store, which reads that
        // clock, and for Garage, which reads its own.
        server.state.clock.rewind(Duration::from_secs(10));
        let (manifest, up) = alice.start_upload(&data).await;
        server.advance(Duration::from_secs(10));
        let t = &up.missing[0];
        let c = manifest.chunks.iter().find(|c| c.hash == t.hash).unwrap();
        let body = data[c.offset as usize..(c.offset + c.size as u64) as usize].to_vec();
        assert!(put_refused(&server, &t.url, body).await, "s3={s3} expired");
        let r = alice
            .commit(&up.upload_id, alice.session.root_id, "late.bin", None)
            .await;
        assert_error(r, StatusCode::CONFLICT, "upload_incomplete").await;
        assert!(stored_chunks(&server).await.is_empty());
    }
}
