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

/// How many staged objects are checked at once, and how many verified ones share one
/// transaction (one durable write instead of one per chunk).
const PARALLEL: usize = 8;
const GROUP: usize = 64;

/// For an S3 store: checks every chunk of `upload` the namespace cannot use yet and that the
/// client has PUT to staging, re-hashing it with BLAKE3; a match is promoted and recorded, a
/// mismatch deleted. With `strict` (before a commit) any mismatch refuses the whole call with
/// `hash_mismatch`, one found early (`early::spawn`) included. It first waits for the checks the
/// client asked for while sending (the upload's lane): what they promoted is then skipped here.
/// The local store verified on receipt, so there is nothing to do for it.
pub async fn settle(state: &AppState, upload: &Upload, strict: bool) -> ApiResult<()> {
    let BlobStore::S3(store) = &state.blobs else {
        return Ok(());
    };
    let lane = state.early.lane(&upload.id);
    let seen = lane.write().await;
    if verify(state, store, upload, None).await? {
        seen.saw_mismatch();
    }
    // Reported once, at a commit: the forged bytes are gone, honest ones may follow.
    if strict && seen.take_mismatch() {
        return Err(ApiError::HashMismatch);
    }
    Ok(())
}

/// Checks the chunks of `upload` (those in `only`, when given) that the namespace cannot use
/// yet, promoting the matches; answers whether any staged object did not match (it is deleted).
pub async fn verify(
    state: &AppState,
    store: &super::S3Store,
    upload: &Upload,
    only: Option<&HashSet<Hash>>,
) -> ApiResult<bool> {
    let mut seen = HashSet::new();
    let unique: Vec<(Hash, u32)> = upload
        .manifest
        .chunks
        .iter()
        .filter(|c| only.is_none_or(|o| o.contains(&c.hash)) && seen.insert(c.hash))
        .map(|c| (c.hash, c.size))
        .collect();
    if unique.is_empty() {
        return Ok(false);
    }
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
    let id = upload.id.as_str();
    let checked: Vec<std::io::Result<(Hash, u32, Staged)>> = futures::stream::iter(todo)
        .map(|(hash, size)| async move {
            let staged = store.check_staged(id, &hash, size).await?;
            Ok((hash, size, staged))
        })
        .buffer_unordered(PARALLEL)
        .collect()
        .await;
    let mut mismatch = false;
    let mut verified = Vec::new();
    for c in checked {
        match c? {
            (_, _, Staged::Absent) => {}
            (hash, _, Staged::Mismatch) => {
                tracing::warn!(upload_id = %upload.id, chunk = %hash, "staged bytes do not match their hash");
                mismatch = true;
            }
            (hash, size, Staged::Verified { etag }) => verified.push((hash, size, etag)),
        }
    }
    // Row locks in one order, so two groups sharing chunks cannot deadlock.
    verified.sort_by_key(|(h, _, _)| *h);
    for group in verified.chunks(GROUP) {
        let promoted = record_group(state, store, upload, group).await?;
        let id = upload.id.as_str();
        futures::stream::iter(promoted)
            .map(|hash| async move { store.delete(&super::s3::staging_key(id, &hash)).await })
            .buffer_unordered(PARALLEL)
            .collect::<Vec<_>>()
            .await
            .into_iter()
            .collect::<std::io::Result<Vec<()>>>()?;
    }
    Ok(mismatch)
}

/// `record` for a group of verified staged chunks in one transaction: their rows claimed in
/// hash order, their bytes copied in parallel under those locks, the namespace granted them.
/// Answers those promoted. One not copied had changed after it was hashed (a replayed PUT) or
/// was promoted meanwhile by another node's check of the same upload: it is checked again
/// next time, or found usable.
async fn record_group(
    state: &AppState,
    store: &super::S3Store,
    upload: &Upload,
    group: &[(Hash, u32, String)],
) -> ApiResult<Vec<Hash>> {
    let mut w = state.db.write().await?;
    for (hash, size, _) in group {
        chunks::claim(&mut w.tx, hash, *size).await?;
    }
    let id = upload.id.as_str();
    let owned: Vec<(Hash, String)> = group.iter().map(|(h, _, e)| (*h, e.clone())).collect();
    let copied: Vec<std::io::Result<Option<Hash>>> =
        futures::stream::iter(owned)
            .map(|(hash, etag)| async move {
                Ok(store.promote(id, &hash, &etag).await?.then_some(hash))
            })
            .buffer_unordered(PARALLEL)
            .collect()
            .await;
    let mut promoted = Vec::new();
    for c in copied {
        if let Some(hash) = c? {
            promoted.push(hash);
        }
    }
    if promoted.len() < group.len() {
        // Rare: a claimed row must not outlive a copy that did not happen (the scrubber
        // would look for its bytes). Undo the group and take its chunks one at a time.
        w.rollback().await?;
        let mut one_by_one = Vec::new();
        for (hash, size, etag) in group {
            let copy = store.promote(&upload.id, hash, etag);
            if record(
                &state.db,
                &upload.id,
                upload.namespace_id,
                hash,
                *size,
                copy,
            )
            .await?
            {
                one_by_one.push(*hash);
            }
        }
        return Ok(one_by_one);
    }
    for hash in &promoted {
        chunks::grant(&mut w.tx, upload.namespace_id, hash).await?;
        // What a file request's resume and commit go by: this upload's own bytes arrived.
        uploads::mark_received(&mut w.tx, &upload.id, hash).await?;
    }
    w.commit().await?;
    Ok(promoted)
}
