//! Verifying staged chunks while the upload is still sending. The trust rule (no chunk is
//! usable before the server has hashed its bytes) makes an S3 upload read every staged chunk
//! back; done at the commit, that read came after the last PUT and doubled an upload's time.
//! So the client says which chunks it has PUT (`POST /uploads/{id}/sent`) as it goes, and the
//! server checks and promotes them in the background, while the next ones are on the wire.
//!
//! Each upload has a lane (`lanes.rs`), a fair read-write lock: the checks the client asks for
//! share it (they run side by side), and the commit's own check (`promote::settle`) takes it
//! alone, so it waits for those asked before it, finds their chunks promoted and checks only
//! the rest. A mismatch found early is kept in the lane for the commit to refuse
//! (`hash_mismatch`), as if the commit had found it. Lanes live on one node; on another node's commit the worst case is checking a chunk twice (a copy whose
//! staged object is already gone is "not promoted", and the first check's grant stands).

use std::collections::HashSet;

use wire::Hash;

use super::BlobStore;
use crate::db::uploads::Upload;
use crate::state::AppState;

/// Chunks a client names per `sent` call (~8 MiB): small enough that the checks keep pace
/// with the PUTs, large enough that the calls cost little. None on the local store.
pub fn sent_every(state: &AppState) -> Option<u32> {
    matches!(state.blobs, BlobStore::S3(_)).then_some(8)
}

/// Checks `hashes` of `upload` in the background, in its lane. Nothing to do on the local
/// store, which verifies each chunk as it arrives.
pub fn spawn(state: &AppState, upload: Upload, hashes: HashSet<Hash>) {
    if !matches!(state.blobs, BlobStore::S3(_)) || hashes.is_empty() {
        return;
    }
    let Ok(ticket) = state.early.waiting.clone().try_acquire_owned() else {
        tracing::debug!(upload_id = %upload.id, "too many early checks waiting; left to the commit");
        return;
    };
    let state = state.clone();
    let lane = state.early.lane(&upload.id);
    let running = state.early.running.clone();
    tokio::spawn(async move {
        let _ticket = ticket;
        let BlobStore::S3(store) = &state.blobs else {
            return;
        };
        // The lane first: its order is what the commit relies on.
        let seen = lane.read().await;
        let Ok(_permit) = running.acquire().await else {
            return;
        };
        match super::promote::verify(&state, store, &upload, Some(&hashes)).await {
            Ok(true) => seen.saw_mismatch(),
            Ok(false) => {}
            // The commit checks again whatever this left undone.
            Err(e) => tracing::warn!(upload_id = %upload.id, error = %e, "early check failed"),
        }
    });
}
