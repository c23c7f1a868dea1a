//! The change feed: what changed in the caller's namespace since a cursor, in server order,
//! so a device can catch up after being offline or after an SSE hint.

use axum::extract::State;
use axum::http::StatusCode;
use serde::Deserialize;
use wire::{AckRequest, ChangesResponse};

use crate::access;
use crate::auth::Auth;
use crate::db::changes::{self, Cursor};
use crate::db::users::Caller;
use crate::error::{ApiError, ApiResult};
use crate::extract::{Json, Query};
use crate::state::AppState;

pub const DEFAULT_LIMIT: i64 = 500;
pub const MAX_LIMIT: i64 = 1000;

#[derive(Debug, Deserialize, utoipa::IntoParams)]
pub struct ChangesQuery {
    /// From a previous answer; omit it to start from the beginning of the log.
    cursor: Option<String>,
    /// 1 to 1000, default 500.
    limit: Option<i64>,
}

/// Remembers that the device has applied everything up to `cursor` (it asked for what follows).
async fn remember(state: &AppState, c: &Caller, cursor: Cursor) -> ApiResult<()> {
    if cursor.seq > 0 && state.db.hub.note_seen(c.device_id, cursor.seq) {
        changes::ack(&state.db, c.device_id, cursor).await?;
    }
    Ok(())
}

#[utoipa::path(get, path = "/api/v1/changes", tag = "sync", params(ChangesQuery),
    security(("bearer" = [])),
    responses(
        (status = 200, description = "Changes after the cursor, in seq order", body = ChangesResponse),
        (status = 400, description = "Malformed or foreign cursor, bad limit", body = wire::ErrorBody),
        (status = 410, description = "`cursor_reset`: the cursor is older than the retained log (or newer than the server); list the tree again", body = wire::ErrorBody),
        (status = 503, description = "`backoff`: too many feed reads at once; retry after `Retry-After` seconds", body = wire::ErrorBody),
    ))]
pub async fn list(
    State(state): State<AppState>,
    Auth(c): Auth,
    Query(q): Query<ChangesQuery>,
) -> ApiResult<Json<ChangesResponse>> {
    let Ok(_permit) = state.feed_permits.try_acquire() else {
        state.metrics.count_backoff();
        return Err(ApiError::Backoff(1));
    };
    let limit = q.limit.unwrap_or(DEFAULT_LIMIT);
    if !(1..=MAX_LIMIT).contains(&limit) {
        return Err(ApiError::OutOfRange(format!(
            "limit must be 1 to {MAX_LIMIT}"
        )));
    }
    let from = match &q.cursor {
        Some(s) => access::cursor(&c, s)?,
        None => Cursor {
            namespace_id: c.namespace_id,
            seq: 0,
        },
    };
    // The page first, the horizon after: retention running in between can only make us answer
    // `cursor_reset` needlessly, never hand out a page with a hole.
    let mut page = changes::page(&state.db, c.namespace_id, from.seq, limit + 1).await?;
    let (seq, pruned) = changes::positions(&state.db, c.namespace_id).await?;
    if from.seq < pruned || from.seq > seq {
        return Err(ApiError::CursorReset);
    }
    let has_more = page.len() as i64 > limit;
    page.truncate(limit as usize);
    let next = Cursor {
        namespace_id: c.namespace_id,
        seq: page.last().map_or(from.seq, |ch| ch.seq),
    };
    remember(&state, &c, from).await?;
    Ok(Json(ChangesResponse {
        changes: page,
        cursor: next.encode(),
        has_more,
    }))
}

/// A cursor at the namespace's newest change, for a client that is about to list the tree from
/// scratch (first start, or after `cursor_reset`): take this cursor first, then list, then pull
/// from it — changes racing with the listing are pulled again, and applying one twice is safe.
#[utoipa::path(get, path = "/api/v1/changes/latest", tag = "sync",
    security(("bearer" = [])),
    responses((status = 200, description = "No changes; the cursor of the newest one", body = ChangesResponse)))]
pub async fn latest(
    State(state): State<AppState>,
    Auth(c): Auth,
) -> ApiResult<Json<ChangesResponse>> {
    let (seq, _) = changes::positions(&state.db, c.namespace_id).await?;
    Ok(Json(ChangesResponse {
        changes: vec![],
        cursor: Cursor {
            namespace_id: c.namespace_id,
            seq,
        }
        .encode(),
        has_more: false,
    }))
}

/// Explicit acknowledgement (reading the feed with a cursor acknowledges it too): SSE will not
/// announce anything up to this cursor to this device.
#[utoipa::path(post, path = "/api/v1/changes/ack", tag = "sync", request_body = AckRequest,
    security(("bearer" = [])),
    responses(
        (status = 204, description = "Stored"),
        (status = 400, description = "Malformed or foreign cursor", body = wire::ErrorBody),
        (status = 410, description = "`cursor_reset`: the cursor is past the namespace's newest change (say, the server was restored from a backup); list the tree again and take a fresh cursor", body = wire::ErrorBody),
    ))]
pub async fn ack(
    State(state): State<AppState>,
    Auth(c): Auth,
    Json(req): Json<AckRequest>,
) -> ApiResult<StatusCode> {
    let cursor = access::cursor(&c, &req.cursor)?;
    let (seq, _) = changes::positions(&state.db, c.namespace_id).await?;
    if cursor.seq > seq {
        return Err(ApiError::CursorReset);
    }
    remember(&state, &c, cursor).await?;
    Ok(StatusCode::NO_CONTENT)
}
