//! Shared folders: the namespaces that are one (`namespaces.shared_at`), their members and
//! invitations (`members`), and what the caller sees of both. Access checks do not come here:
//! a node's role is read with the node (`members::node_with_role`).

use sqlx::{Any, Row as _, Transaction};
use wire::shares::{ActivityItem, Member, Share};
use wire::Actor;
use wire::Role;

use super::batch_tx::Cells;
use super::members::parse;
use super::Db;

/// A namespace that is a shared folder now.
#[derive(Debug, Clone, Copy)]
pub struct Shared {
    pub owner_id: i64,
    pub root_id: i64,
}

/// The stored spelling of a member's role.
pub fn role_text(role: Role) -> &'static str {
    match role {
        Role::Viewer => "viewer",
        Role::Editor => "editor",
        Role::Owner => "owner",
    }
}

/// A new shared-folder namespace owned by `owner_id`, whose root will be folder `root_id`.
pub async fn create(
    tx: &mut Transaction<'static, Any>,
    owner_id: i64,
    root_id: i64,
    now: i64,
) -> sqlx::Result<i64> {
    Ok(sqlx::query(
        "INSERT INTO namespaces (seq, owner_user_id, root_id, shared_at) \
         VALUES (0, $1, $2, $3) RETURNING id",
    )
    .bind(owner_id)
    .bind(root_id)
    .bind(now)
    .fetch_one(&mut **tx)
    .await?
    .get(0))
}

/// Namespace `id`, if it is a shared folder now.
pub async fn get<'e, E>(exec: E, id: i64) -> sqlx::Result<Option<Shared>>
where
    E: sqlx::Executor<'e, Database = Any>,
{
    let row = sqlx::query(
        "SELECT owner_user_id, root_id FROM namespaces WHERE id = $1 AND shared_at IS NOT NULL",
    )
    .bind(id)
    .fetch_optional(exec)
    .await?;
    Ok(row.map(|r| Shared {
        owner_id: r.int(0),
        root_id: r.int(1),
    }))
}

/// The shared folders `user_id` owns (besides their home), in id order.
pub async fn owned_by<'e, E>(exec: E, user_id: i64) -> sqlx::Result<Vec<i64>>
where
    E: sqlx::Executor<'e, Database = Any>,
{
    let rows = sqlx::query(
        "SELECT id FROM namespaces WHERE owner_user_id = $1 AND shared_at IS NOT NULL \
         ORDER BY id",
    )
    .bind(user_id)
    .fetch_all(exec)
    .await?;
    Ok(rows.iter().map(|r| r.int(0)).collect())
}

/// How many accepted members a shared folder has, as a column.
const MEMBER_COUNT: &str = "CAST((SELECT COUNT(*) FROM members x \
     WHERE x.namespace_id = s.id AND x.accepted_at IS NOT NULL) AS BIGINT)";

/// Every shared folder `user_id` owns or belongs to, and their open invitations, oldest first.
pub async fn of_user(db: &Db, user_id: i64) -> sqlx::Result<Vec<Share>> {
    let sql = format!(
        "SELECT s.id, s.root_id, r.name, s.owner_user_id, o.username, 'owner', \
         CAST(1 AS BIGINT), CAST(NULL AS TEXT), s.shared_at, {MEMBER_COUNT} \
         FROM namespaces s JOIN nodes r ON r.id = s.root_id JOIN users o ON o.id = s.owner_user_id \
         WHERE s.owner_user_id = $1 AND s.shared_at IS NOT NULL \
         UNION ALL \
         SELECT s.id, s.root_id, r.name, s.owner_user_id, o.username, m.role, \
         CAST(CASE WHEN m.accepted_at IS NULL THEN 0 ELSE 1 END AS BIGINT), i.username, \
         m.created_at, {MEMBER_COUNT} \
         FROM members m JOIN namespaces s ON s.id = m.namespace_id \
         JOIN nodes r ON r.id = s.root_id JOIN users o ON o.id = s.owner_user_id \
         LEFT JOIN users i ON i.id = m.invited_by \
         WHERE m.user_id = $1 AND s.shared_at IS NOT NULL \
         ORDER BY 9, 1"
    );
    let rows = sqlx::query(&sql).bind(user_id).fetch_all(&db.pool).await?;
    Ok(rows
        .iter()
        .map(|r| Share {
            id: r.int(0),
            root_id: r.int(1),
            name: r.text(2),
            owner_id: r.int(3),
            owner: r.text(4),
            role: parse(r.opt_text(5)).unwrap_or(Role::Viewer),
            accepted: r.int(6) == 1,
            invited_by: r.opt_text(7),
            created_at: r.int(8),
            members: r.int(9).clamp(0, u32::MAX as i64) as u32,
        })
        .collect())
}

