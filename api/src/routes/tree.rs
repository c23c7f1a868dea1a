//! Reading and shaping the tree: listings (with ETags), folders, rename and move, the trash.
//!
//! Every change takes the namespace lock first and logs one change row in its transaction. A
//! folder sent to the trash takes its subtree along, and one `trash` change (like `restore`
//! and `purge`) stands for that whole subtree.

use axum::extract::State;
use axum::http::{header, HeaderMap, HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};
use wire::{
    CreateFolderRequest, Listing, ListingQuery, NameClash, Node, NodeKind, PlacedNode, Role,
    TrashItem, TrashList, UpdateNodeRequest,
};

use crate::access;
use crate::auth::Auth;
use crate::db::listing::Mounts;
use crate::db::users::Caller;
use crate::db::{changes, listing, mounts, nodes, usage, versions, WriteTx};
use crate::error::{ApiError, ApiResult};
use crate::extract::{Json, Path, Query};
use crate::names;
use crate::state::AppState;

/// True if an `If-None-Match` header names `etag` (or `*`); weak and strong compare alike.
fn etag_matches(headers: &HeaderMap, etag: &str) -> bool {
    headers
        .get_all(header::IF_NONE_MATCH)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(','))
        .map(|t| t.trim())
        .any(|t| t == "*" || t.strip_prefix("W/").unwrap_or(t) == etag)
}

/// A folder's children, a page at a time (`db::listing`). The ETag is the folder id and the
/// namespace's change sequence, read *before* the rows: a change landing in between can only
/// make the tag older than the body (one extra download later), never newer (a stale body
/// served as fresh). Every page carries the listing's tag, so a client reading several pages
/// sees whether the folder changed between them; only the first page answers 304, as the tag
/// stands for the whole listing.
#[utoipa::path(get, path = "/api/v1/nodes/{id}/children", tag = "tree", security(("bearer" = [])),
    params(("id" = i64, Path, description = "A folder id"),
        ("limit" = Option<u32>, Query, description = "Children per page, 1 to 1000 (the default)"),
        ("after" = Option<String>, Query, description = "The `next` of the page before: the page after it"),
        ("If-None-Match" = Option<String>, Header, description = "The `ETag` of a listing the client holds (first page only)")),
    responses(
        (status = 200, description = "The folder and one page of its live children (folders first, then files, by name), with `next` when more follow, and an `ETag` (the folder and its namespace's change sequence; for a member's shared folder itself, also their own tree's, where their place for it lives)", body = wire::Listing),
        (status = 304, description = "Not modified: the listing the client holds (`If-None-Match`, on the first page) is current"),
        (status = 400, description = "`bad_request`: the node is a file, `limit` is not 1 to 1000, or `after` is not a `next` this endpoint gave", body = wire::ErrorBody),
        (status = 404, description = "No such node in the caller's namespace", body = wire::ErrorBody),
    ))]
pub async fn children(
    State(state): State<AppState>,
    Auth(c): Auth,
    Path(id): Path<i64>,
    Query(page): Query<ListingQuery>,
    headers: HeaderMap,
) -> ApiResult<Response> {
    let (after, limit) = listing::paging(&page)?;
    let (folder, ns) = access::node_where(&state.db, &c, id, Role::Viewer).await?;
    if folder.kind != NodeKind::Folder {
        return Err(ApiError::WrongKind("that node is a file, not a folder"));
    }
    // To a member, a shared folder itself sits where they placed it, under their name: its
    // listing changes with their own tree too (a rename of their mount).
    let member_root = access::share_root(&state.db, &c, id, ns)
        .await?
        .is_some_and(|s| s.owner_id != c.user_id);
    // The folder's own namespace (a shared folder's changes move its seq, not the caller's),
    // read before the children so the tag is never newer than the listing it names.
    // Setting a thumbnail moves no seq, so the namespace's thumbnail count is part of the tag.
    let (seq, thumbs) = nodes::listing_stamp(&state.db, ns).await?;
    let seq = if thumbs > 0 {
        format!("{seq}t{thumbs}")
    } else {
        seq.to_string()
    };
    let etag = if member_root {
        let home = nodes::namespace_seq(&state.db, c.namespace_id).await?;
        format!("\"{id}.{seq}.{home}\"")
    } else {
        format!("\"{id}.{seq}\"")
    };
    let tag = HeaderValue::from_str(&etag).map_err(|e| ApiError::Internal(e.into()))?;
    let cache = HeaderValue::from_static("private, no-cache");
    if after.is_none() && etag_matches(&headers, &etag) {
        return Ok((
            StatusCode::NOT_MODIFIED,
            [(header::ETAG, tag), (header::CACHE_CONTROL, cache)],
        )
            .into_response());
    }
    let (mut children, next) =
        listing::page(&state.db, id, after.as_ref(), limit, Mounts::Present).await?;
    if !access::is_home(&c, ns) {
        // In a shared folder, who wrote each file's current version ("edited by Ana").
        let versions: Vec<i64> = children.iter().filter_map(|n| n.version_id).collect();
        let mut authors = versions::authors(&state.db, &versions).await?;
        for n in &mut children {
            n.modified_by = n.version_id.and_then(|v| authors.remove(&v));
        }
    }
    let mut folder = folder;
    if member_root {
        // To a member the shared folder is where they placed it: where it sits in its
        // owner's tree, and what its owner calls it, are the owner's.
        access::mounts(&state.db, &c).await?.present(&mut folder);
    }
    Ok((
        [(header::ETAG, tag), (header::CACHE_CONTROL, cache)],
        Json(Listing {
            folder,
            children,
            next: next.map(|c| c.encode()),
        }),
    )
        .into_response())
}

