//! Who may touch what: every route asks here before it reads or changes a node or an upload,
//! so the rule has one home: the caller's role in the namespace the node lives in (owner of
//! their own tree; a member's role in a shared folder, read in the node's own statement). A
//! node the caller has no role for answers 404, never 403, so ids of others' nodes stay
//! secret; one it may see but not change answers 403 `role_too_low`.
//!
//! The `_in` variants read inside the caller's write transaction, after it has locked the
//! namespace, so the check and the change it guards see the same state.

use sqlx::{Any, Transaction};
use wire::{Node, NodeKind, Role};

use crate::db::changes::Position;
use crate::db::mounts::{self, Mounts};
use crate::db::nodes::NodeRow;
use crate::db::shares::{self, Shared};
use crate::db::uploads::{self, Upload};
use crate::db::users::Caller;
use crate::db::{manifest_drafts, members, usage};
use crate::db::{Db, WriteTx};
use crate::error::{ApiError, ApiResult};

/// Whether `namespace_id` is the caller's own tree, where they are the owner (the batch
/// planner asks it of the folders it read itself: only commits into the caller's own tree go
/// set-based).
pub fn is_home(caller: &Caller, namespace_id: i64) -> bool {
    namespace_id == caller.namespace_id
}

/// The caller's role in `namespace_id`: owner of their home; elsewhere `member`, their role
/// as an accepted member (read with the row: `members::node_with_role`), or `None`.
fn role_at(caller: &Caller, namespace_id: i64, member: Option<Role>) -> Option<Role> {
    if is_home(caller, namespace_id) {
        Some(Role::Owner)
    } else {
        member
    }
}

/// `row` if the caller's role where it lives is at least `need`.
fn granted(row: NodeRow, role: Option<Role>, need: Role, what: &'static str) -> ApiResult<NodeRow> {
    match role {
        None => Err(ApiError::NotFound(what)),
        Some(r) if r < need => Err(ApiError::RoleTooLow),
        Some(_) => Ok(row),
    }
}

/// The row (node and namespace) of a live node on which the caller's role is at least
/// `need`, read from the pool.
async fn live(db: &Db, caller: &Caller, id: i64, need: Role) -> ApiResult<NodeRow> {
    let (row, member) = members::node_with_role(&db.pool, id, caller.user_id)
        .await?
        .ok_or(ApiError::NotFound("node"))?;
    let role = role_at(caller, row.namespace_id, member);
    granted(row, role, need, "node")
}

/// The namespaces the caller's feed follows (`readable`), and where cursor `s` stands in
/// them. A cursor must name the caller's own tree (`invalid_cursor` otherwise: it is another
/// account's, or forged); pairs of namespaces the caller may no longer read are dropped.
pub async fn position(db: &Db, caller: &Caller, s: &str) -> ApiResult<(Vec<i64>, Position)> {
    let mut p = Position::decode(s)
        .filter(|p| is_home(caller, p.home))
        .ok_or(ApiError::InvalidCursor)?;
    let readable = readable(db, caller).await?;
    p.seqs.retain(|ns, _| readable.contains(ns));
    Ok((readable, p))
}

/// A live node on which the caller's role is at least `need`, read from the pool.
pub async fn node(db: &Db, caller: &Caller, id: i64, need: Role) -> ApiResult<Node> {
    Ok(live(db, caller, id, need).await?.node)
}

/// [`node`], with the namespace it lives in (whose change sequence versions its listing).
pub async fn node_where(db: &Db, caller: &Caller, id: i64, need: Role) -> ApiResult<(Node, i64)> {
    let row = live(db, caller, id, need).await?;
    Ok((row.node, row.namespace_id))
}

/// The namespace a write to node `id` takes its lock in: where the node lives, if the
/// caller's role there is at least `need` (404 or 403 otherwise). Read without a lock; the
/// `_in` check inside the transaction reads it again.
pub async fn namespace_for(db: &Db, caller: &Caller, id: i64, need: Role) -> ApiResult<i64> {
    Ok(live(db, caller, id, need).await?.namespace_id)
}

