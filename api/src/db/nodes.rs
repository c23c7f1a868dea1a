//! The tree: files and folders as rows that point at their parent. Paths are never stored, so a
//! rename or a move changes exactly one row; names are unique per folder among live nodes.

use std::collections::HashMap;

use sqlx::{Any, Row as _, Transaction};
use wire::{Node, NodeKind};

use super::batch_tx::Cells;
use super::{now_ms, Db};
use crate::error::{ApiError, ApiResult};
use crate::names::{self, Name};

/// What [`node_from_row`] reads: ten columns, so a query's own columns start at index 10.
pub const NODE_COLUMNS: &str = "n.id, n.parent_id, n.name, n.kind, n.version_id, \
     COALESCE(v.size, 0), v.content_hash, n.modified_at, n.namespace_id, v.content_type";
pub const NODE_FROM: &str = "nodes n LEFT JOIN versions v ON v.id = n.version_id";

/// A node together with the namespace it lives in (which clients never need to see).
#[derive(Debug, Clone)]
pub struct NodeRow {
    pub node: Node,
    pub namespace_id: i64,
}

pub fn node_from_row(r: &impl Cells) -> NodeRow {
    NodeRow {
        node: Node {
            id: r.int(0),
            parent_id: r.opt_int(1),
            name: r.text(2),
            kind: if r.text(3) == "folder" {
                NodeKind::Folder
            } else {
                NodeKind::File
            },
            version_id: r.opt_int(4),
            size: r.int(5).max(0) as u64,
            content_hash: r.opt_text(6).and_then(|h| h.parse().ok()),
            modified_at: r.int(7),
            modified_by: None,
            content_type: r.opt_text(9),
            thumbnail: false,
        },
        namespace_id: r.int(8),
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

/// A folder's live children, without the member's mounts of shared folders (`db::mounts`):
/// what a public link to the folder shows, where a shared folder is not the linker's to give.
pub async fn children(db: &Db, parent_id: i64) -> sqlx::Result<Vec<Node>> {
    let sql = format!(
        "SELECT {NODE_COLUMNS} FROM {NODE_FROM} WHERE n.parent_id = $1 AND n.deleted_at IS NULL \
         AND n.mount_of IS NULL ORDER BY n.kind DESC, n.name_key"
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

/// The first name free in `parent_id` among `names::free_candidates(name, tag, plain_first)`.
pub async fn free_name(
    tx: &mut Transaction<'static, Any>,
    parent_id: i64,
    name: &str,
    tag: &str,
    plain_first: bool,
) -> ApiResult<Name> {
    for candidate in names::free_candidates(name, tag, plain_first) {
        if child_by_name(tx, parent_id, &candidate).await?.is_none() {
            return Ok(candidate);
        }
    }
    Err(ApiError::NoFreeName(name.to_owned()))
}

/// The name a node renamed or moved into `parent_id` as `name` takes there: `name` if no other
/// live child holds it (node `id` itself aside), else 409 `name_taken`, or with `keep_both` a
/// conflicted copy's name tagged `tag()`, with the clash (the name wanted, the holder's row).
pub async fn landing_name(
    tx: &mut Transaction<'static, Any>,
    parent_id: i64,
    name: Name,
    id: i64,
    keep_both: bool,
    tag: impl FnOnce() -> String,
) -> ApiResult<(Name, Option<(String, i64)>)> {
    let holder = child_by_name(tx, parent_id, &name)
        .await?
        .filter(|other| other.node.id != id);
    match (holder, keep_both) {
        (None, _) => Ok((name, None)),
        (Some(_), false) => Err(ApiError::NameTaken),
        // An offline change replayed late: both stay, this one as a conflicted copy.
        (Some(holder), true) => {
            let copy = free_name(tx, parent_id, &name.display, &tag(), false).await?;
            Ok((copy, Some((name.display, holder.node.id))))
        }
    }
}

/// `400 too_deep` unless a folder with `height` levels of folders beneath it may go into
/// `parent`: no folder may lie more than `MAX_FOLDER_DEPTH` levels below the root.
pub async fn fits_below(
    tx: &mut Transaction<'static, Any>,
    parent: i64,
    height: u32,
) -> ApiResult<()> {
    let max = names::MAX_FOLDER_DEPTH;
    let level = depth(tx, parent, max + 1).await? + 1 + height;
    if level > max {
        return Err(ApiError::TooDeep(level));
    }
    Ok(())
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

/// Makes writers to one namespace take turns until the transaction ends: a row lock on
/// PostgreSQL (where checks such as "not into its own subtree" would otherwise race). Nothing
/// on SQLite: every write transaction there already holds `Db::write`'s process-wide lock, and
/// no other process writes the file, so a read-then-write transaction cannot be overtaken.
/// Take it before reading what the transaction will decide on.
pub async fn lock_namespace(
    tx: &mut Transaction<'static, Any>,
    namespace_id: i64,
) -> sqlx::Result<()> {
    if super::Backend::of(tx) != super::Backend::Postgres {
        return Ok(());
    }
    sqlx::query("SELECT id FROM namespaces WHERE id = $1 FOR UPDATE")
        .bind(namespace_id)
        .execute(&mut **tx)
        .await?;
    Ok(())
}

/// [`lock_namespace`] on two namespaces (or one, if the same), in ascending id order: the one
/// order every writer that takes several keeps, so none waits on another in a cycle.
pub async fn lock_both(tx: &mut Transaction<'static, Any>, a: i64, b: i64) -> sqlx::Result<()> {
    lock_namespace(tx, a.min(b)).await?;
    if a != b {
        lock_namespace(tx, a.max(b)).await?;
    }
    Ok(())
}

/// The namespace's change sequence: it moves on every change to the tree, so it doubles as
/// the tree's version for listings' ETags.
pub async fn namespace_seq(db: &Db, namespace_id: i64) -> sqlx::Result<i64> {
    Ok(sqlx::query("SELECT seq FROM namespaces WHERE id = $1")
        .bind(namespace_id)
        .fetch_one(&db.pool)
        .await?
        .get(0))
}

/// A namespace's change sequence and its count of thumbnails set: together they name a state
/// of its folder listings (a listing's ETag).
pub async fn listing_stamp(db: &Db, namespace_id: i64) -> sqlx::Result<(i64, i64)> {
    let r = sqlx::query("SELECT seq, thumbs FROM namespaces WHERE id = $1")
        .bind(namespace_id)
        .fetch_one(&db.pool)
        .await?;
    Ok((r.get(0), r.get(1)))
}

/// True if `ancestor` is `node` or lies on the path from `node` up to the root.
pub async fn is_ancestor_or_self(
    tx: &mut Transaction<'static, Any>,
    ancestor: i64,
    node: i64,
) -> sqlx::Result<bool> {
    let row = sqlx::query(
        "WITH RECURSIVE up(id, parent_id) AS ( \
             SELECT id, parent_id FROM nodes WHERE id = $1 \
             UNION ALL SELECT n.id, n.parent_id FROM up CROSS JOIN nodes n WHERE n.id = up.parent_id) \
         SELECT COUNT(*) FROM up WHERE id = $2",
    )
    .bind(node)
    .bind(ancestor)
    .fetch_one(&mut **tx)
    .await?;
    Ok(row.get::<i64, _>(0) > 0)
}

/// Renames and/or moves one node: one row changes, whatever the size of its subtree.
pub async fn place(
    tx: &mut Transaction<'static, Any>,
    id: i64,
    parent_id: i64,
    name: &Name,
) -> sqlx::Result<()> {
    sqlx::query(
        "UPDATE nodes SET parent_id = $1, name = $2, name_key = $3, modified_at = $4 WHERE id = $5",
    )
    .bind(parent_id)
    .bind(&name.display)
    .bind(&name.key)
    .bind(now_ms())
    .bind(id)
    .execute(&mut **tx)
    .await?;
    Ok(())
}

/// Moves `id` and its live subtree to the trash, all marked with `id`; returns how many nodes.
/// Its time is past every other trash item of the namespace (whose lock the caller holds), so
/// the trash lists deletions in the order they happened even within one millisecond.
pub async fn trash_subtree(tx: &mut Transaction<'static, Any>, id: i64) -> sqlx::Result<u64> {
    let newest: Option<i64> = sqlx::query_scalar(
        "SELECT MAX(t.deleted_at) FROM nodes t WHERE t.trashed_with = t.id \
         AND t.namespace_id = (SELECT namespace_id FROM nodes WHERE id = $1)",
    )
    .bind(id)
    .fetch_one(&mut **tx)
    .await?;
    let at = now_ms().max(newest.map_or(0, |t| t + 1));
    Ok(sqlx::query(
        "WITH RECURSIVE sub(id) AS ( \
             SELECT id FROM nodes WHERE id = $1 \
             UNION ALL SELECT n.id FROM sub CROSS JOIN nodes n \
             WHERE n.parent_id = sub.id AND n.deleted_at IS NULL) \
         UPDATE nodes SET deleted_at = $2, trashed_with = $1 WHERE id IN (SELECT id FROM sub)",
    )
    .bind(id)
    .bind(at)
    .execute(&mut **tx)
    .await?
    .rows_affected())
}

/// A node the user deleted (the top of what went to the trash together), in the namespace.
pub struct Trashed {
    pub row: NodeRow,
    pub deleted_at: i64,
}

const TRASH_COLUMNS: &str = "n.id, n.parent_id, n.name, n.kind, n.version_id, \
     COALESCE(v.size, 0), v.content_hash, n.modified_at, n.namespace_id, v.content_type, \
     n.deleted_at";

pub async fn trash(db: &Db, namespace_id: i64) -> sqlx::Result<Vec<Trashed>> {
    let sql = format!(
        "SELECT {TRASH_COLUMNS} FROM {NODE_FROM} WHERE n.namespace_id = $1 \
         AND n.trashed_with = n.id ORDER BY n.deleted_at DESC, n.id DESC"
    );
    Ok(sqlx::query(&sql)
        .bind(namespace_id)
        .fetch_all(&db.pool)
        .await?
        .iter()
        .map(|r| Trashed {
            row: node_from_row(r),
            deleted_at: r.get(10),
        })
        .collect())
}

pub async fn trashed(
    tx: &mut Transaction<'static, Any>,
    namespace_id: i64,
    id: i64,
) -> sqlx::Result<Option<Trashed>> {
    let sql = format!(
        "SELECT {TRASH_COLUMNS} FROM {NODE_FROM} WHERE n.id = $1 AND n.namespace_id = $2 \
         AND n.trashed_with = n.id"
    );
    Ok(sqlx::query(&sql)
        .bind(id)
        .bind(namespace_id)
        .fetch_optional(&mut **tx)
        .await?
        .map(|r| Trashed {
            row: node_from_row(&r),
            deleted_at: r.get(10),
        }))
}

/// The root folder of namespace `namespace_id`.
pub async fn namespace_root(
    tx: &mut Transaction<'static, Any>,
    namespace_id: i64,
) -> sqlx::Result<i64> {
    sqlx::query("SELECT root_id FROM namespaces WHERE id = $1")
        .bind(namespace_id)
        .fetch_one(&mut **tx)
        .await
        .map(|r| r.get(0))
}

/// Brings back what was trashed with `id`, the top node under `parent_id` as `name`.
pub async fn restore_subtree(
    tx: &mut Transaction<'static, Any>,
    id: i64,
    parent_id: i64,
    name: &Name,
) -> sqlx::Result<()> {
    // The top first: its name must be settled before it is live again (unique index).
    place(tx, id, parent_id, name).await?;
    sqlx::query("UPDATE nodes SET deleted_at = NULL, trashed_with = NULL WHERE trashed_with = $1")
        .bind(id)
        .execute(&mut **tx)
        .await?;
    Ok(())
}

/// Purges trash item `id` of `namespace_id` (inside the caller's transaction, which holds the
/// namespace lock): the subtree is deleted for good, its bytes leave the usage counters and the
/// purge is logged. `None` if `id` is not a trash item of the namespace (any more). The one
/// path for a purge by hand (`DELETE /trash/{id}`, by device `actor`) and by the trash's
/// retention (`gc`, no actor).
pub async fn purge_trashed(
    tx: &mut Transaction<'static, Any>,
    namespace_id: i64,
    id: i64,
    actor: Option<i64>,
) -> sqlx::Result<Option<super::usage::Delta>> {
    if trashed(tx, namespace_id, id).await?.is_none() {
        return Ok(None);
    }
    let freed = purge_subtree(tx, id).await?;
    super::usage::charge(tx, namespace_id, freed, u64::MAX).await?;
    super::changes::log(tx, namespace_id, id, "purge", actor).await?;
    Ok(Some(freed))
}

/// Trash items (namespace, node) trashed before `before`, oldest first.
pub async fn trashed_before(db: &Db, before: i64) -> sqlx::Result<Vec<(i64, i64)>> {
    Ok(sqlx::query(
        "SELECT namespace_id, id FROM nodes WHERE trashed_with = id AND deleted_at < $1 \
         ORDER BY deleted_at, id",
    )
    .bind(before)
    .fetch_all(&db.pool)
    .await?
    .iter()
    .map(|r| (r.get(0), r.get(1)))
    .collect())
}

/// The recursive subtree of `$1`, trashed descendants included.
const SUBTREE: &str = "WITH RECURSIVE sub(id) AS ( \
     SELECT id FROM nodes WHERE id = $1 \
     UNION ALL SELECT n.id FROM sub CROSS JOIN nodes n WHERE n.parent_id = sub.id)";

/// Logs one change in `namespace_id` for every live node below `root` (not `root` itself),
/// all of one kind, and returns the last seq taken (`None` when there is none). A subtree
/// that moved into another tree needs it: the changes its nodes had in the tree they left no
/// longer show them there, so a device that never listed them would not learn where they are
/// from the moved folder's own change alone.
pub async fn log_subtree(
    tx: &mut Transaction<'static, Any>,
    namespace_id: i64,
    root: i64,
    kind: &str,
    actor: Option<i64>,
) -> sqlx::Result<Option<i64>> {
    let below = format!(
        "{} SELECT n.id FROM sub CROSS JOIN nodes n WHERE n.id = sub.id \
         AND n.id <> $1 AND n.deleted_at IS NULL",
        SUBTREE
    );
    let count: i64 = sqlx::query(&format!("SELECT COUNT(*) FROM ({below}) AS b"))
        .bind(root)
        .fetch_one(&mut **tx)
        .await?
        .get(0);
    if count == 0 {
        return Ok(None);
    }
    let last: i64 = sqlx::query("UPDATE namespaces SET seq = seq + $2 WHERE id = $1 RETURNING seq")
        .bind(namespace_id)
        .bind(count)
        .fetch_one(&mut **tx)
        .await?
        .get(0);
    sqlx::query(&format!(
        "{} INSERT INTO changes (namespace_id, seq, node_id, kind, created_at, actor_device_id) \
         SELECT CAST($2 AS BIGINT), CAST($3 AS BIGINT) + ROW_NUMBER() OVER (ORDER BY n.id), \
         n.id, $4, $5, $6 FROM sub CROSS JOIN nodes n WHERE n.id = sub.id \
         AND n.id <> $1 AND n.deleted_at IS NULL",
        SUBTREE
    ))
    .bind(root)
    .bind(namespace_id)
    .bind(last - count)
    .bind(kind)
    .bind(super::now_ms())
    .bind(actor)
    .execute(&mut **tx)
    .await?;
    let backend = super::Backend::of(tx);
    let mut tx = super::batch_tx::SqlxTx { tx, backend };
    super::changes::notify(&mut tx, &[format!("{namespace_id}:{last}")]).await?;
    Ok(Some(last))
}

/// The bytes the subtree under `id` holds (trashed descendants included): its current
/// versions and the older ones kept, as a positive delta.
async fn subtree_bytes(
    tx: &mut Transaction<'static, Any>,
    id: i64,
) -> sqlx::Result<super::usage::Delta> {
    let row = sqlx::query(&format!(
        "{SUBTREE} SELECT \
         CAST(COALESCE(SUM(CASE WHEN v.id = n.version_id THEN v.size ELSE 0 END), 0) AS BIGINT), \
         CAST(COALESCE(SUM(CASE WHEN v.id = n.version_id THEN 0 ELSE v.size END), 0) AS BIGINT) \
         FROM nodes n JOIN versions v ON v.node_id = n.id WHERE n.id IN (SELECT id FROM sub)"
    ))
    .bind(id)
    .fetch_one(&mut **tx)
    .await?;
    Ok(super::usage::Delta {
        current: row.get::<i64, _>(0).max(0),
        history: row.get::<i64, _>(1).max(0),
        staged: 0,
    })
}

/// Hands the subtree under `id` (trashed descendants, versions and history with it) to
/// namespace `to`: its rows change namespace and `to` is granted every chunk their versions
/// name — rows, never bytes. Returns the bytes it holds, which the caller moves between the
/// two namespaces' counters.
pub async fn hand_over(
    tx: &mut Transaction<'static, Any>,
    id: i64,
    to: i64,
) -> sqlx::Result<super::usage::Delta> {
    let bytes = subtree_bytes(tx, id).await?;
    sqlx::query(&format!(
        "{SUBTREE} INSERT INTO namespace_chunks (namespace_id, hash) \
         SELECT DISTINCT CAST($2 AS BIGINT), vc.hash FROM version_chunks vc JOIN versions v ON v.id = vc.version_id \
         WHERE v.node_id IN (SELECT id FROM sub) \
         ON CONFLICT (namespace_id, hash) DO NOTHING"
    ))
    .bind(id)
    .bind(to)
    .execute(&mut **tx)
    .await?;
    sqlx::query(&format!(
        "{SUBTREE} UPDATE nodes SET namespace_id = $2 WHERE id IN (SELECT id FROM sub)"
    ))
    .bind(id)
    .bind(to)
    .execute(&mut **tx)
    .await?;
    Ok(bytes)
}

/// Whether the subtree under `id` holds a node of a namespace other than `namespace_id` (the
/// root of a shared folder, whose tree is its own) or a member's mount of one (`db::mounts`),
/// `id` itself included.
pub async fn holds_other_tree(
    tx: &mut Transaction<'static, Any>,
    id: i64,
    namespace_id: i64,
) -> sqlx::Result<bool> {
    let row = sqlx::query(&format!(
        "{SUBTREE} SELECT n.id FROM nodes n WHERE n.id IN (SELECT id FROM sub) \
         AND (n.namespace_id <> $2 OR n.mount_of IS NOT NULL) LIMIT 1"
    ))
    .bind(id)
    .bind(namespace_id)
    .fetch_optional(&mut **tx)
    .await?;
    Ok(row.is_some())
}

/// Deletes `id` and everything beneath it for good (nodes trashed separately earlier
/// included); returns the logical bytes freed, as the change to the namespace's usage
/// (current versions and kept old versions). Chunk bytes stay in the store for a later garbage
/// collection: other versions or namespaces may still use them.
pub async fn purge_subtree(
    tx: &mut Transaction<'static, Any>,
    id: i64,
) -> sqlx::Result<super::usage::Delta> {
    const SUB: &str = SUBTREE;
    let held = subtree_bytes(tx, id).await?;
    let freed = super::usage::Delta {
        current: -held.current,
        history: -held.history,
        staged: 0,
    };
    sqlx::query(&format!(
        "{SUB} DELETE FROM version_chunks WHERE version_id IN \
         (SELECT v.id FROM versions v WHERE v.node_id IN (SELECT id FROM sub))"
    ))
    .bind(id)
    .execute(&mut **tx)
    .await?;
    sqlx::query(&format!(
        "{SUB} DELETE FROM versions WHERE node_id IN (SELECT id FROM sub)"
    ))
    .bind(id)
    .execute(&mut **tx)
    .await?;
    sqlx::query(&format!(
        "{SUB} DELETE FROM nodes WHERE id IN (SELECT id FROM sub)"
    ))
    .bind(id)
    .execute(&mut **tx)
    .await?;
    Ok(freed)
}

/// How many levels `id` lies below the root (the root is 0), counted up to `cap`: a walk up
/// its parents that stops there, so its cost is bounded whatever the tree.
pub async fn depth(tx: &mut Transaction<'static, Any>, id: i64, cap: u32) -> sqlx::Result<u32> {
    let row = sqlx::query(
        "WITH RECURSIVE up(id, parent_id, depth) AS ( \
             SELECT id, parent_id, 0 FROM nodes WHERE id = $1 \
             UNION ALL SELECT n.id, n.parent_id, up.depth + 1 FROM up CROSS JOIN nodes n \
             WHERE n.id = up.parent_id AND up.depth < $2) \
         SELECT CAST(MAX(depth) AS BIGINT) FROM up",
    )
    .bind(id)
    .bind(i64::from(cap))
    .fetch_one(&mut **tx)
    .await?;
    Ok(row
        .get::<Option<i64>, _>(0)
        .unwrap_or(0)
        .clamp(0, i64::from(cap)) as u32)
}

/// How many levels of folders lie below folder `id` (0 for none), counted up to `cap`:
/// live folders, or with `trashed_with` the folders trashed together with `id`.
pub async fn folder_height(
    tx: &mut Transaction<'static, Any>,
    id: i64,
    trashed_with: bool,
    cap: u32,
) -> sqlx::Result<u32> {
    let which = if trashed_with {
        "n.trashed_with = $1"
    } else {
        "n.deleted_at IS NULL"
    };
    let row = sqlx::query(&format!(
        "WITH RECURSIVE down(id, height) AS ( \
             SELECT id, 0 FROM nodes WHERE id = $1 \
             UNION ALL SELECT n.id, down.height + 1 FROM down CROSS JOIN nodes n \
             WHERE n.parent_id = down.id AND n.kind = 'folder' AND {which} \
             AND down.height < $2) \
         SELECT CAST(MAX(height) AS BIGINT) FROM down"
    ))
    .bind(id)
    .bind(i64::from(cap))
    .fetch_one(&mut **tx)
    .await?;
    Ok(row
        .get::<Option<i64>, _>(0)
        .unwrap_or(0)
        .clamp(0, i64::from(cap)) as u32)
}

/// Full paths (`/Photos/2024/cat.jpg`) of live nodes, derived by walking up their parents in
/// one recursive query. The walk stops `MAX_FOLDER_DEPTH + 1` levels up, as deep as a node can
/// lie, and results that share ancestors at the same height share their rows (`UNION`), so
/// 200 results in one folder cost one row per level, and any 200 results at most 200 × 66
/// rows. A node stored deeper (before the limit existed) gets a path starting with `/…/`.
/// A node in `tops` (the roots of shared folders the caller is a member of) goes on from the
/// caller's mount of it (`db::mounts`), or starts the path if they have none: what lies above
/// it is its owner's.
pub async fn paths(
    db: &Db,
    ids: &[i64],
    tops: &HashMap<i64, Option<i64>>,
) -> sqlx::Result<HashMap<i64, String>> {
    let mut out = HashMap::new();
    if ids.is_empty() {
        return Ok(out);
    }
    let cap = names::MAX_FOLDER_DEPTH as usize + 1;
    let starts: Vec<i64> = ids
        .iter()
        .copied()
        .chain(tops.values().flatten().copied())
        .collect();
    let params: Vec<String> = (2..=starts.len() + 1).map(|i| format!("${i}")).collect();
    let sql = format!(
        "WITH RECURSIVE up(id, parent_id, name, height) AS ( \
             SELECT id, parent_id, name, 0 FROM nodes WHERE id IN ({}) \
             UNION SELECT n.id, n.parent_id, n.name, up.height + 1 \
             FROM up CROSS JOIN nodes n WHERE n.id = up.parent_id AND up.height < $1) \
         SELECT DISTINCT id, parent_id, name FROM up",
        params.join(", ")
    );
    let mut q = sqlx::query(&sql).bind(cap as i64);
    for id in &starts {
        q = q.bind(*id);
    }
    let known: HashMap<i64, (Option<i64>, String)> = q
        .fetch_all(&db.pool)
        .await?
        .iter()
        .map(|r| (r.get(0), (r.get(1), r.get(2))))
        .collect();
    for id in ids {
        let mut names: Vec<&str> = Vec::new();
        let mut at = Some(*id);
        let mut whole = false;
        while let Some((cur, (parent, name))) = at.and_then(|a| known.get(&a).map(|k| (a, k))) {
            if parent.is_none() {
                whole = true; // the root, whose name is not part of a path
                break;
            }
            if names.len() > cap {
                break;
            }
            match tops.get(&cur) {
                // A shared folder: on from where the member placed it, under their name.
                Some(Some(mount)) => at = Some(*mount),
                Some(None) => {
                    names.push(name);
                    whole = true; // unplaced: the top of a member's view of it
                    break;
                }
                None => {
                    names.push(name);
                    at = *parent;
                }
            }
        }
        // Cut short of the root: a node stored deeper than the limit (or gone meanwhile).
        let cut = !whole && !names.is_empty();
        let mut path = String::from(if cut { "/…" } else { "" });
        for name in names.iter().rev() {
            path.push('/');
            path.push_str(name);
        }
        if path.is_empty() {
            path.push('/');
        }
        out.insert(*id, path);
    }
    Ok(out)
}

/// The live child of `parent_id` whose name key is `key`, read from the pool (share links
/// walk a shared folder by name, one level per call, so nothing outside it is reachable).
pub async fn child_by_key(db: &Db, parent_id: i64, key: &str) -> sqlx::Result<Option<NodeRow>> {
    let sql = format!(
        "SELECT {NODE_COLUMNS} FROM {NODE_FROM} WHERE n.parent_id = $1 AND n.name_key = $2 \
         AND n.deleted_at IS NULL"
    );
    Ok(sqlx::query(&sql)
        .bind(parent_id)
        .bind(key)
        .fetch_optional(&db.pool)
        .await?
        .as_ref()
        .map(node_from_row))
}
