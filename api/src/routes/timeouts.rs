//! Time limits per route, so a client that trickles its body — or a request stuck behind
//! something slow — cannot hold a connection and a task for ever. A request past its limit is
//! answered 408 `timeout` in the API's JSON error shape.
//!
//! Dropping the handler's future at the deadline is what a client hanging up already does, and
//! the server is built for it: write transactions run on tasks of their own (`Db::write_on`),
//! and a commit handed to the group committer completes whether or not anyone still waits for
//! it (a retry with the same idempotency key answers its result).

use std::time::Duration;

use axum::body::Body;
use axum::extract::{Request, State};
use axum::http::Method;
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use axum::routing::MethodRouter;

use crate::error::ApiError;
use crate::state::AppState;

/// How a route is timed.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Limit {
    /// The whole request, body read and answer, within the limit.
    Whole,
    /// Only reading the body: the work after it grows with the data (S3 verification of an
    /// upload's staged chunks before a commit or a resume).
    BodyOnly,
    /// Long by nature: event streams, chunk transfers, whole-file content, share links' bytes
    /// and account exports (a zip of a large tree gathers its chunk lists first). The blob
    /// PUT's own body-read limit lives with the blob routes.
    Exempt,
}

/// The limit of the route `method path` (a path template of `routes::table`).
pub fn limit_for(method: &Method, path: &str) -> Limit {
    match (method.as_str(), path) {
        ("GET", "/api/v1/events") => Limit::Exempt,
        ("GET", "/api/v1/nodes/{id}/content") => Limit::Exempt,
        // The account's whole tree as a zip: its snapshot and chunk lists are read first.
        ("GET", "/api/v1/account/export") => Limit::Exempt,
        (_, p) if p.starts_with("/blobs/") => Limit::Exempt,
        // A share link's bytes: whole files and zips, as long as they take.
        ("GET", p) if p.starts_with("/s/{token}/") => Limit::Exempt,
        ("POST", "/api/v1/commits")
        | ("GET", "/api/v1/uploads/{id}")
        | ("POST", "/api/v1/public/{token}/commit")
        | ("GET", "/api/v1/public/{token}/uploads/{id}") => Limit::BodyOnly,
        _ => Limit::Whole,
    }
}

/// `handler` with its limit applied.
pub fn timed(
    state: &AppState,
    method: &Method,
    path: &str,
    handler: MethodRouter<AppState>,
) -> MethodRouter<AppState> {
    let limit = state.settings.request_timeout;
    match limit_for(method, path) {
        Limit::Whole => handler.layer(axum::middleware::from_fn_with_state(limit, whole)),
        Limit::BodyOnly => handler.layer(axum::middleware::from_fn_with_state(limit, body_only)),
        Limit::Exempt => handler,
    }
}

async fn whole(State(limit): State<Duration>, request: Request, next: Next) -> Response {
    match tokio::time::timeout(limit, next.run(request)).await {
        Ok(response) => response,
        Err(_) => {
            tracing::info!(limit_ms = limit.as_millis() as u64, "request timed out");
            ApiError::RequestTimeout.into_response()
        }
    }
}

/// Reads the whole body (at most the JSON limit) within the limit, then lets the handler work
/// on it for as long as it needs.
async fn body_only(State(limit): State<Duration>, request: Request, next: Next) -> Response {
    let (parts, body) = request.into_parts();
    let read = axum::body::to_bytes(body, super::JSON_LIMIT);
    let bytes = match tokio::time::timeout(limit, read).await {
        Ok(Ok(bytes)) => bytes,
        Ok(Err(_)) => return ApiError::TooLarge.into_response(),
        Err(_) => {
            tracing::info!(
                limit_ms = limit.as_millis() as u64,
                "request body read timed out"
            );
            return ApiError::RequestTimeout.into_response();
        }
    };
    next.run(Request::from_parts(parts, Body::from(bytes)))
        .await
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn long_routes_are_exempt_and_verifying_ones_time_only_their_body() {
        let check = |m: Method, p: &str, want: Limit| assert_eq!(limit_for(&m, p), want, "{p}");
        check(Method::GET, "/api/v1/events", Limit::Exempt);
        check(Method::GET, "/api/v1/nodes/{id}/content", Limit::Exempt);
        check(Method::GET, "/api/v1/account/export", Limit::Exempt);
        check(Method::PUT, "/blobs/{*object}", Limit::Exempt);
        check(Method::GET, "/blobs/{*object}", Limit::Exempt);
        check(Method::GET, "/s/{token}/download", Limit::Exempt);
        check(Method::GET, "/s/{token}/files/{*path}", Limit::Exempt);
        check(Method::GET, "/s/{token}/zip", Limit::Exempt);
        check(Method::GET, "/api/v1/public/{token}/manifest", Limit::Whole);
        check(Method::POST, "/api/v1/commits", Limit::BodyOnly);
        check(Method::GET, "/api/v1/uploads/{id}", Limit::BodyOnly);
        check(Method::POST, "/api/v1/events/ticket", Limit::Whole);
        check(Method::POST, "/api/v1/uploads", Limit::Whole);
        check(Method::GET, "/api/v1/nodes/{id}/children", Limit::Whole);
        check(Method::GET, "/metrics", Limit::Whole);
    }
}
