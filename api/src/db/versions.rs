//! A file's history: immutable versions, listed newest first, and restore, which writes a new
//! version pointing at the old version's chunk rows (no chunk byte is copied or re-sent).

use std::collections::HashMap;

use sqlx::{Any, Row as _, Transaction};
use wire::{Manifest, VersionInfo};

use super::{now_ms, Db};

/// Every version of `node_id`, newest first; `current` marks `current_version`.
pub async fn history(
    db: &Db,
    node_id: i64,
    current_version: Option<i64>,
) -> sqlx::Result<Vec<VersionInfo>> {
    let rows = sqlx::query(
        "SELECT v.id, v.size, v.content_hash, v.created_at, COALESCE(d.name, '') FROM versions v \
         LEFT JOIN devices d ON d.id = v.author_device_id WHERE v.node_id = $1 ORDER BY v.id DESC",
    )
    .bind(node_id)
    .fetch_all(&db.pool)
    .await?;
    rows.iter()
        .map(|r| {
            let id: i64 = r.get(0);
            let hash: String = r.get(2);
            Ok(VersionInfo {
                id,
                size: r.get::<i64, _>(1).max(0) as u64,
                content_hash: hash
                    .parse()
                    .map_err(|_| sqlx::Error::Decode("bad content hash".into()))?,
                created_at: r.get(3),
                device_name: r.get(4),
                current: Some(id) == current_version,
            })
        })
        .collect()
}

/// The size and content hash of version `version_id` of `node_id`, if it is one.
pub async fn of_node(
    tx: &mut Transaction<'static, Any>,
    node_id: i64,
    version_id: i64,
) -> sqlx::Result<Option<(u64, String)>> {
    Ok(
        sqlx::query("SELECT size, content_hash FROM versions WHERE id = $1 AND node_id = $2")
            .bind(version_id)
            .bind(node_id)
            .fetch_optional(&mut **tx)
            .await?
            .map(|r| (r.get::<i64, _>(0).max(0) as u64, r.get(1))),
    )
}

/// Writes a new current version of `node_id` with the content of `old_version`: same size,
/// hash, chunker, content type and chunk list (rows copied inside the database), authored by
/// `device_id`.
pub async fn restore(
    tx: &mut Transaction<'static, Any>,
    node_id: i64,
    old_version: i64,
    current_version: Option<i64>,
    device_id: i64,
) -> sqlx::Result<i64> {
    let now = now_ms();
    let new_id: i64 = sqlx::query(
        "INSERT INTO versions (node_id, parent_version_id, size, content_hash, chunker, \
         author_device_id, created_at, content_type) \
         SELECT node_id, $1, size, content_hash, chunker, $2, $3, content_type FROM versions \
         WHERE id = $4 \
         RETURNING id",
    )
    .bind(current_version)
    .bind(device_id)
    .bind(now)
    .bind(old_version)
    .fetch_one(&mut **tx)
    .await?
    .get(0);
    sqlx::query(
        "INSERT INTO version_chunks (version_id, idx, hash, offset_bytes, size) \
         SELECT $1, idx, hash, offset_bytes, size FROM version_chunks WHERE version_id = $2",
    )
    .bind(new_id)
    .bind(old_version)
    .execute(&mut **tx)
    .await?;
    sqlx::query("UPDATE nodes SET version_id = $1, modified_at = $2 WHERE id = $3")
        .bind(new_id)
        .bind(now)
        .bind(node_id)
        .execute(&mut **tx)
        .await?;
    Ok(new_id)
}

/// The namespace's kept old versions (id, size): those that are no file's current version,
/// ordered by when they were replaced (the first newer version of the same file), oldest first.
pub async fn oldest_replaced(
    tx: &mut Transaction<'static, Any>,
    namespace_id: i64,
) -> sqlx::Result<Vec<(i64, u64)>> {
    let rows = sqlx::query(
        "SELECT v.id, v.size FROM versions v JOIN nodes n ON n.id = v.node_id \
         WHERE n.namespace_id = $1 AND (n.version_id IS NULL OR n.version_id <> v.id) \
         ORDER BY (SELECT MIN(w.created_at) FROM versions w \
                   WHERE w.node_id = v.node_id AND w.id > v.id), v.id",
    )
    .bind(namespace_id)
    .fetch_all(&mut **tx)
    .await?;
    Ok(rows
        .iter()
        .map(|r| (r.get::<i64, _>(0), r.get::<i64, _>(1).max(0) as u64))
        .collect())
}

/// Versions deleted per statement: well under both databases' parameter limits.
const DELETE_BATCH: usize = 500;