/// A write transaction holding the caller's namespace lock.
async fn begin(state: &AppState, namespace_id: i64) -> ApiResult<WriteTx<'_>> {
    let mut w = state.db.write().await?;
    nodes::lock_namespace(&mut w.tx, namespace_id).await?;
    Ok(w)
}

/// [`begin`] for a change in two namespaces: both locks (`nodes::lock_both`).
async fn begin_both(state: &AppState, a: i64, b: i64) -> ApiResult<WriteTx<'_>> {
    let mut w = state.db.write().await?;
    nodes::lock_both(&mut w.tx, a, b).await?;
    Ok(w)
}

/// A node as this transaction just wrote it, for the answer.
async fn written(w: &mut WriteTx<'_>, id: i64) -> ApiResult<Node> {
    nodes::get(&mut *w.tx, id)
        .await?
        .map(|n| n.node)
        .ok_or(ApiError::NotFound("node"))
}

#[utoipa::path(post, path = "/api/v1/folders", tag = "tree", security(("bearer" = [])),
    request_body = wire::CreateFolderRequest,
    responses(
        (status = 403, description = "`role_too_low`: the caller only views this shared folder", body = wire::ErrorBody),
        (status = 201, description = "Folder created", body = wire::Node),
        (status = 400, description = "Invalid name (`invalid_name`), or the folder would lie too deep (`too_deep`)", body = wire::ErrorBody),
        (status = 404, description = "No such parent folder", body = wire::ErrorBody),
        (status = 409, description = "Name taken", body = wire::ErrorBody),
    ))]
pub async fn create_folder(
    State(state): State<AppState>,
    Auth(c): Auth,
    Json(req): Json<CreateFolderRequest>,
) -> ApiResult<(StatusCode, Json<Node>)> {
    let name = names::check(&req.name)?;
    // Written where the parent folder lives: the caller's tree or a shared folder.
    let ns = access::namespace_for(&state.db, &c, req.parent_id, Role::Editor).await?;
    let mut w = begin(&state, ns).await?;
    let parent = access::folder_in(&mut w.tx, &c, req.parent_id, ns).await?;
    nodes::fits_below(&mut w.tx, parent.id, 0).await?;
    if nodes::child_by_name(&mut w.tx, parent.id, &name)
        .await?
        .is_some()
    {
        return Err(ApiError::NameTaken);
    }
    let id = nodes::insert(&mut w.tx, ns, parent.id, &name, NodeKind::Folder).await?;
    changes::log(&mut w.tx, ns, id, "create", Some(c.device_id)).await?;
    let node = written(&mut w, id).await?;
    w.commit().await?;
    Ok((StatusCode::CREATED, Json(node)))
}

