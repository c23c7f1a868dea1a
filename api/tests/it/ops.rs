//! Operations over HTTP: the OpenAPI document covers every route of the router, health and
//! readiness, Prometheus metrics, request ids, and JSON errors for wrong methods and paths.

use reqwest::{Method, StatusCode};
use serde_json::Value;

use crate::fixture::{assert_error, bytes, Backend, TestServer};

crate::both!(
    openapi_documents_every_route_of_the_router,
    health_readiness_and_metrics,
    a_metrics_address_serves_metrics_alone_without_a_token,
    request_ids_are_propagated_or_made,
    wrong_methods_and_paths_answer_json_errors,
);

async fn openapi_documents_every_route_of_the_router(backend: Backend) {
    let server = TestServer::on(backend).start().await;
    let doc: Value = server.get_json("/openapi.json").await;
    let paths = doc["paths"].as_object().expect("paths");
    let mut documented = std::collections::BTreeSet::new();
    for (path, ops) in paths {
        for method in ops.as_object().unwrap().keys() {
            documented.insert((method.to_uppercase(), path.clone()));
        }
    }
    let mut routed = std::collections::BTreeSet::new();
    for (method, path, _) in api::routes::table() {
        // axum spells a wildcard `{*name}`, OpenAPI `{name}`.
        routed.insert((method.to_string(), path.replace("{*", "{")));
    }
    let undocumented: Vec<_> = routed.difference(&documented).collect();
    let unrouted: Vec<_> = documented.difference(&routed).collect();
    assert!(
        undocumented.is_empty(),
        "routes missing from /openapi.json: {undocumented:?}"
    );
    assert!(
        unrouted.is_empty(),
        "documented but not routed: {unrouted:?}"
    );
    assert!(doc["components"]["schemas"]["ChangesResponse"].is_object());
}

async fn health_readiness_and_metrics(backend: Backend) {
    let server = TestServer::on(backend).start().await;
    for (path, status) in [("/healthz", "ok"), ("/readyz", "ready")] {
        let v: Value = server.get_json(path).await;
        assert_eq!(v["status"], status);
    }
    let alice = server.register("alice").await;
    alice.upload_file("a", &bytes(3, 100), None).await;
    let first = alice.upload_file("b", &bytes(4, 100), None).await;
    // A stale base version: a conflicted copy, counted as such (with a's bytes).
    alice
        .upload_file("b", &bytes(3, 100), Some(first.version_id - 100))
        .await;
    let r = server
        .http
        .get(server.url("/metrics"))
        .bearer_auth(crate::fixture::METRICS_TOKEN)
        .send()
        .await
        .unwrap();
    assert!(r.headers()["content-type"]
        .to_str()
        .unwrap()
        .starts_with("application/openmetrics-text"));
    let text = r.text().await.unwrap();
    // Three uploads of 100 bytes, two of them the same bytes: 300 logical, 200 stored (the
    // figures are the database's, read by this first scrape). And the scrape itself is in
    // flight while it renders.
    for needle in [
        "cairn_http_request_duration_seconds_bucket{le=\"+Inf\",method=\"POST\",route=\"/api/v1/commits\",status=\"200\"} 3",
        "cairn_commits_total 3",
        "cairn_conflicts_total 1",
        "cairn_sse_clients 0",
        "# TYPE cairn_commit_batch_size histogram",
        "cairn_users 1",
        "cairn_logical_bytes 300",
        "cairn_stored_bytes 200",
        "cairn_dedup_ratio 1.5",
        "cairn_upload_sessions_open 0",
        "cairn_http_requests_in_flight{route=\"/metrics\"} 1",
        "# EOF",
    ] {
        assert!(text.contains(needle), "missing {needle:?} in\n{text}");
    }
}

async fn a_metrics_address_serves_metrics_alone_without_a_token(backend: Backend) {
    let server = TestServer::on(backend)
        .settings(|s| s.metrics_token = None)
        .start()
        .await;
    let alice = server.register("alice").await;
    alice.upload_file("a", &bytes(3, 100), None).await;
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let base = format!("http://{}", listener.local_addr().unwrap());
    tokio::spawn(api::serve_metrics(server.state.clone(), listener));
    let r = server
        .http
        .get(format!("{base}/metrics"))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), StatusCode::OK);
    let text = r.text().await.unwrap();
    assert!(text.contains("cairn_commits_total 1"), "{text}");
    assert!(text.contains("cairn_files 1"), "{text}");
    // Only /metrics there; and the public address keeps it off without a token.
    let r = server
        .http
        .get(format!("{base}/api/v1/me"))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), StatusCode::NOT_FOUND);
    assert_error(
        server.get("/metrics").await,
        StatusCode::NOT_FOUND,
        "not_found",
    )
    .await;
}

