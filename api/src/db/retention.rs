//! The SQL of the hourly retention pass for bookkeeping rows that only matter for a while:
//! commit idempotency records and the rows of devices revoked long ago.

use super::Db;

/// Deletes idempotency records written before `cutoff_ms`; returns how many. A commit retried
/// after that finds neither its upload session (deleted when it committed) nor its record, and
/// is answered 404 `not_found` like any unknown upload.
pub async fn prune_idempotency(db: &Db, cutoff_ms: i64) -> sqlx::Result<u64> {
    let mut w = db.write().await?;
    let removed = sqlx::query("DELETE FROM idempotency WHERE created_at < $1")
        .bind(cutoff_ms)
        .execute(&mut *w.tx)
        .await?
        .rows_affected();
    w.commit().await?;
    Ok(removed)
}

/// Which devices go: revoked before the cutoff, and named by no version (a version list shows
/// its author device's name, so those rows stay; they go once their versions are pruned).
const GONE_DEVICES: &str = "SELECT d.id FROM devices d \
     WHERE d.revoked_at IS NOT NULL AND d.revoked_at < $1 \
     AND NOT EXISTS (SELECT 1 FROM versions v WHERE v.author_device_id = d.id)";

/// Deletes devices revoked before `cutoff_ms` that no version names, with their cursors and
/// idempotency records; returns how many devices. Their tokens stay refused: an unknown
/// token is refused like a revoked one.
pub async fn prune_revoked_devices(db: &Db, cutoff_ms: i64) -> sqlx::Result<u64> {
    let mut w = db.write().await?;
    for table in ["device_cursors", "idempotency"] {
        sqlx::query(&format!(
            "DELETE FROM {table} WHERE device_id IN ({GONE_DEVICES})"
        ))
        .bind(cutoff_ms)
        .execute(&mut *w.tx)
        .await?;
    }
    let removed = sqlx::query(&format!("DELETE FROM devices WHERE id IN ({GONE_DEVICES})"))
        .bind(cutoff_ms)
        .execute(&mut *w.tx)
        .await?
        .rows_affected();
    w.commit().await?;
    Ok(removed)
}
