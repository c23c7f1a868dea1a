//! The change feed: what changed since a cursor in every namespace the caller follows — their
//! own tree and each shared folder they belong to — each namespace's changes in its server
//! order, so a device can catch up after being offline or after an SSE hint. One cursor
//! carries a seq per namespace (`db::changes::Position`).

use axum::extract::State;
use axum::http::StatusCode;
use serde::Deserialize;
use wire::{AckRequest, Change, ChangesResponse};

use crate::access;
use crate::auth::Auth;
use crate::db::changes::{self, Cursor, Position};
use crate::db::nodes;
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

/// Remembers that the device has applied everything up to `at` in its own tree (it asked for
/// what follows): SSE announces nothing up to it again. (Hints of shared namespaces are not
/// suppressed per device; a device pulls on them and finds little.)
async fn remember(state: &AppState, c: &Caller, at: &Position) -> ApiResult<()> {
    let Some(&seq) = at.seqs.get(&at.home) else {
        return Ok(());
    };
    if seq > 0 && state.db.hub.note_seen(c.device_id, seq) {
        let home = Cursor {
            namespace_id: at.home,
            seq,
        };
        changes::ack(&state.db, c.device_id, home).await?;
    }
    Ok(())
}

/// A shared folder's root as a member sees it: where they placed it in their own tree, under
/// their name for it (`db::mounts`), not where it sits in its owner's. A change of the mount
/// itself (placed on joining, renamed, moved, a new role) is logged on the root's id in the
/// member's own log, where the root does not live: it is answered with the root's state now.
async fn place_mounts(state: &AppState, c: &Caller, page: &mut [Change]) -> ApiResult<()> {
    let shared = page.iter().any(|ch| !access::is_home(c, ch.namespace_id));
    let about_mounts = page.iter().any(|ch| {
        access::is_home(c, ch.namespace_id)
            && ch.node.is_none()
            && !matches!(ch.kind.as_str(), "trash" | "purge")
    });
    if !shared && !about_mounts {
        return Ok(());
    }
    let mounts = access::mounts(&state.db, c).await?;
    if mounts.is_empty() {
        return Ok(());
    }
    for ch in page.iter_mut() {
        let Some(place) = mounts.place(ch.node_id) else {
            continue;
        };
        if access::is_home(c, ch.namespace_id) && place.mount.is_some() {
            ch.node = nodes::get(&state.db.pool, ch.node_id)
                .await?
                .map(|r| r.node);
        }
        if let Some(n) = ch.node.as_mut() {
            mounts.present(n);
        }
    }
    Ok(())
}

#[utoipa::path(get, path = "/api/v1/changes", tag = "sync", params(ChangesQuery),
    security(("bearer" = [])),
    responses(
        (status = 200, description = "Changes after the cursor: the caller's own tree's, then each shared folder's (namespace order), each in seq order; the cursor holds a seq per namespace", body = ChangesResponse),
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
    let (readable, from) = match &q.cursor {
        Some(s) => access::position(&state.db, &c, s).await?,
        None => (
            access::readable(&state.db, &c).await?,
            Position::new(c.namespace_id),
        ),
    };
    let mut next = from.clone();
    let mut page = Vec::new();
    let mut has_more = false;
    // Where every namespace stands (one statement), so only those with news are read.
    let before = changes::positions_of(&state.db, &readable).await?;
    let mut read = Vec::new();
    for ns in readable {
        let (top, pruned) = before.get(&ns).copied().unwrap_or_default();
        let start = from.seqs.get(&ns).copied();
        let known = start.is_some() || access::is_home(&c, ns);
        // A shared tree the cursor does not know yet (joined since): from what its log keeps;
        // the device lists that tree when it opens it.
        let after = start.unwrap_or(if known { 0 } else { pruned });
        next.seqs.insert(ns, after);
        if known && after > top {
            return Err(ApiError::CursorReset);
        }
        if after >= top {
            continue;
        }
        let room = limit as usize - page.len();
        if room == 0 {
            has_more = true;
            continue;
        }
        let mut changes = changes::page(&state.db, ns, after, room as i64 + 1).await?;
        has_more |= changes.len() > room;
        changes.truncate(room);
        next.seqs
            .insert(ns, changes.last().map_or(after, |ch| ch.seq));
        page.extend(changes);
        read.push((ns, after, known));
    }
    // The horizon after the pages: retention running in between can only make us answer
    // `cursor_reset` needlessly, never hand out a page with a hole.
    // (A namespace not read had no news: its cursor is at its top, above any horizon.)
    read.retain(|(_, _, known)| *known);
    if !read.is_empty() {
        let ids: Vec<i64> = read.iter().map(|(ns, ..)| *ns).collect();
        let now = changes::positions_of(&state.db, &ids).await?;
        for (ns, after, _) in read {
            if after < now.get(&ns).map_or(0, |p| p.1) {
                return Err(ApiError::CursorReset);
            }
        }
    }
    place_mounts(&state, &c, &mut page).await?;
    remember(&state, &c, &from).await?;
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
    let readable = access::readable(&state.db, &c).await?;
    let mut at = Position::new(c.namespace_id);
    for (ns, (seq, _)) in changes::positions_of(&state.db, &readable).await? {
        at.seqs.insert(ns, seq);
    }
    Ok(Json(ChangesResponse {
        changes: vec![],
        cursor: at.encode(),
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
    let (_, at) = access::position(&state.db, &c, &req.cursor).await?;
    let ids: Vec<i64> = at.seqs.keys().copied().collect();
    let tops = changes::positions_of(&state.db, &ids).await?;
    if at
        .seqs
        .iter()
        .any(|(ns, &seq)| seq > tops.get(ns).map_or(0, |p| p.0))
    {
        return Err(ApiError::CursorReset);
    }
    remember(&state, &c, &at).await?;
    Ok(StatusCode::NO_CONTENT)
}
