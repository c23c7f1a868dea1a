//! Manifests sent in parts (`wire::manifest_parts`): a file of many thousands of chunks has a
//! manifest larger than one request body may be (the chunk limit, 1,048,576, is ~100 MB of
//! JSON), so its head makes a draft, its chunk list follows in numbered parts, and
//! `POST /api/v1/uploads` with `{"manifest_id"}` opens the upload from it (`assemble`, then
//! `files::open`, which deletes the draft in the transaction that opens the upload).
//!
//! Each part is checked as it arrives, entry by entry, with the rules a whole manifest's
//! chunks obey (size bounds; the hash's shape is the JSON's); what only the whole list can
//! tell (the sizes' sum, the file hash, one chunk listed at two sizes) is checked when the
//! upload opens, exactly as for a manifest sent inline. A part is stored once: sent again
//! with the same entries it is accepted (a retry), with others refused 409, so a draft never
//! changes under a client that already sent it.

use axum::extract::State;
use axum::http::StatusCode;
use wasm_chunker::{CHUNKER_ID, MAX_CHUNKS, MAX_SIZE, MIN_SIZE};
use wire::manifest_parts::{self, ManifestDraft, ManifestDraftRequest, ManifestPart, PartChunk};
use wire::Manifest;

use crate::access;
use crate::auth::Auth;
use crate::db::manifest_drafts::{self, Draft};
use crate::db::{nodes, uploads};
use crate::error::{ApiError, ApiResult};
use crate::extract::{Json, Path};
use crate::state::AppState;

/// What a draft's head is refused for: what the parts could never make a valid manifest of.
fn check_head(req: &ManifestDraftRequest) -> ApiResult<()> {
    let invalid = |m: String| Err(ApiError::InvalidManifest(m));
    if req.chunker != CHUNKER_ID {
        return invalid(format!("unknown chunker; expected `{CHUNKER_ID}`"));
    }
    let count = req.chunk_count as u64;
    if count == 0 || count > MAX_CHUNKS as u64 {
        return invalid(format!(
            "chunk_count must be 1 to {MAX_CHUNKS} (an empty file's manifest goes inline), not {count}"
        ));
    }
    // Every chunk but the last at least the min size, none above the max.
    let (least, most) = (
        (count - 1) * u64::from(MIN_SIZE) + 1,
        count * u64::from(MAX_SIZE),
    );
    if req.size < least || req.size > most {
        return invalid(format!(
            "{count} chunks hold {least} to {most} bytes, not {}",
            req.size
        ));
    }
    Ok(())
}

/// Part `n` of `d`'s entries, checked: as many as the part holds, each within the size bounds
/// (the file's last chunk may be small).
fn check_part(d: &Draft, n: u32, chunks: &[PartChunk]) -> ApiResult<()> {
    let parts = manifest_parts::part_count(d.chunk_count, d.part_chunks);
    if n >= parts {
        return Err(ApiError::OutOfRange(format!(
            "this draft has parts 0 to {}, not {n}",
            parts - 1
        )));
    }
    let first = u64::from(n) * u64::from(d.part_chunks);
    let want = (u64::from(d.chunk_count) - first).min(u64::from(d.part_chunks));
    if chunks.len() as u64 != want {
        return Err(ApiError::InvalidManifest(format!(
            "part {n} holds {want} chunks, not {}",
            chunks.len()
        )));
    }
    let last = u64::from(d.chunk_count) - 1;
    for (i, c) in chunks.iter().enumerate() {
        let index = first + i as u64;
        let wrong = if c.size == 0 {
            Some("chunks are never empty".to_owned())
        } else if c.size > MAX_SIZE {
            Some(format!("larger than {MAX_SIZE} bytes"))
        } else if c.size < MIN_SIZE && index != last {
            Some(format!(
                "smaller than {MIN_SIZE} bytes, and only the file's last chunk may be"
            ))
        } else {
            None
        };
        if let Some(why) = wrong {
            return Err(ApiError::InvalidManifest(format!(
                "chunks[{i}] (chunk {index} of the file) is {} bytes: {why}",
                c.size
            )));
        }
    }
    Ok(())
}

/// A draft of the caller's that has not expired.
async fn live_draft(state: &AppState, c: &crate::db::users::Caller, id: &str) -> ApiResult<Draft> {
    let draft = access::draft(&state.db, c, id).await?;
    if draft.expires_at < state.clock.now_ms() {
        return Err(ApiError::DraftExpired);
    }
    Ok(draft)
}

#[utoipa::path(post, path = "/api/v1/manifests", tag = "files", security(("bearer" = [])),
    request_body = wire::manifest_parts::ManifestDraftRequest,
    responses(
        (status = 201, description = "A draft to send the chunk list to in parts (`part_chunks` entries each, the last the rest), then open the upload with `POST /api/v1/uploads` `{\"manifest_id\"}`; dropped unused after `expires_at`", body = wire::manifest_parts::ManifestDraft),
        (status = 400, description = "`invalid_manifest`: an unknown chunker, `chunk_count` not 1 to 1,048,576, or a `size` that many chunks cannot add up to", body = wire::ErrorBody),
        (status = 401, description = "Not signed in", body = wire::ErrorBody),
        (status = 409, description = "`too_many_uploads`: the account has as many unused drafts as it may (the open-upload limit); open their uploads or let them expire", body = wire::ErrorBody),
    ))]
