//! The hourly retention pass: what the server keeps only for a while is deleted once its time
//! is up, so no table grows with the server's age alone — the change log (older cursors then
//! answer `cursor_reset`), commit idempotency records (kept for the upload TTL: a retry comes
//! within an upload's life), and devices revoked longer ago than the device retention.

use std::sync::Weak;
use std::time::Duration;

use crate::db::exclusive::{try_hold, Job};
use crate::db::{self, Db};
use crate::settings::Settings;

/// How long each kind of row is kept.
#[derive(Debug, Clone, Copy)]
pub struct Keep {
    pub changes: Duration,
    pub idempotency: Duration,
    pub revoked_devices: Duration,
}

impl Keep {
    pub fn from_settings(s: &Settings) -> Keep {
        Keep {
            changes: s.change_retention,
            idempotency: s.upload_ttl,
            revoked_devices: s.device_retention,
        }
    }
}

/// What one pass removed.
#[derive(Debug, Default, Clone, PartialEq, Eq)]
pub struct Report {
    pub changes: u64,
    pub idempotency: u64,
    pub devices: u64,
}

/// One pass as of `now_ms`.
pub async fn run(db: &Db, keep: Keep, now_ms: i64) -> sqlx::Result<Report> {
    let before =
        |d: Duration| now_ms.saturating_sub(i64::try_from(d.as_millis()).unwrap_or(i64::MAX));
    Ok(Report {
        changes: db::changes::prune(db, before(keep.changes)).await?,
        idempotency: db::retention::prune_idempotency(db, before(keep.idempotency)).await?,
        devices: db::retention::prune_revoked_devices(db, before(keep.revoked_devices)).await?,
    })
}

/// Runs a pass every hour (the first at once) until the database is gone.
pub async fn hourly(db: Weak<Db>, keep: Keep, clock: crate::clock::Clock) {
    let mut tick = tokio::time::interval(Duration::from_secs(3600));
    loop {
        tick.tick().await;
        let Some(db) = db.upgrade() else { return };
        // One node prunes at a time; the others skip their turn.
        let hold = match try_hold(&db, Job::Retention).await {
            Ok(Some(h)) => h,
            Ok(None) => continue,
            Err(e) => {
                tracing::warn!(error = %e, "retention could not take its hold");
                continue;
            }
        };
        let result = run(&db, keep, clock.now_ms()).await;
        hold.release().await;
        match result {
            Ok(r) if r == Report::default() => {}
            Ok(r) => tracing::info!(
                changes = r.changes,
                idempotency = r.idempotency,
                devices = r.devices,
                "retention pruned"
            ),
            Err(e) => tracing::warn!(error = %e, "retention failed"),
        }
    }
}
