//! Deleting one's own account. It takes the password (a stolen session alone cannot destroy
//! the account) and the username typed again (nor can a slip of the finger), is limited like
//! sign-in, and erases everything in one transaction (`db::erase`). The chunks go with the
//! collector's next pass, unless another account stores the same bytes.

use axum::extract::State;
use wire::{AccountDeleted, DeleteAccountRequest};

use crate::auth::{self, Auth};
use crate::db::{erase, nodes, users};
use crate::error::{ApiError, ApiResult};
use crate::extract::Json;
use crate::routes::accounts::{check_password_length, username_key};
use crate::state::AppState;

#[utoipa::path(delete, path = "/api/v1/account", tag = "accounts", security(("bearer" = [])),
    request_body = wire::DeleteAccountRequest,
    responses(
        (status = 200, description = "Deleted: every file, version, link, shared folder and membership is gone, every device signed out; the username is free again", body = wire::AccountDeleted),
        (status = 400, description = "`confirmation_mismatch`: `confirm_username` is not this account's username; `bad_request`: the password is over 1,024 bytes", body = wire::ErrorBody),
        (status = 401, description = "Not signed in", body = wire::ErrorBody),
        (status = 403, description = "`wrong_current_password`: the password is not this account's", body = wire::ErrorBody),
        (status = 429, description = "`rate_limited`: too many password attempts for this account; see `Retry-After`", body = wire::ErrorBody),
        (status = 503, description = "`backoff`: too many password hashes at once, or `unavailable`: the account's shared folders kept changing; see `Retry-After`", body = wire::ErrorBody),
    ))]
pub async fn delete(
    State(state): State<AppState>,
    Auth(c): Auth,
    Json(req): Json<DeleteAccountRequest>,
) -> ApiResult<Json<AccountDeleted>> {
    check_password_length(&req.password)?;
    if username_key(req.confirm_username.trim()) != username_key(&c.username) {
        return Err(ApiError::ConfirmationMismatch);
    }
    state.guards.per_account.check(&username_key(&c.username))?;
    let stored = users::password_hash(&state.db, c.user_id).await?;
    if !auth::verify_password(&state.guards.hashes, req.password, stored).await? {
        tracing::info!(
            user_id = c.user_id,
            "account deletion refused: wrong password"
        );
        return Err(ApiError::CurrentPasswordWrong);
    }
    // Every namespace written is locked, in ascending order; the set is read again under the
    // locks, and one that changed meanwhile (an invitation accepted) starts the round over.
    let mut tries = 0;
    let mut w = loop {
        let touched = erase::touched(&state.db.pool, c.user_id).await?;
        let mut w = state.db.write().await?;
        for ns in &touched {
            nodes::lock_namespace(&mut w.tx, *ns).await?;
        }
        if erase::touched(&mut *w.tx, c.user_id).await? == touched {
            break w;
        }
        w.rollback().await?;
        tries += 1;
        if tries == 5 {
            return Err(ApiError::Unavailable);
        }
    };
    let now = state.clock.now_ms();
    let (erased, revoked) =
        erase::account(&mut w.tx, &state.db, c.user_id, c.device_id, now).await?;
    w.commit().await?;
    users::announce_revoked(&state.db, &revoked);
    tracing::info!(user_id = c.user_id, ?erased, "account deleted");
    Ok(Json(AccountDeleted {
        nodes: erased.nodes,
        versions: erased.versions,
        links: erased.links,
        shared_folders: erased.shared_folders,
        memberships: erased.memberships,
        devices: revoked.len() as u64,
    }))
}