/// The people of shared folder `id`: its owner first, then members and invitations in the
/// order they were invited.
pub async fn members_of<'e, E>(exec: E, id: i64) -> sqlx::Result<Vec<Member>>
where
    E: sqlx::Executor<'e, Database = Any>,
{
    let rows = sqlx::query(
        "SELECT u.id, u.username, 'owner', CAST(1 AS BIGINT), CAST(NULL AS TEXT), s.shared_at, \
         CAST(0 AS BIGINT) \
         FROM namespaces s JOIN users u ON u.id = s.owner_user_id \
         WHERE s.id = $1 AND s.shared_at IS NOT NULL \
         UNION ALL \
         SELECT u.id, u.username, m.role, \
         CAST(CASE WHEN m.accepted_at IS NULL THEN 0 ELSE 1 END AS BIGINT), i.username, \
         m.created_at, CAST(1 AS BIGINT) \
         FROM members m JOIN users u ON u.id = m.user_id LEFT JOIN users i ON i.id = m.invited_by \
         WHERE m.namespace_id = $1 \
         ORDER BY 7, 6, 1",
    )
    .bind(id)
    .fetch_all(exec)
    .await?;
    Ok(rows
        .iter()
        .map(|r| Member {
            user_id: r.int(0),
            username: r.text(1),
            role: parse(r.opt_text(2)).unwrap_or(Role::Viewer),
            accepted: r.int(3) == 1,
            invited_by: r.opt_text(4),
            created_at: r.int(5),
        })
        .collect())
}

/// `user_id`'s row in shared folder `id`: their role and whether they accepted.
pub async fn membership<'e, E>(exec: E, id: i64, user_id: i64) -> sqlx::Result<Option<(Role, bool)>>
where
    E: sqlx::Executor<'e, Database = Any>,
{
    let row = sqlx::query(
        "SELECT role, CAST(CASE WHEN accepted_at IS NULL THEN 0 ELSE 1 END AS BIGINT) \
         FROM members WHERE namespace_id = $1 AND user_id = $2",
    )
    .bind(id)
    .bind(user_id)
    .fetch_optional(exec)
    .await?;
    Ok(row.and_then(|r| parse(r.opt_text(0)).map(|role| (role, r.int(1) == 1))))
}

/// A user by the key of their name: their id and home namespace.
pub async fn user_by_key(db: &Db, key: &str) -> sqlx::Result<Option<(i64, i64)>> {
    let row = sqlx::query("SELECT id, namespace_id FROM users WHERE username_key = $1")
        .bind(key)
        .fetch_optional(&db.pool)
        .await?;
    Ok(row.map(|r| (r.int(0), r.int(1))))
}

/// The home namespace of each of `users` that exists, in the order given.
pub async fn homes_of(db: &Db, users: &[i64]) -> sqlx::Result<Vec<(i64, i64)>> {
    let mut out = Vec::with_capacity(users.len());
    for &u in users {
        let row = sqlx::query("SELECT namespace_id FROM users WHERE id = $1")
            .bind(u)
            .fetch_optional(&db.pool)
            .await?;
        if let Some(r) = row {
            out.push((u, r.int(0)));
        }
    }
    Ok(out)
}

/// Invites `user_id` into shared folder `id`; `false` when they already have a row there.
pub async fn invite(
    tx: &mut Transaction<'static, Any>,
    id: i64,
    user_id: i64,
    role: Role,
    invited_by: i64,
    now: i64,
) -> sqlx::Result<bool> {
    let row = sqlx::query(
        "INSERT INTO members (namespace_id, user_id, role, invited_by, created_at) \
         VALUES ($1, $2, $3, $4, $5) ON CONFLICT DO NOTHING RETURNING user_id",
    )
    .bind(id)
    .bind(user_id)
    .bind(role_text(role))
    .bind(invited_by)
    .bind(now)
    .fetch_optional(&mut **tx)
    .await?;
    Ok(row.is_some())
}