/// Where a commit into folder `parent_id` writes, and the quota that pays for it: the
/// caller's home and their own quota, or a shared folder's namespace (editors only) and its
/// owner's quota (`default` when the owner has none of their own). Read without a lock;
/// `commit_in` checks the folder again under the namespace's lock.
///
/// `folder` is what [`upload_and_folder`] read with the upload: the common case (the caller's
/// own tree) costs the commit no read of its own.
pub async fn commit_target(
    db: &Db,
    caller: &Caller,
    folder: Option<uploads::FolderAt>,
    default: u64,
) -> ApiResult<(i64, u64)> {
    let (ns, member) = folder.ok_or(ApiError::FolderGone)?;
    match role_at(caller, ns, member) {
        None => Err(ApiError::FolderGone),
        Some(r) if r < Role::Editor => Err(ApiError::RoleTooLow),
        Some(_) if is_home(caller, ns) => Ok((ns, caller.home_room())),
        Some(_) => Ok((ns, usage::owner_quota(&db.pool, ns, default).await?)),
    }
}

/// An upload session the caller's device may commit, with where folder `parent_id` lives
/// (for [`commit_target`]), in one read.
pub async fn upload_and_folder(
    db: &Db,
    caller: &Caller,
    id: &str,
    parent_id: i64,
) -> ApiResult<(Upload, Option<uploads::FolderAt>)> {
    uploads::get_with_folder(db, id, parent_id, caller.user_id)
        .await?
        .filter(|(u, _)| is_home(caller, u.namespace_id))
        .ok_or(ApiError::NotFound("upload"))
}

/// A live node the caller may change, inside its transaction, which has locked namespace
/// `locked`.
pub async fn node_in(
    tx: &mut Transaction<'static, Any>,
    caller: &Caller,
    id: i64,
    locked: i64,
) -> ApiResult<Node> {
    live_in(tx, caller, id, None, "node", locked).await
}

/// A live folder the caller may write into, inside its transaction (locked on `locked`).
pub async fn folder_in(
    tx: &mut Transaction<'static, Any>,
    caller: &Caller,
    id: i64,
    locked: i64,
) -> ApiResult<Node> {
    live_in(tx, caller, id, Some(NodeKind::Folder), "folder", locked).await
}

/// A live file the caller may change, inside its transaction (locked on `locked`).
pub async fn file_in(
    tx: &mut Transaction<'static, Any>,
    caller: &Caller,
    id: i64,
    locked: i64,
) -> ApiResult<Node> {
    live_in(tx, caller, id, Some(NodeKind::File), "file", locked).await
}

/// A live node of `kind` (any, for `None`) the caller may change, or 404 naming `what`. A
/// change is written in the namespace the transaction locked: a node elsewhere (another
/// namespace the caller may see) can be looked at from here, not changed, so it answers as
/// to a viewer.
async fn live_in(
    tx: &mut Transaction<'static, Any>,
    caller: &Caller,
    id: i64,
    kind: Option<NodeKind>,
    what: &'static str,
    locked: i64,
) -> ApiResult<Node> {
    let (row, member) = members::node_with_role(&mut **tx, id, caller.user_id)
        .await?
        .filter(|(n, _)| kind.is_none_or(|k| n.node.kind == k))
        .ok_or(ApiError::NotFound(what))?;
    let role = match role_at(caller, row.namespace_id, member) {
        Some(r) if row.namespace_id != locked => Some(r.min(Role::Viewer)),
        r => r,
    };
    Ok(granted(row, role, Role::Editor, what)?.node)
}

/// The namespace of trash item `id`, if the caller's role there is at least `need` (404 or
/// 403 otherwise). Read without a lock; the route reads the item again under it.
pub async fn trash_namespace(db: &Db, caller: &Caller, id: i64, need: Role) -> ApiResult<i64> {
    let (ns, member) = members::trashed_with_role(&db.pool, id, caller.user_id)
        .await?
        .ok_or(ApiError::NotFound("trash item"))?;
    match role_at(caller, ns, member) {
        None => Err(ApiError::NotFound("trash item")),
        Some(r) if r < need => Err(ApiError::RoleTooLow),
        Some(_) => Ok(ns),
    }
}

