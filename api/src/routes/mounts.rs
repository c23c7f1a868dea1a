//! `PATCH /nodes/{id}` on a shared folder's root, by a member: their mount of it (`db::mounts`)
//! is renamed or moved, in their own tree only. The owner's name for the folder and every
//! other member's place for it stay as they are, and the member's role in the folder does not
//! matter (a viewer arranges their own tree too).
//!
//! The mount is a row of the member's home, so this is a rename or move there: the home's
//! lock, its name rules (a name free among the new siblings, or a conflicted copy with
//! `keep_both`), its depth limit, and one change in the home's log — on the shared root's id,
//! which is what the member's devices know the folder by.

use wire::{NameClash, Node, PlacedNode, Role, UpdateNodeRequest};

use crate::access;
use crate::db::users::Caller;
use crate::db::{changes, nodes};
use crate::error::{ApiError, ApiResult};
use crate::names::{self, Name};
use crate::state::AppState;

/// Places mount row `mount` (of shared root `root`) as `req` asks; `name` is the checked new
/// name, if any.
pub async fn place(
    state: &AppState,
    c: &Caller,
    root: i64,
    mount: i64,
    name: Option<Name>,
    req: &UpdateNodeRequest,
) -> ApiResult<PlacedNode> {
    let home = c.namespace_id;
    if let Some(to) = req.parent_id {
        // Into a shared folder (this one, or another): its tree is not the member's to arrange.
        if !access::is_home(
            c,
            access::namespace_for(&state.db, c, to, Role::Viewer).await?,
        ) {
            return Err(ApiError::SharedFolder(
                "a shared folder stays in your own tree: it cannot move into a shared folder",
            ));
        }
    }
    let mut w = state.db.write().await?;
    nodes::lock_namespace(&mut w.tx, home).await?;
    // Read again under the lock: the member may have left meanwhile.
    let row = nodes::get(&mut *w.tx, mount)
        .await?
        .filter(|r| r.namespace_id == home)
        .ok_or(ApiError::NotFound("node"))?;
    let old_parent = row.node.parent_id.ok_or(ApiError::NotFound("node"))?;
    let parent = match req.parent_id {
        Some(to) if to != old_parent => {
            let folder = access::folder_in(&mut w.tx, c, to, home).await?;
            nodes::fits_below(&mut w.tx, folder.id, 0).await?;
            folder.id
        }
        _ => old_parent,
    };
    let name = name.unwrap_or_else(|| names::stored(&row.node.name));
    if parent == old_parent && name.display == row.node.name {
        return Ok(PlacedNode {
            node: shown(state, c, root).await?,
            clash: None,
        });
    }
    let tag = || names::conflict_tag(&c.device_name, state.clock.now_ms());
    let (name, clash) =
        nodes::landing_name(&mut w.tx, parent, name, mount, req.keep_both, tag).await?;
    let clash = match clash {
        Some((wanted, holder)) => Some(NameClash {
            wanted,
            holder_id: access::mounts(&state.db, c).await?.id_of(holder),
        }),
        None => None,
    };
    nodes::place(&mut w.tx, mount, parent, &name).await?;
    let kind = if parent != old_parent {
        "move"
    } else {
        "rename"
    };
    changes::log(&mut w.tx, home, root, kind, Some(c.device_id)).await?;
    w.commit().await?;
    tracing::info!(node_id = root, parent_id = parent, kind, "mount placed");
    Ok(PlacedNode {
        node: shown(state, c, root).await?,
        clash,
    })
}

/// Shared root `root` as the member sees it now.
async fn shown(state: &AppState, c: &Caller, root: i64) -> ApiResult<Node> {
    let mut node = nodes::get(&state.db.pool, root)
        .await?
        .ok_or(ApiError::NotFound("node"))?
        .node;
    access::mounts(&state.db, c).await?.present(&mut node);
    Ok(node)
}
