//! File requests: anyone holding an upload-only link drops files (and folders of them) into
//! the owner's chosen folder, through the same chunked, resumable upload as the app, without
//! seeing anything there. Three rules make it safe:
//!
//! - Its own dedup scope: every chunk of the manifest is asked for, and a chunk counts as sent
//!   only when this upload's own bytes for it arrived (`upload_chunks.received`), so neither
//!   the answers nor the commit tell the uploader what the owner (or anyone) stores.
//! - Nothing is overwritten: a taken name lands as `name (from <uploader>)`, then `… 2`; the
//!   commit is based on no version, so a race ends as a conflicted copy, never a replacement.
//! - The owner pays and sees: the reservation and the file count against the owner's quota,
//!   and the commit goes through the owner's change log, so their devices hear of it (SSE).

use axum::extract::State;
use axum::http::{HeaderMap, StatusCode};
use wire::links::{LinkKind, RequestCommit, RequestLanded, RequestUpload};
use wire::{ChunkTarget, CommitRequest, Hash, NodeKind, Role, UploadResponse};

use crate::abuse::ClientIp;
use crate::access;
use crate::blob::promote;
use crate::db::users::Caller;
use crate::db::{changes, links as db_links, nodes, requests, uploads, usage};
use crate::error::{ApiError, ApiResult};
use crate::extract::{Json, Path};
use crate::links::{self, Share};
use crate::names;
use crate::routes::public::open_link;
use crate::state::AppState;

fn check_uploader(raw: &str) -> ApiResult<String> {
    let u = raw.trim();
    if u.is_empty() || u.chars().count() > 64 || u.chars().any(|c| c.is_control() || c == '/') {
        return Err(ApiError::InvalidUploader);
    }
    Ok(u.to_owned())
}

/// The folder names of `path`, each checked like any name.
fn folder_names(path: &str) -> ApiResult<Vec<names::Name>> {
    let path = path.trim_matches('/');
    if path.is_empty() {
        return Ok(Vec::new());
    }
    path.split('/').map(names::check).collect()
}

async fn open_request(
    state: &AppState,
    token: &str,
    headers: &HeaderMap,
    ip: ClientIp,
) -> ApiResult<Share> {
    let share = open_link(state, token, headers, None, ip).await?;
    links::require(&share, LinkKind::Request)?;
    Ok(share)
}

/// The owner, writing through the link's own device.
async fn owner(state: &AppState, share: &Share) -> ApiResult<Caller> {
    let device = requests::device(&state.db, share.link.id, share.link.owner_id).await?;
    let c = requests::caller(
        &state.db,
        share.link.owner_id,
        device,
        state.settings.quota_bytes,
    )
    .await?
    .ok_or(ApiError::LinkGone("its owner is gone"))?;
    Ok(c)
}

/// Refuses what would take the link past its size limit.
async fn fits(state: &AppState, share: &Share, more: u64) -> ApiResult<()> {
    if let Some(max) = share.link.max_bytes {
        let landed = requests::landed_bytes(&state.db, share.link.id).await?;
        if landed.saturating_add(more) > max.max(0) as u64 {
            return Err(ApiError::RequestTooLarge);
        }
    }
    Ok(())
}

async fn answer(
    state: &AppState,
    upload_id: &str,
    expires_at: i64,
    todo: Vec<(Hash, u32)>,
) -> ApiResult<UploadResponse> {
    let mut missing = Vec::with_capacity(todo.len());
    for (hash, size) in todo {
        missing.push(ChunkTarget {
            url: state
                .blobs
                .put_url(upload_id, &hash, size, state.settings.url_ttl)
                .await?,
            hash,
            size,
        });
    }
    Ok(UploadResponse {
        upload_id: upload_id.to_owned(),
        missing,
        expires_at,
        // A drop page has no session to name chunks with; its commit checks them.
        sent_every: None,
    })
}

#[utoipa::path(post, path = "/api/v1/public/{token}/uploads", tag = "public", params(("token" = String, Path, description = "The file request's token")), request_body = wire::links::RequestUpload,
    responses(
        (status = 201, description = "Every chunk of the file, each with a signed PUT URL (a file request is its own dedup scope)", body = wire::UploadResponse),
        (status = 400, description = "`invalid_manifest`, `invalid_name` (the file or a folder of `path`), or `bad_request` (no uploader name)", body = wire::ErrorBody),
        (status = 401, description = "`password_required`", body = wire::ErrorBody),
        (status = 403, description = "`wrong_password`", body = wire::ErrorBody),
        (status = 404, description = "`not_found`: no such file request", body = wire::ErrorBody),
        (status = 409, description = "`too_many_uploads`: the owner has as many uploads open as they may", body = wire::ErrorBody),
        (status = 410, description = "`request_closed` (past its deadline) or `link_gone` (revoked, or its folder deleted)", body = wire::ErrorBody),
        (status = 413, description = "`request_too_large`: the file would pass the request's size limit", body = wire::ErrorBody),
        (status = 429, description = "`rate_limited`: see `Retry-After`", body = wire::ErrorBody),
        (status = 503, description = "`backoff`: too many password hashes at once", body = wire::ErrorBody),
        (status = 507, description = "`quota_exceeded`: the owner's storage is full", body = wire::ErrorBody),
    ))]
