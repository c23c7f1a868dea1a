//! The upload protocol (manifest → missing chunks with signed PUT URLs → commit) and the
//! download manifest (chunks with signed GET URLs). Bytes never pass through these handlers.

use std::collections::HashSet;

use axum::extract::State;
use axum::http::StatusCode;
use wire::{
    ChunkTarget, CommitRequest, CommitResponse, CreateUploadRequest, DownloadResponse, Hash,
    Manifest, NodeKind, Role, UploadResponse,
};

use crate::access;
use crate::auth::Auth;
use crate::blob::promote;
use crate::db::users::Caller;
use crate::db::{chunks, commit as db_commit, manifest_drafts, nodes, uploads, usage, versions};
use crate::error::{ApiError, ApiResult};
use crate::extract::{Json, Path};
use crate::gc;
use crate::state::AppState;

/// The distinct chunks of `manifest`, in file order.
fn distinct_chunks(manifest: &Manifest) -> Vec<(Hash, u32)> {
    let mut seen = HashSet::new();
    manifest
        .chunks
        .iter()
        .filter(|c| seen.insert(c.hash))
        .map(|c| (c.hash, c.size))
        .collect()
}

/// The distinct chunks of `manifest` the namespace cannot use yet (read in `exec`), in file
/// order. A chunk it can use but that the manifest lists at another size than the stored one
/// refuses the manifest: its bytes would be charged, listed and served wrongly.
async fn missing(
    conn: &mut sqlx::AnyConnection,
    namespace_id: i64,
    manifest: &Manifest,
) -> ApiResult<Vec<(Hash, u32)>> {
    let unique = distinct_chunks(manifest);
    let hashes: Vec<Hash> = unique.iter().map(|(h, _)| *h).collect();
    let have = chunks::readable(conn, namespace_id, &hashes).await?;
    if let Some((hash, declared, size)) = chunks::size_mismatch(&manifest.chunks, &have) {
        return Err(ApiError::InvalidManifest(format!(
            "chunk {hash} is {size} bytes, not {declared}"
        )));
    }
    Ok(unique
        .into_iter()
        .filter(|(h, _)| !have.contains_key(h))
        .collect())
}

/// The answer a client works from: the chunks still to send, each with a signed PUT URL.
async fn answer(
    state: &AppState,
    upload: &uploads::Upload,
    missing: Vec<(Hash, u32)>,
) -> ApiResult<UploadResponse> {
    let ttl = state.settings.url_ttl;
    let mut targets = Vec::with_capacity(missing.len());
    for (hash, size) in missing {
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
        sent_every: crate::blob::early::sent_every(state),
    })
}

/// Bytes of `chunks`, for `staged_bytes`.
fn bytes_of(chunks: &[(Hash, u32)]) -> i64 {
    chunks.iter().map(|(_, s)| i64::from(*s)).sum()
}

#[utoipa::path(post, path = "/api/v1/uploads", tag = "files", security(("bearer" = [])),
    request_body = wire::CreateUploadRequest,
    responses(
        (status = 201, description = "Upload session with the chunks still to send and their signed PUT URLs; their bytes are reserved against the quota until the upload is committed, cancelled or expires. From a draft (`manifest_id`), the draft is used up in the same transaction", body = wire::UploadResponse),
        (status = 400, description = "`invalid_manifest`: the manifest (inline, or put together from the draft's parts) is malformed, or lists a chunk the caller stores at another size; `bad_request`: neither or both of `manifest` and `manifest_id`", body = wire::ErrorBody),
        (status = 401, description = "Not signed in", body = wire::ErrorBody),
        (status = 404, description = "`not_found`: no such manifest draft (or not the caller's, or used up by another upload)", body = wire::ErrorBody),
        (status = 409, description = "`too_many_uploads`: the account has as many unfinished uploads open as it may; commit or cancel some. `manifest_incomplete`: a part of the draft was never sent (the message names the first one)", body = wire::ErrorBody),
        (status = 410, description = "`upload_expired`: the manifest draft expired", body = wire::ErrorBody),
        (status = 507, description = "`quota_exceeded`: the chunks to send do not fit in the quota, even without old versions", body = wire::ErrorBody),
    ))]
pub async fn create_upload(
    State(state): State<AppState>,
    Auth(c): Auth,
    Json(req): Json<CreateUploadRequest>,
) -> ApiResult<(StatusCode, Json<UploadResponse>)> {
    let mut opened = match (req.manifest, req.manifest_id) {
        (Some(manifest), None) => open(&state, &c, vec![manifest], false).await?,
        (None, Some(id)) => {
            let manifest = super::manifests::assemble(&state, &c, &id).await?;
            open_with(&state, &c, vec![manifest], false, Some(&id)).await?
        }
        _ => return Err(ApiError::BadParameter(ONE_OF.to_owned())),
    };
    Ok((StatusCode::CREATED, Json(opened.remove(0))))
}

