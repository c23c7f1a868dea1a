//! Who may touch what: every route asks here before it reads or changes a node or an upload,
//! so the rule has one home (today: the caller's own namespace; with shared folders, the
//! caller's role in the namespace the node lives in). A node the caller may not see answers
//! 404, never 403, so ids of others' nodes stay secret.
//!
//! The `_in` variants read inside the caller's write transaction, after it has locked the
//! namespace, so the check and the change it guards see the same state.

use sqlx::{Any, Transaction};
use wire::{Node, NodeKind};

use crate::db::changes::Cursor;
use crate::db::nodes::{self, NodeRow};
use crate::db::uploads::{self, Upload};
use crate::db::users::Caller;
use crate::db::Db;
use crate::error::{ApiError, ApiResult};

/// Whether the caller may write in namespace `namespace_id` (the rule the others build on;
/// the batch planner asks it of rows it read itself).
pub fn may_write_in(caller: &Caller, namespace_id: i64) -> bool {
    namespace_id == caller.namespace_id
}

fn mine(caller: &Caller, row: &NodeRow) -> bool {
    may_write_in(caller, row.namespace_id)
}

/// A change-feed cursor the caller may read from (`invalid_cursor` otherwise).
pub fn cursor(caller: &Caller, s: &str) -> ApiResult<Cursor> {
    Cursor::decode(s)
        .filter(|k| may_write_in(caller, k.namespace_id))
        .ok_or(ApiError::InvalidCursor)
}

/// A live node the caller may see, read from the pool.
pub async fn node(db: &Db, caller: &Caller, id: i64) -> ApiResult<Node> {
    nodes::get(&db.pool, id)
        .await?
        .filter(|n| mine(caller, n))
        .map(|n| n.node)
        .ok_or(ApiError::NotFound("node"))
}

/// A live node the caller may change, inside its transaction.
pub async fn node_in(
    tx: &mut Transaction<'static, Any>,
    caller: &Caller,
    id: i64,
) -> ApiResult<Node> {
    live_in(tx, caller, id, None, "node").await
}

/// A live folder the caller may write into, inside its transaction.
pub async fn folder_in(
    tx: &mut Transaction<'static, Any>,
    caller: &Caller,
    id: i64,
) -> ApiResult<Node> {
    live_in(tx, caller, id, Some(NodeKind::Folder), "folder").await
}

/// A live file the caller may change, inside its transaction.
pub async fn file_in(
    tx: &mut Transaction<'static, Any>,
    caller: &Caller,
    id: i64,
) -> ApiResult<Node> {
    live_in(tx, caller, id, Some(NodeKind::File), "file").await
}

/// A live node of `kind` (any, for `None`) the caller may change, or 404 naming `what`.
async fn live_in(
    tx: &mut Transaction<'static, Any>,
    caller: &Caller,
    id: i64,
    kind: Option<NodeKind>,
    what: &'static str,
) -> ApiResult<Node> {
    nodes::get(&mut **tx, id)
        .await?
        .filter(|n| mine(caller, n) && kind.is_none_or(|k| n.node.kind == k))
        .map(|n| n.node)
        .ok_or(ApiError::NotFound(what))
}

/// An upload session the caller's device may continue, commit or cancel (expired or not).
pub async fn upload(db: &Db, caller: &Caller, id: &str) -> ApiResult<Upload> {
    uploads::get(db, id)
        .await?
        .filter(|u| may_write_in(caller, u.namespace_id))
        .ok_or(ApiError::NotFound("upload"))
}
