//! Register, sign in, and who-am-I.

use axum::extract::State;
use axum::http::StatusCode;
use wire::{LoginRequest, MeResponse, RegisterRequest, SessionResponse};

use crate::auth::{self, Auth};
use crate::db::{usage, users};
use crate::error::{ApiError, ApiResult};
use crate::extract::Json;
use crate::state::AppState;

fn check_username(u: &str) -> ApiResult<()> {
    let ok = (1..=64).contains(&u.len())
        && u.bytes()
            .all(|b| b.is_ascii_alphanumeric() || b"._-@".contains(&b));
    if ok {
        Ok(())
    } else {
        Err(ApiError::BadRequest(
            "a username is 1 to 64 characters of letters, digits, `.`, `_`, `-` and `@`".into(),
        ))
    }
}

fn check_device(name: &str) -> ApiResult<String> {
    let name = name.trim();
    if name.is_empty() || name.chars().count() > 64 || name.chars().any(char::is_control) {
        return Err(ApiError::BadRequest(
            "a device name is 1 to 64 printable characters".into(),
        ));
    }
    Ok(name.to_owned())
}

#[utoipa::path(post, path = "/api/v1/accounts", tag = "accounts", request_body = wire::RegisterRequest,
    responses(
        (status = 201, description = "Account, home namespace, root folder and first device created", body = wire::SessionResponse),
        (status = 400, description = "Bad username, password or device name", body = wire::ErrorBody),
        (status = 409, description = "Username taken", body = wire::ErrorBody),
    ))]
pub async fn register(
    State(state): State<AppState>,
    Json(req): Json<RegisterRequest>,
) -> ApiResult<(StatusCode, Json<SessionResponse>)> {
    check_username(&req.username)?;
    let device = check_device(&req.device_name)?;
    if req.password.chars().count() < 8 || req.password.len() > 1024 {
        return Err(ApiError::BadRequest(
            "a password needs at least 8 characters".into(),
        ));
    }
    let hash = auth::hash_password(req.password).await?;
    let token = auth::new_token();
    let account = users::create_account(
        &state.db,
        &req.username,
        &hash,
        &device,
        &auth::token_hash(&token),
    )
    .await?
    .ok_or_else(|| ApiError::Conflict("that username is taken".into()))?;
    tracing::info!(
        user_id = account.user_id,
        device_id = account.device_id,
        "account created"
    );
    Ok((
        StatusCode::CREATED,
        Json(SessionResponse {
            token,
            user_id: account.user_id,
            device_id: account.device_id,
            namespace_id: account.namespace_id,
            root_id: account.root_id,
        }),
    ))
}

#[utoipa::path(post, path = "/api/v1/sessions", tag = "accounts", request_body = wire::LoginRequest,
    responses(
        (status = 200, description = "Signed in: a new device with its own token", body = wire::SessionResponse),
        (status = 401, description = "Wrong username or password", body = wire::ErrorBody),
    ))]
pub async fn login(
    State(state): State<AppState>,
    Json(req): Json<LoginRequest>,
) -> ApiResult<Json<SessionResponse>> {
    let device = check_device(&req.device_name)?;
    let creds = users::credentials(&state.db, &req.username).await?;
    // Verify against a throwaway hash when the user is unknown, so timing does not tell.
    let stored = creds
        .as_ref()
        .map(|c| c.password_hash.clone())
        .unwrap_or_else(|| DUMMY_HASH.to_owned());
    let ok = auth::verify_password(req.password, stored).await;
    let creds = creds.filter(|_| ok).ok_or(ApiError::BadCredentials)?;
    let token = auth::new_token();
    let device_id =
        users::add_device(&state.db, creds.user_id, &device, &auth::token_hash(&token)).await?;
    tracing::info!(user_id = creds.user_id, device_id, "signed in");
    Ok(Json(SessionResponse {
        token,
        user_id: creds.user_id,
        device_id,
        namespace_id: creds.namespace_id,
        root_id: creds.root_id,
    }))
}

const DUMMY_HASH: &str = "$argon2id$v=19$m=19456,t=2,p=1$c29tZXNhbHRzb21lc2FsdA$3q2+7rvuBFUbmC3Xi9l9QF3MkAJ3TXAe9p/Ut8jvYMw";

#[utoipa::path(get, path = "/api/v1/me", tag = "accounts", security(("bearer" = [])),
    responses(
        (status = 200, description = "The calling user and device", body = wire::MeResponse),
        (status = 401, description = "Not signed in", body = wire::ErrorBody),
    ))]
pub async fn me(State(state): State<AppState>, Auth(c): Auth) -> ApiResult<Json<MeResponse>> {
    let usage = usage::read(&state.db, c.namespace_id).await?;
    Ok(Json(MeResponse {
        user_id: c.user_id,
        username: c.username,
        device_id: c.device_id,
        device_name: c.device_name,
        namespace_id: c.namespace_id,
        root_id: c.root_id,
        used_bytes: usage.total(),
        quota_bytes: c.quota_bytes.unwrap_or(state.settings.quota_bytes),
        files_bytes: usage.current,
        versions_bytes: usage.history,
        uploads_bytes: usage.staged,
    }))
}
