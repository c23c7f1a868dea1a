//! Share links, their download budgets and their access logs. Every write is one short
//! transaction; the budget check and the charge are one conditional `UPDATE`, so parallel
//! requests cannot both pass a check that only one of them should.

use sqlx::Row as _;
use wire::links::{AccessEntry, LinkKind};

use super::{now_ms, Db};

/// A link row (the token is never stored, only its hash).
#[derive(Debug, Clone)]
pub struct Link {
    pub id: i64,
    pub owner_id: i64,
    pub node_id: i64,
    pub kind: LinkKind,
    pub pinned_version_id: Option<i64>,
    pub expires_at: Option<i64>,
    pub password_hash: Option<String>,
    pub max_downloads: Option<i64>,
    pub max_bytes: Option<i64>,
    pub revoked_at: Option<i64>,
    pub created_at: i64,
    pub last_used_at: Option<i64>,
    pub uses: i64,
    pub token_hash: String,
}

const COLUMNS: &str = "id, owner_id, node_id, kind, pinned_version_id, expires_at, \
     password_hash, max_downloads, max_bytes, revoked_at, created_at, last_used_at, uses, token_hash";

fn from_row(r: &sqlx::any::AnyRow) -> Link {
    Link {
        id: r.get(0),
        owner_id: r.get(1),
        node_id: r.get(2),
        kind: if r.get::<String, _>(3) == "request" {
            LinkKind::Request
        } else {
            LinkKind::Download
        },
        pinned_version_id: r.get(4),
        expires_at: r.get(5),
        password_hash: r.get(6),
        max_downloads: r.get(7),
        max_bytes: r.get(8),
        revoked_at: r.get(9),
        created_at: r.get(10),
        last_used_at: r.get(11),
        uses: r.get(12),
        token_hash: r.get(13),
    }
}

pub fn kind_text(kind: LinkKind) -> &'static str {
    match kind {
        LinkKind::Download => "download",
        LinkKind::Request => "request",
    }
}

/// What a new link is made of.
pub struct NewLink<'a> {
    pub token_hash: &'a str,
    pub owner_id: i64,
    pub node_id: i64,
    pub kind: LinkKind,
    pub pinned_version_id: Option<i64>,
    pub expires_at: Option<i64>,
    pub password_hash: Option<String>,
    pub max_downloads: Option<i64>,
    pub max_bytes: Option<i64>,
}

pub async fn insert(db: &Db, l: NewLink<'_>) -> sqlx::Result<i64> {
    let mut w = db.write().await?;
    let id: i64 = sqlx::query(
        "INSERT INTO share_links (token_hash, owner_id, node_id, kind, pinned_version_id, \
         expires_at, password_hash, max_downloads, max_bytes, created_at) \
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10) RETURNING id",
    )
    .bind(l.token_hash)
    .bind(l.owner_id)
    .bind(l.node_id)
    .bind(kind_text(l.kind))
    .bind(l.pinned_version_id)
    .bind(l.expires_at)
    .bind(l.password_hash)
    .bind(l.max_downloads)
    .bind(l.max_bytes)
    .bind(now_ms())
    .fetch_one(&mut *w.tx)
    .await?
    .get(0);
    w.commit().await?;
    Ok(id)
}

pub async fn by_token_hash(db: &Db, token_hash: &str) -> sqlx::Result<Option<Link>> {
    let sql = format!("SELECT {COLUMNS} FROM share_links WHERE token_hash = $1");
    Ok(sqlx::query(&sql)
        .bind(token_hash)
        .fetch_optional(&db.pool)
        .await?
        .as_ref()
        .map(from_row))
}

/// The link `id` if `owner_id` owns it.
pub async fn owned(db: &Db, owner_id: i64, id: i64) -> sqlx::Result<Option<Link>> {
    let sql = format!("SELECT {COLUMNS} FROM share_links WHERE id = $1 AND owner_id = $2");
    Ok(sqlx::query(&sql)
        .bind(id)
        .bind(owner_id)
        .fetch_optional(&db.pool)
        .await?
        .as_ref()
        .map(from_row))
}

/// The owner's links, newest first (optionally only those of one node).
pub async fn list(db: &Db, owner_id: i64, node_id: Option<i64>) -> sqlx::Result<Vec<Link>> {
    let sql = format!(
        "SELECT {COLUMNS} FROM share_links WHERE owner_id = $1 AND ($2 IS NULL OR node_id = $2) \
         ORDER BY id DESC LIMIT 1000"
    );
    Ok(sqlx::query(&sql)
        .bind(owner_id)
        .bind(node_id)
        .fetch_all(&db.pool)
        .await?
        .iter()
        .map(from_row)
        .collect())
}

/// Writes the changeable fields of `l` back.
pub async fn update(db: &Db, l: &Link) -> sqlx::Result<()> {
    let mut w = db.write().await?;
    sqlx::query(
        "UPDATE share_links SET expires_at = $1, password_hash = $2, max_downloads = $3, \
         max_bytes = $4 WHERE id = $5",
    )
    .bind(l.expires_at)
    .bind(&l.password_hash)
    .bind(l.max_downloads)
    .bind(l.max_bytes)
    .bind(l.id)
    .execute(&mut *w.tx)
    .await?;
    w.commit().await
}

/// Revokes the link at once (a second revoke keeps the first time).
pub async fn revoke(db: &Db, id: i64) -> sqlx::Result<()> {
    let sql = "UPDATE share_links SET revoked_at = COALESCE(revoked_at, $1) WHERE id = $2";
    db.stamp(sql, id).await
}

