//! Many files' upload steps in one request each. A dropped folder of 10,000 small files would
//! otherwise pay two API round trips per file (start, commit) on top of its chunk PUT; a batch
//! pays them once per hundred. Start is all-or-nothing (one transaction, like a single start);
//! commits stand alone, each answered as `POST /api/v1/commits` would have, and reach the group
//! committer together, so a batch costs about one durable transaction.

use axum::extract::State;
use axum::http::StatusCode;
use futures::StreamExt;
use wire::{
    BatchCommitsRequest, BatchCommitsResponse, BatchUploadsRequest, BatchUploadsResponse,
    CommitOutcome, MAX_BATCH,
};

use super::files;
use crate::access;
use crate::auth::Auth;
use crate::blob::{promote, BlobStore};
use crate::db::users::Caller;
use crate::error::{ApiError, ApiResult};
use crate::extract::Json;
use crate::state::AppState;

/// Commits of one batch in flight at once: enough to fill a group commit, few enough that one
/// batch does not crowd the chunk store's checks.
const COMMITS_AT_ONCE: usize = 32;

/// S3: the batch's staged chunks are checked and promoted together before the commits run,
/// so each commit finds its chunks usable instead of promoting them in a transaction of its
/// own. Only a head start: whatever this misses (an unknown upload, the store away) each
/// commit settles, or refuses, on its own.
async fn settle_together(state: &AppState, c: &Caller, commits: &[wire::CommitRequest]) {
    if !matches!(state.blobs, BlobStore::S3(_)) {
        return;
    }
    let now = state.clock.now_ms();
    let uploads: Vec<_> = futures::stream::iter(0..commits.len())
        .map(|i| access::upload(&state.db, c, &commits[i].upload_id))
        .buffered(COMMITS_AT_ONCE)
        .filter_map(|u| async move { u.ok().filter(|u| u.expires_at >= now) })
        .collect()
        .await;
    if let Err(e) = promote::settle_all(state, &uploads).await {
        tracing::warn!(error = ?e, "a batch's chunks were not checked together");
    }
}

fn counted(n: usize, what: &str) -> ApiResult<()> {
    if n == 0 || n > MAX_BATCH {
        return Err(ApiError::OutOfRange(format!(
            "a batch holds 1 to {MAX_BATCH} {what}, not {n}"
        )));
    }
    Ok(())
}

#[utoipa::path(post, path = "/api/v1/batch/uploads", tag = "files", security(("bearer" = [])),
    request_body = wire::BatchUploadsRequest,
    responses(
        (status = 201, description = "One upload session per manifest, in order, as `POST /api/v1/uploads` answers each", body = wire::BatchUploadsResponse),
        (status = 400, description = "`bad_request`: no manifests, or more than 100, or an item naming a manifest draft (`manifest_id`: those open alone, at `POST /api/v1/uploads`); `invalid_manifest`: manifest `uploads[i]` is malformed or lists a chunk the caller stores at another size (nothing is started)", body = wire::ErrorBody),
        (status = 401, description = "Not signed in", body = wire::ErrorBody),
        (status = 409, description = "`too_many_uploads`: the batch would open more unfinished uploads than the account may have (nothing is started)", body = wire::ErrorBody),
        (status = 507, description = "`quota_exceeded`: the batch's chunks do not fit in the quota, even without old versions (nothing is started)", body = wire::ErrorBody),
    ))]
pub async fn uploads(
    State(state): State<AppState>,
    Auth(c): Auth,
    Json(req): Json<BatchUploadsRequest>,
) -> ApiResult<(StatusCode, Json<BatchUploadsResponse>)> {
    counted(req.uploads.len(), "manifests")?;
    let manifests = files::inline_manifests(req.uploads)?;
    let uploads = files::open(&state, &c, manifests, true).await?;
    Ok((StatusCode::CREATED, Json(BatchUploadsResponse { uploads })))
}

#[utoipa::path(post, path = "/api/v1/batch/commits", tag = "files", security(("bearer" = [])),
    request_body = wire::BatchCommitsRequest,
    responses(
        (status = 200, description = "Each commit's outcome, in order: `status` 200 with `committed`, or the status and `error` that `POST /api/v1/commits` would have answered (`role_too_low`, `invalid_name`, `invalid_manifest`, `not_found`, `folder_gone`, `upload_incomplete`, `upload_expired`, `backoff`, `quota_exceeded`, …)", body = wire::BatchCommitsResponse),
        (status = 400, description = "`bad_request`: no commits, or more than 100", body = wire::ErrorBody),
        (status = 401, description = "Not signed in", body = wire::ErrorBody),
    ))]
pub async fn commits(
    State(state): State<AppState>,
    Auth(c): Auth,
    Json(req): Json<BatchCommitsRequest>,
) -> ApiResult<Json<BatchCommitsResponse>> {
    counted(req.commits.len(), "commits")?;
    settle_together(&state, &c, &req.commits).await;
    let results = futures::stream::iter(req.commits)
        .map(|one| files::commit_one(&state, c.clone(), one))
        .buffered(COMMITS_AT_ONCE)
        .map(|r| match r {
            Ok(done) => CommitOutcome {
                status: 200,
                committed: Some(done),
                error: None,
            },
            Err(e) => {
                let (status, error, _) = e.detail();
                CommitOutcome {
                    status: status.as_u16(),
                    committed: None,
                    error: Some(error),
                }
            }
        })
        .collect()
        .await;
    Ok(Json(BatchCommitsResponse { results }))
}
