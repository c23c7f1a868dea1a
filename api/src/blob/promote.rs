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
    let todo = unchecked(state, upload, only).await?;
    let todo = todo.into_iter().map(|(h, size)| (0, h, size)).collect();
    let uploads = [upload];
    let (verified, mismatched) = check(store, &uploads, todo).await?;
    promote(state, store, &uploads, verified).await?;
    Ok(!mismatched.is_empty())
}

/// For a batch of commits: the staged chunks of all `uploads` are checked together and
/// promoted in shared transactions (64 chunks each, across uploads) instead of one transaction
/// per upload: a folder of small files would otherwise pay a durable write per file before its
/// commit. Each upload's lane is held meanwhile, and a mismatch is noted in it, where that
/// upload's own `settle` at its commit reports it; its commit then finds the rest promoted.
pub async fn settle_all(state: &AppState, uploads: &[Upload]) -> ApiResult<()> {
    let BlobStore::S3(store) = &state.blobs else {
        return Ok(());
    };
    let mut sorted: Vec<&Upload> = uploads.iter().collect();
    // Lanes are taken in one order, so two batches sharing an upload cannot deadlock.
    sorted.sort_by(|a, b| a.id.cmp(&b.id));
    sorted.dedup_by(|a, b| a.id == b.id);
    let lanes: Vec<_> = sorted.iter().map(|u| state.early.lane(&u.id)).collect();
    let mut seen = Vec::with_capacity(lanes.len());
    for lane in &lanes {
        seen.push(lane.write().await);
    }
    let uploads = &sorted;
    let lists: Vec<ApiResult<Vec<(Hash, u32)>>> = futures::stream::iter(0..uploads.len())
        .map(|i| unchecked(state, uploads[i], None))
        .buffered(PARALLEL)
        .collect()
        .await;
    let mut todo = Vec::new();
    for (i, list) in lists.into_iter().enumerate() {
        todo.extend(list?.into_iter().map(|(h, size)| (i, h, size)));
    }
    let (verified, mismatched) = check(store, uploads, todo).await?;
    for i in mismatched {
        seen[i].saw_mismatch();
    }
    promote(state, store, uploads, verified).await
}

/// The distinct chunks of `upload` (those in `only`, when given) that its namespace cannot
/// use yet: what a check has to read back.
async fn unchecked(
    state: &AppState,
    upload: &Upload,
    only: Option<&HashSet<Hash>>,
) -> ApiResult<Vec<(Hash, u32)>> {
    let mut seen = HashSet::new();
    let unique: Vec<(Hash, u32)> = upload
        .manifest
        .chunks
        .iter()
        .filter(|c| only.is_none_or(|o| o.contains(&c.hash)) && seen.insert(c.hash))
        .map(|c| (c.hash, c.size))
        .collect();
    if unique.is_empty() {
        return Ok(Vec::new());
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
    Ok(unique
        .into_iter()
        .filter(|(h, _)| !have.contains(h))
        .collect())
}

/// A staged object that hashed to its name: the index of its upload, its hash, size and ETag.
type Checked = (usize, Hash, u32, String);

/// Re-hashes the staged objects of `todo` (upload index, hash, size), `PARALLEL` at once.
/// Answers those that match, and the indices of uploads that had one not matching (deleted
/// by the check).
async fn check(
    store: &super::S3Store,
    batch: &[&Upload],
    todo: Vec<(usize, Hash, u32)>,
) -> ApiResult<(Vec<Checked>, HashSet<usize>)> {
    let checked: Vec<std::io::Result<(usize, Hash, u32, Staged)>> = futures::stream::iter(todo)
        .map(|(i, hash, size)| async move {
            let staged = store.check_staged(&batch[i].id, &hash, size).await?;
            Ok((i, hash, size, staged))
        })
        .buffer_unordered(PARALLEL)
        .collect()
        .await;
    let mut mismatched = HashSet::new();
    let mut verified = Vec::new();
    for c in checked {
        match c? {
            (_, _, _, Staged::Absent) => {}
            (i, hash, _, Staged::Mismatch) => {
                tracing::warn!(upload_id = %batch[i].id, chunk = %hash, "staged bytes do not match their hash");
                mismatched.insert(i);
            }
            (i, hash, size, Staged::Verified { etag }) => verified.push((i, hash, size, etag)),
        }
    }
    Ok((verified, mismatched))
}

/// Promotes verified chunks, `GROUP` to a transaction, and deletes their staged objects.
async fn promote(
    state: &AppState,
    store: &super::S3Store,
    batch: &[&Upload],
    mut verified: Vec<Checked>,
) -> ApiResult<()> {
    // Row locks in one order, so two groups sharing chunks cannot deadlock.
    verified.sort_by_key(|c| c.1);
    for group in verified.chunks(GROUP) {
        let promoted = record_group(state, store, batch, group).await?;
        futures::stream::iter(promoted)
            .map(|(i, hash)| async move {
                store
                    .delete(&super::s3::staging_key(&batch[i].id, &hash))
                    .await
            })
            .buffer_unordered(PARALLEL)
            .collect::<Vec<_>>()
            .await
            .into_iter()
            .collect::<std::io::Result<Vec<()>>>()?;
    }
    Ok(())
}

/// `record` for a group of verified staged chunks in one transaction: their rows claimed in
/// hash order, their bytes copied in parallel under those locks, each upload's namespace
/// granted its chunks. Answers those promoted (upload index, hash). One not copied had changed
/// after it was hashed (a replayed PUT) or was promoted meanwhile by another node's check of
/// the same upload: it is checked again next time, or found usable.
async fn record_group(
    state: &AppState,
    store: &super::S3Store,
    batch: &[&Upload],
    group: &[Checked],
) -> ApiResult<Vec<(usize, Hash)>> {
    let mut w = state.db.write().await?;
    for (_, hash, size, _) in group {
        chunks::claim(&mut w.tx, hash, *size).await?;
    }
    let copied: Vec<std::io::Result<Option<(usize, Hash)>>> = futures::stream::iter(group.to_vec())
        .map(|(i, hash, _, etag)| async move {
            Ok(store
                .promote(&batch[i].id, &hash, &etag)
                .await?
                .then_some((i, hash)))
        })
        .buffer_unordered(PARALLEL)
        .collect()
        .await;
    let mut promoted = Vec::new();
    for c in copied {
        if let Some(done) = c? {
            promoted.push(done);
        }
    }
    if promoted.len() < group.len() {
        // Rare: a claimed row must not outlive a copy that did not happen (the scrubber
        // would look for its bytes). Undo the group and take its chunks one at a time.
        w.rollback().await?;
        let mut one_by_one = Vec::new();
        for (i, hash, size, etag) in group {
            let upload = batch[*i];
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
                one_by_one.push((*i, *hash));
            }
        }
        return Ok(one_by_one);
    }
    for (i, hash) in &promoted {
        chunks::grant(&mut w.tx, batch[*i].namespace_id, hash).await?;
        // What a file request's resume and commit go by: this upload's own bytes arrived.
        uploads::mark_received(&mut w.tx, &batch[*i].id, hash).await?;
    }
    w.commit().await?;
    Ok(promoted)
}
