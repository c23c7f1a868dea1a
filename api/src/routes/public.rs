//! What a link's holder reads as JSON, with no account: the link's face, its password gate, a
//! shared folder's listing, and a file's chunk list for the browser's verified download. Every
//! handler opens the link through `links::open` first; none takes a node id.

use axum::extract::State;
use axum::http::{header, HeaderMap, HeaderValue};
use axum::response::{IntoResponse, Response};
use serde::Deserialize;
use wire::links::{
    Grant, LinkKind, PublicChunk, PublicListing, PublicManifest, PublicShare, Unlock,
};
use wire::{ListingQuery, NodeKind};

use crate::abuse::ClientIp;
use crate::db::links as db_links;
use crate::db::listing;
use crate::error::{ApiError, ApiResult};
use crate::extract::{Json, Path, Query};
use crate::links::{self, grant, Proof, Share};
use crate::state::AppState;

#[derive(Debug, Default, Deserialize, utoipa::IntoParams)]
#[into_params(parameter_in = Query)]
pub struct At {
    /// A path under the link's root, `/`-separated names ("" or absent: the root).
    #[serde(default)]
    pub path: String,
    /// A password grant (`POST …/unlock`), for clients that cannot send `X-Cairn-Grant`.
    pub grant: Option<String>,
}

/// Opens the link of a public request.
pub async fn open_link(
    state: &AppState,
    token: &str,
    headers: &HeaderMap,
    grant: Option<&str>,
    ip: ClientIp,
) -> ApiResult<Share> {
    links::open(state, token, &Proof::from_request(headers, grant), ip).await
}

#[utoipa::path(get, path = "/api/v1/public/{token}", tag = "public", params(("token" = String, Path, description = "The link's token"), At),
    responses(
        (status = 200, description = "What the link shares", body = wire::links::PublicShare),
        (status = 401, description = "`password_required`: send a grant (`X-Cairn-Grant`, `?grant=`, the cookie) or the password as HTTP Basic (`curl -u :PASSWORD`)", body = wire::ErrorBody),
        (status = 403, description = "`wrong_password`", body = wire::ErrorBody),
        (status = 404, description = "`not_found`: no such link", body = wire::ErrorBody),
        (status = 410, description = "`link_gone` (revoked, expired, target deleted) or `request_closed` (a file request past its deadline)", body = wire::ErrorBody),
        (status = 429, description = "`rate_limited`: see `Retry-After`", body = wire::ErrorBody),
        (status = 503, description = "`backoff`: too many password hashes at once", body = wire::ErrorBody),
    ))]
pub async fn show(
    State(state): State<AppState>,
    ip: ClientIp,
    Path(token): Path<String>,
    Query(q): Query<At>,
    headers: HeaderMap,
) -> ApiResult<Json<PublicShare>> {
    let share = open_link(&state, &token, &headers, q.grant.as_deref(), ip).await?;
    links::log(&state, &share, "view", "", "ok").await;
    Ok(Json(face(&state, &share).await?))
}

/// The link's face: what the public page shows first.
pub async fn face(state: &AppState, share: &Share) -> ApiResult<PublicShare> {
    let l = &share.link;
    let n = &share.root.node;
    let mut face = PublicShare {
        kind: l.kind,
        node_kind: n.kind,
        name: n.name.clone(),
        size: 0,
        content_type: None,
        modified_at: n.modified_at,
        shared_by: share.owner_name.clone(),
        expires_at: l.expires_at,
        max_downloads: l.max_downloads.map(|m| m.clamp(0, u32::MAX as i64) as u32),
        downloads_left: None,
        bytes_left: None,
    };
    match (l.kind, n.kind) {
        (LinkKind::Download, NodeKind::File) => {
            let f = links::file_at(state, share, "").await?;
            if let Some(cap) = links::budget(share, &f) {
                let served = db_links::served(&state.db, l.id, f.version_id).await?;
                face.downloads_left = Some(
                    cap.saturating_sub(served)
                        .checked_div(f.size)
                        .unwrap_or(u64::from(face.max_downloads.unwrap_or(0))),
                );
            }
            face.size = f.size;
            face.modified_at = f.modified_at;
            face.content_type = Some(f.content_type.to_owned());
        }
        (LinkKind::Request, _) => {
            if let Some(max) = l.max_bytes {
                let used = db_links::served_total(&state.db, l.id).await?;
                face.bytes_left = Some((max.max(0) as u64).saturating_sub(used));
            }
        }
        _ => {}
    }
    Ok(face)
}

