//! Users, their devices and device tokens. A user owns a home namespace whose root folder is
//! created with the account, so every signed-in device has a tree from its first request.

use sqlx::{Any, Row as _, Transaction};

use super::batch_tx::{Cells, SqlxTx, Value};
use super::{changes, now_ms, Backend, Db};

/// Who is calling: resolved from a device token on every request.
#[derive(Debug, Clone)]
pub struct Caller {
    pub user_id: i64,
    pub username: String,
    pub device_id: i64,
    pub device_name: String,
    pub namespace_id: i64,
    pub root_id: i64,
    /// The bytes this caller's namespace may hold: the user's own quota, or the server's
    /// default (which the loaders are given, so no caller exists without one).
    pub quota_bytes: u64,
    /// What the folders this user shared hold (their owner pays for them): the home may hold
    /// the rest of the quota ([`Caller::home_room`]).
    pub shared_bytes: u64,
    /// When this device last made an authenticated request (kept to the minute).
    pub last_seen_at: i64,
}

impl Caller {
    /// The bytes the caller's home may hold: their quota less what their shared folders hold.
    /// (Each namespace's check is under its own lock, so two writers in two of one owner's
    /// trees at the same instant may together pass the quota by at most one write each.)
    pub fn home_room(&self) -> u64 {
        self.quota_bytes.saturating_sub(self.shared_bytes)
    }
}

pub struct NewAccount {
    pub user_id: i64,
    pub device_id: i64,
    pub namespace_id: i64,
    pub root_id: i64,
}

/// Creates user, home namespace, root folder and first device. `None` if the username is
/// taken in any case (`key` is its lower-cased form, unique in `users.username_key`).
pub async fn create_account(
    db: &Db,
    username: &str,
    key: &str,
    password_hash: &str,
    device_name: &str,
    token_hash: &str,
) -> sqlx::Result<Option<NewAccount>> {
    create_account_with(
        db,
        username,
        key,
        password_hash,
        Some((device_name, token_hash)),
    )
    .await
}

/// [`create_account`], with or without a first device (an operator adding an account signs
/// in nowhere; its owner's first sign-in makes its first device). Without one, `device_id` is 0.
pub async fn create_account_with(
    db: &Db,
    username: &str,
    key: &str,
    password_hash: &str,
    device: Option<(&str, &str)>,
) -> sqlx::Result<Option<NewAccount>> {
    let mut w = db.write().await?;
    let tx = &mut w.tx;
    let now = now_ms();
    let namespace_id: i64 = sqlx::query("INSERT INTO namespaces (seq) VALUES (0) RETURNING id")
        .fetch_one(&mut **tx)
        .await?
        .get(0);
    // The unique index decides: on PostgreSQL two sign-ups for `Bob` and `bob` may both get
    // here, and the second finds the row the first wrote (waiting for its commit) and
    // inserts nothing; the namespace is rolled back.
    let Some(row) = sqlx::query(
        "INSERT INTO users (username, username_key, password_hash, namespace_id, created_at) \
         VALUES ($1, $2, $3, $4, $5) ON CONFLICT DO NOTHING RETURNING id",
    )
    .bind(username)
    .bind(key)
    .bind(password_hash)
    .bind(namespace_id)
    .bind(now)
    .fetch_optional(&mut **tx)
    .await?
    else {
        w.rollback().await?;
        return Ok(None);
    };
    let user_id: i64 = row.get(0);
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
    let device_id = match device {
        Some((name, token_hash)) => insert_device(tx, user_id, name, token_hash).await?,
        None => 0,
    };
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
    /// The operator disabled the account (`cairn admin user disable`).
    pub disabled: bool,
    pub password_hash: String,
    pub namespace_id: i64,
    pub root_id: i64,
}

/// The account `username` signs in to: the one of exactly that name, else the one whose
/// lower-cased name is `key`. (An account renamed by migration 0004 because its name
/// differed from an older one's only by case keeps signing in by its exact name.)
pub async fn credentials(db: &Db, username: &str, key: &str) -> sqlx::Result<Option<Credentials>> {
    let row = sqlx::query(
        "SELECT u.id, u.password_hash, u.namespace_id, n.root_id, u.disabled_at FROM users u \
         JOIN namespaces n ON n.id = u.namespace_id \
         WHERE u.username = $1 OR u.username_key = $2 \
         ORDER BY CASE WHEN u.username = $1 THEN 0 ELSE 1 END LIMIT 1",
    )
    .bind(username)
    .bind(key)
    .fetch_optional(&db.pool)
    .await?;
    Ok(row.map(|r| Credentials {
        user_id: r.get(0),
        password_hash: r.get(1),
        namespace_id: r.get(2),
        root_id: r.get(3),
        disabled: r.get::<Option<i64>, _>(4).is_some(),
    }))
}