/// Deletes the versions `ids` with their chunk lists; answers how many and the bytes they
/// counted (only what this transaction deleted: a version another transaction removed first
/// counts there). Never pass a node's current version.
pub async fn delete(tx: &mut Transaction<'static, Any>, ids: &[i64]) -> sqlx::Result<(usize, u64)> {
    let mut freed = 0u64;
    let mut count = 0usize;
    for batch in ids.chunks(DELETE_BATCH) {
        let list: Vec<String> = (1..=batch.len()).map(|i| format!("${i}")).collect();
        let list = list.join(", ");
        // The chunk lists first: they reference the versions.
        let sql = format!("DELETE FROM version_chunks WHERE version_id IN ({list})");
        let mut q = sqlx::query(&sql);
        for id in batch {
            q = q.bind(*id);
        }
        q.execute(&mut **tx).await?;
        let sql = format!("DELETE FROM versions WHERE id IN ({list}) RETURNING size");
        let mut q = sqlx::query(&sql);
        for id in batch {
            q = q.bind(*id);
        }
        for r in q.fetch_all(&mut **tx).await? {
            freed += r.get::<i64, _>(0).max(0) as u64;
            count += 1;
        }
    }
    Ok((count, freed))
}

/// How many chunks of `version_id` are listed with a size other than the stored chunk's (or
/// are not stored at all): such a version must not be written again.
pub async fn chunks_out_of_step(
    tx: &mut Transaction<'static, Any>,
    version_id: i64,
) -> sqlx::Result<i64> {
    Ok(sqlx::query(
        "SELECT COUNT(*) FROM version_chunks vc LEFT JOIN chunks c ON c.hash = vc.hash \
         WHERE vc.version_id = $1 AND (c.size IS NULL OR c.size <> vc.size)",
    )
    .bind(version_id)
    .fetch_one(&mut **tx)
    .await?
    .get(0))
}

/// A version as stored: its manifest (chunk list included), when it was written and the
/// content type its client gave.
#[derive(Debug, Clone)]
pub struct Stored {
    pub manifest: Manifest,
    pub created_at: i64,
    pub content_type: Option<String>,
}

/// Version `version_id` as stored, from the pool: the one way to load a version's manifest.
pub async fn stored(db: &Db, version_id: i64) -> sqlx::Result<Stored> {
    let row = sqlx::query(
        "SELECT chunker, size, content_hash, created_at, content_type FROM versions WHERE id = $1",
    )
    .bind(version_id)
    .fetch_one(&db.pool)
    .await?;
    let hash: String = row.get(2);
    Ok(Stored {
        manifest: Manifest {
            chunker: row.get(0),
            size: row.get::<i64, _>(1).max(0) as u64,
            hash: hash
                .parse()
                .map_err(|_| sqlx::Error::Decode("bad stored content hash".into()))?,
            chunks: super::chunks::version_chunks(&db.pool, version_id).await?,
        },
        created_at: row.get(3),
        content_type: row.get(4),
    })
}

/// What serving a version needs to know besides its chunks.
#[derive(Debug, Clone)]
pub struct Facts {
    pub size: u64,
    pub content_hash: String,
    pub created_at: i64,
    /// As its client sniffed it; never trusted for serving as is (`crate::mime::allowed`).
    pub content_type: Option<String>,
}

/// Size, content hash, creation time and content type of version `version_id` of `node_id`,
/// from the pool.
pub async fn facts(db: &super::Db, node_id: i64, version_id: i64) -> sqlx::Result<Option<Facts>> {
    Ok(sqlx::query(
        "SELECT size, content_hash, created_at, content_type FROM versions \
         WHERE id = $1 AND node_id = $2",
    )
    .bind(version_id)
    .bind(node_id)
    .fetch_optional(&db.pool)
    .await?
    .map(|r| Facts {
        size: r.get::<i64, _>(0).max(0) as u64,
        content_hash: r.get(1),
        created_at: r.get(2),
        content_type: r.get(3),
    }))
}

/// The username of each version's author (the user whose device wrote it), for `versions`.
pub async fn authors(db: &Db, versions: &[i64]) -> sqlx::Result<HashMap<i64, String>> {
    if versions.is_empty() {
        return Ok(HashMap::new());
    }
    let list: Vec<String> = (1..=versions.len()).map(|i| format!("${i}")).collect();
    let sql = format!(
        "SELECT v.id, u.username FROM versions v JOIN devices d ON d.id = v.author_device_id \
         JOIN users u ON u.id = d.user_id WHERE v.id IN ({})",
        list.join(", ")
    );
    let mut q = sqlx::query(&sql);
    for v in versions {
        q = q.bind(*v);
    }
    Ok(q.fetch_all(&db.pool)
        .await?
        .iter()
        .map(|r| (r.get(0), r.get(1)))
        .collect())
}