#[utoipa::path(post, path = "/api/v1/public/{token}/unlock", tag = "public", params(("token" = String, Path, description = "The link's token")), request_body = wire::links::Unlock,
    responses(
        (status = 200, description = "The password is right: a grant for an hour, also set as the `cairn_grant_<id>` cookie", body = wire::links::Grant),
        (status = 403, description = "`wrong_password`", body = wire::ErrorBody),
        (status = 404, description = "`not_found`: no such link", body = wire::ErrorBody),
        (status = 410, description = "`link_gone` or `request_closed`", body = wire::ErrorBody),
        (status = 429, description = "`rate_limited`: too many password attempts on this link or from this address; see `Retry-After`", body = wire::ErrorBody),
        (status = 503, description = "`backoff`: too many password hashes at once", body = wire::ErrorBody),
    ))]
pub async fn unlock(
    State(state): State<AppState>,
    ip: ClientIp,
    Path(token): Path<String>,
    headers: axum::http::HeaderMap,
    Json(req): Json<Unlock>,
) -> ApiResult<Response> {
    let share = links::resolve(&state, &token, ip).await?;
    if let Some(stored) = share.link.password_hash.clone() {
        links::password_matches(&state, &share, &req.password, &stored).await?;
    }
    links::log(&state, &share, "unlock", "", "ok").await;
    let expires_at = state.clock.now_ms() + grant::TTL.as_millis() as i64;
    let g = grant::mint(&share.link, expires_at);
    let mut r = Json(Grant {
        grant: g.clone(),
        expires_at,
    })
    .into_response();
    r.headers_mut().insert(
        header::SET_COOKIE,
        grant_cookie(&share, &g, https(&state, &headers)),
    );
    Ok(r)
}

/// The cookie that lets plain links (`<a href>`, `<img src>`) of the page carry the grant;
/// `Secure` when the page came over HTTPS, so the browser never sends it over plain HTTP.
pub fn grant_cookie(share: &Share, g: &str, secure: bool) -> HeaderValue {
    HeaderValue::from_str(&format!(
        "{}_{}={g}; Path=/; Max-Age={}; HttpOnly; SameSite=Strict{}",
        grant::COOKIE,
        share.link.id,
        grant::TTL.as_secs(),
        if secure { "; Secure" } else { "" }
    ))
    .expect("ASCII digits, hex and dots")
}

/// Whether the browser reached us over HTTPS: this server's own TLS, or a proxy's in front
/// that says so (`X-Forwarded-Proto: https`). The header is believed from anyone: all it can
/// do is make a cookie `Secure`, which only narrows where the browser sends it.
pub fn https(state: &AppState, headers: &axum::http::HeaderMap) -> bool {
    state.settings.tls.is_some()
        || headers
            .get("x-forwarded-proto")
            .and_then(|v| v.to_str().ok())
            .is_some_and(|v| v.trim().eq_ignore_ascii_case("https"))
}

/// A shared folder a page at a time (`db::listing`, as the owner's listing), so a folder of
/// 100,000 entries is never one answer. The access log notes the first page of each listing.
#[utoipa::path(get, path = "/api/v1/public/{token}/list", tag = "public",
    params(("token" = String, Path, description = "The link's token"), At,
        ("limit" = Option<u32>, Query, description = "Entries per page, 1 to 1000 (the default)"),
        ("after" = Option<String>, Query, description = "The `next` of the page before: the page after it")),
    responses(
        (status = 200, description = "One page of the folder at `path` under a folder link (folders first, then files, by name), with `next` when more follow", body = wire::links::PublicListing),
        (status = 400, description = "`bad_request`: `limit` is not 1 to 1000, or `after` is not a `next` this endpoint gave", body = wire::ErrorBody),
        (status = 401, description = "`password_required`", body = wire::ErrorBody),
        (status = 403, description = "`wrong_password`", body = wire::ErrorBody),
        (status = 404, description = "`not_found`: no such link, or no folder at `path` under it", body = wire::ErrorBody),
        (status = 410, description = "`link_gone`", body = wire::ErrorBody),
        (status = 429, description = "`rate_limited`: see `Retry-After`", body = wire::ErrorBody),
        (status = 503, description = "`backoff`: too many password hashes at once", body = wire::ErrorBody),
    ))]
