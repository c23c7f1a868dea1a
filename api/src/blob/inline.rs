//! Small chunks of an S3 store, sent through the API instead of to the store.
//!
//! A folder of small files is what a browser uploads worst through pre-signed URLs: every URL
//! is new, so every PUT to the store's origin pays a CORS preflight, and the trust rule then
//! costs the store four more operations a file (read back to hash it, copy to the content
//! address, delete the staging object, after the PUT itself). A chunk of at most
//! `S3Settings::inline_max` bytes is instead PUT to the API's own signed `/blobs/staging/…`
//! URL, on the page's origin (no preflight). The API hashes the bytes as they arrive, so they
//! are checked before anything is stored, and writes them once, straight to `chunks/<hash>`.
//!
//! That write happens under the chunk row's lock like every promotion (`promote::record`), so
//! the collector cannot delete the object in between. Taken one at a time, those locks would
//! put a store write and a durable commit in line for every small file; instead chunks that
//! arrive while a group is being written queue, and the next group takes up to `GROUP` of them
//! in one transaction (their rows claimed in hash order, their bytes written in parallel),
//! as the group committer does for commits. A lone chunk goes at once.

use bytes::Bytes;
use futures::StreamExt;
use tokio::sync::oneshot;
use wire::Hash;

use super::inline_queue::{Item, GROUP};
use super::BlobStore;
use crate::db::{chunks, uploads};
use crate::error::{ApiError, ApiResult};
use crate::state::AppState;

/// Store writes at once within a group.
const PARALLEL: usize = 8;

/// Stores `bytes`, which the caller has checked hash to `hash`, as that chunk for upload
/// `upload_id` of namespace `namespace_id`: written to `chunks/<hash>`, the namespace granted
/// it, the upload's receipt recorded. Answers once its group is durable.
pub async fn store(
    state: &AppState,
    upload_id: &str,
    namespace_id: i64,
    hash: Hash,
    bytes: Bytes,
) -> ApiResult<()> {
    let (done, answer) = oneshot::channel();
    let item = Item {
        upload_id: upload_id.to_owned(),
        namespace_id,
        hash,
        size: bytes.len() as u32,
        bytes,
        done,
    };
    let start = state.inline.push(item);
    // A task of its own, not this request: a client that hangs up must not strand the queue.
    if start {
        tokio::spawn(write_groups(state.clone()));
    }
    answer.await.unwrap_or(Err(ApiError::Unavailable))
}

/// Writes groups until the queue is empty.
async fn write_groups(state: AppState) {
    struct OnPanic(AppState);
    impl Drop for OnPanic {
        fn drop(&mut self) {
            if std::thread::panicking() {
                self.0.inline.writer_lost();
            }
        }
    }
    let guard = OnPanic(state);
    let state = &guard.0;
    loop {
        let Some(mut group) = state.inline.take(GROUP) else {
            return;
        };
        // Row locks in one order, so two groups (or API nodes) sharing chunks cannot deadlock.
        group.sort_by_key(|i| i.hash);
        let result = write_group(state, &group).await;
        for item in group {
            let answer = match &result {
                Ok(()) => Ok(()),
                Err(e) => Err(shared(e)),
            };
            let _ = item.done.send(answer);
        }
    }
}

/// One group: every row claimed, every object written, every grant and receipt recorded, in
/// one transaction. Any failure undoes the group; each chunk's PUT then answers the error and
/// its client sends it again.
async fn write_group(state: &AppState, group: &[Item]) -> ApiResult<()> {
    let BlobStore::S3(store) = &state.blobs else {
        return Err(ApiError::NotFound("endpoint"));
    };
    let mut w = state.db.write().await?;
    let mut claimed = std::collections::HashSet::new();
    for item in group {
        if claimed.insert(item.hash) {
            chunks::claim(&mut w.tx, &item.hash, item.size).await?;
        }
    }
    // Written even when the chunk is stored already (the same bytes again), so the time taken
    // does not tell a client what another user holds; see `S3Store::promote`.
    let objects: Vec<(String, Bytes)> = group
        .iter()
        .map(|i| (super::s3::chunk_key(&i.hash), i.bytes.clone()))
        .collect();
    let written: Vec<std::io::Result<()>> = futures::stream::iter(objects)
        .map(|(key, bytes)| async move { store.put_bytes(&key, bytes).await })
        .buffer_unordered(PARALLEL)
        .collect()
        .await;
    for w in written {
        w?;
    }
    for item in group {
        chunks::grant(&mut w.tx, item.namespace_id, &item.hash).await?;
        uploads::mark_received(&mut w.tx, &item.upload_id, &item.hash).await?;
    }
    w.commit().await?;
    Ok(())
}

/// The group's error as each of its chunks answers it: the store or database away stays a 503
/// the client retries; anything else is a 500.
fn shared(e: &ApiError) -> ApiError {
    match e {
        ApiError::Unavailable => ApiError::Unavailable,
        other => ApiError::Internal(anyhow::anyhow!("writing a group of small chunks: {other}")),
    }
}