/// Every namespace the caller may read: their home first, then the shared folders they own or
/// have accepted, in id order.
pub async fn readable(db: &Db, caller: &Caller) -> ApiResult<Vec<i64>> {
    let mut out = vec![caller.namespace_id];
    out.extend(members::namespaces_of(&db.pool, caller.user_id).await?);
    Ok(out)
}

/// An upload session the caller's device may continue, commit or cancel (expired or not).
pub async fn upload(db: &Db, caller: &Caller, id: &str) -> ApiResult<Upload> {
    uploads::get(db, id)
        .await?
        .filter(|u| is_home(caller, u.namespace_id))
        .ok_or(ApiError::NotFound("upload"))
}

/// A manifest draft the caller's account may send parts of or open an upload from (expired or
/// not): drafts live with uploads, in the home namespace.
pub async fn draft(db: &Db, caller: &Caller, id: &str) -> ApiResult<manifest_drafts::Draft> {
    manifest_drafts::get(db, id)
        .await?
        .filter(|d| is_home(caller, d.namespace_id))
        .ok_or(ApiError::NotFound("manifest draft"))
}

/// The caller's role in shared folder `id`: its owner's, or an accepted member's.
fn share_granted(
    c: &Caller,
    shared: Option<Shared>,
    member: Option<(Role, bool)>,
    need: Role,
) -> ApiResult<Shared> {
    let shared = shared.ok_or(ApiError::NotFound("shared folder"))?;
    let role = if shared.owner_id == c.user_id {
        Some(Role::Owner)
    } else {
        member.filter(|(_, accepted)| *accepted).map(|(r, _)| r)
    };
    match role {
        None => Err(ApiError::NotFound("shared folder")),
        Some(r) if r < need => Err(ApiError::RoleTooLow),
        Some(_) => Ok(shared),
    }
}

/// Shared folder `id`, if the caller's role there is at least `need` (404 or 403 otherwise).
/// Read without a lock; [`share_role_in`] reads it again under it.
pub async fn share_role(db: &Db, c: &Caller, id: i64, need: Role) -> ApiResult<Shared> {
    let shared = shares::get(&db.pool, id).await?;
    let member = shares::membership(&db.pool, id, c.user_id).await?;
    share_granted(c, shared, member, need)
}

/// [`share_role`] inside a transaction that has locked the shared folder's namespace.
pub async fn share_role_in(
    w: &mut WriteTx<'_>,
    c: &Caller,
    id: i64,
    need: Role,
) -> ApiResult<Shared> {
    let shared = shares::get(&mut *w.tx, id).await?;
    let member = shares::membership(&mut *w.tx, id, c.user_id).await?;
    share_granted(c, shared, member, need)
}

/// Shared folder `namespace_id`, if node `id` is that folder itself (the folder that was
/// shared): only its owner renames it or moves it (within their own tree, with a change in
/// both logs), no one trashes it while it is shared, and to members it is a top folder. A
/// shared folder's root never changes, so this reads without a lock.
pub async fn share_root(
    db: &Db,
    c: &Caller,
    id: i64,
    namespace_id: i64,
) -> ApiResult<Option<Shared>> {
    if is_home(c, namespace_id) {
        return Ok(None);
    }
    Ok(shares::get(&db.pool, namespace_id)
        .await?
        .filter(|s| s.root_id == id))
}

/// [`share_root`], refused with 403 `role_too_low` to anyone but the owner: whether the
/// caller, who may change node `id`, is changing a shared folder itself.
pub async fn owns_share_root(db: &Db, c: &Caller, id: i64, namespace_id: i64) -> ApiResult<bool> {
    match share_root(db, c, id, namespace_id).await? {
        Some(s) if s.owner_id != c.user_id => Err(ApiError::RoleTooLow),
        found => Ok(found.is_some()),
    }
}

/// The shared folders the caller is a member of (not the owner), each with where they placed
/// it in their own tree (`db::mounts`): what every node leaving the server for them passes
/// through (`Mounts::present`).
pub async fn mounts(db: &Db, c: &Caller) -> ApiResult<Mounts> {
    Ok(mounts::of_member(db, c.user_id, c.namespace_id).await?)
}
