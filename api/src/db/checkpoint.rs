//! SQLite's WAL checkpoints, moved off the writer's path.
//!
//! By default the connection whose commit pushes the WAL past 1,000 pages copies those pages
//! into the database file and fsyncs it before its `COMMIT` returns. Under group commit that
//! connection is nearly always the commit writer, so every few batches one batch took a
//! checkpoint's worth longer and every caller in it waited for it (≈1.4 ms a batch on average,
//! an eighth of the writer's time). Here every connection has automatic checkpoints off and
//! one connection of its own checkpoints in the background (`PASSIVE`: it never blocks the
//! writer or readers). Durability is unchanged: a commit is durable once its WAL frames are
//! synced, which still happens in `COMMIT` (`synchronous = FULL`); a checkpoint only moves
//! already-durable pages.
//!
//! A passive checkpoint can never finish while readers keep old snapshots open, and the WAL
//! only restarts from its beginning once everything in it is checkpointed; past
//! [`RESTART_FRAMES`] the checkpointer asks for a `RESTART`, which waits (busy timeout) for a
//! moment with no writer so the file stops growing.

use std::time::Duration;

use sqlx::{AnyPool, Row as _};

/// How often the checkpointer looks at the WAL.
const EVERY: Duration = Duration::from_millis(100);
/// WAL frames (about 4 KiB each) past which a passive checkpoint is not enough.
const RESTART_FRAMES: i64 = 16_384;

/// Checkpoints `pool`'s database every [`EVERY`] until the task is aborted.
pub fn spawn(pool: AnyPool) -> tokio::task::JoinHandle<()> {
    tokio::spawn(async move {
        let mut tick = tokio::time::interval(EVERY);
        tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
        loop {
            tick.tick().await;
            if let Err(e) = checkpoint(&pool).await {
                tracing::warn!(error = %e, "WAL checkpoint failed");
            }
        }
    })
}

async fn checkpoint(pool: &AnyPool) -> sqlx::Result<()> {
    // (busy, frames in the WAL, frames checkpointed)
    let r = sqlx::query("PRAGMA wal_checkpoint(PASSIVE)")
        .fetch_one(pool)
        .await?;
    let frames: i64 = r.try_get(1)?;
    if frames > RESTART_FRAMES {
        sqlx::query("PRAGMA wal_checkpoint(RESTART)")
            .fetch_one(pool)
            .await?;
    }
    Ok(())
}
