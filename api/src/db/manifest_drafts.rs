//! Manifest drafts: the head of a manifest too large for one request body, and its chunk list
//! in numbered parts as they arrive (`routes/manifests.rs`), until an upload is opened from it
//! (`take`, in that upload's transaction) or it expires (`expire`, in the collector's pass).
//! Each part is kept as the JSON text the server wrote, so a part sent again is compared as
//! text, and the whole list is read back a part at a time when the upload opens.

use sqlx::{Any, Row as _, Transaction};
use wire::Hash;

use super::batch_tx::{Cells, Value};
use super::{now_ms, Db};

/// A draft's head, as `POST /api/v1/manifests` made it.
#[derive(Debug, Clone)]
pub struct Draft {
    pub id: String,
    pub namespace_id: i64,
    pub device_id: i64,
    pub chunker: String,
    pub size: u64,
    pub hash: Hash,
    pub chunk_count: u32,
    pub part_chunks: u32,
    pub expires_at: i64,
}

const COLUMNS: &str =
    "id, namespace_id, device_id, chunker, size, hash, chunk_count, part_chunks, expires_at";

fn draft_from(r: &impl Cells) -> anyhow::Result<Draft> {
    Ok(Draft {
        id: r.text(0),
        namespace_id: r.int(1),
        device_id: r.int(2),
        chunker: r.text(3),
        size: r.int(4).max(0) as u64,
        hash: r
            .text(5)
            .parse()
            .map_err(|e| anyhow::anyhow!("stored draft hash: {e}"))?,
        chunk_count: r.int(6).clamp(0, u32::MAX as i64) as u32,
        part_chunks: r.int(7).clamp(1, u32::MAX as i64) as u32,
        expires_at: r.int(8),
    })
}

pub async fn insert(tx: &mut Transaction<'static, Any>, d: &Draft) -> sqlx::Result<()> {
    sqlx::query(
        "INSERT INTO manifest_drafts (id, namespace_id, device_id, chunker, size, hash, \
         chunk_count, part_chunks, created_at, expires_at) \
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10)",
    )
    .bind(&d.id)
    .bind(d.namespace_id)
    .bind(d.device_id)
    .bind(&d.chunker)
    .bind(d.size as i64)
    .bind(d.hash.to_string())
    .bind(i64::from(d.chunk_count))
    .bind(i64::from(d.part_chunks))
    .bind(now_ms())
    .bind(d.expires_at)
    .execute(&mut **tx)
    .await?;
    Ok(())
}

/// Drafts of the namespace that have not expired.
pub async fn open_count(
    tx: &mut Transaction<'static, Any>,
    namespace_id: i64,
    now: i64,
) -> sqlx::Result<i64> {
    Ok(sqlx::query(
        "SELECT COUNT(*) FROM manifest_drafts WHERE namespace_id = $1 AND expires_at >= $2",
    )
    .bind(namespace_id)
    .bind(now)
    .fetch_one(&mut **tx)
    .await?
    .get(0))
}

/// Draft `id`, whoever owns it (the caller asks `access`).
pub async fn get(db: &Db, id: &str) -> anyhow::Result<Option<Draft>> {
    let row = db
        .read_row(
            &format!("SELECT {COLUMNS} FROM manifest_drafts WHERE id = $1"),
            vec![Value::Text(Some(id.to_owned()))],
        )
        .await?;
    row.as_ref().map(draft_from).transpose()
}

/// Whether draft `id` is still there, holding its row lock until `tx` ends (on PostgreSQL; on
/// SQLite the writer is alone anyway), so the upload that takes the draft waits for a part
/// being written rather than leaving that part behind it.
pub async fn lock(tx: &mut Transaction<'static, Any>, id: &str) -> sqlx::Result<bool> {
    Ok(
        sqlx::query("UPDATE manifest_drafts SET expires_at = expires_at WHERE id = $1")
            .bind(id)
            .execute(&mut **tx)
            .await?
            .rows_affected()
            > 0,
    )
}

/// Stores part `part` of draft `id` as `chunks` unless a part of that number is there already,
/// and answers the text stored (the earlier one, if so).
pub async fn put_part(
    tx: &mut Transaction<'static, Any>,
    id: &str,
    part: u32,
    chunks: &str,
) -> sqlx::Result<String> {
    sqlx::query(
        "INSERT INTO manifest_parts (draft_id, part, chunks) VALUES ($1, $2, $3) \
         ON CONFLICT (draft_id, part) DO NOTHING",
    )
    .bind(id)
    .bind(i64::from(part))
    .bind(chunks)
    .execute(&mut **tx)
    .await?;
    Ok(
        sqlx::query("SELECT chunks FROM manifest_parts WHERE draft_id = $1 AND part = $2")
            .bind(id)
            .bind(i64::from(part))
            .fetch_one(&mut **tx)
            .await?
            .get(0),
    )
}

/// The numbers of the parts of draft `id` stored so far, in order.
pub async fn part_numbers(db: &Db, id: &str) -> sqlx::Result<Vec<u32>> {
    Ok(
        sqlx::query("SELECT part FROM manifest_parts WHERE draft_id = $1 ORDER BY part")
            .bind(id)
            .fetch_all(&db.pool)
            .await?
            .iter()
            .map(|r| r.get::<i64, _>(0).clamp(0, u32::MAX as i64) as u32)
            .collect(),
    )
}

/// Part `part` of draft `id` as stored (`None`: not sent).
pub async fn part(db: &Db, id: &str, part: u32) -> sqlx::Result<Option<String>> {
    Ok(
        sqlx::query("SELECT chunks FROM manifest_parts WHERE draft_id = $1 AND part = $2")
            .bind(id)
            .bind(i64::from(part))
            .fetch_optional(&db.pool)
            .await?
            .map(|r| r.get(0)),
    )
}

/// Deletes draft `id` with its parts, in the transaction that opens the upload made of it;
/// `false` if it was gone already (another request used it first).
pub async fn take(tx: &mut Transaction<'static, Any>, id: &str) -> sqlx::Result<bool> {
    let gone = sqlx::query("DELETE FROM manifest_drafts WHERE id = $1")
        .bind(id)
        .execute(&mut **tx)
        .await?
        .rows_affected();
    sqlx::query("DELETE FROM manifest_parts WHERE draft_id = $1")
        .bind(id)
        .execute(&mut **tx)
        .await?;
    Ok(gone > 0)
}

/// Deletes the drafts that expired before `now`, then every part whose draft is gone (theirs,
/// and any a part written in a race with `take` left behind); answers how many drafts.
pub async fn expire(db: &Db, now: i64) -> sqlx::Result<u64> {
    let mut w = db.write().await?;
    let n = sqlx::query("DELETE FROM manifest_drafts WHERE expires_at < $1")
        .bind(now)
        .execute(&mut *w.tx)
        .await?
        .rows_affected();
    sqlx::query(
        "DELETE FROM manifest_parts WHERE NOT EXISTS \
         (SELECT 1 FROM manifest_drafts d WHERE d.id = manifest_parts.draft_id)",
    )
    .execute(&mut *w.tx)
    .await?;
    w.commit().await?;
    Ok(n)
}
