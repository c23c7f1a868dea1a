//! A version's thumbnail: a small WebP or JPEG the uploading page drew in the browser, so the
//! server never decodes an image a client sent (no image parser on the server's attack
//! surface). `PUT` checks only the declared type, the size and the format's first bytes
//! (`wire::thumbnails`) and stores the bytes as sent; `GET` hands them back as that image type,
//! `nosniff` and sandboxed, to anyone who may read the file. A thumbnail is shown, never
//! trusted: nothing else (the file's type, its serving, its checks) ever reads it.

use axum::body::Body;
use axum::extract::State;
use axum::http::{header, HeaderMap, HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};
use wire::{thumbnails as rules, NodeKind, Role};

use crate::access;
use crate::auth::Auth;
use crate::db::thumbnails;
use crate::error::{ApiError, ApiResult};
use crate::extract::Path;
use crate::state::AppState;

/// A thumbnail's bytes never change under its URL (a new version gets a new one), so the
/// browser may keep it for good; `private`: it is one account's.
const CACHE: &str = "private, max-age=31536000, immutable";

#[utoipa::path(put, path = "/api/v1/nodes/{id}/versions/{version_id}/thumbnail", tag = "versions",
    security(("bearer" = [])),
    params(("id" = i64, Path, description = "A file id"), ("version_id" = i64, Path, description = "A version of it")),
    request_body(description = "The image, at most 64 KiB; only its type, size and first bytes (`RIFF….WEBP`, `FF D8 FF`) are checked, it is never decoded", content((Vec<u8> = "image/webp"), (Vec<u8> = "image/jpeg"))),
    responses(
        (status = 204, description = "Stored (replacing the version's thumbnail, if any)"),
        (status = 400, description = "`bad_request`: an empty body, bytes that do not start as the declared type must, or a folder; nothing stored", body = wire::ErrorBody),
        (status = 401, description = "Not signed in", body = wire::ErrorBody),
        (status = 403, description = "`role_too_low`: the caller only views this shared folder", body = wire::ErrorBody),
        (status = 404, description = "No such file in a tree the caller may see, or the version is not one of its", body = wire::ErrorBody),
        (status = 413, description = "`too_large`: more than 64 KiB; nothing stored", body = wire::ErrorBody),
        (status = 415, description = "`unsupported_media_type`: the `Content-Type` is not `image/webp` or `image/jpeg`; nothing stored", body = wire::ErrorBody),
    ))]
pub async fn put(
    State(state): State<AppState>,
    Auth(c): Auth,
    Path((id, version_id)): Path<(i64, i64)>,
    headers: HeaderMap,
    body: Body,
) -> ApiResult<StatusCode> {
    // Whoever may write the file (its owner, a shared folder's editor) may set its preview.
    let node = access::node(&state.db, &c, id, Role::Editor).await?;
    if node.kind != NodeKind::File {
        return Err(ApiError::WrongKind("only files have thumbnails"));
    }
    let media_type = headers
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .and_then(rules::accepted_type)
        .ok_or(ApiError::UnsupportedMediaType(
            "a thumbnail is image/webp or image/jpeg",
        ))?;
    let bytes = axum::body::to_bytes(body, rules::MAX_BYTES)
        .await
        .map_err(|_| ApiError::TooLarge)?;
    if bytes.is_empty() || !rules::magic_matches(media_type, &bytes) {
        return Err(ApiError::UnreadableBody(format!(
            "the bytes are not {media_type}: its signature is missing"
        )));
    }
    if !thumbnails::put(&state.db, id, version_id, media_type, bytes.to_vec()).await? {
        return Err(ApiError::NotFound("version"));
    }
    tracing::debug!(
        node_id = id,
        version_id,
        size = bytes.len(),
        media_type,
        "thumbnail stored"
    );
    Ok(StatusCode::NO_CONTENT)
}

#[utoipa::path(get, path = "/api/v1/nodes/{id}/versions/{version_id}/thumbnail", tag = "versions",
    security(("bearer" = [])),
    params(("id" = i64, Path, description = "A file id"), ("version_id" = i64, Path, description = "A version of it")),
    responses(
        (status = 200, description = "The thumbnail as stored, with `X-Content-Type-Options: nosniff`, `Content-Security-Policy: sandbox` and `Cache-Control: private, max-age=31536000, immutable`", content((Vec<u8> = "image/webp"), (Vec<u8> = "image/jpeg"))),
        (status = 400, description = "Bad input", body = wire::ErrorBody),
        (status = 401, description = "Not signed in", body = wire::ErrorBody),
        (status = 404, description = "No such file in a tree the caller may see, or that version has no thumbnail (listings say which have one: `Node.thumbnail`)", body = wire::ErrorBody),
    ))]
pub async fn get(
    State(state): State<AppState>,
    Auth(c): Auth,
    Path((id, version_id)): Path<(i64, i64)>,
) -> ApiResult<Response> {
    access::node(&state.db, &c, id, Role::Viewer).await?;
    let t = thumbnails::get(&state.db, id, version_id)
        .await?
        .ok_or(ApiError::NotFound("thumbnail"))?;
    // Only ever one of the two image types: what was checked when it was stored.
    let media_type = rules::accepted_type(&t.media_type).unwrap_or("application/octet-stream");
    Ok((
        [
            (header::CONTENT_TYPE, HeaderValue::from_static(media_type)),
            (header::CACHE_CONTROL, HeaderValue::from_static(CACHE)),
            (
                header::CONTENT_SECURITY_POLICY,
                HeaderValue::from_static("sandbox"),
            ),
            (
                header::X_CONTENT_TYPE_OPTIONS,
                HeaderValue::from_static("nosniff"),
            ),
        ],
        t.bytes,
    )
        .into_response())
}
