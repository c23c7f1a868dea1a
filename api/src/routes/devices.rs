//! The caller's devices: list them, rename one (its name is what version lists and conflicted
//! copies show, so two browsers of one kind must be told apart), revoke one (its token fails
//! from the next request on), and sign out (revoke the calling device).

use axum::extract::State;
use axum::http::StatusCode;
use wire::{Device, DeviceList, RenameDeviceRequest};

use crate::auth::Auth;
use crate::db::users;
use crate::error::{ApiError, ApiResult};
use crate::extract::{Json, Path};
use crate::state::AppState;

#[utoipa::path(get, path = "/api/v1/devices", tag = "devices", security(("bearer" = [])), responses((status = 200, description = "The account's signed-in devices", body = wire::DeviceList), (status = 400, description = "Bad input", body = wire::ErrorBody), (status = 401, description = "Not signed in", body = wire::ErrorBody), (status = 404, description = "Not found in the caller's namespace", body = wire::ErrorBody)))]
pub async fn list(State(state): State<AppState>, Auth(c): Auth) -> ApiResult<Json<DeviceList>> {
    let devices = users::devices(&state.db, c.user_id)
        .await?
        .into_iter()
        .map(|(id, name, created_at, last_seen_at)| Device {
            current: id == c.device_id,
            id,
            name,
            created_at,
            last_seen_at,
        })
        .collect();
    Ok(Json(DeviceList { devices }))
}

#[utoipa::path(patch, path = "/api/v1/devices/{id}", tag = "devices", security(("bearer" = [])),
    params(("id" = i64, Path, description = "A device id")),
    request_body = wire::RenameDeviceRequest,
    responses(
        (status = 200, description = "Renamed", body = wire::Device),
        (status = 400, description = "`bad_request`: a device name is 1 to 64 printable characters", body = wire::ErrorBody),
        (status = 401, description = "Not signed in", body = wire::ErrorBody),
        (status = 404, description = "No such active device of the caller's account", body = wire::ErrorBody),
    ))]
pub async fn rename(
    State(state): State<AppState>,
    Auth(c): Auth,
    Path(id): Path<i64>,
    Json(req): Json<RenameDeviceRequest>,
) -> ApiResult<Json<Device>> {
    let name = crate::routes::accounts::check_device(&req.name)?;
    if !users::rename_device(&state.db, c.user_id, id, &name).await? {
        return Err(ApiError::NotFound("device"));
    }
    tracing::info!(user_id = c.user_id, device_id = id, "device renamed");
    users::devices(&state.db, c.user_id)
        .await?
        .into_iter()
        .find(|d| d.0 == id)
        .map(|(id, name, created_at, last_seen_at)| {
            Json(Device {
                current: id == c.device_id,
                id,
                name,
                created_at,
                last_seen_at,
            })
        })
        .ok_or(ApiError::NotFound("device"))
}

#[utoipa::path(delete, path = "/api/v1/devices/{id}", tag = "devices", security(("bearer" = [])), params(("id" = i64, Path, description = "A device id")), responses((status = 204, description = "Revoked: its token fails from its next request"), (status = 400, description = "Bad input", body = wire::ErrorBody), (status = 401, description = "Not signed in", body = wire::ErrorBody), (status = 404, description = "Not found in the caller's namespace", body = wire::ErrorBody)))]
pub async fn revoke(
    State(state): State<AppState>,
    Auth(c): Auth,
    Path(id): Path<i64>,
) -> ApiResult<StatusCode> {
    if !users::revoke_device(&state.db, c.user_id, id).await? {
        return Err(ApiError::NotFound("device"));
    }
    tracing::info!(user_id = c.user_id, device_id = id, "device revoked");
    Ok(StatusCode::NO_CONTENT)
}

/// "Sign out everywhere else": every other device of the account is revoked at once (their
/// open event streams end); the calling device stays signed in.
#[utoipa::path(delete, path = "/api/v1/devices", tag = "devices", security(("bearer" = [])),
    responses(
        (status = 200, description = "How many devices were signed out", body = wire::RevokedDevices),
    ))]
pub async fn revoke_others(
    State(state): State<AppState>,
    Auth(c): Auth,
) -> ApiResult<Json<wire::RevokedDevices>> {
    let revoked = users::revoke_other_devices(&state.db, c.user_id, c.device_id).await?;
    tracing::info!(user_id = c.user_id, revoked, "signed out everywhere else");
    Ok(Json(wire::RevokedDevices { revoked }))
}

#[utoipa::path(delete, path = "/api/v1/sessions", tag = "accounts", security(("bearer" = [])), responses((status = 204, description = "The calling device is signed out"), (status = 400, description = "Bad input", body = wire::ErrorBody), (status = 401, description = "Not signed in", body = wire::ErrorBody), (status = 404, description = "Not found in the caller's namespace", body = wire::ErrorBody)))]
pub async fn sign_out(State(state): State<AppState>, Auth(c): Auth) -> ApiResult<StatusCode> {
    users::revoke_device(&state.db, c.user_id, c.device_id).await?;
    tracing::info!(user_id = c.user_id, device_id = c.device_id, "signed out");
    Ok(StatusCode::NO_CONTENT)
}
