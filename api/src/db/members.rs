//! Members of shared namespaces: the one lookup every access check of a namespace other than
//! the caller's home makes (for a node, inside the node's own read: `node_with_role`).

use sqlx::Any;
use wire::Role;

use super::batch_tx::Cells;
use super::nodes::{node_from_row, NodeRow, NODE_COLUMNS, NODE_FROM};

/// Joined to a statement whose node (alias `n`) is asked about by user `$2`: their role where
/// it lives is [`ROLE`] — `owner` of a namespace they own (their home, or a folder they
/// shared), else their role as an accepted member, else NULL.
pub const ROLE_JOIN: &str = "LEFT JOIN namespaces s ON s.id = n.namespace_id \
     LEFT JOIN members m ON m.namespace_id = n.namespace_id AND m.user_id = $2 \
     AND m.accepted_at IS NOT NULL";

/// The role column of [`ROLE_JOIN`].
pub const ROLE: &str = "CASE WHEN s.owner_user_id = $2 THEN 'owner' ELSE m.role END";

/// A stored role (`None`: not a role, or no row).
pub fn parse(role: Option<String>) -> Option<Role> {
    match role.as_deref() {
        Some("owner") => Some(Role::Owner),
        Some("editor") => Some(Role::Editor),
        Some("viewer") => Some(Role::Viewer),
        _ => None,
    }
}

/// A live node by id, with `user_id`'s role as an accepted member of its namespace (`None`
/// when they have none there: a stranger's), in one statement. A member's mount of a shared
/// folder is no node to address (`db::mounts`: clients know it by the shared root's id).
pub async fn node_with_role<'e, E>(
    exec: E,
    id: i64,
    user_id: i64,
) -> sqlx::Result<Option<(NodeRow, Option<Role>)>>
where
    E: sqlx::Executor<'e, Database = Any>,
{
    let sql = format!(
        "SELECT {NODE_COLUMNS}, {ROLE} FROM {NODE_FROM} {ROLE_JOIN} \
         WHERE n.id = $1 AND n.deleted_at IS NULL AND n.mount_of IS NULL"
    );
    let row = sqlx::query(&sql)
        .bind(id)
        .bind(user_id)
        .fetch_optional(exec)
        .await?;
    Ok(row.map(|r| (node_from_row(&r), parse(r.opt_text(10)))))
}

/// The namespace of trash item `id` (the top of what was trashed with it), with `user_id`'s
/// role there as an accepted member, in one statement.
pub async fn trashed_with_role<'e, E>(
    exec: E,
    id: i64,
    user_id: i64,
) -> sqlx::Result<Option<(i64, Option<Role>)>>
where
    E: sqlx::Executor<'e, Database = Any>,
{
    let sql = format!(
        "SELECT n.namespace_id, {ROLE} FROM nodes n {ROLE_JOIN} \
         WHERE n.id = $1 AND n.trashed_with = n.id"
    );
    let row = sqlx::query(&sql)
        .bind(id)
        .bind(user_id)
        .fetch_optional(exec)
        .await?;
    Ok(row.map(|r| (r.int(0), parse(r.opt_text(1)))))
}

/// The shared folders `user_id` owns or has accepted to be a member of, in id order.
pub async fn namespaces_of<'e, E>(exec: E, user_id: i64) -> sqlx::Result<Vec<i64>>
where
    E: sqlx::Executor<'e, Database = Any>,
{
    let rows = sqlx::query(
        "SELECT namespace_id FROM members WHERE user_id = $1 AND accepted_at IS NOT NULL \
         UNION SELECT id FROM namespaces WHERE owner_user_id = $1 AND shared_at IS NOT NULL \
         ORDER BY 1",
    )
    .bind(user_id)
    .fetch_all(exec)
    .await?;
    Ok(rows.iter().map(|r| r.int(0)).collect())
}
