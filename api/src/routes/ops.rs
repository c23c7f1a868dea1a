//! What operators and their tools call: liveness, readiness (the database answers), Prometheus
//! metrics, the OpenAPI description — and the middleware that gives every request an id, a
//! tracing span and a latency sample.

use std::time::{Duration, Instant};

use axum::extract::{MatchedPath, Request, State};
use axum::http::{header, HeaderMap, HeaderValue};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use rand::RngCore;
use serde::Serialize;
use tracing::Instrument;

use crate::error::{ApiError, ApiResult};
use crate::extract::Json;
use crate::state::AppState;

pub const REQUEST_ID: &str = "x-request-id";

#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct Status {
    pub status: &'static str,
}

/// The process is up (it says nothing about the database).
#[utoipa::path(get, path = "/healthz", tag = "ops",
    responses((status = 200, description = "Alive", body = Status)))]
pub async fn healthz() -> Json<Status> {
    Json(Status { status: "ok" })
}

/// Ready to serve: the metadata database answers within two seconds.
#[utoipa::path(get, path = "/readyz", tag = "ops",
    responses(
        (status = 200, description = "Ready", body = Status),
        (status = 503, description = "`unavailable`: the database does not answer", body = wire::ErrorBody),
    ))]
pub async fn readyz(State(state): State<AppState>) -> ApiResult<Json<Status>> {
    let ping = state.db.ping();
    match tokio::time::timeout(Duration::from_secs(2), ping).await {
        Ok(Ok(_)) => Ok(Json(Status { status: "ready" })),
        Ok(Err(e)) => {
            tracing::warn!(error = %e, "readiness check failed");
            Err(ApiError::Unavailable)
        }
        Err(_) => Err(ApiError::Unavailable),
    }
}

/// Prometheus metrics in OpenMetrics text: request latency and requests in flight by route,
/// commits, conflicts, SSE clients on this node, batch sizes, and the whole server's users,
/// files, logical and stored bytes, dedup ratio and open upload sessions. Off (404) unless
/// `CAIRN_METRICS_TOKEN` is set; then only with `Authorization: Bearer <that token>`. (A
/// separate `CAIRN_METRICS_ADDR` listener serves it without a token, for a private network.)
#[utoipa::path(get, path = "/metrics", tag = "ops", security(("bearer" = [])),
    responses(
        (status = 200, description = "OpenMetrics text", body = String, content_type = "application/openmetrics-text"),
        (status = 401, description = "`unauthorized`: the metrics token is missing or wrong", body = wire::ErrorBody),
        (status = 404, description = "`not_found`: metrics are off (no `CAIRN_METRICS_TOKEN`)", body = wire::ErrorBody),
    ))]
pub async fn metrics(State(state): State<AppState>, headers: HeaderMap) -> ApiResult<Response> {
    let Some(expected) = state.settings.metrics_token.as_deref() else {
        return Err(ApiError::NotFound("endpoint"));
    };
    let given = headers
        .get(header::AUTHORIZATION)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.strip_prefix("Bearer "))
        .ok_or(ApiError::Unauthorized)?;
    // `blake3::Hash` compares in constant time, so the answer's timing says nothing of how
    // much of a guess was right.
    if blake3::hash(given.trim().as_bytes()) != blake3::hash(expected.as_bytes()) {
        return Err(ApiError::Unauthorized);
    }
    Ok(exposition(&state).await)
}

/// The metrics, the database's figures refreshed first when they are stale.
pub async fn exposition(state: &AppState) -> Response {
    if state.metrics.claim_store_read() {
        match crate::db::ops::stats(&state.db, state.clock.now_ms()).await {
            Ok(s) => state.metrics.set_store(&s),
            Err(e) => tracing::warn!(error = %e, "cannot read the store's figures for /metrics"),
        }
    }
    (
        [(
            header::CONTENT_TYPE,
            HeaderValue::from_static(crate::metrics::CONTENT_TYPE),
        )],
        state.metrics.render(),
    )
        .into_response()
}

/// A client's `x-request-id` if it is short and printable, else a fresh random one.
fn request_id(req: &Request) -> String {
    req.headers()
        .get(REQUEST_ID)
        .and_then(|v| v.to_str().ok())
        .filter(|v| (1..=64).contains(&v.len()) && v.bytes().all(|b| b.is_ascii_graphic()))
        .map(str::to_owned)
        .unwrap_or_else(|| {
            let mut b = [0u8; 8];
            rand::rngs::OsRng.fill_bytes(&mut b);
            hex::encode(b)
        })
}

/// Request id (set or propagated, echoed in the answer), a span carrying it, and a latency
/// sample labelled by route template — never by raw path or query, which may hold tokens.
pub async fn observe(State(state): State<AppState>, mut req: Request, next: Next) -> Response {
    let id = request_id(&req);
    let route = req
        .extensions()
        .get::<MatchedPath>()
        .map(|p| p.as_str().to_owned())
        .unwrap_or_else(|| "unmatched".to_owned());
    let method = req.method().clone();
    if let Ok(v) = HeaderValue::from_str(&id) {
        req.headers_mut().insert(REQUEST_ID, v);
    }
    let span = tracing::info_span!(
        "request",
        request_id = %id,
        method = crate::metrics::method_label(&method),
        %route
    );
    let in_flight = state.metrics.in_flight(&route);
    let started = Instant::now();
    let mut response = next.run(req).instrument(span.clone()).await;
    let elapsed = started.elapsed();
    drop(in_flight);
    let status = response.status().as_u16();
    state
        .metrics
        .observe_request(&method, &route, status, elapsed.as_secs_f64());
    span.in_scope(|| {
        if status >= 500 {
            tracing::warn!(status, latency_ms = elapsed.as_millis() as u64, "answered");
        } else {
            tracing::debug!(status, latency_ms = elapsed.as_millis() as u64, "answered");
        }
    });
    if let Ok(v) = HeaderValue::from_str(&id) {
        response.headers_mut().insert(REQUEST_ID, v);
    }
    response
}