pub async fn start(
    State(state): State<AppState>,
    ip: ClientIp,
    Path(token): Path<String>,
    headers: HeaderMap,
    Json(req): Json<RequestUpload>,
) -> ApiResult<(StatusCode, Json<UploadResponse>)> {
    let share = open_request(&state, &token, &headers, ip).await?;
    req.manifest
        .validate()
        .map_err(|e| ApiError::InvalidManifest(e.to_string()))?;
    let name = names::check(&req.name)?;
    let folders = folder_names(&req.path)?;
    let uploader = check_uploader(&req.uploader)?;
    fits(&state, &share, req.manifest.size).await?;
    let c = owner(&state, &share).await?;
    let mut seen = std::collections::HashSet::new();
    let all: Vec<(Hash, u32)> = req
        .manifest
        .chunks
        .iter()
        .filter(|ch| seen.insert(ch.hash))
        .map(|ch| (ch.hash, ch.size))
        .collect();
    let now = state.clock.now_ms();
    let size = req.manifest.size;
    let upload = uploads::Upload {
        id: uploads::new_id(),
        namespace_id: c.namespace_id,
        device_id: c.device_id,
        manifest: req.manifest,
        expires_at: now + state.settings.upload_ttl.as_millis() as i64,
        reserved_bytes: all.iter().map(|(_, s)| i64::from(*s)).sum(),
    };
    let mut w = state.db.write().await?;
    nodes::lock_namespace(&mut w.tx, c.namespace_id).await?;
    let limit = state.settings.max_open_uploads;
    if uploads::open_count(&mut w.tx, c.namespace_id, now).await? >= limit as i64 {
        return Err(ApiError::TooManyUploads(limit));
    }
    let reserve = usage::Delta {
        staged: upload.reserved_bytes,
        ..Default::default()
    };
    usage::charge_making_room(&mut w.tx, c.namespace_id, reserve, c.home_room()).await?;
    uploads::insert(&mut w.tx, &upload, &all).await?;
    let path = folders
        .iter()
        .map(|n| n.display.as_str())
        .collect::<Vec<_>>()
        .join("/");
    requests::insert(
        &mut w.tx,
        &upload.id,
        &requests::RequestUpload {
            link_id: share.link.id,
            uploader,
            name: name.display,
            path: path.clone(),
            size,
        },
    )
    .await?;
    w.commit().await?;
    links::log(&state, &share, "upload", &path, "started").await;
    let a = answer(&state, &upload.id, upload.expires_at, all).await?;
    Ok((StatusCode::CREATED, Json(a)))
}

/// An upload of this link that has not expired, with what its uploader asked for.
async fn own_upload(
    state: &AppState,
    share: &Share,
    id: &str,
) -> ApiResult<(uploads::Upload, requests::RequestUpload)> {
    let r = requests::get(&state.db, id)
        .await?
        .filter(|r| r.link_id == share.link.id)
        .ok_or(ApiError::NotFound("upload"))?;
    let upload = uploads::get(&state.db, id)
        .await?
        .ok_or(ApiError::NotFound("upload"))?;
    if upload.expires_at < state.clock.now_ms() {
        return Err(ApiError::UploadExpired);
    }
    Ok((upload, r))
}

#[utoipa::path(get, path = "/api/v1/public/{token}/uploads/{id}", tag = "public", params(("token" = String, Path, description = "The file request's token"), ("id" = String, Path, description = "The upload id")),
    responses(
        (status = 200, description = "The chunks this upload has not delivered yet, with fresh URLs (resume after a reload)", body = wire::UploadResponse),
        (status = 401, description = "`password_required`", body = wire::ErrorBody),
        (status = 403, description = "`wrong_password`", body = wire::ErrorBody),
        (status = 404, description = "`not_found`: no such file request, or no such upload through it", body = wire::ErrorBody),
        (status = 410, description = "`upload_expired`, `request_closed` or `link_gone`", body = wire::ErrorBody),
        (status = 429, description = "`rate_limited`: see `Retry-After`", body = wire::ErrorBody),
        (status = 503, description = "`backoff`: too many password hashes at once", body = wire::ErrorBody),
    ))]
pub async fn resume(
    State(state): State<AppState>,
    ip: ClientIp,
    Path((token, id)): Path<(String, String)>,
    headers: HeaderMap,
) -> ApiResult<Json<UploadResponse>> {
    let share = open_request(&state, &token, &headers, ip).await?;
    let (upload, _) = own_upload(&state, &share, &id).await?;
    promote::settle(&state, &upload, false).await?;
    let todo = requests::outstanding(&state.db, &upload.id).await?;
    Ok(Json(
        answer(&state, &upload.id, upload.expires_at, todo).await?,
    ))
}

