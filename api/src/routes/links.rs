//! The owner's side of share links: make one (the only answer that shows its token), list,
//! change, revoke, and read its access log. Only the link's owner ever sees or touches it; to
//! anyone else a link id is 404, so ids say nothing.

use axum::extract::State;
use axum::http::StatusCode;
use serde::Deserialize;
use wire::links::{
    AccessLog, CreateLink, LinkCreated, LinkInfo, LinkKind, LinkList, LinkState, UpdateLink,
};
use wire::{NodeKind, Role};

use crate::access;
use crate::auth::{self, Auth};
use crate::db::links::{self as db_links, Link, NewLink};
use crate::db::users::Caller;
use crate::error::{ApiError, ApiResult};
use crate::extract::{Json, Path, Query};
use crate::links::token;
use crate::state::AppState;

/// How an owner's link looks now.
pub async fn info(state: &AppState, l: &Link) -> ApiResult<LinkInfo> {
    let (name, folder, version, size, live) = db_links::target(&state.db, l.node_id)
        .await?
        .unwrap_or_default();
    let now = state.clock.now_ms();
    let served_total = db_links::served_total(&state.db, l.id).await?;
    let version = l.pinned_version_id.or(version);
    let served_now = match version {
        Some(v) if !folder => db_links::served(&state.db, l.id, v).await?,
        _ => 0,
    };
    let exhausted = !folder
        && size > 0
        && l.kind == LinkKind::Download
        && l.max_downloads
            .is_some_and(|n| served_now >= n.max(0) as u64 * size);
    let state_now = if l.revoked_at.is_some() {
        LinkState::Revoked
    } else if l.expires_at.is_some_and(|t| t <= now) {
        LinkState::Expired
    } else if !live {
        LinkState::Gone
    } else if exhausted {
        LinkState::Exhausted
    } else {
        LinkState::Active
    };
    Ok(LinkInfo {
        id: l.id,
        node_id: l.node_id,
        name,
        node_kind: if folder {
            NodeKind::Folder
        } else {
            NodeKind::File
        },
        kind: l.kind,
        state: state_now,
        expires_at: l.expires_at,
        has_password: l.password_hash.is_some(),
        max_downloads: l.max_downloads.map(|n| n.clamp(0, u32::MAX as i64) as u32),
        max_bytes: l.max_bytes.map(|n| n.max(0) as u64),
        pinned_version_id: l.pinned_version_id,
        uses: l.uses.max(0) as u64,
        bytes_served: served_total,
        downloads: if folder || size == 0 {
            0.0
        } else {
            served_now as f64 / size as f64
        },
        last_used_at: l.last_used_at,
        created_at: l.created_at,
    })
}

fn check_expiry(state: &AppState, expires_at: Option<i64>) -> ApiResult<()> {
    match expires_at {
        Some(t) if t <= state.clock.now_ms() => Err(ApiError::InvalidLink(
            "the expiry must be in the future".into(),
        )),
        _ => Ok(()),
    }
}

async fn hash_link_password(state: &AppState, password: String) -> ApiResult<String> {
    if password.is_empty() {
        return Err(ApiError::InvalidLink(
            "a link password cannot be empty (leave it out for no password)".into(),
        ));
    }
    crate::routes::accounts::check_password_length(&password)?;
    auth::hash_password(&state.guards.hashes, password).await
}

fn check_limits(
    kind: LinkKind,
    max_downloads: Option<u32>,
    max_bytes: Option<u64>,
) -> ApiResult<()> {
    if max_downloads == Some(0) {
        return Err(ApiError::InvalidLink(
            "a download limit is at least 1".into(),
        ));
    }
    if max_bytes == Some(0) {
        return Err(ApiError::InvalidLink(
            "a size limit is at least 1 byte".into(),
        ));
    }
    match kind {
        LinkKind::Download if max_bytes.is_some() => Err(ApiError::InvalidLink(
            "max_bytes is for file requests; download links take max_downloads".into(),
        )),
        LinkKind::Request if max_downloads.is_some() => Err(ApiError::InvalidLink(
            "max_downloads is for download links; file requests take max_bytes".into(),
        )),
        _ => Ok(()),
    }
}

#[utoipa::path(post, path = "/api/v1/links", tag = "links", security(("bearer" = [])), request_body = wire::links::CreateLink,
    responses(
        (status = 403, description = "`role_too_low`: only the owner of a shared folder makes links to it", body = wire::ErrorBody),
        (status = 201, description = "The link, with its token: the only answer that ever shows it", body = wire::links::LinkCreated),
        (status = 400, description = "`bad_request`: expiry in the past, a limit of 0, an option of the other kind, a file request on a file, pinning a folder", body = wire::ErrorBody),
        (status = 404, description = "`not_found`: no such node in the caller's tree", body = wire::ErrorBody),
        (status = 503, description = "`backoff`: too many password hashes at once; see `Retry-After`", body = wire::ErrorBody),
    ))]