/// `PATCH /nodes/{id}`: rename and/or move. One row changes; a folder never moves into itself
/// or below itself; the name must be free in the target folder (a case-only rename is fine),
/// unless `keep_both` asks for a conflicted-copy name instead of a 409. On a shared folder the
/// caller is a member of (not its owner), it renames or moves their own place for it, in
/// their own tree only (`routes::mounts`).
#[utoipa::path(patch, path = "/api/v1/nodes/{id}", tag = "tree", security(("bearer" = [])), params(("id" = i64, Path, description = "A node id")), request_body = wire::UpdateNodeRequest, responses((status = 403, description = "`role_too_low`: the caller only views this shared folder", body = wire::ErrorBody), (status = 200, description = "Renamed and/or moved (a shared folder the caller is a member of: their place for it, in their tree only)", body = wire::PlacedNode), (status = 409, description = "`name_taken`; or `shared_folder`: a shared folder (or a folder holding one) cannot move into another shared folder. A member renaming or moving a shared folder they belong to changes only their own tree (their place for it, under their name)", body = wire::ErrorBody), (status = 400, description = "Bad input: `invalid_name`, `invalid_move`, or `too_deep` when a moved folder's subtree would lie too deep", body = wire::ErrorBody), (status = 401, description = "Not signed in", body = wire::ErrorBody), (status = 404, description = "Not found in the caller's namespace", body = wire::ErrorBody), (status = 507, description = "`quota_exceeded`: moved into a tree another user owns (a shared folder), the subtree does not fit that owner's quota even without their old versions; nothing moved", body = wire::ErrorBody)))]
pub async fn update_node(
    State(state): State<AppState>,
    Auth(c): Auth,
    Path(id): Path<i64>,
    Json(req): Json<UpdateNodeRequest>,
) -> ApiResult<Json<PlacedNode>> {
    if req.name.is_none() && req.parent_id.is_none() {
        return Err(ApiError::NothingToChange);
    }
    let new_name = req.name.as_deref().map(names::check).transpose()?;
    // A shared folder the caller belongs to is their mount of it: theirs to arrange.
    if let Some(mount) = mounts::of_root(&state.db, c.namespace_id, id).await? {
        let placed = crate::routes::mounts::place(&state, &c, id, mount, new_name, &req).await?;
        return Ok(Json(placed));
    }
    let ns = access::namespace_for(&state.db, &c, id, Role::Editor).await?;
    // The tree it goes to: the same one, or (a move between the caller's own tree and a
    // shared one, or two shared ones) another namespace, both locked in ascending order.
    let to_ns = match req.parent_id {
        Some(to) => access::namespace_for(&state.db, &c, to, Role::Editor).await?,
        None => ns,
    };
    // A shared folder itself is its owner's to rename, and to move within their own tree;
    // its place there is a change of the owner's tree too.
    let share_root = access::owns_share_root(&state.db, &c, id, ns).await?;
    if share_root && req.parent_id.is_some() && !access::is_home(&c, to_ns) {
        return Err(ApiError::SharedFolder(
            "a shared folder stays in its owner's own tree: it cannot move into another shared folder",
        ));
    }
    let also = if share_root { c.namespace_id } else { to_ns };
    let mut w = begin_both(&state, ns, also).await?;
    let node = access::node_in(&mut w.tx, &c, id, ns).await?;
    let Some(old_parent) = node.parent_id else {
        return Err(ApiError::InvalidMove(
            "the root folder cannot be renamed or moved".into(),
        ));
    };
    let name = match new_name {
        Some(n) => n,
        None => names::stored(&node.name),
    };
    let parent_id = req.parent_id.unwrap_or(old_parent);
    if parent_id != old_parent {
        access::folder_in(&mut w.tx, &c, parent_id, to_ns).await?;
        if node.kind == NodeKind::Folder
            && nodes::is_ancestor_or_self(&mut w.tx, id, parent_id).await?
        {
            return Err(ApiError::InvalidMove(
                "a folder cannot be moved into itself or one of its subfolders".into(),
            ));
        }
        if node.kind == NodeKind::Folder {
            let height =
                nodes::folder_height(&mut w.tx, id, false, names::MAX_FOLDER_DEPTH).await?;
            nodes::fits_below(&mut w.tx, parent_id, height).await?;
        }
    } else if name.display == node.name {
        return Ok(Json(PlacedNode { node, clash: None }));
    }
    let tag = || names::conflict_tag(&c.device_name, state.clock.now_ms());
    let (name, clash) =
        nodes::landing_name(&mut w.tx, parent_id, name, id, req.keep_both, tag).await?;
    let clash = match clash {
        Some((wanted, holder)) => Some(NameClash {
            wanted,
            holder_id: access::mounts(&state.db, &c).await?.id_of(holder),
        }),
        None => None,
    };
    if to_ns != ns && !share_root {
        if nodes::holds_other_tree(&mut w.tx, id, ns).await? {
            return Err(ApiError::SharedFolder(
                "this folder holds a shared folder, which cannot move into another tree",
            ));
        }
        hand_over(&state, &mut w, &c, id, ns, to_ns).await?;
        nodes::log_subtree(&mut w.tx, to_ns, id, "arrive", Some(c.device_id)).await?;
    }
    nodes::place(&mut w.tx, id, parent_id, &name).await?;
    let kind = if parent_id != old_parent {
        "move"
    } else {
        "rename"
    };
    changes::log(&mut w.tx, ns, id, kind, Some(c.device_id)).await?;
    if also != ns {
        // The source's devices see it leave (its state there is gone), the target's arrive;
        // for a shared folder itself, the owner's tree (where it sits) sees it move.
        changes::log(&mut w.tx, also, id, kind, Some(c.device_id)).await?;
    }
    let node = written(&mut w, id).await?;
    w.commit().await?;
    tracing::info!(
        node_id = id,
        parent_id,
        kind,
        clash = clash.is_some(),
        "node placed"
    );
    Ok(Json(PlacedNode { node, clash }))
}

