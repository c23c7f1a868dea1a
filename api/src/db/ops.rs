//! What an operator reads and changes from the command line (`cairn admin …`, `cairn stats`,
//! `cairn backup`): whole-server questions no request of a user ever asks.

use sqlx::{Any, Row as _, Transaction};

use super::users::revoke_other_devices;
use super::{now_ms, Backend, Db};

/// One account, as `cairn admin user list` shows it.
#[derive(Debug, Clone, serde::Serialize)]
pub struct Account {
    pub id: i64,
    pub username: String,
    pub created_at: i64,
    /// Devices signed in (not revoked).
    pub devices: i64,
    /// Bytes the account's own tree holds: files, kept old versions and unfinished uploads.
    pub used_bytes: i64,
    /// `None`: the server's default quota.
    pub quota_bytes: Option<i64>,
    pub disabled_at: Option<i64>,
}

/// Every account, by username.
pub async fn accounts(db: &Db) -> sqlx::Result<Vec<Account>> {
    let rows = sqlx::query(
        "SELECT u.id, u.username, u.created_at, \
         (SELECT COUNT(*) FROM devices d WHERE d.user_id = u.id AND d.revoked_at IS NULL), \
         n.used_bytes + n.history_bytes + n.staged_bytes, u.quota_bytes, u.disabled_at \
         FROM users u JOIN namespaces n ON n.id = u.namespace_id WHERE u.deleted_at IS NULL \
         ORDER BY u.username_key",
    )
    .fetch_all(&db.pool)
    .await?;
    Ok(rows
        .iter()
        .map(|r| Account {
            id: r.get(0),
            username: r.get(1),
            created_at: r.get(2),
            devices: r.get(3),
            used_bytes: r.get(4),
            quota_bytes: r.get(5),
            disabled_at: r.get(6),
        })
        .collect())
}

/// The id of the account `key` (a lower-cased username) names.
pub async fn user_id(db: &Db, key: &str) -> sqlx::Result<Option<i64>> {
    sqlx::query_scalar("SELECT id FROM users WHERE username_key = $1")
        .bind(key)
        .fetch_optional(&db.pool)
        .await
}

/// Sets a user's quota (`None`: the server's default). `false` if there is no such user.
pub async fn set_quota(db: &Db, user_id: i64, bytes: Option<i64>) -> sqlx::Result<bool> {
    let mut w = db.write().await?;
    let done = sqlx::query("UPDATE users SET quota_bytes = $1 WHERE id = $2")
        .bind(bytes)
        .bind(user_id)
        .execute(&mut *w.tx)
        .await?
        .rows_affected()
        == 1;
    w.commit().await?;
    Ok(done)
}

/// Disables an account (its sign-ins are refused and every device of it is signed out) or
/// enables it again. Answers how many devices were signed out.
pub async fn set_disabled(db: &Db, user_id: i64, disabled: bool) -> sqlx::Result<usize> {
    let mut w = db.write().await?;
    sqlx::query("UPDATE users SET disabled_at = $1 WHERE id = $2")
        .bind(disabled.then(now_ms))
        .bind(user_id)
        .execute(&mut *w.tx)
        .await?;
    w.commit().await?;
    if !disabled {
        return Ok(0);
    }
    // No device has id 0: every one of them goes.
    revoke_other_devices(db, user_id, 0).await
}

/// A user's devices: id, name, last seen, revoked at.
pub async fn devices_of(
    db: &Db,
    user_id: i64,
) -> sqlx::Result<Vec<(i64, String, i64, Option<i64>)>> {
    let rows = sqlx::query(
        "SELECT id, name, last_seen_at, revoked_at FROM devices WHERE user_id = $1 ORDER BY id",
    )
    .bind(user_id)
    .fetch_all(&db.pool)
    .await?;
    Ok(rows
        .iter()
        .map(|r| (r.get(0), r.get(1), r.get(2), r.get(3)))
        .collect())
}