pub async fn add_device(db: &Db, user_id: i64, name: &str, token_hash: &str) -> sqlx::Result<i64> {
    let mut w = db.write().await?;
    let id = insert_device(&mut w.tx, user_id, name, token_hash).await?;
    w.commit().await?;
    Ok(id)
}

pub async fn caller_by_token(
    db: &Db,
    token_hash: &str,
    default_quota: u64,
) -> sqlx::Result<Option<Caller>> {
    let row = db
        .read_row(
            &format!("{CALLER_FROM} WHERE d.token_hash = $1 AND d.revoked_at IS NULL"),
            vec![Value::Text(Some(token_hash.to_owned()))],
        )
        .await?;
    Ok(row.map(|r| caller_from_row(&r, default_quota)))
}

/// A device with its user, namespace and root: a `Caller` (`caller_from_row`), then the
/// device's token hash.
const CALLER_FROM: &str = "SELECT u.id, u.username, d.id, d.name, u.namespace_id, n.root_id, \
     u.quota_bytes, d.last_seen_at, d.token_hash, \
     CAST((SELECT COALESCE(SUM(o.used_bytes + o.history_bytes + o.staged_bytes), 0) \
     FROM namespaces o WHERE o.owner_user_id = u.id AND o.shared_at IS NOT NULL) AS BIGINT) \
     FROM devices d \
     JOIN users u ON u.id = d.user_id JOIN namespaces n ON n.id = u.namespace_id";

/// A `Caller` from a row of `CALLER_FROM`.
fn caller_from_row(r: &impl Cells, default_quota: u64) -> Caller {
    Caller {
        user_id: r.int(0),
        username: r.text(1),
        device_id: r.int(2),
        device_name: r.text(3),
        namespace_id: r.int(4),
        root_id: r.int(5),
        quota_bytes: r.opt_int(6).map_or(default_quota, |q| q.max(0) as u64),
        last_seen_at: r.int(7),
        shared_bytes: r.int(9).max(0) as u64,
    }
}

/// The user's active devices, oldest first.
pub async fn devices(db: &Db, user_id: i64) -> sqlx::Result<Vec<(i64, String, i64, i64)>> {
    let rows = sqlx::query(
        "SELECT id, name, created_at, last_seen_at FROM devices \
         WHERE user_id = $1 AND revoked_at IS NULL ORDER BY id",
    )
    .bind(user_id)
    .fetch_all(&db.pool)
    .await?;
    Ok(rows
        .iter()
        .map(|r| (r.get(0), r.get(1), r.get(2), r.get(3)))
        .collect())
}

/// Revokes one of the user's active devices; its token fails from the next request on.
/// `false` if there is no such active device of this user.
pub async fn revoke_device(db: &Db, user_id: i64, device_id: i64) -> sqlx::Result<bool> {
    let mut w = db.write().await?;
    let done = sqlx::query(
        "UPDATE devices SET revoked_at = $1 WHERE id = $2 AND user_id = $3 AND revoked_at IS NULL",
    )
    .bind(now_ms())
    .bind(device_id)
    .bind(user_id)
    .execute(&mut *w.tx)
    .await?
    .rows_affected()
        == 1;
    if done {
        // PostgreSQL: every API node's listener ends the device's open streams (this one's
        // included).
        let mut tx = SqlxTx {
            tx: &mut w.tx,
            backend: db.backend,
        };
        changes::notify(&mut tx, &[format!("revoke:{device_id}")]).await?;
    }
    w.commit().await?;
    if done && db.backend == Backend::Sqlite {
        db.hub.revoke(device_id);
    }
    Ok(done)
}

/// The user's password hash.
/// Which of `devices` are revoked (the event hub asks after missing notifications).
pub async fn revoked_among(db: &Db, devices: &[i64]) -> sqlx::Result<Vec<i64>> {
    if devices.is_empty() {
        return Ok(Vec::new());
    }
    let list: Vec<String> = (1..=devices.len()).map(|i| format!("${i}")).collect();
    let sql = format!(
        "SELECT id FROM devices WHERE revoked_at IS NOT NULL AND id IN ({})",
        list.join(", ")
    );
    let mut q = sqlx::query(&sql);
    for d in devices {
        q = q.bind(*d);
    }
    Ok(q.fetch_all(&db.pool)
        .await?
        .iter()
        .map(|r| r.get(0))
        .collect())
}