/// `user_id` accepts their invitation to shared folder `id`; `false` when there is none open.
pub async fn accept(
    tx: &mut Transaction<'static, Any>,
    id: i64,
    user_id: i64,
    now: i64,
) -> sqlx::Result<bool> {
    let done = sqlx::query(
        "UPDATE members SET accepted_at = $3 \
         WHERE namespace_id = $1 AND user_id = $2 AND accepted_at IS NULL",
    )
    .bind(id)
    .bind(user_id)
    .bind(now)
    .execute(&mut **tx)
    .await?;
    Ok(done.rows_affected() == 1)
}

/// A member's new role; `false` when they have no row in shared folder `id`.
pub async fn set_role(
    tx: &mut Transaction<'static, Any>,
    id: i64,
    user_id: i64,
    role: Role,
) -> sqlx::Result<bool> {
    let done = sqlx::query("UPDATE members SET role = $3 WHERE namespace_id = $1 AND user_id = $2")
        .bind(id)
        .bind(user_id)
        .bind(role_text(role))
        .execute(&mut **tx)
        .await?;
    Ok(done.rows_affected() == 1)
}

/// Takes `user_id`'s row (membership or invitation) out of shared folder `id`; `false` when
/// there was none.
pub async fn remove(
    tx: &mut Transaction<'static, Any>,
    id: i64,
    user_id: i64,
) -> sqlx::Result<bool> {
    let done = sqlx::query("DELETE FROM members WHERE namespace_id = $1 AND user_id = $2")
        .bind(id)
        .bind(user_id)
        .execute(&mut **tx)
        .await?;
    Ok(done.rows_affected() == 1)
}

/// Everyone with a row in shared folder `id` (members and invitations), in id order.
pub async fn people<'e, E>(exec: E, id: i64) -> sqlx::Result<Vec<i64>>
where
    E: sqlx::Executor<'e, Database = Any>,
{
    let rows = sqlx::query("SELECT user_id FROM members WHERE namespace_id = $1 ORDER BY user_id")
        .bind(id)
        .fetch_all(exec)
        .await?;
    Ok(rows.iter().map(|r| r.int(0)).collect())
}

/// Ends shared folder `id`: its member rows go, and it is a shared folder no more.
pub async fn end(tx: &mut Transaction<'static, Any>, id: i64) -> sqlx::Result<()> {
    sqlx::query("DELETE FROM members WHERE namespace_id = $1")
        .bind(id)
        .execute(&mut **tx)
        .await?;
    sqlx::query("UPDATE namespaces SET shared_at = NULL WHERE id = $1")
        .bind(id)
        .execute(&mut **tx)
        .await?;
    Ok(())
}

/// The newest `limit` changes of shared folder `id`, newest first, each with its node's name
/// (live, trashed or purged: whatever row is left) and who made it. `arrive` entries (the
/// contents of a folder moved in, logged so feeds learn where they are) are left out: the
/// folder's own `move` says what the user did.
pub async fn activity(db: &Db, id: i64, limit: i64) -> sqlx::Result<Vec<ActivityItem>> {
    let rows = sqlx::query(
        "SELECT c.seq, c.kind, c.node_id, c.created_at, n.name, d.id, d.name, u.id, u.username \
         FROM changes c LEFT JOIN nodes n ON n.id = c.node_id \
         LEFT JOIN devices d ON d.id = c.actor_device_id LEFT JOIN users u ON u.id = d.user_id \
         WHERE c.namespace_id = $1 AND c.kind <> 'arrive' ORDER BY c.seq DESC LIMIT $2",
    )
    .bind(id)
    .bind(limit)
    .fetch_all(&db.pool)
    .await?;
    Ok(rows
        .iter()
        .map(|r| ActivityItem {
            seq: r.int(0),
            kind: r.text(1),
            node_id: r.int(2),
            at: r.int(3),
            name: r.opt_text(4),
            actor: r.opt_int(5).map(|device_id| Actor {
                device_id,
                device_name: r.text(6),
                user_id: r.int(7),
                username: r.text(8),
            }),
        })
        .collect())
}