pub async fn list(
    State(state): State<AppState>,
    ip: ClientIp,
    Path(token): Path<String>,
    Query(q): Query<At>,
    Query(page): Query<ListingQuery>,
    headers: HeaderMap,
) -> ApiResult<Json<PublicListing>> {
    let share = open_link(&state, &token, &headers, q.grant.as_deref(), ip).await?;
    links::require(&share, LinkKind::Download)?;
    let (after, limit) = listing::paging(&page)?;
    let (path, entries, next) = links::list(&state, &share, &q.path, after.as_ref(), limit).await?;
    if after.is_none() {
        links::log(&state, &share, "list", &path, "ok").await;
    }
    Ok(Json(PublicListing {
        path,
        entries,
        next: next.map(|c| c.encode()),
    }))
}

/// Percent-encodes each segment of a path for a URL.
pub fn url_path(path: &str) -> String {
    path.split('/')
        .map(|seg| {
            let mut out = String::new();
            for b in seg.bytes() {
                if b.is_ascii_alphanumeric() || b"-._~".contains(&b) {
                    out.push(b as char);
                } else {
                    out.push_str(&format!("%{b:02X}"));
                }
            }
            out
        })
        .collect::<Vec<_>>()
        .join("/")
}

/// The plain-HTTP URL of a file under a link.
pub fn download_url(token: &str, path: &str) -> String {
    if path.is_empty() {
        format!("/s/{token}/download")
    } else {
        format!("/s/{token}/files/{}", url_path(path))
    }
}

#[utoipa::path(get, path = "/api/v1/public/{token}/manifest", tag = "public", params(("token" = String, Path, description = "The link's token"), At),
    responses(
        (status = 200, description = "The file's chunks, each with where to fetch it: the browser checks every chunk's BLAKE3 before writing a byte", body = wire::links::PublicManifest),
        (status = 401, description = "`password_required`", body = wire::ErrorBody),
        (status = 403, description = "`wrong_password`", body = wire::ErrorBody),
        (status = 404, description = "`not_found`: no such link, or no file at `path` under it", body = wire::ErrorBody),
        (status = 410, description = "`link_gone`, or `link_exhausted` (its download limit is spent for this file)", body = wire::ErrorBody),
        (status = 429, description = "`rate_limited`: see `Retry-After`", body = wire::ErrorBody),
        (status = 503, description = "`backoff`: too many password hashes at once", body = wire::ErrorBody),
    ))]
pub async fn manifest(
    State(state): State<AppState>,
    ip: ClientIp,
    Path(token): Path<String>,
    Query(q): Query<At>,
    headers: HeaderMap,
) -> ApiResult<Json<PublicManifest>> {
    let share = open_link(&state, &token, &headers, q.grant.as_deref(), ip).await?;
    links::require(&share, LinkKind::Download)?;
    let file = links::file_at(&state, &share, &q.path).await?;
    let budget = links::budget(&share, &file);
    if let Some(cap) = budget {
        if file.size > 0
            && db_links::served(&state.db, share.link.id, file.version_id).await? >= cap
        {
            return Err(ApiError::LinkExhausted);
        }
    }
    let ttl = state.settings.url_ttl;
    let mut chunks = Vec::new();
    for c in file.chunks(&state).await? {
        let (url, ranged) = match budget {
            // Limited: every byte through the link's own route, which charges the budget.
            Some(_) => (download_url(&token, &file.path), true),
            None => (state.blobs.get_url(&c.hash, ttl).await?, false),
        };
        chunks.push(PublicChunk {
            hash: c.hash,
            offset: c.offset,
            size: c.size,
            url,
            ranged,
        });
    }
    links::log(&state, &share, "manifest", &file.path, "ok").await;
    Ok(Json(PublicManifest {
        name: file.name,
        size: file.size,
        content_hash: file.content_hash,
        content_type: file.content_type.to_owned(),
        chunks,
    }))
}