/// The folder `names` under `root`, made as needed inside one transaction (a file of the same
/// name is left alone: the folder then takes the uploader's tag).
async fn folder_for(
    state: &AppState,
    c: &Caller,
    (root, ns): (i64, i64),
    names_: &[names::Name],
    tag: &str,
) -> ApiResult<i64> {
    if names_.is_empty() {
        return Ok(root);
    }
    let mut w = state.db.write().await?;
    nodes::lock_namespace(&mut w.tx, ns).await?;
    let mut at = root;
    let mut depth = nodes::depth(&mut w.tx, root, names::MAX_FOLDER_DEPTH + 1).await?;
    for name in names_ {
        match nodes::child_by_name(&mut w.tx, at, name).await? {
            Some(n) if n.node.kind == NodeKind::Folder => at = n.node.id,
            taken => {
                depth += 1;
                if depth > names::MAX_FOLDER_DEPTH {
                    return Err(ApiError::TooDeep(depth));
                }
                let free = if taken.is_some() {
                    nodes::free_name(&mut w.tx, at, &name.display, tag, false).await?
                } else {
                    name.clone()
                };
                let id = nodes::insert(&mut w.tx, ns, at, &free, NodeKind::Folder).await?;
                changes::log(&mut w.tx, ns, id, "create", Some(c.device_id)).await?;
                at = id;
            }
        }
    }
    w.commit().await?;
    Ok(at)
}

#[utoipa::path(post, path = "/api/v1/public/{token}/commit", tag = "public", params(("token" = String, Path, description = "The file request's token")), request_body = wire::links::RequestCommit,
    responses(
        (status = 200, description = "The file landed in the owner's folder (renamed `name (from <uploader>)` if the name was taken)", body = wire::links::RequestLanded),
        (status = 400, description = "`too_deep`: its folders would lie too deep; `bad_request`: a malformed `content_type`", body = wire::ErrorBody),
        (status = 401, description = "`password_required`", body = wire::ErrorBody),
        (status = 403, description = "`wrong_password`", body = wire::ErrorBody),
        (status = 404, description = "`not_found`: no such file request, or no such upload through it", body = wire::ErrorBody),
        (status = 409, description = "`upload_incomplete`: some chunks were never sent", body = wire::ErrorBody),
        (status = 410, description = "`upload_expired`, `request_closed` or `link_gone`", body = wire::ErrorBody),
        (status = 413, description = "`request_too_large`: the request's size limit was reached meanwhile", body = wire::ErrorBody),
        (status = 429, description = "`rate_limited`: see `Retry-After`", body = wire::ErrorBody),
        (status = 503, description = "`backoff`: the commit queue is full, or too many password hashes at once", body = wire::ErrorBody),
        (status = 507, description = "`quota_exceeded`: the owner's storage is full", body = wire::ErrorBody),
    ))]
pub async fn commit(
    State(state): State<AppState>,
    ip: ClientIp,
    Path(token): Path<String>,
    headers: HeaderMap,
    Json(req): Json<RequestCommit>,
) -> ApiResult<Json<RequestLanded>> {
    let share = open_request(&state, &token, &headers, ip).await?;
    // Refused before anything is written (the commit checks it again).
    if let Some(t) = &req.content_type {
        crate::mime::normalise(t).map_err(ApiError::BadParameter)?;
    }
    let (upload, r) = own_upload(&state, &share, &req.upload_id).await?;
    promote::settle(&state, &upload, true).await?;
    let outstanding = requests::outstanding(&state.db, &upload.id).await?;
    if !outstanding.is_empty() {
        return Err(ApiError::UploadIncomplete(outstanding.len()));
    }
    fits(&state, &share, r.size).await?;
    let c = owner(&state, &share).await?;
    let tag = format!("from {}", r.uploader);
    // Where the link's folder lives now (the owner's home, a folder they shared since, or one
    // an editor moved it into), if the link's owner may still write there.
    let ns = access::namespace_for(&state.db, &c, share.root.node.id, Role::Editor).await?;
    let folder = folder_for(
        &state,
        &c,
        (share.root.node.id, ns),
        &folder_names(&r.path)?,
        &tag,
    )
    .await?;
    let name = {
        let mut w = state.db.write().await?;
        let n = nodes::free_name(&mut w.tx, folder, &r.name, &tag, true).await?;
        w.rollback().await?;
        n
    };
    // Into the tree the link's folder lives in, charged to that tree's owner.
    let target = access::commit_target(
        &state.db,
        &c,
        Some((ns, Some(Role::Editor))),
        state.settings.quota_bytes,
    )
    .await?;
    let done = state
        .committer
        .commit(
            c,
            upload,
            CommitRequest {
                upload_id: req.upload_id.clone(),
                parent_id: folder,
                name: name.display.clone(),
                base_version: None,
                idempotency_key: req.upload_id,
                content_type: req.content_type,
            },
            target,
        )
        .await?;
    db_links::add_served(&state.db, share.link.id, done.version_id, r.size).await?;
    links::log(&state, &share, "upload", &r.path, "ok").await;
    Ok(Json(RequestLanded {
        name: done.node.name,
        path: r.path,
        size: r.size,
    }))
}