pub async fn password_hash(db: &Db, user_id: i64) -> sqlx::Result<String> {
    Ok(sqlx::query("SELECT password_hash FROM users WHERE id = $1")
        .bind(user_id)
        .fetch_one(&db.pool)
        .await?
        .get(0))
}

/// Replaces the user's password hash and, with `revoke_others_than`, revokes every other active
/// device of the account in the same transaction (their open event streams end at once).
/// Answers how many devices were revoked.
pub async fn set_password(
    db: &Db,
    user_id: i64,
    password_hash: &str,
    revoke_others_than: Option<i64>,
) -> sqlx::Result<usize> {
    let mut w = db.write().await?;
    sqlx::query("UPDATE users SET password_hash = $1 WHERE id = $2")
        .bind(password_hash)
        .bind(user_id)
        .execute(&mut *w.tx)
        .await?;
    let revoked = match revoke_others_than {
        Some(keep) => revoke_others_in(db, &mut w.tx, user_id, keep).await?,
        None => Vec::new(),
    };
    w.commit().await?;
    announce_revoked(db, &revoked);
    Ok(revoked.len())
}

/// Revokes every active device of `user_id` but `keep` ("sign out everywhere else"); answers
/// how many.
pub async fn revoke_other_devices(db: &Db, user_id: i64, keep: i64) -> sqlx::Result<usize> {
    let mut w = db.write().await?;
    let revoked = revoke_others_in(db, &mut w.tx, user_id, keep).await?;
    w.commit().await?;
    announce_revoked(db, &revoked);
    Ok(revoked.len())
}

pub(super) async fn revoke_others_in(
    db: &Db,
    tx: &mut Transaction<'static, Any>,
    user_id: i64,
    keep: i64,
) -> sqlx::Result<Vec<i64>> {
    let revoked: Vec<i64> = sqlx::query(
        "UPDATE devices SET revoked_at = $1 WHERE user_id = $2 AND id <> $3 \
         AND revoked_at IS NULL RETURNING id",
    )
    .bind(now_ms())
    .bind(user_id)
    .bind(keep)
    .fetch_all(&mut **tx)
    .await?
    .iter()
    .map(|r| r.get(0))
    .collect();
    // PostgreSQL: every API node's listener ends these devices' open streams, once committed.
    let hints: Vec<String> = revoked.iter().map(|id| format!("revoke:{id}")).collect();
    let backend = db.backend;
    changes::notify(&mut SqlxTx { tx, backend }, &hints).await?;
    Ok(revoked)
}

/// SQLite: ends the revoked devices' streams on this node once the revocation is committed
/// (PostgreSQL's notifications did it in the transaction).
pub fn announce_revoked(db: &Db, revoked: &[i64]) {
    if db.backend == Backend::Sqlite {
        for id in revoked {
            db.hub.revoke(*id);
        }
    }
}

/// Renames an active device of `user_id`; `false` if it has none by that id.
pub async fn rename_device(
    db: &Db,
    user_id: i64,
    device_id: i64,
    name: &str,
) -> sqlx::Result<bool> {
    let mut w = db.write().await?;
    let done = sqlx::query(
        "UPDATE devices SET name = $1 WHERE id = $2 AND user_id = $3 AND revoked_at IS NULL",
    )
    .bind(name)
    .bind(device_id)
    .bind(user_id)
    .execute(&mut *w.tx)
    .await?
    .rows_affected()
        == 1;
    w.commit().await?;
    Ok(done)
}

/// Records that the device was seen now.
pub async fn touch_device(db: &Db, device_id: i64) -> sqlx::Result<()> {
    db.stamp(
        "UPDATE devices SET last_seen_at = $1 WHERE id = $2",
        device_id,
    )
    .await
}

/// An active device by id, as a `Caller`, with its token hash: what a stream ticket is
/// checked against (the ticket's key is derived from the hash, so a revoked device's tickets
/// die with it). `None` for an unknown or revoked device.
pub async fn caller_by_device(
    db: &Db,
    device_id: i64,
    default_quota: u64,
) -> sqlx::Result<Option<(Caller, String)>> {
    let row = db
        .read_row(
            &format!("{CALLER_FROM} WHERE d.id = $1 AND d.revoked_at IS NULL"),
            vec![Value::Int(Some(device_id))],
        )
        .await?;
    Ok(row.map(|r| (caller_from_row(&r, default_quota), r.text(8))))
}

/// A user's name, for "shared by".
pub async fn username(db: &Db, user_id: i64) -> sqlx::Result<Option<String>> {
    sqlx::query_scalar("SELECT username FROM users WHERE id = $1")
        .bind(user_id)
        .fetch_optional(&db.pool)
        .await
}
