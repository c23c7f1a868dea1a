//! What the collector (`gc`) reads and deletes: expired uploads, old versions past retention,
//! and chunks nothing references, each chunk re-checked under its row lock before it goes.

use sqlx::{Any, Row as _, Transaction};

use super::{Backend, Db};

/// Upload sessions (id, namespace) that expired before `now`.
pub async fn expired_uploads(db: &Db, now: i64) -> sqlx::Result<Vec<(String, i64)>> {
    Ok(
        sqlx::query("SELECT id, namespace_id FROM uploads WHERE expires_at < $1")
            .bind(now)
            .fetch_all(&db.pool)
            .await?
            .iter()
            .map(|r| (r.get(0), r.get(1)))
            .collect(),
    )
}

/// Whether upload session `id` is still open.
pub async fn upload_open(db: &Db, id: &str) -> sqlx::Result<bool> {
    Ok(sqlx::query("SELECT 1 FROM uploads WHERE id = $1")
        .bind(id)
        .fetch_optional(&db.pool)
        .await?
        .is_some())
}

/// Old versions (namespace, version; no node's current version) that stopped being current
/// before `cutoff`, or rank past `past_rank` among their file's versions (newest first; the
/// current one is rank 1), ordered by namespace.
pub async fn old_versions(db: &Db, cutoff: i64, past_rank: i64) -> sqlx::Result<Vec<(i64, i64)>> {
    Ok(sqlx::query(
        "SELECT n.namespace_id, v.id FROM \
         (SELECT id, node_id, ROW_NUMBER() OVER (PARTITION BY node_id ORDER BY id DESC) AS rn \
          FROM versions) v JOIN nodes n ON n.id = v.node_id WHERE \
         (n.version_id IS NULL OR n.version_id <> v.id) AND (v.rn > $2 OR \
         EXISTS (SELECT 1 FROM versions w WHERE w.node_id = v.node_id AND w.id > v.id \
                 AND w.created_at < $1)) ORDER BY n.namespace_id, v.id",
    )
    .bind(cutoff)
    .bind(past_rank)
    .fetch_all(&db.pool)
    .await?
    .iter()
    .map(|r| (r.get(0), r.get(1)))
    .collect())
}

/// Up to `limit` chunks after `after` (by hash) that no version and no upload names, read
/// without locks: candidates, each re-checked under its lock by [`lock_chunk`] and
/// [`chunk_in_use`].
pub async fn unreferenced_chunks(db: &Db, after: &str, limit: usize) -> sqlx::Result<Vec<String>> {
    Ok(sqlx::query(
        "SELECT c.hash FROM chunks c WHERE c.hash > $1 AND NOT EXISTS \
         (SELECT 1 FROM version_chunks vc WHERE vc.hash = c.hash) AND NOT EXISTS \
         (SELECT 1 FROM upload_chunks uc WHERE uc.hash = c.hash) ORDER BY c.hash LIMIT $2",
    )
    .bind(after)
    .bind(limit as i64)
    .fetch_all(&db.pool)
    .await?
    .iter()
    .map(|r| r.get(0))
    .collect())
}

/// Locks chunk `hash`'s row until `tx` ends, never waiting (PostgreSQL `SKIP LOCKED`: a chunk a
/// commit holds is in use); `false` if it is gone or held.
pub async fn lock_chunk(tx: &mut Transaction<'static, Any>, hash: &str) -> sqlx::Result<bool> {
    let lock = match Backend::of(tx) {
        Backend::Postgres => " FOR UPDATE SKIP LOCKED",
        Backend::Sqlite => "",
    };
    Ok(
        sqlx::query(&format!("SELECT hash FROM chunks WHERE hash = $1{lock}"))
            .bind(hash)
            .fetch_optional(&mut **tx)
            .await?
            .is_some(),
    )
}

/// Whether a version or an open upload names chunk `hash`.
pub async fn chunk_in_use(tx: &mut Transaction<'static, Any>, hash: &str) -> sqlx::Result<bool> {
    Ok(sqlx::query(
        "SELECT 1 FROM version_chunks WHERE hash = $1 \
         UNION ALL SELECT 1 FROM upload_chunks WHERE hash = $1 LIMIT 1",
    )
    .bind(hash)
    .fetch_optional(&mut **tx)
    .await?
    .is_some())
}

/// Deletes chunk `hash`'s rows (its bytes are already gone).
pub async fn forget_chunk(tx: &mut Transaction<'static, Any>, hash: &str) -> sqlx::Result<()> {
    sqlx::query("DELETE FROM namespace_chunks WHERE hash = $1")
        .bind(hash)
        .execute(&mut **tx)
        .await?;
    sqlx::query("DELETE FROM chunks WHERE hash = $1")
        .bind(hash)
        .execute(&mut **tx)
        .await?;
    Ok(())
}

/// Up to `limit` chunk rows after `after` in hash order, with their sizes: the scrubber's walk.
pub async fn chunks_after(db: &Db, after: &str, limit: usize) -> sqlx::Result<Vec<(String, i64)>> {
    Ok(
        sqlx::query("SELECT hash, size FROM chunks WHERE hash > $1 ORDER BY hash LIMIT $2")
            .bind(after)
            .bind(limit as i64)
            .fetch_all(&db.pool)
            .await?
            .iter()
            .map(|r| (r.get(0), r.get(1)))
            .collect(),
    )
}

/// Takes chunk `hash` away from every namespace that could name it (its bytes were found
/// rotten or gone): uploads list it as missing again, so the next client that has the bytes
/// sends them and heals it, and commits cannot name it until then. The row stays: versions
/// still refer to it.
pub async fn unlist_chunk(tx: &mut Transaction<'static, Any>, hash: &str) -> sqlx::Result<u64> {
    Ok(sqlx::query("DELETE FROM namespace_chunks WHERE hash = $1")
        .bind(hash)
        .execute(&mut **tx)
        .await?
        .rows_affected())
}
