//! Users, their devices and device tokens. A user owns a home namespace whose root folder is
//! created with the account, so every signed-in device has a tree from its first request.

use sqlx::{Any, Row as _, Transaction};

use super::{now_ms, Db, Row};

/// Who is calling: resolved from a device token on every request.
#[derive(Debug, Clone)]
pub struct Caller {
    pub user_id: i64,
    pub username: String,
    pub device_id: i64,
    pub device_name: String,
    pub namespace_id: i64,
    pub root_id: i64,
}

pub struct NewAccount {
    pub user_id: i64,
    pub device_id: i64,
    pub namespace_id: i64,
    pub root_id: i64,
}

/// Creates user, home namespace, root folder and first device. `None` if the username is taken.
pub async fn create_account(
    db: &Db,
    username: &str,
    password_hash: &str,
    device_name: &str,
    token_hash: &str,
) -> sqlx::Result<Option<NewAccount>> {
    let mut w = db.write().await?;
    let tx = &mut w.tx;
    let taken = sqlx::query("SELECT id FROM users WHERE username = $1")
        .bind(username)
        .fetch_optional(&mut **tx)
        .await?;
    if taken.is_some() {
        return Ok(None);
    }
    let now = now_ms();
    let namespace_id: i64 = sqlx::query("INSERT INTO namespaces (seq) VALUES (0) RETURNING id")
        .fetch_one(&mut **tx)
        .await?
        .get(0);
    let user_id: i64 = sqlx::query(
        "INSERT INTO users (username, password_hash, namespace_id, created_at) \
         VALUES ($1, $2, $3, $4) RETURNING id",
    )
    .bind(username)
    .bind(password_hash)
    .bind(namespace_id)
    .bind(now)
    .fetch_one(&mut **tx)
    .await?
    .get(0);
    let root_id: i64 = sqlx::query(
        "INSERT INTO nodes (namespace_id, parent_id, name, name_key, kind, created_at, modified_at) \
         VALUES ($1, NULL, '', '', 'folder', $2, $2) RETURNING id",
    )
    .bind(namespace_id)
    .bind(now)
    .fetch_one(&mut **tx)
    .await?
    .get(0);
    sqlx::query("UPDATE namespaces SET owner_user_id = $1, root_id = $2 WHERE id = $3")
        .bind(user_id)
        .bind(root_id)
        .bind(namespace_id)
        .execute(&mut **tx)
        .await?;
    let device_id = insert_device(tx, user_id, device_name, token_hash).await?;
    w.commit().await?;
    Ok(Some(NewAccount {
        user_id,
        device_id,
        namespace_id,
        root_id,
    }))
}

async fn insert_device(
    tx: &mut Transaction<'static, Any>,
    user_id: i64,
    name: &str,
    token_hash: &str,
) -> sqlx::Result<i64> {
    let now = now_ms();
    Ok(sqlx::query(
        "INSERT INTO devices (user_id, name, token_hash, created_at, last_seen_at) \
         VALUES ($1, $2, $3, $4, $4) RETURNING id",
    )
    .bind(user_id)
    .bind(name)
    .bind(token_hash)
    .bind(now)
    .fetch_one(&mut **tx)
    .await?
    .get(0))
}

pub struct Credentials {
    pub user_id: i64,
    pub password_hash: String,
    pub namespace_id: i64,
    pub root_id: i64,
}

pub async fn credentials(db: &Db, username: &str) -> sqlx::Result<Option<Credentials>> {
    let row = sqlx::query(
        "SELECT u.id, u.password_hash, u.namespace_id, n.root_id FROM users u \
         JOIN namespaces n ON n.id = u.namespace_id WHERE u.username = $1",
    )
    .bind(username)
    .fetch_optional(&db.pool)
    .await?;
    Ok(row.map(|r| Credentials {
        user_id: r.get(0),
        password_hash: r.get(1),
        namespace_id: r.get(2),
        root_id: r.get(3),
    }))
}

pub async fn add_device(db: &Db, user_id: i64, name: &str, token_hash: &str) -> sqlx::Result<i64> {
    let mut w = db.write().await?;
    let id = insert_device(&mut w.tx, user_id, name, token_hash).await?;
    w.commit().await?;
    Ok(id)
}

pub async fn caller_by_token(db: &Db, token_hash: &str) -> sqlx::Result<Option<Caller>> {
    let row = sqlx::query(
        "SELECT u.id, u.username, d.id, d.name, u.namespace_id, n.root_id FROM devices d \
         JOIN users u ON u.id = d.user_id JOIN namespaces n ON n.id = u.namespace_id \
         WHERE d.token_hash = $1 AND d.revoked_at IS NULL",
    )
    .bind(token_hash)
    .fetch_optional(&db.pool)
    .await?;
    Ok(row.map(|r: Row| Caller {
        user_id: r.get(0),
        username: r.get(1),
        device_id: r.get(2),
        device_name: r.get(3),
        namespace_id: r.get(4),
        root_id: r.get(5),
    }))
}

/// Logical bytes the user's namespace holds in current versions of live files.
pub async fn used_bytes(db: &Db, namespace_id: i64) -> sqlx::Result<u64> {
    let row = sqlx::query(
        "SELECT CAST(COALESCE(SUM(v.size), 0) AS BIGINT) FROM nodes n \
         JOIN versions v ON v.id = n.version_id \
         WHERE n.namespace_id = $1 AND n.deleted_at IS NULL",
    )
    .bind(namespace_id)
    .fetch_one(&db.pool)
    .await?;
    Ok(row.get::<i64, _>(0).max(0) as u64)
}
