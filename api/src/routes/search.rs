//! `GET /api/v1/search`: names matching a query, with filters, over everything the caller can
//! read (their own tree and the shared folders they belong to), each with its derived path:
//! a shared folder's nodes from where the caller placed it.

use std::collections::HashMap;

use axum::extract::State;
use wire::{SearchQuery, SearchResponse, SearchResult};

use crate::access;
use crate::auth::Auth;
use crate::db::{nodes, search};
use crate::error::{ApiError, ApiResult};
use crate::extract::{Json, Query};
use crate::state::AppState;

const DEFAULT_LIMIT: u32 = 50;
const MAX_LIMIT: u32 = 200;

#[utoipa::path(get, path = "/api/v1/search", tag = "search", security(("bearer" = [])), params(("q" = Option<String>, Query, description = "Matches anywhere in the name, ignoring case; one or two characters match the start of a name"), ("kind" = Option<String>, Query, description = "file or folder"), ("min_size" = Option<u64>, Query), ("max_size" = Option<u64>, Query), ("modified_after" = Option<i64>, Query), ("modified_before" = Option<i64>, Query), ("limit" = Option<u32>, Query, description = "1 to 200, default 50")), responses((status = 200, description = "Matching live nodes with their paths, in the caller's tree and the shared folders they belong to, by name", body = wire::SearchResponse), (status = 400, description = "Bad input", body = wire::ErrorBody), (status = 401, description = "Not signed in", body = wire::ErrorBody), (status = 404, description = "Not found in the caller's namespace", body = wire::ErrorBody)))]
pub async fn search(
    State(state): State<AppState>,
    Auth(c): Auth,
    Query(q): Query<SearchQuery>,
) -> ApiResult<Json<SearchResponse>> {
    let limit = q.limit.unwrap_or(DEFAULT_LIMIT);
    if !(1..=MAX_LIMIT).contains(&limit) {
        return Err(ApiError::OutOfRange(format!(
            "limit must be 1 to {MAX_LIMIT}"
        )));
    }
    if q.q
        .as_deref()
        .is_some_and(|s| s.len() > 255 || s.chars().any(char::is_control))
    {
        return Err(ApiError::InvalidSearch(
            "q is at most 255 bytes, without control characters",
        ));
    }
    if let (Some(a), Some(b)) = (q.min_size, q.max_size) {
        if a > b {
            return Err(ApiError::InvalidSearch("min_size is above max_size"));
        }
    }
    if let (Some(a), Some(b)) = (q.modified_after, q.modified_before) {
        if a > b {
            return Err(ApiError::InvalidSearch(
                "modified_after is after modified_before",
            ));
        }
    }
    let filter = search::Filter {
        q: q.q,
        kind: q.kind,
        min_size: q.min_size,
        max_size: q.max_size,
        modified_after: q.modified_after,
        modified_before: q.modified_before,
        limit,
    };
    // The caller's tree and every shared one they belong to, in one statement.
    let readable = access::readable(&state.db, &c).await?;
    let rows = search::search(&state.db, &readable, &filter).await?;
    let ids: Vec<i64> = rows.iter().map(|r| r.node.id).collect();
    // A shared folder the caller belongs to starts where they placed it (`db::mounts`).
    let mounts = if readable.len() > 1 {
        access::mounts(&state.db, &c).await?
    } else {
        Default::default()
    };
    let tops: HashMap<i64, Option<i64>> = mounts
        .tops()
        .map(|p| (p.root_id, p.mount.as_ref().map(|m| m.id)))
        .collect();
    let mut paths = nodes::paths(&state.db, &ids, &tops).await?;
    let results = rows
        .into_iter()
        .map(|r| {
            let mut node = r.node;
            let path = paths.remove(&node.id).unwrap_or_default();
            mounts.present(&mut node);
            SearchResult { path, node }
        })
        .collect();
    Ok(Json(SearchResponse { results }))
}