/// Counts one use of the link now.
pub async fn touch(db: &Db, id: i64) -> sqlx::Result<()> {
    let sql = "UPDATE share_links SET uses = uses + 1, last_used_at = $1 WHERE id = $2";
    db.stamp(sql, id).await
}

/// Charges `n` bytes of `version_id` to the link's budget of `cap` bytes for that version;
/// `false` (and nothing charged) when they would overrun it. One conditional `UPDATE`: two
/// requests racing for the last bytes cannot both win.
pub async fn charge(
    db: &Db,
    link_id: i64,
    version_id: i64,
    cap: u64,
    n: u64,
) -> sqlx::Result<bool> {
    let mut w = db.write().await?;
    sqlx::query(
        "INSERT INTO link_served (link_id, version_id, bytes) VALUES ($1, $2, 0) \
         ON CONFLICT (link_id, version_id) DO NOTHING",
    )
    .bind(link_id)
    .bind(version_id)
    .execute(&mut *w.tx)
    .await?;
    let done = sqlx::query(
        "UPDATE link_served SET bytes = bytes + $3 \
         WHERE link_id = $1 AND version_id = $2 AND bytes + $3 <= $4",
    )
    .bind(link_id)
    .bind(version_id)
    .bind(n as i64)
    .bind(cap as i64)
    .execute(&mut *w.tx)
    .await?
    .rows_affected()
        == 1;
    w.commit().await?;
    Ok(done)
}

/// Adds `n` served bytes of `version_id` to the link's tally, with no cap: links without a
/// download limit count once per response instead of once per piece.
pub async fn add_served(db: &Db, link_id: i64, version_id: i64, n: u64) -> sqlx::Result<()> {
    let mut w = db.write().await?;
    sqlx::query(
        "INSERT INTO link_served (link_id, version_id, bytes) VALUES ($1, $2, $3) \
         ON CONFLICT (link_id, version_id) DO UPDATE SET bytes = link_served.bytes + $3",
    )
    .bind(link_id)
    .bind(version_id)
    .bind(n as i64)
    .execute(&mut *w.tx)
    .await?;
    w.commit().await
}

/// Bytes of `version_id` the link has served.
pub async fn served(db: &Db, link_id: i64, version_id: i64) -> sqlx::Result<u64> {
    let n: Option<i64> =
        sqlx::query_scalar("SELECT bytes FROM link_served WHERE link_id = $1 AND version_id = $2")
            .bind(link_id)
            .bind(version_id)
            .fetch_optional(&db.pool)
            .await?;
    Ok(n.unwrap_or(0).max(0) as u64)
}

/// Bytes the link has served, all versions together.
pub async fn served_total(db: &Db, link_id: i64) -> sqlx::Result<u64> {
    let n: i64 = sqlx::query_scalar(
        "SELECT CAST(COALESCE(SUM(bytes), 0) AS BIGINT) FROM link_served WHERE link_id = $1",
    )
    .bind(link_id)
    .fetch_one(&db.pool)
    .await?;
    Ok(n.max(0) as u64)
}

/// Most log lines kept per link; older ones are dropped as new ones come.
pub const ACCESS_LOG_KEEP: i64 = 1000;

pub async fn log_access(db: &Db, link_id: i64, e: &AccessEntry) -> sqlx::Result<()> {
    let mut w = db.write().await?;
    let id: i64 = sqlx::query(
        "INSERT INTO link_access (link_id, at, network, action, path, outcome) \
         VALUES ($1, $2, $3, $4, $5, $6) RETURNING id",
    )
    .bind(link_id)
    .bind(e.at)
    .bind(&e.network)
    .bind(&e.action)
    .bind(&e.path)
    .bind(&e.outcome)
    .fetch_one(&mut *w.tx)
    .await?
    .get(0);
    if id % 100 == 0 {
        sqlx::query(
            "DELETE FROM link_access WHERE link_id = $1 AND id <= (SELECT id FROM link_access \
             WHERE link_id = $1 ORDER BY id DESC LIMIT 1 OFFSET $2)",
        )
        .bind(link_id)
        .bind(ACCESS_LOG_KEEP)
        .execute(&mut *w.tx)
        .await?;
    }
    w.commit().await
}

/// The link's log, newest first.
pub async fn access_log(db: &Db, link_id: i64) -> sqlx::Result<Vec<AccessEntry>> {
    Ok(sqlx::query(
        "SELECT at, network, action, path, outcome FROM link_access WHERE link_id = $1 \
         ORDER BY id DESC LIMIT $2",
    )
    .bind(link_id)
    .bind(ACCESS_LOG_KEEP)
    .fetch_all(&db.pool)
    .await?
    .iter()
    .map(|r| AccessEntry {
        at: r.get(0),
        network: r.get(1),
        action: r.get(2),
        path: r.get(3),
        outcome: r.get(4),
    })
    .collect())
}

/// What a link points at, live or not: (name, is folder, current version, size, live).
pub async fn target(
    db: &Db,
    node_id: i64,
) -> sqlx::Result<Option<(String, bool, Option<i64>, u64, bool)>> {
    Ok(sqlx::query(
        "SELECT n.name, n.kind, n.version_id, COALESCE(v.size, 0), \
         CASE WHEN n.deleted_at IS NULL THEN 1 ELSE 0 END \
         FROM nodes n LEFT JOIN versions v ON v.id = n.version_id WHERE n.id = $1",
    )
    .bind(node_id)
    .fetch_optional(&db.pool)
    .await?
    .map(|r| {
        (
            r.get(0),
            r.get::<String, _>(1) == "folder",
            r.get(2),
            r.get::<i64, _>(3).max(0) as u64,
            r.get::<i32, _>(4) == 1,
        )
    }))
}
