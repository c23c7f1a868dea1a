//! Thumbnails: one small preview image per file version, stored as the page sent it (the
//! server never decodes it; `wire::thumbnails` has the rules it does check). A row goes with
//! its version through the foreign key's `ON DELETE CASCADE`, whichever path deletes the
//! version, so nothing here needs to be called when versions go.

use sqlx::Row as _;

use super::{now_ms, Db};

/// A stored thumbnail: its media type and bytes.
pub struct Thumbnail {
    pub media_type: String,
    pub bytes: Vec<u8>,
}

/// Stores (or replaces) the thumbnail of version `version_id` of node `node_id`. False when
/// that version is not one of that node's (nothing written).
pub async fn put(
    db: &Db,
    node_id: i64,
    version_id: i64,
    media_type: &str,
    bytes: Vec<u8>,
) -> sqlx::Result<bool> {
    let mut w = db.write().await?;
    // `WHERE` on the SELECT also keeps SQLite's parser from reading `ON CONFLICT` as a join.
    let n = sqlx::query(
        "INSERT INTO thumbnails (version_id, media_type, bytes, created_at) \
         SELECT v.id, $3, $4, $5 FROM versions v WHERE v.id = $1 AND v.node_id = $2 \
         ON CONFLICT (version_id) DO UPDATE SET media_type = excluded.media_type, \
         bytes = excluded.bytes, created_at = excluded.created_at",
    )
    .bind(version_id)
    .bind(node_id)
    .bind(media_type)
    .bind(bytes)
    .bind(now_ms())
    .execute(&mut *w.tx)
    .await?
    .rows_affected();
    if n > 0 {
        // Moves the folder listings' ETag (`nodes::listing_stamp`), so a device revalidating
        // a listing it fetched before the thumbnail came sees it.
        sqlx::query(
            "UPDATE namespaces SET thumbs = thumbs + 1 \
             WHERE id = (SELECT namespace_id FROM nodes WHERE id = $1)",
        )
        .bind(node_id)
        .execute(&mut *w.tx)
        .await?;
    }
    w.commit().await?;
    Ok(n > 0)
}

/// The thumbnail of version `version_id` of node `node_id`, if it has one.
pub async fn get(db: &Db, node_id: i64, version_id: i64) -> sqlx::Result<Option<Thumbnail>> {
    let row = sqlx::query(
        "SELECT t.media_type, t.bytes FROM thumbnails t JOIN versions v ON v.id = t.version_id \
         WHERE t.version_id = $1 AND v.node_id = $2",
    )
    .bind(version_id)
    .bind(node_id)
    .fetch_optional(&db.pool)
    .await?;
    Ok(row.map(|r| Thumbnail {
        media_type: r.get(0),
        bytes: r.get(1),
    }))
}

/// How many thumbnails are stored in all (tests: that none outlives its version).
pub async fn count_all(db: &Db) -> sqlx::Result<i64> {
    sqlx::query_scalar("SELECT COUNT(*) FROM thumbnails")
        .fetch_one(&db.pool)
        .await
}