async fn request_ids_are_propagated_or_made(backend: Backend) {
    let server = TestServer::on(backend).start().await;
    let r = server
        .http
        .get(server.url("/healthz"))
        .header("x-request-id", "trace-me-42")
        .send()
        .await
        .unwrap();
    assert_eq!(r.headers()["x-request-id"], "trace-me-42");
    let r = server.get("/healthz").await;
    let made = r.headers()["x-request-id"].to_str().unwrap().to_owned();
    assert_eq!(made.len(), 16);
    assert!(made.bytes().all(|b| b.is_ascii_hexdigit()));
}

async fn wrong_methods_and_paths_answer_json_errors(backend: Backend) {
    let server = TestServer::on(backend).start().await;
    let alice = server.register("alice").await;
    assert_error(
        alice.call(Method::DELETE, "/api/v1/me", None).await,
        StatusCode::METHOD_NOT_ALLOWED,
        "method_not_allowed",
    )
    .await;
    assert_error(
        alice.call(Method::GET, "/api/v1/no/such/thing", None).await,
        StatusCode::NOT_FOUND,
        "not_found",
    )
    .await;
}

/// The manifest's OpenAPI schema is written beside the type (which lives in the pure
/// `wasm-chunker`); its fields must be exactly the ones the server reads and writes.
#[test]
fn the_documented_manifest_has_the_real_manifests_fields() {
    let doc = serde_json::to_value(api::openapi::document()).unwrap();
    let manifest = wasm_chunker::Manifest::from_chunks(wasm_chunker::chunk_all(b"some bytes"));
    let real = serde_json::to_value(&manifest).unwrap();
    for (schema, value) in [("Manifest", &real), ("ChunkRef", &real["chunks"][0])] {
        let mut documented: Vec<&String> = doc["components"]["schemas"][schema]["properties"]
            .as_object()
            .unwrap_or_else(|| panic!("{schema} is not in /openapi.json"))
            .keys()
            .collect();
        let mut sent: Vec<&String> = value.as_object().unwrap().keys().collect();
        documented.sort();
        sent.sort();
        assert_eq!(documented, sent, "{schema}");
    }
    // Referenced, not an untyped object, where requests and answers carry one.
    let upload = &doc["components"]["schemas"]["CreateUploadRequest"]["properties"]["manifest"];
    assert_eq!(upload["$ref"], "#/components/schemas/Manifest", "{upload}");
}

/// Every machine code the server can send is listed, documented, where `error.code` is.
#[test]
fn the_error_codes_are_listed() {
    let doc = serde_json::to_value(api::openapi::document()).unwrap();
    let schemas = &doc["components"]["schemas"];
    let codes = &schemas["ErrorCode"];
    let listed: Vec<&str> = codes["enum"]
        .as_array()
        .or_else(|| codes["oneOf"].as_array())
        .unwrap_or_else(|| panic!("ErrorCode lists no codes: {codes}"))
        .iter()
        .flat_map(|v| match v.as_str() {
            Some(s) => vec![s],
            None => v["enum"]
                .as_array()
                .into_iter()
                .flatten()
                .filter_map(|e| e.as_str())
                .collect(),
        })
        .collect();
    let all: Vec<&str> = wire::ErrorCode::ALL.iter().map(|c| c.as_str()).collect();
    assert_eq!(listed, all);
    let code = &schemas["ErrorDetail"]["properties"]["code"];
    assert_eq!(code["$ref"], "#/components/schemas/ErrorCode", "{code}");
}

/// The router's paths are spelled once, in `wire::paths`, and every one there is served.
#[test]
fn every_route_is_spelled_in_wire() {
    let routed: std::collections::BTreeSet<&str> =
        api::routes::table().iter().map(|(_, p, _)| *p).collect();
    let spelled: std::collections::BTreeSet<&str> = wire::paths::ALL.iter().copied().collect();
    assert_eq!(routed, spelled);
    assert_eq!(spelled.len(), wire::paths::ALL.len(), "a path listed twice");
}

/// Client generators name methods after operation ids: they must be unique.
#[test]
fn operation_ids_are_unique() {
    let doc = serde_json::to_value(api::openapi::document()).unwrap();
    let mut seen = std::collections::BTreeMap::<String, usize>::new();
    for ops in doc["paths"].as_object().unwrap().values() {
        for op in ops.as_object().unwrap().values() {
            if let Some(id) = op["operationId"].as_str() {
                *seen.entry(id.to_owned()).or_default() += 1;
            }
        }
    }
    let repeated: Vec<_> = seen.iter().filter(|(_, n)| **n > 1).collect();
    assert!(repeated.is_empty(), "{repeated:?}");
}
