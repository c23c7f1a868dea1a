//! `GET /api/v1/nodes/{id}/content`: a whole file streamed by the API from the chunk store,
//! for curl and scripts, through `serve` like share links: chunks verified as they stream,
//! single ranges (206/416), validators (304, `If-Range`) and a safe Content-Disposition.
//!
//! Always an attachment; its `Content-Type` is the type the uploading client stored with the
//! version when that type is on `mime::allowed`'s list (images, PDF, plain text, audio, video),
//! else `application/octet-stream`: a client's word never makes HTML, SVG or script of it.

use std::sync::Arc;

use axum::extract::State;
use axum::http::{HeaderMap, HeaderValue, Method};
use axum::response::Response;
use wire::{NodeKind, Role};

use crate::access;
use crate::auth::Auth;
use crate::db::versions;
use crate::error::{ApiError, ApiResult};
use crate::extract::Path;
use crate::serve::{self, FileBytes, Look};
use crate::state::AppState;

#[utoipa::path(get, path = "/api/v1/nodes/{id}/content", tag = "files", security(("bearer" = [])), params(("id" = i64, Path, description = "A node id")), responses((status = 200, description = "The whole file, every chunk checked against its hash as it streams (a bad chunk ends the body early); an attachment with `X-Content-Type-Options: nosniff`. `Content-Type`: the version's stored `content_type` when it is an image (png, jpeg, gif, webp, avif, bmp), `application/pdf`, `text/plain`, `audio/*` or `video/*`; otherwise (HTML, SVG, XML, script, unknown, none stored) `application/octet-stream`", content_type = "*/*"), (status = 206, description = "The requested range"), (status = 304, description = "Not modified (If-None-Match / If-Modified-Since)"), (status = 416, description = "Range not satisfiable", body = wire::ErrorBody), (status = 400, description = "Bad input", body = wire::ErrorBody), (status = 401, description = "Not signed in", body = wire::ErrorBody), (status = 404, description = "Not found in the caller's namespace", body = wire::ErrorBody)))]
pub async fn content(
    State(state): State<AppState>,
    Auth(c): Auth,
    Path(id): Path<i64>,
    method: Method,
    headers: HeaderMap,
) -> ApiResult<Response> {
    let node = access::node(&state.db, &c, id, Role::Viewer).await?;
    let version_id = match (node.kind, node.version_id) {
        (NodeKind::File, Some(v)) => v,
        _ => return Err(ApiError::WrongKind("only files have content")),
    };
    let v = versions::stored(&state.db, version_id).await?;
    let file = FileBytes {
        version_id,
        name: node.name,
        size: v.manifest.size,
        content_hash: v.manifest.hash.to_string(),
        modified_at: v.created_at,
        chunks: v.manifest.chunks,
    };
    let mut look = Look::download("private, no-cache");
    if let Some(t) = crate::mime::allowed(v.content_type.as_deref()) {
        look.content_type = HeaderValue::from_str(t).map_err(|e| ApiError::Internal(e.into()))?;
    }
    let reader: Arc<dyn serve::ChunkReader> = Arc::new(state.clone());
    serve::file(reader, &file, &look, &method, &headers, None).await
}
