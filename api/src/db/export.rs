//! What an account export reads: the caller's live tree under their home root (the shared
//! folders they own included, a member's mounts of others' folders as bare rows), every version
//! of its files and the chunk lists of the current ones, all in one snapshot, so the archive
//! and its index agree with each other even while the user's devices keep committing.
//!
//! Three statements walk the same subtree (a recursive CTE over `nodes_parent`), rather than
//! one statement per file: an export of 100,000 files must not cost 100,000 round trips on
//! PostgreSQL before its first byte. The first reads at most a given number of nodes, so an
//! account too large to export is found without reading all of it.

use std::collections::HashMap;

use sqlx::{Any, Transaction};
use wire::ChunkRef;

use super::batch_tx::Cells;
use super::{Backend, Db};

/// The live subtree under `$1`: trashed nodes (and what was trashed with them) are left out,
/// and so is any node of a namespace `$2` does not own (a member's mount has no children, so
/// the walk never enters a shared folder of someone else's).
const TREE: &str =
    "WITH RECURSIVE sub(id, parent_id, name, kind, version_id, modified_at, mount_of) AS ( \
     SELECT id, parent_id, name, kind, version_id, modified_at, mount_of FROM nodes WHERE id = $1 \
     UNION ALL SELECT n.id, n.parent_id, n.name, n.kind, n.version_id, n.modified_at, n.mount_of \
     FROM sub CROSS JOIN nodes n WHERE n.parent_id = sub.id AND n.deleted_at IS NULL \
     AND n.namespace_id IN (SELECT id FROM namespaces WHERE owner_user_id = $2))";

/// One node of the tree.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TreeNode {
    pub id: i64,
    /// `None` for the root alone.
    pub parent_id: Option<i64>,
    pub name: String,
    pub folder: bool,
    /// A file's current version.
    pub version_id: Option<i64>,
    /// A file's current size.
    pub size: u64,
    pub modified_at: i64,
    /// A member's place for someone else's shared folder (`db::mounts`), not a folder of theirs.
    pub mount: bool,
}

/// One version of a file in the tree.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TreeVersion {
    pub node_id: i64,
    pub id: i64,
    pub size: u64,
    /// BLAKE3 of the whole content, hex.
    pub content_hash: String,
    pub created_at: i64,
    /// The media type its client sniffed, when it sent one.
    pub content_type: Option<String>,
}

/// The tree as one snapshot saw it.
#[derive(Debug, Clone, Default)]
pub struct Tree {
    /// The root and everything live below it, in no particular order.
    pub nodes: Vec<TreeNode>,
    /// Every version of every file, by node, newest first.
    pub versions: Vec<TreeVersion>,
    /// The chunk list of each current version, by version id.
    pub chunks: HashMap<i64, Vec<ChunkRef>>,
}

/// The tree under `root_id` as user `user_id` owns it, or `None` when more than `max_nodes`
/// nodes lie below the root.
pub async fn tree(
    db: &Db,
    root_id: i64,
    user_id: i64,
    max_nodes: usize,
) -> sqlx::Result<Option<Tree>> {
    let mut tx = db.pool.begin().await?;
    if db.backend == Backend::Postgres {
        // One snapshot for all three statements (SQLite's read transaction is one already).
        sqlx::query("SET TRANSACTION ISOLATION LEVEL REPEATABLE READ, READ ONLY")
            .execute(&mut *tx)
            .await?;
    }
    let Some(nodes) = nodes(&mut tx, root_id, user_id, max_nodes).await? else {
        tx.rollback().await?;
        return Ok(None);
    };
    let versions = versions(&mut tx, root_id, user_id).await?;
    let chunks = chunks(&mut tx, root_id, user_id).await?;
    tx.rollback().await?;
    Ok(Some(Tree {
        nodes,
        versions,
        chunks,
    }))
}

async fn nodes(
    tx: &mut Transaction<'static, Any>,
    root_id: i64,
    user_id: i64,
    max_nodes: usize,
) -> sqlx::Result<Option<Vec<TreeNode>>> {
    // The root, the most allowed, and one more to tell "too many".
    let limit = max_nodes as i64 + 2;
    let rows = sqlx::query(&format!(
        "{TREE} SELECT s.id, s.parent_id, s.name, s.kind, s.version_id, s.modified_at, \
         s.mount_of, COALESCE(v.size, 0) FROM (SELECT * FROM sub LIMIT $3) s \
         LEFT JOIN versions v ON v.id = s.version_id"
    ))
    .bind(root_id)
    .bind(user_id)
    .bind(limit)
    .fetch_all(&mut **tx)
    .await?;
    if rows.len() as i64 == limit {
        return Ok(None);
    }
    Ok(Some(
        rows.iter()
            .map(|r| TreeNode {
                id: r.int(0),
                parent_id: r.opt_int(1),
                name: r.text(2),
                folder: r.text(3) == "folder",
                version_id: r.opt_int(4),
                modified_at: r.int(5),
                mount: r.opt_int(6).is_some(),
                size: r.int(7).max(0) as u64,
            })
            .collect(),
    ))
}

async fn versions(
    tx: &mut Transaction<'static, Any>,
    root_id: i64,
    user_id: i64,
) -> sqlx::Result<Vec<TreeVersion>> {
    let rows = sqlx::query(&format!(
        "{TREE} SELECT v.node_id, v.id, v.size, v.content_hash, v.created_at, v.content_type \
         FROM sub JOIN versions v ON v.node_id = sub.id WHERE sub.kind = 'file' \
         ORDER BY v.node_id, v.id DESC"
    ))
    .bind(root_id)
    .bind(user_id)
    .fetch_all(&mut **tx)
    .await?;
    Ok(rows
        .iter()
        .map(|r| TreeVersion {
            node_id: r.int(0),
            id: r.int(1),
            size: r.int(2).max(0) as u64,
            content_hash: r.text(3),
            created_at: r.int(4),
            content_type: r.opt_text(5),
        })
        .collect())
}

async fn chunks(
    tx: &mut Transaction<'static, Any>,
    root_id: i64,
    user_id: i64,
) -> sqlx::Result<HashMap<i64, Vec<ChunkRef>>> {
    let rows = sqlx::query(&format!(
        "{TREE} SELECT vc.version_id, vc.hash, vc.offset_bytes, vc.size \
         FROM sub JOIN version_chunks vc ON vc.version_id = sub.version_id \
         WHERE sub.kind = 'file' ORDER BY vc.version_id, vc.idx"
    ))
    .bind(root_id)
    .bind(user_id)
    .fetch_all(&mut **tx)
    .await?;
    let mut out: HashMap<i64, Vec<ChunkRef>> = HashMap::new();
    for r in &rows {
        let hash = r
            .text(1)
            .parse()
            .map_err(|_| sqlx::Error::Decode("bad chunk hash".into()))?;
        out.entry(r.int(0)).or_default().push(ChunkRef {
            hash,
            offset: r.int(2) as u64,
            size: r.int(3) as u32,
        });
    }
    Ok(out)
}
