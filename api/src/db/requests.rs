//! File requests' uploads: which uploads came through which upload-only link, what the
//! uploader called the file, and which chunks this upload itself has delivered — the only
//! dedup a stranger's upload gets, so it learns nothing of what the owner stores.

use std::collections::HashSet;

use sqlx::Row as _;
use wire::Hash;

use super::users::Caller;
use super::{now_ms, Db};

/// What the uploader asked for when the upload began.
#[derive(Debug, Clone)]
pub struct RequestUpload {
    pub link_id: i64,
    pub uploader: String,
    pub name: String,
    pub path: String,
    pub size: u64,
}

pub async fn insert(
    tx: &mut sqlx::Transaction<'static, sqlx::Any>,
    upload_id: &str,
    r: &RequestUpload,
) -> sqlx::Result<()> {
    sqlx::query(
        "INSERT INTO request_uploads (upload_id, link_id, uploader, name, path, size) \
         VALUES ($1, $2, $3, $4, $5, $6)",
    )
    .bind(upload_id)
    .bind(r.link_id)
    .bind(&r.uploader)
    .bind(&r.name)
    .bind(&r.path)
    .bind(r.size as i64)
    .execute(&mut **tx)
    .await?;
    Ok(())
}

pub async fn get(db: &Db, upload_id: &str) -> sqlx::Result<Option<RequestUpload>> {
    Ok(sqlx::query(
        "SELECT link_id, uploader, name, path, size FROM request_uploads WHERE upload_id = $1",
    )
    .bind(upload_id)
    .fetch_optional(&db.pool)
    .await?
    .map(|r| RequestUpload {
        link_id: r.get(0),
        uploader: r.get(1),
        name: r.get(2),
        path: r.get(3),
        size: r.get::<i64, _>(4).max(0) as u64,
    }))
}

pub async fn is_request(db: &Db, upload_id: &str) -> sqlx::Result<bool> {
    Ok(get(db, upload_id).await?.is_some())
}

/// The chunks whose bytes this upload itself delivered.
pub async fn received(db: &Db, upload_id: &str) -> sqlx::Result<HashSet<Hash>> {
    Ok(sqlx::query_scalar::<_, String>(
        "SELECT hash FROM upload_chunks WHERE upload_id = $1 AND received = 1",
    )
    .bind(upload_id)
    .fetch_all(&db.pool)
    .await?
    .into_iter()
    .filter_map(|h| h.parse().ok())
    .collect())
}

/// The chunks this upload may send and has not, with their sizes.
pub async fn outstanding(db: &Db, upload_id: &str) -> sqlx::Result<Vec<(Hash, u32)>> {
    Ok(
        sqlx::query("SELECT hash, size FROM upload_chunks WHERE upload_id = $1 AND received = 0")
            .bind(upload_id)
            .fetch_all(&db.pool)
            .await?
            .iter()
            .filter_map(|r| {
                let h: String = r.get(0);
                Some((
                    h.parse().ok()?,
                    r.get::<i64, _>(1).clamp(0, u32::MAX as i64) as u32,
                ))
            })
            .collect(),
    )
}

/// Bytes committed through the link so far (what its size limit counts).
pub async fn landed_bytes(db: &Db, link_id: i64) -> sqlx::Result<u64> {
    super::links::served_total(db, link_id).await
}

/// The device a file request's uploads are written by: one per link, made on first use,
/// revoked from birth (its token is random and never shown), so it signs nothing in and no
/// device list shows it, while versions still name their author.
pub async fn device(db: &Db, link_id: i64, owner_id: i64) -> sqlx::Result<(i64, String)> {
    const NAME: &str = "file request";
    let mut w = db.write().await?;
    let existing: Option<Option<i64>> =
        sqlx::query_scalar("SELECT device_id FROM share_links WHERE id = $1")
            .bind(link_id)
            .fetch_optional(&mut *w.tx)
            .await?;
    if let Some(Some(id)) = existing {
        return Ok((id, NAME.to_owned()));
    }
    let now = now_ms();
    let id: i64 = sqlx::query(
        "INSERT INTO devices (user_id, name, token_hash, created_at, last_seen_at, revoked_at) \
         VALUES ($1, $2, $3, $4, $4, $4) RETURNING id",
    )
    .bind(owner_id)
    .bind(NAME)
    .bind(crate::auth::token_hash(&crate::auth::new_token()))
    .bind(now)
    .fetch_one(&mut *w.tx)
    .await?
    .get(0);
    sqlx::query("UPDATE share_links SET device_id = $1 WHERE id = $2")
        .bind(id)
        .bind(link_id)
        .execute(&mut *w.tx)
        .await?;
    w.commit().await?;
    Ok((id, NAME.to_owned()))
}

/// The owner, acting through the link's device: who a file request's upload is written as.
pub async fn caller(
    db: &Db,
    owner_id: i64,
    device: (i64, String),
    default_quota: u64,
) -> sqlx::Result<Option<Caller>> {
    Ok(sqlx::query(
        "SELECT u.id, u.username, u.namespace_id, n.root_id, u.quota_bytes, \
         CAST((SELECT COALESCE(SUM(o.used_bytes + o.history_bytes + o.staged_bytes), 0) \
         FROM namespaces o WHERE o.owner_user_id = u.id AND o.shared_at IS NOT NULL) AS BIGINT) \
         FROM users u JOIN namespaces n ON n.id = u.namespace_id WHERE u.id = $1",
    )
    .bind(owner_id)
    .fetch_optional(&db.pool)
    .await?
    .map(|r| Caller {
        user_id: r.get(0),
        username: r.get(1),
        device_id: device.0,
        device_name: device.1,
        namespace_id: r.get(2),
        root_id: r.get(3),
        quota_bytes: r
            .get::<Option<i64>, _>(4)
            .map_or(default_quota, |q| q.max(0) as u64),
        last_seen_at: now_ms(),
        shared_bytes: r.get::<i64, _>(5).max(0) as u64,
    }))
}
