//! Where a member keeps a shared folder in their own tree: a *mount*, a folder row of their
//! home whose `mount_of` names the shared folder's namespace.
//!
//! Why a row of the member's home and not a table of its own: the mount's name must be free
//! among its siblings, and a sibling's name must not take the mount's, in every writer that
//! places a name (new folders, renames, moves, commits, restores, file requests). As a row it
//! sits under the unique index `nodes(parent_id, name_key)` and every one of those checks sees
//! it without knowing mounts exist; moving the folder that holds it takes it along. It never
//! has children (the shared folder's rows hang under the shared root) and clients never see
//! its id: to them a mount *is* the shared folder's root (the root's id, the mount's name and
//! parent), so [`Mounts::present`] translates wherever nodes leave the server for a member.
//! The owner has no mount: their shared folder sits in their tree itself.

use std::collections::HashMap;

use sqlx::{Any, Row as _, Transaction};
use wire::Node;

use super::batch_tx::Cells;
use super::Db;
use crate::names::Name;

/// One shared folder a user is an accepted member of, and where they placed it.
#[derive(Debug, Clone)]
pub struct Place {
    pub namespace_id: i64,
    pub root_id: i64,
    /// The mount (its row id, parent folder and name), or `None` for a membership from
    /// before mounts: then the shared folder is a top of its own ("Shared with me").
    pub mount: Option<Mount>,
}

#[derive(Debug, Clone)]
pub struct Mount {
    pub id: i64,
    pub parent_id: i64,
    pub name: String,
}

/// The shared folders a member sees, by root and by mount row.
#[derive(Debug, Clone, Default)]
pub struct Mounts {
    by_root: HashMap<i64, Place>,
    root_of_mount: HashMap<i64, i64>,
}

impl Mounts {
    /// The shared folder whose root is node `id`, if the member belongs to it.
    pub fn place(&self, root_id: i64) -> Option<&Place> {
        self.by_root.get(&root_id)
    }

    pub fn is_empty(&self) -> bool {
        self.by_root.is_empty()
    }

    /// The roots of the member's shared folders, each with its mount row if placed.
    pub fn tops(&self) -> impl Iterator<Item = &Place> {
        self.by_root.values()
    }

    /// The id a member knows node row `id` by: a mount's is its shared root's.
    pub fn id_of(&self, id: i64) -> i64 {
        self.root_of_mount.get(&id).copied().unwrap_or(id)
    }

    /// Node `n` as the member sees it: a mount row as the shared folder's root (its id), the
    /// root where the member placed it (their parent, their name), or as a top when unplaced.
    pub fn present(&self, n: &mut Node) {
        if let Some(root) = self.root_of_mount.get(&n.id) {
            n.id = *root;
        } else if let Some(p) = self.by_root.get(&n.id) {
            match &p.mount {
                Some(m) => {
                    n.parent_id = Some(m.parent_id);
                    n.name.clone_from(&m.name);
                }
                None => n.parent_id = None,
            }
        }
    }
}

/// Every shared folder `user_id` (home `home`) is an accepted member of (not its owner), with
/// their mount of it: one statement, by the members' index and the mounts' partial index.
pub async fn of_member(db: &Db, user_id: i64, home: i64) -> sqlx::Result<Mounts> {
    let rows = sqlx::query(
        "SELECT s.id, s.root_id, n.id, n.parent_id, n.name \
         FROM members m JOIN namespaces s ON s.id = m.namespace_id \
         LEFT JOIN nodes n ON n.namespace_id = $2 AND n.mount_of = s.id \
         AND n.deleted_at IS NULL \
         WHERE m.user_id = $1 AND m.accepted_at IS NOT NULL AND s.shared_at IS NOT NULL",
    )
    .bind(user_id)
    .bind(home)
    .fetch_all(&db.pool)
    .await?;
    let mut out = Mounts::default();
    for r in &rows {
        let mount = r.opt_int(2).map(|id| Mount {
            id,
            parent_id: r.opt_int(3).unwrap_or_default(),
            name: r.text(4),
        });
        let root_id = r.int(1);
        if let Some(m) = &mount {
            out.root_of_mount.insert(m.id, root_id);
        }
        out.by_root.insert(
            root_id,
            Place {
                namespace_id: r.int(0),
                root_id,
                mount,
            },
        );
    }
    Ok(out)
}

/// The mount row in home `home` of the shared folder whose root is node `root_id`, if the
/// home's user placed one (read without a lock: a route then locks the home and reads the row
/// as any other node of it).
pub async fn of_root(db: &Db, home: i64, root_id: i64) -> sqlx::Result<Option<i64>> {
    let row = sqlx::query(
        "SELECT m.id FROM nodes r JOIN namespaces s ON s.id = r.namespace_id AND s.root_id = r.id \
         JOIN nodes m ON m.mount_of = s.id AND m.namespace_id = $1 \
         WHERE r.id = $2 AND s.shared_at IS NOT NULL AND m.deleted_at IS NULL",
    )
    .bind(home)
    .bind(root_id)
    .fetch_optional(&db.pool)
    .await?;
    Ok(row.map(|r| r.int(0)))
}

/// Places shared folder `namespace_id` in folder `parent_id` of home `home`, as `name` (free
/// there: the caller picked it under the home's lock).
pub async fn place(
    tx: &mut Transaction<'static, Any>,
    home: i64,
    parent_id: i64,
    name: &Name,
    namespace_id: i64,
    now: i64,
) -> sqlx::Result<i64> {
    Ok(sqlx::query(
        "INSERT INTO nodes (namespace_id, parent_id, name, name_key, kind, created_at, \
         modified_at, mount_of) VALUES ($1, $2, $3, $4, 'folder', $5, $5, $6) RETURNING id",
    )
    .bind(home)
    .bind(parent_id)
    .bind(&name.display)
    .bind(&name.key)
    .bind(now)
    .bind(namespace_id)
    .fetch_one(&mut **tx)
    .await?
    .get(0))
}

/// Takes shared folder `namespace_id` out of the tree of home `home` (every home, for
/// `None`: sharing ended). The rows go for good: a mount holds nothing of its own.
pub async fn remove(
    tx: &mut Transaction<'static, Any>,
    namespace_id: i64,
    home: Option<i64>,
) -> sqlx::Result<u64> {
    let done = match home {
        Some(home) => {
            sqlx::query("DELETE FROM nodes WHERE namespace_id = $1 AND mount_of = $2")
                .bind(home)
                .bind(namespace_id)
                .execute(&mut **tx)
                .await?
        }
        None => {
            sqlx::query("DELETE FROM nodes WHERE mount_of = $1")
                .bind(namespace_id)
                .execute(&mut **tx)
                .await?
        }
    };
    Ok(done.rows_affected())
}
