//! Upload sessions: the manifest a device promised to send, kept until it is committed,
//! cancelled or expires, so a reloaded page can ask again what is still missing; and, one row
//! each, the chunks it may send, whose bytes its namespace has reserved (`db::usage`).

use std::collections::HashSet;

use super::batch_tx::{Cells, Value};
use rand::RngCore;
use sqlx::{Any, Row as _, Transaction};
use wire::{Hash, Manifest};

use super::{now_ms, Db};

/// A new upload id: the creation time in microseconds (16 hex digits), then 128 random bits.
///
/// Time first because the `uploads` table and its key index keep rows in id order, and uploads
/// committed together were mostly started together: a batch of commits then deletes its
/// finished uploads from a few neighbouring pages instead of one random page per commit in
/// each B-tree — pages that every commit would otherwise write to the WAL and fsync. The random
/// part keeps the id as unguessable as a fully random one.
pub fn new_id() -> String {
    let micros = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_micros() as u64)
        .unwrap_or(0);
    let mut random = [0u8; 16];
    rand::rngs::OsRng.fill_bytes(&mut random);
    format!("{micros:016x}{}", hex::encode(random))
}

pub struct Upload {
    pub id: String,
    pub namespace_id: i64,
    pub device_id: i64,
    pub manifest: Manifest,
    pub expires_at: i64,
    /// Bytes of `staged_bytes` this upload holds: the sizes of its `upload_chunks` rows.
    pub reserved_bytes: i64,
}

/// Writes a new upload session that may send `chunks` (its `reserved_bytes` is their sizes'
/// sum, which the caller has charged to the namespace; `add_chunks` records it).
pub async fn insert(
    tx: &mut Transaction<'static, Any>,
    u: &Upload,
    chunks: &[(Hash, u32)],
) -> anyhow::Result<()> {
    let manifest = serde_json::to_string(&u.manifest)?;
    sqlx::query(
        "INSERT INTO uploads (id, namespace_id, device_id, manifest, created_at, expires_at, \
         reserved_bytes) VALUES ($1, $2, $3, $4, $5, $6, $7)",
    )
    .bind(&u.id)
    .bind(u.namespace_id)
    .bind(u.device_id)
    .bind(manifest)
    .bind(now_ms())
    .bind(u.expires_at)
    .bind(0_i64)
    .execute(&mut **tx)
    .await?;
    add_chunks(tx, &u.id, chunks).await?;
    Ok(())
}

/// Rows per `INSERT` of upload chunks (three parameters each).
const CHUNK_ROWS: usize = 300;

/// Lets upload `id` send `chunks` too, adding their sizes to its reservation (the caller
/// charges the namespace).
pub async fn add_chunks(
    tx: &mut Transaction<'static, Any>,
    id: &str,
    chunks: &[(Hash, u32)],
) -> sqlx::Result<()> {
    for part in chunks.chunks(CHUNK_ROWS) {
        let values: Vec<String> = (0..part.len())
            .map(|i| format!("(${}, ${}, ${})", 3 * i + 1, 3 * i + 2, 3 * i + 3))
            .collect();
        let sql = format!(
            "INSERT INTO upload_chunks (upload_id, hash, size) VALUES {}",
            values.join(", ")
        );
        let mut q = sqlx::query(&sql);
        for (hash, size) in part {
            q = q.bind(id).bind(hash.to_string()).bind(i64::from(*size));
        }
        q.execute(&mut **tx).await?;
    }
    let added: i64 = chunks.iter().map(|(_, s)| i64::from(*s)).sum();
    if added != 0 {
        sqlx::query("UPDATE uploads SET reserved_bytes = reserved_bytes + $2 WHERE id = $1")
            .bind(id)
            .bind(added)
            .execute(&mut **tx)
            .await?;
    }
    Ok(())
}

/// The bytes upload `id` has reserved, read inside the transaction that ends it (a resume may
/// have added to them since the upload was loaded); `None` if it is gone.
pub async fn reserved(tx: &mut Transaction<'static, Any>, id: &str) -> sqlx::Result<Option<i64>> {
    Ok(
        sqlx::query("SELECT reserved_bytes FROM uploads WHERE id = $1")
            .bind(id)
            .fetch_optional(&mut **tx)
            .await?
            .map(|r| r.get(0)),
    )
}

/// The chunks upload `id` may send already.
pub async fn chunk_hashes(db: &Db, id: &str) -> sqlx::Result<HashSet<Hash>> {
    let rows = sqlx::query("SELECT hash FROM upload_chunks WHERE upload_id = $1")
        .bind(id)
        .fetch_all(&db.pool)
        .await?;
    Ok(rows
        .iter()
        .filter_map(|r| r.get::<String, _>(0).parse().ok())
        .collect())
}

/// Upload sessions of the namespace that have not expired.
pub async fn open_count(
    tx: &mut Transaction<'static, Any>,
    namespace_id: i64,
    now: i64,
) -> sqlx::Result<i64> {
    Ok(
        sqlx::query("SELECT COUNT(*) FROM uploads WHERE namespace_id = $1 AND expires_at >= $2")
            .bind(namespace_id)
            .bind(now)
            .fetch_one(&mut **tx)
            .await?
            .get(0),
    )
}