/// Moves node `id`'s subtree from namespace `from` to `to`: its rows, its chunk references
/// and its bytes (from one namespace's counters to the other's, against the quota of `to`'s
/// owner, old versions there giving way first). Both namespaces are locked.
async fn hand_over(
    state: &AppState,
    w: &mut WriteTx<'_>,
    c: &Caller,
    id: i64,
    from: i64,
    to: i64,
) -> ApiResult<()> {
    let bytes = nodes::hand_over(&mut w.tx, id, to).await?;
    let quota = if access::is_home(c, to) {
        c.home_room()
    } else {
        usage::owner_quota(&mut *w.tx, to, state.settings.quota_bytes).await?
    };
    usage::transfer(&mut w.tx, from, to, bytes, quota).await?;
    Ok(())
}

/// `DELETE /nodes/{id}`: to the trash, with the whole subtree of a folder.
#[utoipa::path(delete, path = "/api/v1/nodes/{id}", tag = "tree", security(("bearer" = [])), params(("id" = i64, Path, description = "A node id")), responses((status = 403, description = "`role_too_low`: the caller only views this shared folder", body = wire::ErrorBody), (status = 204, description = "Moved to the trash with its subtree"), (status = 409, description = "`shared_folder`: a shared folder itself, or a folder holding one, is not trashed while it is shared", body = wire::ErrorBody), (status = 400, description = "Bad input", body = wire::ErrorBody), (status = 401, description = "Not signed in", body = wire::ErrorBody), (status = 404, description = "Not found in the caller's namespace", body = wire::ErrorBody)))]
pub async fn delete_node(
    State(state): State<AppState>,
    Auth(c): Auth,
    Path(id): Path<i64>,
) -> ApiResult<StatusCode> {
    let ns = access::namespace_for(&state.db, &c, id, Role::Editor).await?;
    let mut w = begin(&state, ns).await?;
    let node = access::node_in(&mut w.tx, &c, id, ns).await?;
    if node.parent_id.is_none() {
        return Err(ApiError::RootFolder);
    }
    if access::owns_share_root(&state.db, &c, id, ns).await? {
        return Err(ApiError::SharedFolder(
            "a shared folder is not deleted while it is shared: stop sharing it first",
        ));
    }
    if nodes::holds_other_tree(&mut w.tx, id, ns).await? {
        return Err(ApiError::SharedFolder(
            "this folder holds a shared folder: stop sharing that one first",
        ));
    }
    let count = nodes::trash_subtree(&mut w.tx, id).await?;
    changes::log(&mut w.tx, ns, id, "trash", Some(c.device_id)).await?;
    w.commit().await?;
    tracing::info!(node_id = id, count, "trashed");
    Ok(StatusCode::NO_CONTENT)
}

#[utoipa::path(get, path = "/api/v1/trash", tag = "tree", security(("bearer" = [])), responses((status = 200, description = "Trashed nodes of the caller's tree and of the shared folders they belong to, newest first", body = wire::TrashList), (status = 400, description = "Bad input", body = wire::ErrorBody), (status = 401, description = "Not signed in", body = wire::ErrorBody), (status = 404, description = "Not found in the caller's namespace", body = wire::ErrorBody)))]
pub async fn list_trash(
    State(state): State<AppState>,
    Auth(c): Auth,
) -> ApiResult<Json<TrashList>> {
    let mut items = Vec::new();
    for ns in access::readable(&state.db, &c).await? {
        items.extend(
            nodes::trash(&state.db, ns)
                .await?
                .into_iter()
                .map(|t| TrashItem {
                    original_parent_id: t.row.node.parent_id,
                    node: t.row.node,
                    deleted_at: t.deleted_at,
                }),
        );
    }
    // Newest first across the caller's own tree and the shared ones.
    items.sort_by_key(|t| std::cmp::Reverse((t.deleted_at, t.node.id)));
    Ok(Json(TrashList { items }))
}

