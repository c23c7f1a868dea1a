//! The scrubber: reads every stored chunk back and checks it still hashes to its name.
//!
//! Downloads already verify each chunk as they stream it (`serve`), so rot is never served as
//! data; but rot nobody reads goes unseen until the day someone needs the file, and by then
//! the client that had the bytes may be gone. The scrubber finds it early: a chunk whose bytes
//! are gone, short, or hash to something else has its bytes deleted and is taken away from
//! every namespace (`collect::unlist_chunk`), so the next upload that contains it is asked
//! for it again and heals it; until then, downloads of files that use it fail loudly.
//!
//! Runs as `cairn scrub` (an operator's command, printing what it found) and in the server
//! every `CAIRN_SCRUB_INTERVAL_SECS`. Each finding is checked again under the chunk row's lock
//! before anything is changed, so a promotion or a collection running meanwhile is never
//! mistaken for rot.

use std::time::{Duration, Instant};

use wire::Hash;

use crate::db::collect;
use crate::state::AppState;

/// Chunk rows read per page.
const PAGE: usize = 500;

/// What one pass found.
#[derive(Debug, Default, Clone, PartialEq, Eq)]
pub struct Report {
    pub checked: u64,
    pub bytes: u64,
    /// Chunks whose stored bytes did not hash to their name (or had another length).
    pub corrupt: Vec<String>,
    /// Chunks with a row but no bytes in the store.
    pub missing: Vec<String>,
    /// Chunks that could not be read for another reason (the store was unreachable): nothing
    /// was changed for them.
    pub unreadable: u64,
    pub took: Duration,
}

impl std::fmt::Display for Report {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(
            f,
            "checked {} chunks ({} bytes) in {:.1?}: {} corrupt, {} missing, {} unreadable",
            self.checked,
            self.bytes,
            self.took,
            self.corrupt.len(),
            self.missing.len(),
            self.unreadable
        )
    }
}

/// What reading a chunk back showed.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Health {
    Sound,
    Corrupt,
    Missing,
    Unreadable,
}

async fn health(state: &AppState, hash: &Hash, size: i64) -> Health {
    match state.blobs.read(hash, None).await {
        Ok(bytes) => {
            let whole = bytes.len() as i64 == size;
            if whole && wasm_chunker::hash_chunk(&bytes) == *hash {
                Health::Sound
            } else {
                Health::Corrupt
            }
        }
        Err(_) => match state.blobs.chunk_exists(hash).await {
            Ok(false) => Health::Missing,
            _ => Health::Unreadable,
        },
    }
}

/// One pass over every chunk.
pub async fn run(state: &AppState) -> anyhow::Result<Report> {
    let started = Instant::now();
    let mut report = Report::default();
    let mut after = String::new();
    loop {
        let page = collect::chunks_after(&state.db, &after, PAGE).await?;
        let Some((last, _)) = page.last() else { break };
        after = last.clone();
        for (name, size) in page {
            let Ok(hash) = name.parse::<Hash>() else {
                continue;
            };
            report.checked += 1;
            report.bytes += size.max(0) as u64;
            match health(state, &hash, size).await {
                Health::Sound => {}
                Health::Unreadable => report.unreadable += 1,
                found => {
                    if set_aside(state, &hash, size).await? {
                        match found {
                            Health::Corrupt => report.corrupt.push(name),
                            _ => report.missing.push(name),
                        }
                    }
                }
            }
        }
    }
    report.took = started.elapsed();
    if report.corrupt.is_empty() && report.missing.is_empty() {
        tracing::info!(%report, "scrub done");
    } else {
        tracing::error!(%report, corrupt = ?report.corrupt, missing = ?report.missing,
            "scrub found damaged chunks; they will be asked for again");
    }
    Ok(report)
}

/// Under the chunk row's lock, looks again and, if the chunk is still damaged, deletes its
/// bytes and unlists it; `false` when it turned out sound, gone or busy (a commit or a
/// promotion holds it: the next pass looks again).
async fn set_aside(state: &AppState, hash: &Hash, size: i64) -> anyhow::Result<bool> {
    let mut w = state.db.write().await?;
    let name = hash.to_string();
    if !collect::lock_chunk(&mut w.tx, &name).await? {
        return Ok(false);
    }
    if !matches!(
        health(state, hash, size).await,
        Health::Corrupt | Health::Missing
    ) {
        return Ok(false);
    }
    state.blobs.delete_chunk(hash).await?;
    let namespaces = collect::unlist_chunk(&mut w.tx, &name).await?;
    w.commit().await?;
    tracing::warn!(chunk = %hash, namespaces, "damaged chunk deleted and unlisted");
    Ok(true)
}

/// Runs [`run`] every `interval` until dropped (the first pass one interval after start).
pub struct Scrubber(tokio::task::JoinHandle<()>);

impl Drop for Scrubber {
    fn drop(&mut self) {
        self.0.abort();
    }
}

/// Starts the periodic scrub (none when `CAIRN_SCRUB_INTERVAL_SECS` is 0).
pub fn spawn(state: AppState) -> Option<Scrubber> {
    let interval = state.settings.scrub_interval;
    if interval.is_zero() {
        return None;
    }
    Some(Scrubber(tokio::spawn(async move {
        let start = tokio::time::Instant::now() + interval;
        let mut tick = tokio::time::interval_at(start, interval);
        tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
        loop {
            tick.tick().await;
            // One node reads the store back at a time; the others skip their turn.
            let hold =
                match crate::db::exclusive::try_hold(&state.db, crate::db::exclusive::Job::Scrub)
                    .await
                {
                    Ok(Some(h)) => h,
                    Ok(None) => continue,
                    Err(e) => {
                        tracing::warn!(error = %e, "the scrubber could not take its hold");
                        continue;
                    }
                };
            if let Err(e) = run(&state).await {
                tracing::warn!(error = ?e, "scrub failed; will retry");
            }
            hold.release().await;
        }
    })))
}
