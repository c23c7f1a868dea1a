//! Members of shared namespaces: the one lookup every access check of a namespace other than
//! the caller's home makes (for a node, inside the node's own read: `node_with_role`).

use sqlx::Any;
use wire::Role;

use super::batch_tx::Cells;
use super::nodes::{node_from_row, NodeRow, NODE_COLUMNS, NODE_FROM};

fn parse(role: Option<String>) -> Option<Role> {
    match role.as_deref() {
        Some("editor") => Some(Role::Editor),
        Some("viewer") => Some(Role::Viewer),
        _ => None,
    }
}

/// A live node by id, with `user_id`'s role as an accepted member of its namespace (`None`
/// when they are not one: their own namespace, or a stranger's), in one statement.
pub async fn node_with_role<'e, E>(
    exec: E,
    id: i64,
    user_id: i64,
) -> sqlx::Result<Option<(NodeRow, Option<Role>)>>
where
    E: sqlx::Executor<'e, Database = Any>,
{
    let sql = format!(
        "SELECT {NODE_COLUMNS}, m.role FROM {NODE_FROM} \
         LEFT JOIN members m ON m.namespace_id = n.namespace_id AND m.user_id = $2 \
         AND m.accepted_at IS NOT NULL \
         WHERE n.id = $1 AND n.deleted_at IS NULL"
    );
    let row = sqlx::query(&sql)
        .bind(id)
        .bind(user_id)
        .fetch_optional(exec)
        .await?;
    Ok(row.map(|r| (node_from_row(&r), parse(r.opt_text(9)))))
}