/// Deletes upload `id` (with its chunk rows) if it is still there and, with `expired_before`,
/// only if it expired before then; answers the bytes it had reserved, which the caller gives
/// back to the namespace in the same transaction.
pub async fn remove(
    tx: &mut Transaction<'static, Any>,
    id: &str,
    expired_before: Option<i64>,
) -> sqlx::Result<Option<i64>> {
    let row = sqlx::query(
        "DELETE FROM uploads WHERE id = $1 AND expires_at < $2 RETURNING reserved_bytes",
    )
    .bind(id)
    .bind(expired_before.unwrap_or(i64::MAX))
    .fetch_optional(&mut **tx)
    .await?;
    let Some(row) = row else { return Ok(None) };
    sqlx::query("DELETE FROM upload_chunks WHERE upload_id = $1")
        .bind(id)
        .execute(&mut **tx)
        .await?;
    Ok(Some(row.get(0)))
}

pub async fn get(db: &Db, id: &str) -> anyhow::Result<Option<Upload>> {
    let row = db
        .read_row(
            "SELECT id, namespace_id, device_id, manifest, expires_at, reserved_bytes \
             FROM uploads WHERE id = $1",
            vec![Value::Text(Some(id.to_owned()))],
        )
        .await?;
    row.as_ref().map(upload_from).transpose()
}

/// An upload from the first six columns of a row (`id, namespace_id, device_id, manifest,
/// expires_at, reserved_bytes`).
fn upload_from(r: &impl Cells) -> anyhow::Result<Upload> {
    Ok(Upload {
        id: r.text(0),
        namespace_id: r.int(1),
        device_id: r.int(2),
        manifest: serde_json::from_str(&r.text(3))?,
        expires_at: r.int(4),
        reserved_bytes: r.int(5),
    })
}

/// Where a commit's folder lives: its namespace, and the committing user's role there as an
/// accepted member (`None`: not a member).
pub type FolderAt = (i64, Option<wire::Role>);

/// Upload `id` and, in the same statement, where live folder `parent_id` lives and `user_id`'s
/// role there (`None` when there is no such live node): all a commit's route reads.
pub async fn get_with_folder(
    db: &Db,
    id: &str,
    parent_id: i64,
    user_id: i64,
) -> anyhow::Result<Option<(Upload, Option<FolderAt>)>> {
    let row = db
        .read_row(
            "SELECT u.id, u.namespace_id, u.device_id, u.manifest, u.expires_at, \
             u.reserved_bytes, n.namespace_id, \
             CASE WHEN s.owner_user_id = $3 THEN 'owner' ELSE m.role END FROM uploads u \
             LEFT JOIN nodes n ON n.id = $2 AND n.deleted_at IS NULL AND n.mount_of IS NULL \
             LEFT JOIN namespaces s ON s.id = n.namespace_id \
             LEFT JOIN members m ON m.namespace_id = n.namespace_id AND m.user_id = $3 \
             AND m.accepted_at IS NOT NULL \
             WHERE u.id = $1",
            vec![
                Value::Text(Some(id.to_owned())),
                Value::Int(Some(parent_id)),
                Value::Int(Some(user_id)),
            ],
        )
        .await?;
    let Some(r) = row else { return Ok(None) };
    let upload = upload_from(&r)?;
    let folder = r
        .opt_int(6)
        .map(|ns| (ns, super::members::parse(r.opt_text(7))));
    Ok(Some((upload, folder)))
}

/// What a chunk PUT needs to know, in one row: the upload's namespace and expiry, and the
/// chunk's size, if upload `id` may send chunk `hash` at all.
pub struct ChunkSlot {
    pub namespace_id: i64,
    pub expires_at: i64,
    pub size: u32,
}

pub async fn chunk_slot(db: &Db, id: &str, hash: &Hash) -> sqlx::Result<Option<ChunkSlot>> {
    let row = db
        .read_row(
            "SELECT u.namespace_id, u.expires_at, c.size FROM upload_chunks c \
             JOIN uploads u ON u.id = c.upload_id WHERE c.upload_id = $1 AND c.hash = $2",
            vec![
                Value::Text(Some(id.to_owned())),
                Value::Text(Some(hash.to_string())),
            ],
        )
        .await?;
    Ok(row.map(|r| ChunkSlot {
        namespace_id: r.int(0),
        expires_at: r.int(1),
        size: r.int(2).clamp(0, u32::MAX as i64) as u32,
    }))
}

/// Records that upload `upload_id`'s own bytes of chunk `hash` arrived.
pub async fn mark_received(
    tx: &mut Transaction<'static, Any>,
    upload_id: &str,
    hash: &Hash,
) -> sqlx::Result<()> {
    sqlx::query("UPDATE upload_chunks SET received = 1 WHERE upload_id = $1 AND hash = $2")
        .bind(upload_id)
        .bind(hash.to_string())
        .execute(&mut **tx)
        .await?;
    Ok(())
}
