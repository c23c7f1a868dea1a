//! Making verified bytes usable: the chunk row is created (or locked, if it exists) first, the
//! bytes are moved to the chunk's key while that lock is held, and the namespace is recorded as
//! an uploader in the same transaction. The collector deletes a chunk under the same lock, so a
//! promotion and a deletion of one hash never interleave, on SQLite (one writer) or PostgreSQL
//! (`ON CONFLICT DO UPDATE` waits for the row lock and re-inserts a row deleted meanwhile).

use std::collections::HashSet;
use std::future::Future;

use futures::StreamExt;
use wire::Hash;

use super::s3::Staged;
use super::BlobStore;
use crate::db::uploads::{self, Upload};
use crate::db::{chunks, Db};
use crate::error::{ApiError, ApiResult};
use crate::state::AppState;

/// Runs `promote` (which moves verified bytes to `hash`'s key and answers whether it did) under
/// the chunk row's lock, and records that `namespace_id` may use the chunk if it did.
pub async fn record<F>(
    db: &Db,
    upload_id: &str,
    namespace_id: i64,
    hash: &Hash,
    size: u32,
    promote: F,
) -> ApiResult<bool>
where
    F: Future<Output = std::io::Result<bool>>,
{
    let mut w = db.write().await?;
    chunks::claim(&mut w.tx, hash, size).await?;
    if !promote.await? {
        return Ok(false);
    }
    chunks::grant(&mut w.tx, namespace_id, hash).await?;
    // What a file request's resume and commit go by: this upload's own bytes arrived.
    uploads::mark_received(&mut w.tx, upload_id, hash).await?;
    w.commit().await?;
    Ok(true)
}

/// How many staged objects are checked at once.
const PARALLEL: usize = 8;

/// For an S3 store: checks every chunk of `upload` the namespace cannot use yet and that the
/// client has PUT to staging, re-hashing it with BLAKE3; a match is promoted and recorded, a
/// mismatch deleted. With `strict` (before a commit) any mismatch refuses the whole call with
/// `hash_mismatch`. The local store verified on receipt, so there is nothing to do for it.
pub async fn settle(state: &AppState, upload: &Upload, strict: bool) -> ApiResult<()> {
    let BlobStore::S3(store) = &state.blobs else {
        return Ok(());
    };
    let mut seen = HashSet::new();
    let unique: Vec<(Hash, u32)> = upload
        .manifest
        .chunks
        .iter()
        .filter(|c| seen.insert(c.hash))
        .map(|c| (c.hash, c.size))
        .collect();
    let hashes: Vec<Hash> = unique.iter().map(|(h, _)| *h).collect();
    // A file request's upload is its own dedup scope: only its own arrived bytes count.
    let have: HashSet<Hash> = if crate::db::requests::is_request(&state.db, &upload.id).await? {
        crate::db::requests::received(&state.db, &upload.id).await?
    } else {
        let mut conn = state.db.pool.acquire().await?;
        chunks::readable(&mut conn, upload.namespace_id, &hashes)
            .await?
            .into_keys()
            .collect()
    };
    let todo: Vec<(Hash, u32)> = unique
        .into_iter()
        .filter(|(h, _)| !have.contains(h))
        .collect();
    let results: Vec<ApiResult<bool>> = futures::stream::iter(todo)
        .map(|(hash, size)| async move {
            match store.check_staged(&upload.id, &hash, size).await? {
                Staged::Absent => Ok(true),
                Staged::Mismatch => {
                    tracing::warn!(upload_id = %upload.id, chunk = %hash, "staged bytes do not match their hash");
                    Ok(false)
                }
                Staged::Verified { etag } => {
                    let promoted = record(
                        &state.db,
                        &upload.id,
                        upload.namespace_id,
                        &hash,
                        size,
                        store.promote(&upload.id, &hash, &etag),
                    )
                    .await?;
                    if promoted {
                        store
                            .delete(&super::s3::staging_key(&upload.id, &hash))
                            .await?;
                    }
                    // Not promoted: the staged object changed after it was hashed (a replay);
                    // it stays missing and is checked again next time.
                    Ok(true)
                }
            }
        })
        .buffer_unordered(PARALLEL)
        .collect()
        .await;
    let mut mismatch = false;
    for r in results {
        mismatch |= !r?;
    }
    if strict && mismatch {
        return Err(ApiError::HashMismatch);
    }
    Ok(())
}
