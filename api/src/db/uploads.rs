//! Upload sessions: the manifest a device promised to send, kept until it is committed or
//! expires, so a reloaded page can ask again what is still missing.

use super::batch_tx::{Cells, Value};
use rand::RngCore;
use wire::Manifest;

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
}

pub async fn create(db: &Db, u: &Upload) -> anyhow::Result<()> {
    let manifest = serde_json::to_string(&u.manifest)?;
    let mut w = db.write().await?;
    sqlx::query(
        "INSERT INTO uploads (id, namespace_id, device_id, manifest, created_at, expires_at) \
         VALUES ($1, $2, $3, $4, $5, $6)",
    )
    .bind(&u.id)
    .bind(u.namespace_id)
    .bind(u.device_id)
    .bind(manifest)
    .bind(now_ms())
    .bind(u.expires_at)
    .execute(&mut *w.tx)
    .await?;
    w.commit().await?;
    Ok(())
}

pub async fn get(db: &Db, id: &str) -> anyhow::Result<Option<Upload>> {
    let row = db
        .read_row(
            "SELECT id, namespace_id, device_id, manifest, expires_at FROM uploads WHERE id = $1",
            vec![Value::Text(Some(id.to_owned()))],
        )
        .await?;
    let Some(r) = row else { return Ok(None) };
    Ok(Some(Upload {
        id: r.text(0),
        namespace_id: r.int(1),
        device_id: r.int(2),
        manifest: serde_json::from_str(&r.text(3))?,
        expires_at: r.int(4),
    }))
}
