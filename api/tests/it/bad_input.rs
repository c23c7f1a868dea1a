//! Bad input on every endpoint gets a 4xx with a JSON error body, and changes nothing stored.

use reqwest::{Method, StatusCode};
use serde_json::json;
use wire::{Listing, Manifest};

use crate::fixture::{assert_error, bytes, fresh_client, Backend, TestServer};

crate::both!(
    malformed_json_and_unknown_routes_answer_json_errors,
    accounts_refuse_bad_credentials_and_tokens,
    invalid_names_are_refused_and_the_tree_is_unchanged,
    bad_manifests_are_refused,
    chunk_puts_with_wrong_bytes_bad_signatures_or_oversize_bodies_store_nothing,
    oversize_json_bodies_are_refused,
    others_nodes_and_uploads_are_invisible,
);

async fn malformed_json_and_unknown_routes_answer_json_errors(backend: Backend) {
    let server = TestServer::on(backend).start().await;
    let r = server
        .http
        .post(server.url("/api/v1/accounts"))
        .header("content-type", "application/json")
        .body("{not json")
        .send()
        .await
        .unwrap();
    assert_error(r, StatusCode::BAD_REQUEST, "bad_json").await;
    let r = server
        .post("/api/v1/accounts", json!({"username": "x"}))
        .await;
    assert_error(r, StatusCode::BAD_REQUEST, "bad_json").await;
    let r = server.get("/api/v1/nope").await;
    assert_error(r, StatusCode::NOT_FOUND, "not_found").await;
}

async fn accounts_refuse_bad_credentials_and_tokens(backend: Backend) {
    let server = TestServer::on(backend).start().await;
    let alice = server.register("alice").await;
    let r = server
        .post(
            "/api/v1/sessions",
            json!({"username": "alice", "password": "wrong password", "device_name": "x"}),
        )
        .await;
    assert_error(r, StatusCode::UNAUTHORIZED, "bad_credentials").await;
    let r = server
        .post(
            "/api/v1/accounts",
            json!({"username": "alice", "password": "another one", "device_name": "x"}),
        )
        .await;
    assert_error(r, StatusCode::CONFLICT, "username_taken").await;
    let r = server
        .post(
            "/api/v1/accounts",
            json!({"username": "bad name!", "password": "another one", "device_name": "x"}),
        )
        .await;
    assert_error(r, StatusCode::BAD_REQUEST, "bad_request").await;
    for token in ["", "Bearer nope", &format!("Bearer {}", "0".repeat(64))] {
        let r = server
            .http
            .get(server.url("/api/v1/me"))
            .header("authorization", token)
            .send()
            .await
            .unwrap();
        assert_error(r, StatusCode::UNAUTHORIZED, "unauthorized").await;
    }
    let r = server
        .post(
            "/api/v1/sessions",
            json!({"username": "alice", "password": "correct horse", "device_name": "phone"}),
        )
        .await;
    assert_eq!(r.status(), StatusCode::OK);
    let _ = alice;
}

async fn invalid_names_are_refused_and_the_tree_is_unchanged(backend: Backend) {
    let server = TestServer::on(backend).start().await;
    let alice = server.register("alice").await;
    let root = alice.session.root_id;
    let data = bytes(6, 100);
    let (manifest, up) = alice.start_upload(&data).await;
    alice.put_missing(&manifest, &up, &data).await;
    for name in ["", ".", "..", "a/b", "nul\u{0}", &"n".repeat(300)] {
        let r = alice.new_folder(root, name).await;
        assert_error(r, StatusCode::BAD_REQUEST, "invalid_name").await;
        let r = alice.commit(&up.upload_id, root, name, None).await;
        assert_error(r, StatusCode::BAD_REQUEST, "invalid_name").await;
    }
    let listing: Listing = alice
        .ok(Method::GET, &format!("/api/v1/nodes/{root}/children"), None)
        .await;
    assert!(listing.children.is_empty());
}

async fn bad_manifests_are_refused(backend: Backend) {
    let server = TestServer::on(backend).start().await;
    let alice = server.register("alice").await;
    let data = bytes(7, 4000);
    let good = Manifest::from_chunks(wasm_chunker::chunk_all(&data));
    let mut wrong_size = good.clone();
    wrong_size.size += 1;
    let mut wrong_hash = good.clone();
    wrong_hash.hash = wasm_chunker::hash_chunk(b"other");
    let mut wrong_chunker = good.clone();
    wrong_chunker.chunker = "fixed-4m".into();
    for m in [wrong_size, wrong_hash, wrong_chunker] {
        let r = alice
            .call(
                Method::POST,
                "/api/v1/uploads",
                Some(json!({ "manifest": m })),
            )
            .await;
        assert_error(r, StatusCode::BAD_REQUEST, "invalid_manifest").await;
    }
    let r = alice
        .call(
            Method::POST,
            "/api/v1/uploads",
            Some(json!({ "manifest": {"chunks": "x"} })),
        )
        .await;
    assert_error(r, StatusCode::BAD_REQUEST, "bad_json").await;
}