/// The owner of device `id`, revoked or not.
pub async fn device_owner(db: &Db, id: i64) -> sqlx::Result<Option<i64>> {
    sqlx::query_scalar("SELECT user_id FROM devices WHERE id = $1")
        .bind(id)
        .fetch_optional(&db.pool)
        .await
}

/// What the server holds, as `cairn stats` shows it.
#[derive(Debug, Clone, Default, serde::Serialize)]
pub struct Stats {
    pub users: i64,
    pub devices: i64,
    /// Live files and folders (the trash left out).
    pub files: i64,
    pub folders: i64,
    /// Versions kept: current and old, of live and trashed files.
    pub versions: i64,
    /// What those versions would take stored one by one.
    pub logical_bytes: i64,
    /// Verified chunks, each stored once however many versions use it.
    pub chunks: i64,
    pub stored_bytes: i64,
    /// Upload sessions begun and neither committed nor expired.
    pub uploads_open: i64,
}

impl Stats {
    /// Logical bytes per stored byte (1.0 with nothing stored).
    pub fn dedup_ratio(&self) -> f64 {
        if self.stored_bytes == 0 {
            1.0
        } else {
            self.logical_bytes as f64 / self.stored_bytes as f64
        }
    }
}

pub async fn stats(db: &Db, now: i64) -> sqlx::Result<Stats> {
    let r = sqlx::query(
        "SELECT (SELECT COUNT(*) FROM users WHERE deleted_at IS NULL), \
         (SELECT COUNT(*) FROM devices WHERE revoked_at IS NULL), \
         (SELECT COUNT(*) FROM nodes WHERE kind = 'file' AND deleted_at IS NULL), \
         (SELECT COUNT(*) FROM nodes WHERE kind = 'folder' AND deleted_at IS NULL \
            AND parent_id IS NOT NULL), \
         (SELECT COUNT(*) FROM versions), \
         (SELECT CAST(COALESCE(SUM(size), 0) AS BIGINT) FROM versions), \
         (SELECT COUNT(*) FROM chunks), \
         (SELECT CAST(COALESCE(SUM(size), 0) AS BIGINT) FROM chunks), \
         (SELECT COUNT(*) FROM uploads WHERE expires_at >= $1)",
    )
    .bind(now)
    .fetch_one(&db.pool)
    .await?;
    Ok(Stats {
        users: r.get(0),
        devices: r.get(1),
        files: r.get(2),
        folders: r.get(3),
        versions: r.get(4),
        logical_bytes: r.get(5),
        chunks: r.get(6),
        stored_bytes: r.get(7),
        uploads_open: r.get(8),
    })
}

/// SQLite: writes a consistent copy of the whole database to `path` (which must not exist)
/// while the server goes on (`VACUUM INTO` reads one snapshot; writers are not held up).
pub async fn snapshot_sqlite(db: &Db, path: &str) -> sqlx::Result<()> {
    debug_assert_eq!(db.backend, Backend::Sqlite);
    sqlx::query("VACUUM INTO $1")
        .bind(path)
        .execute(&db.pool)
        .await?;
    Ok(())
}

/// Every chunk the database names (verified chunks; what a backup of the store must hold).
pub async fn chunk_hashes<'e, E>(exec: E) -> sqlx::Result<Vec<String>>
where
    E: sqlx::Executor<'e, Database = Any>,
{
    sqlx::query_scalar("SELECT hash FROM chunks ORDER BY hash")
        .fetch_all(exec)
        .await
}

/// PostgreSQL: makes `tx` (just begun) read one snapshot, and exports it for `pg_dump
/// --snapshot`, so the dump and what `tx` reads next are the same state.
pub async fn export_snapshot(tx: &mut Transaction<'static, Any>) -> sqlx::Result<String> {
    sqlx::query("SET TRANSACTION ISOLATION LEVEL REPEATABLE READ, READ ONLY")
        .execute(&mut **tx)
        .await?;
    sqlx::query_scalar("SELECT pg_export_snapshot()")
        .fetch_one(&mut **tx)
        .await
}
