//! Cleaning up after clients and time: abandoned upload sessions (and what they staged) expire,
//! old versions beyond the retention setting are pruned, and chunks that no version and no open
//! upload session references are deleted from the store.
//!
//! One node collects at a time (`db::exclusive`); the others skip their turn.
//!
//! Safety against a concurrent commit: the collector locks each candidate chunk row
//! (`FOR UPDATE` on PostgreSQL; the single writer on SQLite), re-checks under that lock that no
//! version and no live upload names it, and deletes its bytes and rows before releasing the
//! lock. A commit locks the rows of every chunk it names (`db::chunks::pin`, `FOR SHARE`) in the
//! transaction that writes the version: whichever comes second sees the other's result, so a
//! committed version never names a deleted chunk, and a commit that lost the race is refused
//! with `upload_incomplete` (the client re-asks what is missing and sends it again).
//!
//! The collector never waits for a lock (`SKIP LOCKED`): a chunk a commit holds is in use and
//! is left for the next pass. So it can never close a deadlock cycle with a commit group, whose
//! commits each pin their own chunk sets in turn, in no global order.

use std::time::Duration;

use wire::Hash;

use crate::blob::BlobStore;
use crate::db::exclusive::{self, Job};
use crate::db::{collect, uploads, usage, versions, Db};
use crate::error::ApiResult;
use crate::state::AppState;

/// Chunks examined per transaction.
const BATCH: usize = 200;

/// What one collection did.
#[derive(Debug, Default, Clone, PartialEq, Eq)]
pub struct Report {
    pub uploads_expired: usize,
    pub trash_emptied: usize,
    pub versions_pruned: usize,
    pub chunks_deleted: usize,
    /// Another node or process was collecting (`db::exclusive`): this pass did nothing.
    pub busy: bool,
}

/// One full pass: expire uploads, prune versions, delete unreferenced chunks.
pub async fn collect(state: &AppState) -> anyhow::Result<Report> {
    collect_at(state, state.clock.now_ms()).await
}

/// [`collect`] as if it were `now` (ms): what tests use to let retention periods pass.
pub async fn collect_at(state: &AppState, now: i64) -> anyhow::Result<Report> {
    let Some(hold) = exclusive::try_hold(&state.db, Job::Collector).await? else {
        tracing::debug!("another node is collecting; this pass is skipped");
        return Ok(Report {
            busy: true,
            ..Report::default()
        });
    };
    let report = collect_held(state, now).await;
    hold.release().await;
    report
}

async fn collect_held(state: &AppState, now: i64) -> anyhow::Result<Report> {
    let settings = &state.settings;
    let uploads_expired = expire_uploads(state, now).await?;
    let trash_emptied = if settings.trash_retention.is_zero() {
        0
    } else {
        empty_trash(&state.db, now - settings.trash_retention.as_millis() as i64).await?
    };
    let cutoff = now - settings.version_retention.as_millis() as i64;
    let versions_pruned = prune_versions(&state.db, cutoff, settings.version_keep).await?;
    let chunks_deleted = delete_unreferenced(state).await?;
    let report = Report {
        uploads_expired,
        trash_emptied,
        versions_pruned,
        chunks_deleted,
        busy: false,
    };
    tracing::info!(?report, "collected garbage");
    Ok(report)
}

/// Deletes upload sessions that expired before `now` and whatever they staged, giving their
/// reservations back, and manifest drafts that expired unused; on S3 also staging areas no
/// session owns any more (a PUT URL replayed after its upload was committed).
pub async fn expire_uploads(state: &AppState, now: i64) -> anyhow::Result<usize> {
    let mut n = 0;
    for (id, namespace_id) in collect::expired_uploads(&state.db, now).await? {
        state.blobs.drop_staging(&id).await?;
        if end_upload(&state.db, namespace_id, &id, Some(now)).await? {
            n += 1;
            tracing::debug!(upload_id = %id, "upload session expired");
        }
    }
    // Manifest drafts no upload used expire with the same TTL; they hold no bytes.
    let drafts = crate::db::manifest_drafts::expire(&state.db, now).await?;
    if drafts > 0 {
        tracing::debug!(drafts, "manifest drafts expired");
    }
    match &state.blobs {
        BlobStore::Local(s) => {
            s.sweep_incoming(state.settings.upload_ttl).await?;
        }
        BlobStore::S3(s) => {
            for id in s.staging_uploads().await? {
                if !collect::upload_open(&state.db, &id).await? {
                    s.delete_prefix(&format!("staging/{id}/")).await?;
                }
            }
        }
    }
    Ok(n)
}

/// Deletes upload `id` of `namespace_id` (only if it expired before `expired_before`, when
/// given) and gives its reservation back, in one transaction; `false` if it was gone already.
pub async fn end_upload(
    db: &Db,
    namespace_id: i64,
    id: &str,
    expired_before: Option<i64>,
) -> ApiResult<bool> {
    let mut w = db.write().await?;
    crate::db::nodes::lock_namespace(&mut w.tx, namespace_id).await?;
    let Some(reserved) = uploads::remove(&mut w.tx, id, expired_before).await? else {
        return Ok(false);
    };
    let give_back = usage::Delta {
        staged: -reserved,
        ..Default::default()
    };
    usage::charge(&mut w.tx, namespace_id, give_back, u64::MAX).await?;
    w.commit().await?;
    Ok(true)
}

