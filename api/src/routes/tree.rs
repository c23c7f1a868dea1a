//! Reading and shaping the tree: listings and folders.

use axum::extract::State;
use axum::http::StatusCode;
use wire::{CreateFolderRequest, Listing, Node, NodeKind};

use crate::auth::Auth;
use crate::db::nodes;
use crate::db::users::Caller;
use crate::error::{ApiError, ApiResult};
use crate::extract::{Json, Path};
use crate::names;
use crate::state::AppState;

/// A live node in the caller's namespace, or 404 (never 403: ids of others' nodes stay secret).
pub async fn visible_node(state: &AppState, caller: &Caller, id: i64) -> ApiResult<Node> {
    nodes::get(&state.db.pool, id)
        .await?
        .filter(|n| n.namespace_id == caller.namespace_id)
        .map(|n| n.node)
        .ok_or(ApiError::NotFound("node"))
}

#[utoipa::path(get, path = "/api/v1/nodes/{id}/children", tag = "tree", security(("bearer" = [])),
    params(("id" = i64, Path, description = "A folder id")),
    responses(
        (status = 200, description = "The folder and its live children", body = wire::Listing),
        (status = 400, description = "The node is a file", body = wire::ErrorBody),
        (status = 404, description = "No such node in the caller's namespace", body = wire::ErrorBody),
    ))]
pub async fn children(
    State(state): State<AppState>,
    Auth(c): Auth,
    Path(id): Path<i64>,
) -> ApiResult<Json<Listing>> {
    let folder = visible_node(&state, &c, id).await?;
    if folder.kind != NodeKind::Folder {
        return Err(ApiError::BadRequest(
            "that node is a file, not a folder".into(),
        ));
    }
    let children = nodes::children(&state.db, id).await?;
    Ok(Json(Listing { folder, children }))
}

#[utoipa::path(post, path = "/api/v1/folders", tag = "tree", security(("bearer" = [])),
    request_body = wire::CreateFolderRequest,
    responses(
        (status = 201, description = "Folder created", body = wire::Node),
        (status = 400, description = "Invalid name", body = wire::ErrorBody),
        (status = 404, description = "No such parent folder", body = wire::ErrorBody),
        (status = 409, description = "Name taken", body = wire::ErrorBody),
    ))]
pub async fn create_folder(
    State(state): State<AppState>,
    Auth(c): Auth,
    Json(req): Json<CreateFolderRequest>,
) -> ApiResult<(StatusCode, Json<Node>)> {
    let name = names::check(&req.name)?;
    let mut w = state.db.write().await?;
    let parent = nodes::get(&mut *w.tx, req.parent_id)
        .await?
        .filter(|p| p.namespace_id == c.namespace_id && p.node.kind == NodeKind::Folder)
        .ok_or(ApiError::NotFound("folder"))?;
    if nodes::child_by_name(&mut w.tx, parent.node.id, &name)
        .await?
        .is_some()
    {
        return Err(ApiError::NameTaken);
    }
    let id = nodes::insert(
        &mut w.tx,
        c.namespace_id,
        parent.node.id,
        &name,
        NodeKind::Folder,
    )
    .await?;
    nodes::log_change(&mut w.tx, c.namespace_id, id, "create").await?;
    let node = nodes::get(&mut *w.tx, id)
        .await?
        .ok_or(ApiError::NotFound("folder"))?
        .node;
    w.commit().await?;
    Ok((StatusCode::CREATED, Json(node)))
}