pub async fn create(
    State(state): State<AppState>,
    Auth(c): Auth,
    Json(req): Json<ManifestDraftRequest>,
) -> ApiResult<(StatusCode, Json<ManifestDraft>)> {
    check_head(&req)?;
    let now = state.clock.now_ms();
    let draft = Draft {
        id: uploads::new_id(),
        namespace_id: c.namespace_id,
        device_id: c.device_id,
        chunker: req.chunker,
        size: req.size,
        hash: req.hash,
        chunk_count: req.chunk_count,
        part_chunks: state.settings.manifest_part_chunks.max(1),
        expires_at: now + state.settings.upload_ttl.as_millis() as i64,
    };
    let mut w = state.db.write().await?;
    nodes::lock_namespace(&mut w.tx, c.namespace_id).await?;
    let limit = state.settings.max_open_uploads;
    if manifest_drafts::open_count(&mut w.tx, c.namespace_id, now).await? >= limit as i64 {
        return Err(ApiError::TooManyDrafts(limit));
    }
    manifest_drafts::insert(&mut w.tx, &draft).await?;
    w.commit().await?;
    tracing::info!(draft_id = %draft.id, chunks = draft.chunk_count, part_chunks = draft.part_chunks, "manifest draft made");
    Ok((
        StatusCode::CREATED,
        Json(ManifestDraft {
            parts: manifest_parts::part_count(draft.chunk_count, draft.part_chunks),
            id: draft.id,
            part_chunks: draft.part_chunks,
            expires_at: draft.expires_at,
        }),
    ))
}

#[utoipa::path(put, path = "/api/v1/manifests/{id}/parts/{n}", tag = "files", security(("bearer" = [])),
    params(
        ("id" = String, Path, description = "The draft's id"),
        ("n" = u32, Path, description = "The part's number, from 0: it holds the file's chunks `n * part_chunks` onwards"),
    ),
    request_body = wire::manifest_parts::ManifestPart,
    responses(
        (status = 204, description = "Stored (or sent before with the same entries: a retry)"),
        (status = 400, description = "`bad_request`: `n` is not a part of this draft; `invalid_manifest`: the part holds another number of chunks than it must, or an entry's size is out of bounds (the message names `chunks[i]`); `bad_json`: an entry is malformed (a hash not 64 lowercase hex digits)", body = wire::ErrorBody),
        (status = 401, description = "Not signed in", body = wire::ErrorBody),
        (status = 404, description = "No such draft (or not the caller's, or used up by the upload it opened)", body = wire::ErrorBody),
        (status = 409, description = "`conflict`: this part was sent before with other entries; make a new draft", body = wire::ErrorBody),
        (status = 410, description = "`upload_expired`: the draft expired; make a new one", body = wire::ErrorBody),
    ))]
pub async fn put_part(
    State(state): State<AppState>,
    Auth(c): Auth,
    Path((id, n)): Path<(String, u32)>,
    Json(part): Json<ManifestPart>,
) -> ApiResult<StatusCode> {
    let draft = live_draft(&state, &c, &id).await?;
    check_part(&draft, n, &part.chunks)?;
    let text = serde_json::to_string(&part.chunks).map_err(anyhow::Error::from)?;
    let mut w = state.db.write().await?;
    // Held until the part is written: an upload taking the draft meanwhile waits, or went first.
    if !manifest_drafts::lock(&mut w.tx, &id).await? {
        return Err(ApiError::NotFound("manifest draft"));
    }
    let stored = manifest_drafts::put_part(&mut w.tx, &id, n, &text).await?;
    if stored != text {
        return Err(ApiError::PartDiffers(n));
    }
    w.commit().await?;
    Ok(StatusCode::NO_CONTENT)
}

/// The manifest draft `id` of the caller makes, its parts put together in order, unchecked
/// (`files::open` checks it as it checks one sent inline). Refused while a part is missing.
pub(super) async fn assemble(
    state: &AppState,
    c: &crate::db::users::Caller,
    id: &str,
) -> ApiResult<Manifest> {
    let draft = live_draft(state, c, id).await?;
    let parts = manifest_parts::part_count(draft.chunk_count, draft.part_chunks);
    let stored = manifest_drafts::part_numbers(&state.db, id).await?;
    if let Some(part) = (0..parts).find(|p| stored.binary_search(p).is_err()) {
        return Err(ApiError::ManifestIncomplete { part, parts });
    }
    let mut lists = Vec::with_capacity(parts as usize);
    for n in 0..parts {
        let text = manifest_drafts::part(&state.db, id, n)
            .await?
            .ok_or(ApiError::ManifestIncomplete { part: n, parts })?;
        let chunks: Vec<PartChunk> = serde_json::from_str(&text).map_err(anyhow::Error::from)?;
        lists.push(chunks);
    }
    Ok(Manifest {
        chunker: draft.chunker,
        size: draft.size,
        hash: draft.hash,
        chunks: manifest_parts::join(lists),
    })
}