/// Purges trash items trashed before `before` (the trash's retention), each as a purge by hand
/// would be: its own transaction, namespace locked first, usage freed, the purge logged so
/// devices hear of it. Answers how many.
pub async fn empty_trash(db: &Db, before: i64) -> anyhow::Result<usize> {
    let mut n = 0;
    for (namespace_id, id) in crate::db::nodes::trashed_before(db, before).await? {
        let mut w = db.write().await?;
        crate::db::nodes::lock_namespace(&mut w.tx, namespace_id).await?;
        // Gone meanwhile (restored, or purged with a folder above it): nothing to do.
        if crate::db::nodes::purge_trashed(&mut w.tx, namespace_id, id, None)
            .await?
            .is_some()
        {
            n += 1;
        }
        w.commit().await?;
    }
    Ok(n)
}

/// Removes old versions (no node's current version) that stopped being current before
/// `cutoff` (a newer version of the same file was written before it), and those past the
/// `keep` newest old versions of their file (0: no count limit), taking them off their
/// namespaces' `history_bytes`.
///
/// The set is read once and deleted by id: on PostgreSQL each statement sees the commits that
/// landed before it, so re-evaluating the condition per statement could pick up a version
/// that became old in between and delete it before its chunk list. An old version never
/// becomes current again (a restore writes a new version), so the set read here stays valid.
/// Each namespace's versions go in a transaction of their own that locks the namespace first,
/// the lock order every writer follows (a commit making room drops versions too).
pub async fn prune_versions(db: &Db, cutoff: i64, keep: usize) -> anyhow::Result<usize> {
    // A file's current version is its newest (a commit and a restore both write a new row),
    // so old versions rank from 2 by id, newest first; past `keep + 1` they go.
    let past_rank = if keep == 0 {
        i64::MAX
    } else {
        i64::try_from(keep).unwrap_or(i64::MAX - 1) + 1
    };
    let rows = collect::old_versions(db, cutoff, past_rank).await?;
    let mut by_namespace: Vec<(i64, Vec<i64>)> = Vec::new();
    for (ns, id) in rows {
        match by_namespace.last_mut() {
            Some((last, ids)) if *last == ns => ids.push(id),
            _ => by_namespace.push((ns, vec![id])),
        }
    }
    let mut pruned = 0;
    for (ns, ids) in by_namespace {
        let mut w = db.write().await?;
        crate::db::nodes::lock_namespace(&mut w.tx, ns).await?;
        let (count, freed) = versions::delete(&mut w.tx, &ids).await?;
        let d = usage::Delta {
            history: -(freed as i64),
            ..Default::default()
        };
        usage::charge(&mut w.tx, ns, d, u64::MAX).await?;
        w.commit().await?;
        pruned += count;
    }
    Ok(pruned)
}

/// Deletes chunks no version and no live upload references; answers how many.
pub async fn delete_unreferenced(state: &AppState) -> anyhow::Result<usize> {
    let mut deleted = 0;
    let mut after = String::new();
    loop {
        // Candidates, read without locks; each is re-checked under its lock below.
        let candidates = collect::unreferenced_chunks(&state.db, &after, BATCH).await?;
        if candidates.is_empty() {
            return Ok(deleted);
        }
        after = candidates.last().cloned().unwrap_or_default();
        deleted += sweep(state, &candidates).await?;
    }
}

/// Deletes those of `candidates` that are still unreferenced, under their row locks.
pub async fn sweep(state: &AppState, candidates: &[String]) -> anyhow::Result<usize> {
    let db = &state.db;
    let mut w = db.write().await?;
    let mut locked = Vec::new();
    for h in candidates {
        if collect::lock_chunk(&mut w.tx, h).await? {
            locked.push(h.clone());
        }
    }
    // Re-checked under the locks: a commit that pinned a chunk first has written its version,
    // and an upload that may still send a chunk keeps it (its bytes are in `staged_bytes`).
    let mut gone = Vec::new();
    for h in locked {
        let used = collect::chunk_in_use(&mut w.tx, &h).await?;
        if used {
            continue;
        }
        let hash: Hash = h
            .parse()
            .map_err(|_| anyhow::anyhow!("bad stored hash {h}"))?;
        // Bytes first, rows second, all before the locks are released; a failure stops here
        // and keeps the rows of the chunks not yet deleted.
        if let Err(e) = state.blobs.delete_chunk(&hash).await {
            tracing::warn!(chunk = %h, error = %e, "could not delete a chunk; will retry");
            break;
        }
        gone.push(h);
    }
    for h in &gone {
        collect::forget_chunk(&mut w.tx, h).await?;
    }
    w.commit().await?;
    for h in &gone {
        tracing::debug!(chunk = %h, "chunk deleted");
    }
    Ok(gone.len())
}

/// Runs `collect` every `interval` until dropped.
pub struct Collector(tokio::task::JoinHandle<()>);

impl Drop for Collector {
    fn drop(&mut self) {
        self.0.abort();
    }
}

/// Starts the background collector (none when the interval is zero).
pub fn spawn(state: AppState) -> Option<Collector> {
    let interval: Duration = state.settings.gc_interval;
    if interval.is_zero() {
        return None;
    }
    Some(Collector(tokio::spawn(async move {
        let mut tick = tokio::time::interval(interval);
        tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
        tick.tick().await;
        loop {
            tick.tick().await;
            if let Err(e) = collect(&state).await {
                tracing::warn!(error = ?e, "garbage collection failed; will retry");
            }
        }
    })))
}