pub async fn create(
    State(state): State<AppState>,
    Auth(c): Auth,
    Json(req): Json<CreateLink>,
) -> ApiResult<(StatusCode, Json<LinkCreated>)> {
    let node = access::node(&state.db, &c, req.node_id, Role::Owner).await?;
    check_expiry(&state, req.expires_at)?;
    check_limits(req.kind, req.max_downloads, req.max_bytes)?;
    if req.kind == LinkKind::Request && node.kind != NodeKind::Folder {
        return Err(ApiError::InvalidLink(
            "a file request drops files into a folder; pick a folder".into(),
        ));
    }
    if req.pin_version && node.kind != NodeKind::File {
        return Err(ApiError::InvalidLink(
            "only a file link can pin a version".into(),
        ));
    }
    let password_hash = match req.password {
        Some(p) => Some(hash_link_password(&state, p).await?),
        None => None,
    };
    let token = token::new();
    let id = db_links::insert(
        &state.db,
        NewLink {
            token_hash: &token::hash(&token),
            owner_id: c.user_id,
            node_id: node.id,
            kind: req.kind,
            pinned_version_id: if req.pin_version {
                node.version_id
            } else {
                None
            },
            expires_at: req.expires_at,
            password_hash,
            max_downloads: req.max_downloads.map(i64::from),
            max_bytes: req.max_bytes.map(|b| b.min(i64::MAX as u64) as i64),
        },
    )
    .await?;
    let link = owned(&state, &c, id).await?;
    tracing::info!(link_id = id, node_id = node.id, "share link created");
    Ok((
        StatusCode::CREATED,
        Json(LinkCreated {
            link: info(&state, &link).await?,
            url: format!("/s/{token}"),
            token,
        }),
    ))
}

async fn owned(state: &AppState, c: &Caller, id: i64) -> ApiResult<Link> {
    db_links::owned(&state.db, c.user_id, id)
        .await?
        .ok_or(ApiError::NotFound("link"))
}

#[derive(Debug, Deserialize, utoipa::IntoParams)]
#[into_params(parameter_in = Query)]
pub struct ListQuery {
    /// Only the links to this node.
    pub node_id: Option<i64>,
}

#[utoipa::path(get, path = "/api/v1/links", tag = "links", security(("bearer" = [])), params(ListQuery),
    responses(
        (status = 200, description = "The caller's links, newest first (at most 1,000)", body = wire::links::LinkList),
        (status = 400, description = "`bad_request`: a malformed query", body = wire::ErrorBody),
    ))]
pub async fn list(
    State(state): State<AppState>,
    Auth(c): Auth,
    Query(q): Query<ListQuery>,
) -> ApiResult<Json<LinkList>> {
    let mut links = Vec::new();
    for l in db_links::list(&state.db, c.user_id, q.node_id).await? {
        links.push(info(&state, &l).await?);
    }
    Ok(Json(LinkList { links }))
}

#[utoipa::path(patch, path = "/api/v1/links/{id}", tag = "links", security(("bearer" = [])), params(("id" = i64, Path, description = "A link id")), request_body = wire::links::UpdateLink,
    responses(
        (status = 200, description = "The link as changed", body = wire::links::LinkInfo),
        (status = 400, description = "`bad_request`: expiry in the past, a limit of 0, an option of the other kind", body = wire::ErrorBody),
        (status = 404, description = "`not_found`: no such link of the caller's", body = wire::ErrorBody),
        (status = 503, description = "`backoff`: too many password hashes at once; see `Retry-After`", body = wire::ErrorBody),
    ))]
pub async fn update(
    State(state): State<AppState>,
    Auth(c): Auth,
    Path(id): Path<i64>,
    Json(req): Json<UpdateLink>,
) -> ApiResult<Json<LinkInfo>> {
    let mut l = owned(&state, &c, id).await?;
    if let Some(e) = req.expires_at {
        check_expiry(&state, e)?;
        l.expires_at = e;
    }
    check_limits(l.kind, req.max_downloads.flatten(), req.max_bytes.flatten())?;
    if let Some(m) = req.max_downloads {
        l.max_downloads = m.map(i64::from);
    }
    if let Some(m) = req.max_bytes {
        l.max_bytes = m.map(|b| b.min(i64::MAX as u64) as i64);
    }
    if let Some(p) = req.password {
        l.password_hash = match p {
            Some(p) => Some(hash_link_password(&state, p).await?),
            None => None,
        };
    }
    db_links::update(&state.db, &l).await?;
    Ok(Json(info(&state, &l).await?))
}

#[utoipa::path(delete, path = "/api/v1/links/{id}", tag = "links", security(("bearer" = [])), params(("id" = i64, Path, description = "A link id")),
    responses(
        (status = 204, description = "Revoked: the link opens nothing from now on, downloads under way included"),
        (status = 404, description = "`not_found`: no such link of the caller's", body = wire::ErrorBody),
    ))]
pub async fn revoke(
    State(state): State<AppState>,
    Auth(c): Auth,
    Path(id): Path<i64>,
) -> ApiResult<StatusCode> {
    owned(&state, &c, id).await?;
    db_links::revoke(&state.db, id).await?;
    tracing::info!(link_id = id, "share link revoked");
    Ok(StatusCode::NO_CONTENT)
}

#[utoipa::path(get, path = "/api/v1/links/{id}/access", tag = "links", security(("bearer" = [])), params(("id" = i64, Path, description = "A link id")),
    responses(
        (status = 200, description = "The link's access log, newest first (the last 1,000 entries)", body = wire::links::AccessLog),
        (status = 404, description = "`not_found`: no such link of the caller's", body = wire::ErrorBody),
    ))]
pub async fn access(
    State(state): State<AppState>,
    Auth(c): Auth,
    Path(id): Path<i64>,
) -> ApiResult<Json<AccessLog>> {
    owned(&state, &c, id).await?;
    Ok(Json(AccessLog {
        entries: db_links::access_log(&state.db, id).await?,
    }))
}