const ONE_OF: &str = "send the manifest as `manifest` or, sent in parts, name its draft as `manifest_id`: one of the two";

/// The inline manifests of a batch start: a draft is opened alone (`POST /api/v1/uploads`), so
/// one batch never puts together many drafts of up to a million chunks each.
pub(super) fn inline_manifests(reqs: Vec<CreateUploadRequest>) -> ApiResult<Vec<Manifest>> {
    reqs.into_iter()
        .enumerate()
        .map(|(i, r)| match (r.manifest, r.manifest_id) {
            (Some(m), None) => Ok(m),
            (None, Some(_)) => Err(ApiError::BadParameter(format!(
                "uploads[{i}]: a manifest sent in parts opens its upload alone, at POST /api/v1/uploads"
            ))),
            _ => Err(ApiError::BadParameter(format!("uploads[{i}]: {ONE_OF}"))),
        })
        .collect()
}

/// Opens an upload session per manifest, all in one transaction: every one or none (a batch
/// refused for one manifest names it by its place, `uploads[i]`).
pub(super) async fn open(
    state: &AppState,
    c: &Caller,
    manifests: Vec<Manifest>,
    batch: bool,
) -> ApiResult<Vec<UploadResponse>> {
    open_with(state, c, manifests, batch, None).await
}

/// [`open`], using up the manifest draft `draft` (the manifests' source) in the transaction
/// that opens the uploads: an upload opened from a draft leaves no draft behind, and a draft
/// opens one upload at most.
async fn open_with(
    state: &AppState,
    c: &Caller,
    manifests: Vec<Manifest>,
    batch: bool,
    draft: Option<&str>,
) -> ApiResult<Vec<UploadResponse>> {
    let place = |i: usize, e: ApiError| match e {
        ApiError::InvalidManifest(m) if batch => {
            ApiError::InvalidManifest(format!("uploads[{i}]: {m}"))
        }
        other => other,
    };
    for (i, m) in manifests.iter().enumerate() {
        m.validate()
            .map_err(|e| place(i, ApiError::InvalidManifest(e.to_string())))?;
    }
    let now = state.clock.now_ms();
    let mut w = state.db.write().await?;
    nodes::lock_namespace(&mut w.tx, c.namespace_id).await?;
    let limit = state.settings.max_open_uploads;
    let open = uploads::open_count(&mut w.tx, c.namespace_id, now).await?;
    if open + manifests.len() as i64 > limit as i64 {
        return Err(ApiError::TooManyUploads(limit));
    }
    if let Some(id) = draft {
        if !manifest_drafts::take(&mut w.tx, id).await? {
            return Err(ApiError::NotFound("manifest draft"));
        }
    }
    let mut opened = Vec::with_capacity(manifests.len());
    for (i, manifest) in manifests.into_iter().enumerate() {
        let mut upload = uploads::Upload {
            id: uploads::new_id(),
            namespace_id: c.namespace_id,
            device_id: c.device_id,
            manifest,
            expires_at: now + state.settings.upload_ttl.as_millis() as i64,
            reserved_bytes: 0,
        };
        let missing = missing(&mut w.tx, c.namespace_id, &upload.manifest)
            .await
            .map_err(|e| place(i, e))?;
        upload.reserved_bytes = bytes_of(&missing);
        let reserve = usage::Delta {
            staged: upload.reserved_bytes,
            ..Default::default()
        };
        usage::charge_making_room(&mut w.tx, c.namespace_id, reserve, c.home_room()).await?;
        uploads::insert(&mut w.tx, &upload, &missing).await?;
        opened.push((upload, missing));
    }
    w.commit().await?;
    let mut answers = Vec::with_capacity(opened.len());
    for (upload, missing) in opened {
        let answer = answer(state, &upload, missing).await?;
        tracing::info!(upload_id = %upload.id, chunks = upload.manifest.chunks.len(), missing = answer.missing.len(), reserved = upload.reserved_bytes, "upload started");
        answers.push(answer);
    }
    Ok(answers)
}

/// An upload of the caller's namespace that has not expired.
async fn live_upload(state: &AppState, c: &Caller, id: &str) -> ApiResult<uploads::Upload> {
    let upload = access::upload(&state.db, c, id).await?;
    if upload.expires_at < state.clock.now_ms() {
        return Err(ApiError::UploadExpired);
    }
    Ok(upload)
}

