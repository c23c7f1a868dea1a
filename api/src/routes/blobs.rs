//! The API's signed-URL endpoints: what S3 would be for the embedded local store, and, with an
//! S3 store, where small chunks are PUT instead of the store (`blob::inline`). A PUT is
//! accepted only with a valid, unexpired signature for exactly that staging object and size,
//! and its bytes are stored only if they hash to the chunk's name.

use axum::body::Body;
use axum::extract::State;
use axum::http::{header, StatusCode};
use axum::response::{IntoResponse, Response};
use serde::Deserialize;
use wire::Hash;

use crate::blob::local::{read_body, BodyLimits, ReceiveError};
use crate::blob::signer::Grant;
use crate::blob::{inline, promote, BlobStore};
use crate::db::uploads;
use crate::error::{ApiError, ApiResult};
use crate::extract::{Path, Query};
use crate::state::AppState;

#[derive(Debug, Deserialize)]
pub struct Signed {
    exp: i64,
    max: u64,
    sig: String,
}

fn check(
    signer: &crate::blob::signer::Signer,
    now_ms: i64,
    method: &str,
    object: &str,
    q: &Signed,
) -> ApiResult<()> {
    let grant = Grant {
        method,
        object,
        expires_at: q.exp,
        max_bytes: q.max,
    };
    if q.exp < now_ms / 1000 || !signer.verify(&grant, &q.sig) {
        return Err(ApiError::BadSignature);
    }
    Ok(())
}

#[utoipa::path(put, path = "/blobs/{object}", tag = "blobs",
    params(("object" = String, Path, description = "`staging/<upload>/<hash>`, as signed"),
        ("exp" = i64, Query), ("max" = u64, Query), ("sig" = String, Query)),
    request_body(content = Vec<u8>, content_type = "application/octet-stream"),
    responses(
        (status = 200, description = "Verified and stored (the local store's chunks, and an S3 store's chunks of at most `CAIRN_S3_INLINE_MAX` bytes)"),
        (status = 400, description = "The bytes do not hash to the chunk's name", body = wire::ErrorBody),
        (status = 403, description = "Bad or expired signature", body = wire::ErrorBody),
        (status = 404, description = "No such upload, or the chunk is not in it", body = wire::ErrorBody),
        (status = 408, description = "`timeout`: the body stalled longer than `CAIRN_BODY_IDLE_SECS` or arrived slower than `CAIRN_BODY_MIN_RATE`; nothing was stored", body = wire::ErrorBody),
        (status = 410, description = "The upload session has expired", body = wire::ErrorBody),
        (status = 413, description = "The body is longer than the signed size", body = wire::ErrorBody),
        (status = 503, description = "`unavailable`: the chunk store or the database is out of reach; nothing was stored, send it again", body = wire::ErrorBody),
    ))]
pub async fn put(
    State(state): State<AppState>,
    Path(object): Path<String>,
    Query(q): Query<Signed>,
    body: Body,
) -> ApiResult<Response> {
    let signer = match &state.blobs {
        BlobStore::Local(store) => &store.signer,
        BlobStore::S3(store) => &store.signer,
    };
    check(signer, state.clock.now_ms(), "PUT", &object, &q)?;
    let mut parts = object.split('/');
    let (Some("staging"), Some(upload_id), Some(hash), None) =
        (parts.next(), parts.next(), parts.next(), parts.next())
    else {
        return Err(ApiError::BadSignature);
    };
    let hash: Hash = hash.parse().map_err(|_| ApiError::BadSignature)?;
    // One row: the upload may send this chunk (its bytes are reserved), at this size.
    let slot = uploads::chunk_slot(&state.db, upload_id, &hash)
        .await?
        .ok_or(ApiError::NotFound("chunk in this upload"))?;
    if slot.expires_at < state.clock.now_ms() {
        return Err(ApiError::UploadExpired);
    }
    let size = slot.size;
    if q.max != size as u64 {
        return Err(ApiError::BadSignature);
    }
    let limits = BodyLimits {
        idle: state.settings.body_idle,
        min_rate: state.settings.body_min_rate,
    };
    let refused = |e: ReceiveError| match e {
        ReceiveError::TooLarge => ApiError::TooLarge,
        ReceiveError::Mismatch => ApiError::HashMismatch,
        ReceiveError::Timeout => {
            tracing::info!(upload_id, chunk = %hash, "chunk body too slow, cut off");
            ApiError::RequestTimeout
        }
        ReceiveError::Body(e) => ApiError::UnreadableBody(e),
        ReceiveError::Io(e) => e.into(),
    };
    let mut body = body.into_data_stream();
    let store = match &state.blobs {
        BlobStore::Local(store) => store,
        BlobStore::S3(_) => {
            // A small chunk of an S3 store: checked here in memory (the signed size bounds
            // it), then written straight to its content address.
            let mut bytes = Vec::with_capacity(size as usize);
            read_body(&hash, q.max, limits, &mut body, &mut bytes)
                .await
                .map_err(refused)?;
            inline::store(&state, upload_id, slot.namespace_id, hash, bytes.into()).await?;
            tracing::debug!(upload_id, chunk = %hash, size, "small chunk received");
            return Ok((StatusCode::OK, [(header::ETAG, format!("\"{hash}\""))]).into_response());
        }
    };
    let received = store
        .receive(&hash, q.max, limits, body)
        .await
        .map_err(refused)?;
    promote::record(
        &state.db,
        upload_id,
        slot.namespace_id,
        &hash,
        size,
        store.promote(&hash, received),
    )
    .await?;
    tracing::debug!(upload_id, chunk = %hash, size, "chunk received");
    Ok((StatusCode::OK, [(header::ETAG, format!("\"{hash}\""))]).into_response())
}

#[utoipa::path(get, path = "/blobs/{object}", tag = "blobs",
    params(("object" = String, Path, description = "`chunks/<hash>`, as signed"),
        ("exp" = i64, Query), ("max" = u64, Query), ("sig" = String, Query)),
    responses(
        (status = 200, description = "The chunk's bytes", content_type = "application/octet-stream", body = Vec<u8>),
        (status = 403, description = "Bad or expired signature", body = wire::ErrorBody),
        (status = 404, description = "No such chunk", body = wire::ErrorBody),
    ))]
pub async fn get(
    State(state): State<AppState>,
    Path(object): Path<String>,
    Query(q): Query<Signed>,
) -> ApiResult<Response> {
    let BlobStore::Local(store) = &state.blobs else {
        return Err(ApiError::NotFound("endpoint"));
    };
    check(&store.signer, state.clock.now_ms(), "GET", &object, &q)?;
    let hash: Hash = object
        .strip_prefix("chunks/")
        .and_then(|h| h.parse().ok())
        .ok_or(ApiError::BadSignature)?;
    let bytes = store
        .read(&hash, None)
        .await
        .map_err(|_| ApiError::NotFound("chunk"))?;
    Ok((
        [
            (header::CONTENT_TYPE, "application/octet-stream".to_owned()),
            (
                header::CACHE_CONTROL,
                "private, max-age=31536000, immutable".to_owned(),
            ),
            (header::ETAG, format!("\"{hash}\"")),
        ],
        bytes,
    )
        .into_response())
}