async fn chunk_puts_with_wrong_bytes_bad_signatures_or_oversize_bodies_store_nothing(
    backend: Backend,
) {
    let server = TestServer::on(backend).start().await;
    let alice = server.register("alice").await;
    let data = bytes(8, 300_000);
    let (manifest, up) = alice.start_upload(&data).await;
    let target = &up.missing[0];
    // The store hangs up on a body it refuses: a fresh connection for every PUT.
    let http = fresh_client();
    let put = |url: String, body: Vec<u8>| {
        let http = http.clone();
        async move { http.put(url).body(body).send().await.unwrap() }
    };
    // Other bytes under this chunk's name: refused, never stored.
    let mut wrong = data[..target.size as usize].to_vec();
    wrong[10] ^= 1;
    assert_error(
        put(server.url(&target.url), wrong).await,
        StatusCode::BAD_REQUEST,
        "hash_mismatch",
    )
    .await;
    // Too many bytes.
    let mut long = data.clone();
    long.extend_from_slice(b"extra");
    assert_error(
        put(server.url(&target.url), long).await,
        StatusCode::PAYLOAD_TOO_LARGE,
        "too_large",
    )
    .await;
    // A tampered URL (another chunk name, or a changed expiry or size).
    let other = wasm_chunker::hash_chunk(b"x").to_string();
    let tampered = target.url.replace(&target.hash.to_string(), &other);
    assert_error(
        put(server.url(&tampered), data.clone()).await,
        StatusCode::FORBIDDEN,
        "bad_signature",
    )
    .await;
    let tampered = target.url.replace("exp=", "exp=9");
    assert_error(
        put(server.url(&tampered), data.clone()).await,
        StatusCode::FORBIDDEN,
        "bad_signature",
    )
    .await;
    let r = put(
        server.url(
            &target
                .url
                .replace("PUT", "GET")
                .replace("staging", "chunks"),
        ),
        vec![],
    )
    .await;
    assert_error(r, StatusCode::FORBIDDEN, "bad_signature").await;
    assert!(server.stored_files().is_empty(), "nothing was stored");
    let r = alice
        .commit(&up.upload_id, alice.session.root_id, "f", None)
        .await;
    assert_error(r, StatusCode::CONFLICT, "upload_incomplete").await;
    // The honest bytes still go through afterwards.
    alice.put_missing(&manifest, &up, &data).await;
    assert_eq!(
        alice
            .commit(&up.upload_id, alice.session.root_id, "f", None)
            .await
            .status(),
        StatusCode::OK
    );
}

async fn oversize_json_bodies_are_refused(backend: Backend) {
    let server = TestServer::on(backend).start().await;
    let alice = server.register("alice").await;
    let huge = "x".repeat(5 * 1024 * 1024);
    let root = alice.session.root_id;
    // The server answers from the Content-Length alone and does not read the body; the client
    // sees that answer, or, when the server hung up while the body was still being sent, a
    // broken connection (a fresh connection each time, so a retry is never sent down a dead
    // one). Either way nothing is created.
    let probe = fresh_client();
    let mut answered = false;
    for _ in 0..5 {
        let sent = probe
            .post(server.url("/api/v1/folders"))
            .bearer_auth(&alice.session.token)
            .json(&json!({"parent_id": root, "name": huge}))
            .send()
            .await;
        match sent {
            Ok(r) => {
                assert_error(r, StatusCode::PAYLOAD_TOO_LARGE, "too_large").await;
                answered = true;
                break;
            }
            Err(e) => assert!(!e.is_connect() && !e.is_timeout(), "{e}"),
        }
    }
    assert!(answered, "five oversize requests and never an answer");
    assert!(alice.names(root).await.is_empty());
}

async fn others_nodes_and_uploads_are_invisible(backend: Backend) {
    let server = TestServer::on(backend).start().await;
    let alice = server.register("alice").await;
    let bob = server.register("bob").await;
    let f = alice.upload_file("a", b"alice's", None).await;
    for path in [
        format!("/api/v1/nodes/{}/download", f.node.id),
        format!("/api/v1/nodes/{}/children", alice.session.root_id),
    ] {
        assert_error(
            bob.call(Method::GET, &path, None).await,
            StatusCode::NOT_FOUND,
            "not_found",
        )
        .await;
    }
    let r = bob.new_folder(alice.session.root_id, "x").await;
    assert_error(r, StatusCode::NOT_FOUND, "not_found").await;
    let r = bob
        .call(Method::GET, "/api/v1/nodes/abc/children", None)
        .await;
    assert_error(r, StatusCode::BAD_REQUEST, "bad_request").await;
}