/// What a resuming client still has to send, with fresh URLs.
#[utoipa::path(get, path = "/api/v1/uploads/{id}", tag = "files", security(("bearer" = [])),
    params(("id" = String, Path, description = "The upload id")),
    responses(
        (status = 200, description = "What is still missing, with fresh URLs (resume)", body = wire::UploadResponse),
        (status = 400, description = "`invalid_manifest`: the upload lists a chunk the caller stores at another size", body = wire::ErrorBody),
        (status = 401, description = "Not signed in", body = wire::ErrorBody),
        (status = 404, description = "No such upload", body = wire::ErrorBody),
        (status = 410, description = "The upload expired", body = wire::ErrorBody),
        (status = 507, description = "`quota_exceeded`: chunks lost since the upload began must be sent again and do not fit", body = wire::ErrorBody),
    ))]
pub async fn get_upload(
    State(state): State<AppState>,
    Auth(c): Auth,
    Path(id): Path<String>,
) -> ApiResult<Json<UploadResponse>> {
    let upload = live_upload(&state, &c, &id).await?;
    // S3: chunks PUT since the last answer are verified now, so they are not asked for again.
    promote::settle(&state, &upload, false).await?;
    let missing = {
        let mut conn = state.db.pool.acquire().await?;
        missing(&mut conn, c.namespace_id, &upload.manifest).await?
    };
    // A chunk the namespace could use when the upload began but has lost since (the file
    // that held it was purged and the chunk collected) must be sent after all: it is reserved
    // now, like the rest were at the start.
    let may_send = uploads::chunk_hashes(&state.db, &upload.id).await?;
    let more: Vec<(Hash, u32)> = missing
        .iter()
        .filter(|(h, _)| !may_send.contains(h))
        .copied()
        .collect();
    if !more.is_empty() {
        let mut w = state.db.write().await?;
        nodes::lock_namespace(&mut w.tx, c.namespace_id).await?;
        if uploads::reserved(&mut w.tx, &upload.id).await?.is_none() {
            return Err(ApiError::NotFound("upload"));
        }
        let reserve = usage::Delta {
            staged: bytes_of(&more),
            ..Default::default()
        };
        usage::charge_making_room(&mut w.tx, c.namespace_id, reserve, c.home_room()).await?;
        uploads::add_chunks(&mut w.tx, &upload.id, &more).await?;
        w.commit().await?;
    }
    Ok(Json(answer(&state, &upload, missing).await?))
}

/// Hashes one `sent` call takes.
const MAX_SENT: usize = 1000;

/// The client's word that it has PUT these chunks: on S3 the server checks and promotes them
/// in the background while the rest are sent, so the commit does not wait for all of them
/// (`blob::early`). Nothing is trusted from it: a chunk not really there is simply still
/// missing, and the commit checks whatever was not named.
#[utoipa::path(post, path = "/api/v1/uploads/{id}/sent", tag = "files", security(("bearer" = [])),
    params(("id" = String, Path, description = "The upload id")),
    request_body = wire::SentRequest,
    responses(
        (status = 202, description = "The chunks will be checked"),
        (status = 400, description = "`bad_request`: more than 1,000 hashes, or one not in the upload's manifest; `bad_json`", body = wire::ErrorBody),
        (status = 401, description = "Not signed in", body = wire::ErrorBody),
        (status = 404, description = "No such upload", body = wire::ErrorBody),
        (status = 410, description = "The upload expired", body = wire::ErrorBody),
    ))]
pub async fn upload_sent(
    State(state): State<AppState>,
    Auth(c): Auth,
    Path(id): Path<String>,
    Json(req): Json<wire::SentRequest>,
) -> ApiResult<StatusCode> {
    if req.hashes.len() > MAX_SENT {
        return Err(ApiError::OutOfRange(format!(
            "at most {MAX_SENT} hashes per call"
        )));
    }
    let upload = live_upload(&state, &c, &id).await?;
    let listed: HashSet<Hash> = upload.manifest.chunks.iter().map(|c| c.hash).collect();
    let hashes: HashSet<Hash> = req.hashes.into_iter().collect();
    if let Some(h) = hashes.iter().find(|h| !listed.contains(h)) {
        return Err(ApiError::BadParameter(format!(
            "chunk {h} is not in this upload"
        )));
    }
    crate::blob::early::spawn(&state, upload, hashes);
    Ok(StatusCode::ACCEPTED)
}