/// `POST /trash/{id}/restore`: back where it was (the root folder if that folder is gone, or
/// now lies so deep that the restored folders would pass the depth limit), and if its name
/// was taken meanwhile, as `name (restored).ext`, `name (restored 2).ext`, …
#[utoipa::path(post, path = "/api/v1/trash/{id}/restore", tag = "tree", security(("bearer" = [])), params(("id" = i64, Path, description = "A node id")), responses((status = 200, description = "Restored (into the root of its tree — the caller's, or the shared folder's — if its folder is gone)", body = wire::Node), (status = 400, description = "Bad input", body = wire::ErrorBody), (status = 401, description = "Not signed in", body = wire::ErrorBody), (status = 403, description = "`role_too_low`: the caller only views this shared folder", body = wire::ErrorBody), (status = 404, description = "No such trash item in a tree the caller may see", body = wire::ErrorBody)))]
pub async fn restore(
    State(state): State<AppState>,
    Auth(c): Auth,
    Path(id): Path<i64>,
) -> ApiResult<Json<Node>> {
    let ns = access::trash_namespace(&state.db, &c, id, Role::Editor).await?;
    let mut w = begin(&state, ns).await?;
    let t = nodes::trashed(&mut w.tx, ns, id)
        .await?
        .ok_or(ApiError::NotFound("trash item"))?;
    // The top of the tree it was trashed from: the caller's root, or the shared folder's.
    let root = if access::is_home(&c, ns) {
        c.root_id
    } else {
        nodes::namespace_root(&mut w.tx, ns).await?
    };
    let parent = match t.row.node.parent_id {
        Some(p) => match access::folder_in(&mut w.tx, &c, p, ns).await {
            Ok(f) => f.id,
            Err(ApiError::NotFound(_)) => root,
            Err(e) => return Err(e),
        },
        None => root,
    };
    let parent = if t.row.node.kind == NodeKind::Folder && parent != root {
        let height = nodes::folder_height(&mut w.tx, id, true, names::MAX_FOLDER_DEPTH).await?;
        match nodes::fits_below(&mut w.tx, parent, height).await {
            Ok(()) => parent,
            Err(ApiError::TooDeep(_)) => root,
            Err(e) => return Err(e),
        }
    } else {
        parent
    };
    let name = nodes::free_name(&mut w.tx, parent, &t.row.node.name, "restored", true).await?;
    nodes::restore_subtree(&mut w.tx, id, parent, &name).await?;
    changes::log(&mut w.tx, ns, id, "restore", Some(c.device_id)).await?;
    let node = written(&mut w, id).await?;
    w.commit().await?;
    tracing::info!(node_id = id, parent_id = parent, "restored");
    Ok(Json(node))
}

/// `DELETE /trash/{id}`: gone for good, with everything beneath it; its bytes leave the quota.
#[utoipa::path(delete, path = "/api/v1/trash/{id}", tag = "tree", security(("bearer" = [])), params(("id" = i64, Path, description = "A node id")), responses((status = 204, description = "Purged for good"), (status = 400, description = "Bad input", body = wire::ErrorBody), (status = 401, description = "Not signed in", body = wire::ErrorBody), (status = 403, description = "`role_too_low`: only the owner of a shared folder purges its trash", body = wire::ErrorBody), (status = 404, description = "No such trash item in a tree the caller may see", body = wire::ErrorBody)))]
pub async fn purge(
    State(state): State<AppState>,
    Auth(c): Auth,
    Path(id): Path<i64>,
) -> ApiResult<StatusCode> {
    // Gone for good is the owner's call alone; members may trash and restore.
    let ns = access::trash_namespace(&state.db, &c, id, Role::Owner).await?;
    let mut w = begin(&state, ns).await?;
    let freed = nodes::purge_trashed(&mut w.tx, ns, id, Some(c.device_id))
        .await?
        .ok_or(ApiError::NotFound("trash item"))?;
    w.commit().await?;
    tracing::info!(node_id = id, freed = -freed.total(), "purged");
    Ok(StatusCode::NO_CONTENT)
}
