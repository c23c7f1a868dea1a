//! A file's version history and restoring an old version as the new current one.

use axum::extract::State;
use wire::{NodeKind, RestoreVersionResponse, Role, VersionList};

use crate::access;
use crate::auth::Auth;
use crate::db::{changes, nodes, usage, versions};
use crate::error::{ApiError, ApiResult};
use crate::extract::{Json, Path};
use crate::state::AppState;

#[utoipa::path(get, path = "/api/v1/nodes/{id}/versions", tag = "versions", security(("bearer" = [])), params(("id" = i64, Path, description = "A node id")), responses((status = 200, description = "The file's versions, newest first", body = wire::VersionList), (status = 400, description = "Bad input", body = wire::ErrorBody), (status = 401, description = "Not signed in", body = wire::ErrorBody), (status = 404, description = "Not found in the caller's namespace", body = wire::ErrorBody)))]
pub async fn list(
    State(state): State<AppState>,
    Auth(c): Auth,
    Path(id): Path<i64>,
) -> ApiResult<Json<VersionList>> {
    let node = access::node(&state.db, &c, id, Role::Viewer).await?;
    if node.kind != NodeKind::File {
        return Err(ApiError::WrongKind("only files have versions"));
    }
    let versions = versions::history(&state.db, id, node.version_id).await?;
    Ok(Json(VersionList { versions }))
}

/// Restoring the current version, or one with the same content, writes nothing.
#[utoipa::path(post, path = "/api/v1/nodes/{id}/versions/{version_id}/restore", tag = "versions", security(("bearer" = [])), params(("id" = i64, Path, description = "A file id"), ("version_id" = i64, Path, description = "A version of it")), responses((status = 403, description = "`role_too_low`: the caller only views this shared folder", body = wire::ErrorBody), (status = 200, description = "A new current version with the old content", body = wire::RestoreVersionResponse), (status = 507, description = "Quota exceeded", body = wire::ErrorBody), (status = 409, description = "The version lists chunk sizes that do not match the stored chunks", body = wire::ErrorBody), (status = 400, description = "Bad input", body = wire::ErrorBody), (status = 401, description = "Not signed in", body = wire::ErrorBody), (status = 404, description = "Not found in the caller's namespace", body = wire::ErrorBody)))]
pub async fn restore(
    State(state): State<AppState>,
    Auth(c): Auth,
    Path((id, version_id)): Path<(i64, i64)>,
) -> ApiResult<Json<RestoreVersionResponse>> {
    // Written where the file lives: the caller's tree or a shared folder.
    let ns = access::namespace_for(&state.db, &c, id, Role::Editor).await?;
    let mut w = state.db.write().await?;
    nodes::lock_namespace(&mut w.tx, ns).await?;
    let node = access::file_in(&mut w.tx, &c, id, ns).await?;
    let (size, hash) = versions::of_node(&mut w.tx, id, version_id)
        .await?
        .ok_or(ApiError::NotFound("version"))?;
    if node.content_hash.map(|h| h.to_string()) == Some(hash) {
        return Ok(Json(RestoreVersionResponse {
            version_id: node.version_id.unwrap_or_default(),
            node,
        }));
    }
    // A version written before chunk sizes were checked may list a size that is not its
    // chunk's; writing it again would be charged, listed and served wrongly.
    if versions::chunks_out_of_step(&mut w.tx, version_id).await? > 0 {
        return Err(ApiError::UnrestorableVersion);
    }
    let new_version =
        versions::restore(&mut w.tx, id, version_id, node.version_id, c.device_id).await?;
    // Charged after the copy: making room may drop old versions, the one restored included,
    // and its content is safe in the new version by then. The transaction rolls back whole
    // if the charge is refused.
    let delta = usage::Delta {
        current: size as i64 - node.size as i64,
        history: node.size as i64,
        staged: 0,
    };
    // Charged to the tree's owner.
    let quota = if access::is_home(&c, ns) {
        c.home_room()
    } else {
        usage::owner_quota(&mut *w.tx, ns, state.settings.quota_bytes).await?
    };
    usage::charge_making_room(&mut w.tx, ns, delta, quota).await?;
    changes::log(&mut w.tx, ns, id, "version", Some(c.device_id)).await?;
    let node = nodes::get(&mut *w.tx, id)
        .await?
        .ok_or(ApiError::NotFound("file"))?
        .node;
    w.commit().await?;
    tracing::info!(
        node_id = id,
        from = version_id,
        version_id = new_version,
        "version restored"
    );
    Ok(Json(RestoreVersionResponse {
        node,
        version_id: new_version,
    }))
}
