//! The upload protocol (manifest → missing chunks with signed PUT URLs → commit) and the
//! download manifest (chunks with signed GET URLs). Bytes never pass through these handlers.

use std::collections::HashSet;

use axum::extract::State;
use axum::http::StatusCode;
use sqlx::Row as _;
use wire::{
    ChunkTarget, CommitRequest, CommitResponse, CreateUploadRequest, DownloadResponse, Hash,
    Manifest, NodeKind, UploadResponse,
};

use crate::auth::Auth;
use crate::blob::promote;
use crate::db::users::Caller;
use crate::db::{chunks, now_ms, uploads};
use crate::error::{ApiError, ApiResult};
use crate::extract::{Json, Path};
use crate::routes::tree::visible_node;
use crate::state::AppState;

/// The distinct chunks of `manifest` the caller's namespace cannot use yet, in file order.
async fn missing(
    state: &AppState,
    namespace_id: i64,
    manifest: &Manifest,
) -> ApiResult<Vec<(Hash, u32)>> {
    let mut seen = HashSet::new();
    let unique: Vec<(Hash, u32)> = manifest
        .chunks
        .iter()
        .filter(|c| seen.insert(c.hash))
        .map(|c| (c.hash, c.size))
        .collect();
    let hashes: Vec<Hash> = unique.iter().map(|(h, _)| *h).collect();
    let have = chunks::readable(&state.db, namespace_id, &hashes).await?;
    Ok(unique
        .into_iter()
        .filter(|(h, _)| !have.contains(h))
        .collect())
}

async fn answer(state: &AppState, upload: &uploads::Upload) -> ApiResult<UploadResponse> {
    let ttl = state.settings.url_ttl;
    let mut targets = Vec::new();
    for (hash, size) in missing(state, upload.namespace_id, &upload.manifest).await? {
        targets.push(ChunkTarget {
            url: state.blobs.put_url(&upload.id, &hash, size, ttl).await?,
            hash,
            size,
        });
    }
    Ok(UploadResponse {
        upload_id: upload.id.clone(),
        missing: targets,
        expires_at: upload.expires_at,
    })
}

#[utoipa::path(post, path = "/api/v1/uploads", tag = "files", security(("bearer" = [])),
    request_body = wire::CreateUploadRequest,
    responses(
        (status = 201, description = "Upload session with the chunks still to send and their signed PUT URLs", body = wire::UploadResponse),
        (status = 400, description = "Invalid manifest", body = wire::ErrorBody),
    ))]
pub async fn create_upload(
    State(state): State<AppState>,
    Auth(c): Auth,
    Json(req): Json<CreateUploadRequest>,
) -> ApiResult<(StatusCode, Json<UploadResponse>)> {
    req.manifest
        .validate()
        .map_err(|e| ApiError::InvalidManifest(e.to_string()))?;
    let upload = uploads::Upload {
        id: uploads::new_id(),
        namespace_id: c.namespace_id,
        device_id: c.device_id,
        manifest: req.manifest,
        expires_at: now_ms() + state.settings.upload_ttl.as_millis() as i64,
    };
    uploads::create(&state.db, &upload).await?;
    let answer = answer(&state, &upload).await?;
    tracing::info!(upload_id = %upload.id, chunks = upload.manifest.chunks.len(), missing = answer.missing.len(), "upload started");
    Ok((StatusCode::CREATED, Json(answer)))
}

/// An upload of the caller's namespace that has not expired.
async fn live_upload(state: &AppState, c: &Caller, id: &str) -> ApiResult<uploads::Upload> {
    let upload = uploads::get(&state.db, id)
        .await?
        .filter(|u| u.namespace_id == c.namespace_id)
        .ok_or(ApiError::NotFound("upload"))?;
    if upload.expires_at < now_ms() {
        return Err(ApiError::UploadExpired);
    }
    Ok(upload)
}

/// What a resuming client still has to send, with fresh URLs.
#[utoipa::path(get, path = "/api/v1/uploads/{id}", tag = "files", security(("bearer" = [])),
    params(("id" = String, Path, description = "The upload id")),
    responses(
        (status = 200, description = "What is still missing, with fresh URLs (resume)", body = wire::UploadResponse),
        (status = 404, description = "No such upload", body = wire::ErrorBody),
        (status = 410, description = "The upload expired", body = wire::ErrorBody),
    ))]