/// Cancelling gives the upload's reservation back at once and drops what it staged; chunks it
/// sent that nothing else uses are collected later.
#[utoipa::path(delete, path = "/api/v1/uploads/{id}", tag = "files", security(("bearer" = [])),
    params(("id" = String, Path, description = "The upload id")),
    responses(
        (status = 204, description = "Cancelled"),
        (status = 401, description = "Not signed in", body = wire::ErrorBody),
        (status = 404, description = "No such upload (or already committed, cancelled or expired)", body = wire::ErrorBody),
    ))]
pub async fn cancel_upload(
    State(state): State<AppState>,
    Auth(c): Auth,
    Path(id): Path<String>,
) -> ApiResult<StatusCode> {
    access::upload(&state.db, &c, &id).await?;
    if !gc::end_upload(&state.db, c.namespace_id, &id, None).await? {
        return Err(ApiError::NotFound("upload"));
    }
    state.early.forget(&id);
    state.blobs.drop_staging(&id).await?;
    tracing::info!(upload_id = %id, "upload cancelled");
    Ok(StatusCode::NO_CONTENT)
}

#[utoipa::path(post, path = "/api/v1/commits", tag = "files", security(("bearer" = [])),
    request_body = wire::CommitRequest,
    responses(
        (status = 403, description = "`role_too_low`: the caller only views this shared folder", body = wire::ErrorBody),
        (status = 200, description = "Committed (or unchanged, or a conflicted copy, or the first answer to a retry)", body = wire::CommitResponse),
        (status = 400, description = "Invalid name, idempotency key or (`bad_request`) `content_type`, or (`invalid_manifest`) a chunk listed at another size than the stored one", body = wire::ErrorBody),
        (status = 401, description = "Not signed in", body = wire::ErrorBody),
        (status = 404, description = "`not_found`: no such upload; `folder_gone`: the folder was deleted or is no longer shared with the caller (commit into the home root to keep the edit)", body = wire::ErrorBody),
        (status = 409, description = "`upload_incomplete`: chunks missing (a name held by a folder is no refusal: the file is kept beside it as a conflicted copy)", body = wire::ErrorBody),
        (status = 410, description = "`upload_expired`: the upload expired or was cancelled", body = wire::ErrorBody),
        (status = 503, description = "`backoff`: the commit queue is full; retry after `Retry-After`", body = wire::ErrorBody),
        (status = 507, description = "`quota_exceeded`: the file does not fit in the quota, even without old versions", body = wire::ErrorBody),
    ))]
pub async fn commit(
    State(state): State<AppState>,
    Auth(c): Auth,
    Json(req): Json<CommitRequest>,
) -> ApiResult<Json<CommitResponse>> {
    Ok(Json(commit_one(&state, c, req).await?))
}

/// One commit, alone or as an item of a batch.
pub(super) async fn commit_one(
    state: &AppState,
    c: Caller,
    req: CommitRequest,
) -> ApiResult<CommitResponse> {
    let (upload, folder) =
        match access::upload_and_folder(&state.db, &c, &req.upload_id, req.parent_id).await {
            Ok(found) => found,
            // A retry after a successful commit finds its session gone: answer from the record.
            Err(ApiError::NotFound(_)) => return replay(state, &c, &req).await,
            Err(e) => return Err(e),
        };
    if upload.expires_at < state.clock.now_ms() {
        return Err(ApiError::UploadExpired);
    }
    // The folder's namespace: the caller's home, or a shared folder they edit.
    let target = access::commit_target(&state.db, &c, folder, state.settings.quota_bytes).await?;
    // S3: staged chunks are hashed and promoted before the commit may name them.
    promote::settle(state, &upload, true).await?;
    // Through the group committer: one transaction (one fsync) for all commits waiting now.
    // Missing chunks are refused there (`commit::rules::check_chunks`, 409 `upload_incomplete`), where the
    // check also holds until the commit is durable; checking here too would only cost a query.
    let id = upload.id.clone();
    let done = state.committer.commit(c, upload, req, target).await?;
    state.early.forget(&id);
    Ok(done)
}

async fn replay(state: &AppState, c: &Caller, req: &CommitRequest) -> ApiResult<CommitResponse> {
    let answer = db_commit::replayed(&state.db.pool, c.device_id, &req.idempotency_key).await?;
    answer.ok_or(ApiError::NotFound("upload"))
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
    let node = access::node(&state.db, &c, id, Role::Viewer).await?;
    let version_id = match (node.kind, node.version_id) {
        (NodeKind::File, Some(v)) => v,
        _ => return Err(ApiError::WrongKind("only files can be downloaded")),
    };
    let manifest = versions::stored(&state.db, version_id).await?.manifest;
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
