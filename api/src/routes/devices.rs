//! The caller's devices: list them, revoke one (its token fails from the next request on),
//! and sign out (revoke the calling device).

use axum::extract::State;
use axum::http::StatusCode;
use wire::{Device, DeviceList};

use crate::auth::Auth;
use crate::db::users;
use crate::error::{ApiError, ApiResult};
use crate::extract::{Json, Path};
use crate::state::AppState;

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

pub async fn sign_out(State(state): State<AppState>, Auth(c): Auth) -> ApiResult<StatusCode> {
    users::revoke_device(&state.db, c.user_id, c.device_id).await?;
    tracing::info!(user_id = c.user_id, device_id = c.device_id, "signed out");
    Ok(StatusCode::NO_CONTENT)
}