pub async fn get_upload(
    State(state): State<AppState>,
    Auth(c): Auth,
    Path(id): Path<String>,
) -> ApiResult<Json<UploadResponse>> {
    let upload = live_upload(&state, &c, &id).await?;
    // S3: chunks PUT since the last answer are verified now, so they are not asked for again.
    promote::settle(&state, &upload, false).await?;
    Ok(Json(answer(&state, &upload).await?))
}

#[utoipa::path(post, path = "/api/v1/commits", tag = "files", security(("bearer" = [])),
    request_body = wire::CommitRequest,
    responses(
        (status = 200, description = "Committed (or unchanged, or a conflicted copy, or the first answer to a retry)", body = wire::CommitResponse),
        (status = 400, description = "Invalid name or idempotency key", body = wire::ErrorBody),
        (status = 404, description = "No such upload or folder", body = wire::ErrorBody),
        (status = 409, description = "Chunks missing, or the name is a folder", body = wire::ErrorBody),
        (status = 503, description = "`backoff`: the commit queue is full; retry after `Retry-After`", body = wire::ErrorBody),
    ))]
pub async fn commit(
    State(state): State<AppState>,
    Auth(c): Auth,
    Json(req): Json<CommitRequest>,
) -> ApiResult<Json<CommitResponse>> {
    let upload = match live_upload(&state, &c, &req.upload_id).await {
        Ok(u) => u,
        // A retry after a successful commit finds its session gone: answer from the record.
        Err(ApiError::NotFound(_)) => return replay(&state, &c, &req).await,
        Err(e) => return Err(e),
    };
    // S3: staged chunks are hashed and promoted before the commit may name them.
    promote::settle(&state, &upload, true).await?;
    // Through the group committer: one transaction (one fsync) for all commits waiting now.
    // Missing chunks are refused there (`gc::pin_chunks`, 409 `upload_incomplete`), where the
    // check also holds until the commit is durable; checking here too would only cost a query.
    Ok(Json(state.committer.commit(c, upload, req).await?))
}

async fn replay(
    state: &AppState,
    c: &Caller,
    req: &CommitRequest,
) -> ApiResult<Json<CommitResponse>> {
    let row = sqlx::query("SELECT response FROM idempotency WHERE device_id = $1 AND key = $2")
        .bind(c.device_id)
        .bind(&req.idempotency_key)
        .fetch_optional(&state.db.pool)
        .await?
        .ok_or(ApiError::NotFound("upload"))?;
    let stored: String = row.get(0);
    Ok(Json(
        serde_json::from_str(&stored).map_err(|e| ApiError::Internal(e.into()))?,
    ))
}

#[utoipa::path(get, path = "/api/v1/nodes/{id}/download", tag = "files", security(("bearer" = [])),
    params(("id" = i64, Path, description = "A file id")),
    responses(
        (status = 200, description = "Manifest and a signed GET URL per distinct chunk", body = wire::DownloadResponse),
        (status = 400, description = "Not a file", body = wire::ErrorBody),
        (status = 404, description = "No such node", body = wire::ErrorBody),
    ))]
pub async fn download(
    State(state): State<AppState>,
    Auth(c): Auth,
    Path(id): Path<i64>,
) -> ApiResult<Json<DownloadResponse>> {
    let node = visible_node(&state, &c, id).await?;
    let version_id = match (node.kind, node.version_id) {
        (NodeKind::File, Some(v)) => v,
        _ => return Err(ApiError::BadRequest("only files can be downloaded".into())),
    };
    let row = sqlx::query("SELECT chunker, size, content_hash FROM versions WHERE id = $1")
        .bind(version_id)
        .fetch_one(&state.db.pool)
        .await?;
    let chunk_list = chunks::version_chunks(&state.db.pool, version_id).await?;
    let hash: String = row.get(2);
    let manifest = Manifest {
        chunker: row.get(0),
        size: row.get::<i64, _>(1) as u64,
        hash: hash
            .parse()
            .map_err(|_| ApiError::Internal(anyhow::anyhow!("bad stored hash")))?,
        chunks: chunk_list,
    };
    let ttl = state.settings.url_ttl;
    let mut seen = HashSet::new();
    let mut chunks = Vec::new();
    for c in manifest.chunks.iter().filter(|c| seen.insert(c.hash)) {
        chunks.push(ChunkTarget {
            hash: c.hash,
            size: c.size,
            url: state.blobs.get_url(&c.hash, ttl).await?,
        });
    }
    Ok(Json(DownloadResponse {
        node,
        manifest,
        chunks,
    }))
}
