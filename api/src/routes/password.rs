//! Changing a password. It takes the current password (a stolen session alone cannot lock the
//! owner out), is limited like sign-in (it is a password guess too), and leaves the other
//! devices signed in unless the user asks to sign them all out — a forgotten laptop should not
//! force a new sign-in on every phone, a leaked password should.

use axum::extract::State;
use axum::http::StatusCode;
use wire::ChangePasswordRequest;

use crate::auth::{self, Auth};
use crate::db::users;
use crate::error::{ApiError, ApiResult};
use crate::extract::Json;
use crate::routes::accounts::{check_new_password, check_password_length, username_key};
use crate::state::AppState;

#[utoipa::path(post, path = "/api/v1/account/password", tag = "accounts", security(("bearer" = [])),
    request_body = wire::ChangePasswordRequest,
    responses(
        (status = 204, description = "Changed; with `sign_out_other_devices`, every other device's token stops working at once"),
        (status = 400, description = "`bad_request`: the new password is under 8 characters or over 1,024 bytes", body = wire::ErrorBody),
        (status = 403, description = "`wrong_current_password`: the current password is not this account's", body = wire::ErrorBody),
        (status = 429, description = "`rate_limited`: too many password attempts for this account; see `Retry-After`", body = wire::ErrorBody),
        (status = 503, description = "`backoff`: too many password hashes at once; see `Retry-After`", body = wire::ErrorBody),
    ))]
pub async fn change(
    State(state): State<AppState>,
    Auth(c): Auth,
    Json(req): Json<ChangePasswordRequest>,
) -> ApiResult<StatusCode> {
    check_password_length(&req.current_password)?;
    check_new_password(&req.new_password)?;
    state.guards.per_account.check(&username_key(&c.username))?;
    let stored = users::password_hash(&state.db, c.user_id).await?;
    if !auth::verify_password(&state.guards.hashes, req.current_password, stored).await? {
        tracing::info!(
            user_id = c.user_id,
            "password change refused: wrong current password"
        );
        return Err(ApiError::CurrentPasswordWrong);
    }
    let hash = auth::hash_password(&state.guards.hashes, req.new_password).await?;
    let keep = req.sign_out_other_devices.then_some(c.device_id);
    let revoked = users::set_password(&state.db, c.user_id, &hash, keep).await?;
    tracing::info!(user_id = c.user_id, revoked, "password changed");
    Ok(StatusCode::NO_CONTENT)
}
