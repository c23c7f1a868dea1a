//! `GET /api/v1/account/export`: everything of the caller's own tree as one streamed zip, so
//! a user can leave with their files (and their history, as the index) in one download that
//! any unzipper opens. The layout is `export`'s; the bytes stream through `serve::zip`, every
//! chunk BLAKE3-checked on its way out, with an exact `Content-Length` so browsers show
//! progress and a download cut short is seen as such.
//!
//! No meter: the account's own bytes are not budgeted, as its own content route is not. The
//! route is exempt from the request time limit (`timeouts`): a large tree takes its time.

use std::sync::Arc;

use axum::extract::State;
use axum::http::Method;
use axum::response::Response;

use crate::auth::Auth;
use crate::db::export as db_export;
use crate::error::{ApiError, ApiResult};
use crate::export::{self, MAX_ENTRIES};
use crate::names::civil_date;
use crate::serve::zip::{self, ZipPlan};
use crate::serve::{stream, ChunkReader};
use crate::state::AppState;

#[utoipa::path(get, path = "/api/v1/account/export", tag = "accounts", security(("bearer" = [])),
    responses(
        (status = 200, description = "A streamed ZIP (store method, ZIP64 where needed), `cairn-<username>-<YYYY-MM-DD>.zip`: first `cairn-index.json` (`{format: 1, username, exported_at, files: [{path, node_id, size, modified_at, versions: [{version_id, size, created_at, content_hash, current}]}], mounted: [path]}`), then every folder and the current bytes of every file of the caller's own tree, by path from the root; shared folders the caller owns are in it, the trash and others' shared folders (listed in `mounted`) are not. Every chunk is BLAKE3-checked as it streams; a bad one ends the body early, short of its `Content-Length`", content_type = "application/zip"),
        (status = 400, description = "`bad_request`: the tree holds more than 100,000 files and folders, more than one export takes", body = wire::ErrorBody),
        (status = 401, description = "`unauthorized`: not signed in", body = wire::ErrorBody),
        (status = 500, description = "`internal`: a stored chunk is unreadable or corrupt before the first byte went out", body = wire::ErrorBody),
        (status = 503, description = "`unavailable`: the database cannot be reached; retry", body = wire::ErrorBody),
    ))]
pub async fn export(
    State(state): State<AppState>,
    Auth(c): Auth,
    method: Method,
) -> ApiResult<Response> {
    let tree = db_export::tree(&state.db, c.root_id, c.user_id, MAX_ENTRIES)
        .await?
        .ok_or_else(|| {
            ApiError::TooManyPaths(format!(
                "an export holds at most {MAX_ENTRIES} files and folders; download folders one \
                 at a time instead"
            ))
        })?;
    let now = state.clock.now_ms();
    let entries = export::entries(tree, c.root_id, &c.username, now);
    let files = entries.len() - 1;
    let plan = ZipPlan::new(entries, false);
    let len = plan.len();
    let body = if method == Method::HEAD {
        axum::body::Body::empty()
    } else {
        let reader: Arc<dyn ChunkReader> = Arc::new(state.clone());
        let s = stream::metered(plan.stream(reader), None);
        let primed = stream::prime(s)
            .await
            .map_err(|e| stream::start_error(e, None, "export", c.user_id))?;
        axum::body::Body::from_stream(primed.into_stream("export", c.user_id))
    };
    tracing::info!(
        user_id = c.user_id,
        entries = files,
        bytes = len,
        "account export"
    );
    let name = format!("cairn-{}-{}.zip", c.username, civil_date(now));
    Ok(zip::response(body, len, &name, "no-store"))
}
