//! The tree: files and folders as rows that point at their parent. Paths are never stored, so a
//! rename or a move changes exactly one row; names are unique per folder among live nodes.

use sqlx::{Any, Row as _, Transaction};
use wire::{Node, NodeKind};

use super::{now_ms, Db, Row};
use crate::names::Name;

pub const NODE_COLUMNS: &str = "n.id, n.parent_id, n.name, n.kind, n.version_id, \
     COALESCE(v.size, 0), v.content_hash, n.modified_at, n.namespace_id";
pub const NODE_FROM: &str = "nodes n LEFT JOIN versions v ON v.id = n.version_id";

/// A node together with the namespace it lives in (which clients never need to see).
#[derive(Debug, Clone)]
pub struct NodeRow {
    pub node: Node,
    pub namespace_id: i64,
}

pub fn node_from_row(r: &Row) -> NodeRow {
    let kind: String = r.get(3);
    let hash: Option<String> = r.get(6);
    NodeRow {
        node: Node {
            id: r.get(0),
            parent_id: r.get(1),
            name: r.get(2),
            kind: if kind == "folder" {
                NodeKind::Folder
            } else {
                NodeKind::File
            },
            version_id: r.get(4),
            size: r.get::<i64, _>(5).max(0) as u64,
            content_hash: hash.and_then(|h| h.parse().ok()),
            modified_at: r.get(7),
        },
        namespace_id: r.get(8),
    }
}

/// A live node by id, whatever its namespace; callers check access.
pub async fn get<'e, E>(exec: E, id: i64) -> sqlx::Result<Option<NodeRow>>
where
    E: sqlx::Executor<'e, Database = Any>,
{
    let sql =
        format!("SELECT {NODE_COLUMNS} FROM {NODE_FROM} WHERE n.id = $1 AND n.deleted_at IS NULL");
    Ok(sqlx::query(&sql)
        .bind(id)
        .fetch_optional(exec)
        .await?
        .as_ref()
        .map(node_from_row))
}

pub async fn children(db: &Db, parent_id: i64) -> sqlx::Result<Vec<Node>> {
    let sql = format!(
        "SELECT {NODE_COLUMNS} FROM {NODE_FROM} WHERE n.parent_id = $1 AND n.deleted_at IS NULL \
         ORDER BY n.kind DESC, n.name_key"
    );
    Ok(sqlx::query(&sql)
        .bind(parent_id)
        .fetch_all(&db.pool)
        .await?
        .iter()
        .map(|r| node_from_row(r).node)
        .collect())
}

/// The live child of `parent_id` whose name compares equal to `name`.
pub async fn child_by_name(
    tx: &mut Transaction<'static, Any>,
    parent_id: i64,
    name: &Name,
) -> sqlx::Result<Option<NodeRow>> {
    let sql = format!(
        "SELECT {NODE_COLUMNS} FROM {NODE_FROM} WHERE n.parent_id = $1 AND n.name_key = $2 \
         AND n.deleted_at IS NULL"
    );
    Ok(sqlx::query(&sql)
        .bind(parent_id)
        .bind(&name.key)
        .fetch_optional(&mut **tx)
        .await?
        .as_ref()
        .map(node_from_row))
}

pub async fn insert(
    tx: &mut Transaction<'static, Any>,
    namespace_id: i64,
    parent_id: i64,
    name: &Name,
    kind: NodeKind,
) -> sqlx::Result<i64> {
    let kind = match kind {
        NodeKind::File => "file",
        NodeKind::Folder => "folder",
    };
    Ok(sqlx::query(
        "INSERT INTO nodes (namespace_id, parent_id, name, name_key, kind, created_at, modified_at) \
         VALUES ($1, $2, $3, $4, $5, $6, $6) RETURNING id",
    )
    .bind(namespace_id)
    .bind(parent_id)
    .bind(&name.display)
    .bind(&name.key)
    .bind(kind)
    .bind(now_ms())
    .fetch_one(&mut **tx)
    .await?
    .get(0))
}

/// Appends one entry to the namespace's change log and returns its sequence number. The
/// `UPDATE … RETURNING` takes the namespace row lock, so sequence numbers never collide.
pub async fn log_change(
    tx: &mut Transaction<'static, Any>,
    namespace_id: i64,
    node_id: i64,
    kind: &str,
) -> sqlx::Result<i64> {
    let seq: i64 = sqlx::query("UPDATE namespaces SET seq = seq + 1 WHERE id = $1 RETURNING seq")
        .bind(namespace_id)
        .fetch_one(&mut **tx)
        .await?
        .get(0);
    sqlx::query(
        "INSERT INTO changes (namespace_id, seq, node_id, kind, created_at) VALUES ($1, $2, $3, $4, $5)",
    )
    .bind(namespace_id)
    .bind(seq)
    .bind(node_id)
    .bind(kind)
    .bind(now_ms())
    .execute(&mut **tx)
    .await?;
    if tx.backend_name().eq_ignore_ascii_case("postgresql") {
        // Delivered by PostgreSQL only if and when this transaction commits: the push hint
        // for SSE on every API node (see `hub::listen_postgres`).
        sqlx::query("SELECT pg_notify($1, $2)")
            .bind(crate::hub::PG_CHANNEL)
            .bind(format!("{namespace_id}:{seq}"))
            .execute(&mut **tx)
            .await?;
    }
    Ok(seq)
}
