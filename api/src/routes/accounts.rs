//! Register, sign in, and who-am-I: the endpoints anyone can call, so each one spends an
//! attempt from its rate limits before any work, and hashes passwords through the gate.

use axum::extract::State;
use axum::http::StatusCode;
use wire::{LoginRequest, MeResponse, RegisterRequest, SessionResponse};

use crate::abuse::ClientIp;
use crate::auth::{self, Auth};
use crate::db::{usage, users};
use crate::error::{ApiError, ApiResult};
use crate::extract::Json;
use crate::state::AppState;

/// Usernames are ASCII, so one lower-casing rule serves every database and locale.
pub fn username_key(username: &str) -> String {
    username.to_ascii_lowercase()
}

pub fn check_username(u: &str) -> ApiResult<()> {
    let ok = (1..=64).contains(&u.len())
        && u.bytes()
            .all(|b| b.is_ascii_alphanumeric() || b"._-@".contains(&b));
    if ok {
        Ok(())
    } else {
        Err(ApiError::InvalidAccount(
            "a username is 1 to 64 characters of letters, digits, `.`, `_`, `-` and `@`".into(),
        ))
    }
}

/// Longest password accepted, in bytes (argon2 reads all of it).
pub const MAX_PASSWORD_BYTES: usize = 1024;

pub fn check_password_length(password: &str) -> ApiResult<()> {
    if password.len() > MAX_PASSWORD_BYTES {
        return Err(ApiError::InvalidAccount(format!(
            "a password is at most {MAX_PASSWORD_BYTES} bytes"
        )));
    }
    Ok(())
}

/// A password someone is choosing: 8 characters to 1,024 bytes.
pub fn check_new_password(password: &str) -> ApiResult<()> {
    check_password_length(password)?;
    if password.chars().count() < 8 {
        return Err(ApiError::InvalidAccount(
            "a password needs at least 8 characters".into(),
        ));
    }
    Ok(())
}

pub fn check_device(name: &str) -> ApiResult<String> {
    let name = name.trim();
    if name.is_empty() || name.chars().count() > 64 || name.chars().any(char::is_control) {
        return Err(ApiError::InvalidAccount(
            "a device name is 1 to 64 printable characters".into(),
        ));
    }
    Ok(name.to_owned())
}

/// Registration answers 409 for a taken name, so it tells which usernames exist; a uniform
/// answer would leave the newcomer without a session. It is rate limited instead, per
/// address and per name, like sign-in.
#[utoipa::path(post, path = "/api/v1/accounts", tag = "accounts", request_body = wire::RegisterRequest,
    responses(
        (status = 201, description = "Account, home namespace, root folder and first device created", body = wire::SessionResponse),
        (status = 400, description = "Bad username, password or device name", body = wire::ErrorBody),
        (status = 403, description = "`signup_closed`: this server does not take sign-ups; its operator adds accounts (`cairn admin user add`)", body = wire::ErrorBody),
        (status = 409, description = "`username_taken`: the username is taken (in any case)", body = wire::ErrorBody),
        (status = 429, description = "`rate_limited`: too many sign-ups from this address or for this name; see `Retry-After`", body = wire::ErrorBody),
        (status = 503, description = "`backoff`: too many password hashes at once; see `Retry-After`", body = wire::ErrorBody),
    ))]
pub async fn register(
    State(state): State<AppState>,
    ip: ClientIp,
    Json(req): Json<RegisterRequest>,
) -> ApiResult<(StatusCode, Json<SessionResponse>)> {
    if !state.settings.signup_open {
        return Err(ApiError::SignupClosed);
    }
    state.guards.signup_per_ip.check(&ip.limit_key())?;
    check_username(&req.username)?;
    let device = check_device(&req.device_name)?;
    check_new_password(&req.password)?;
    let key = username_key(&req.username);
    state.guards.per_account.check(&key)?;
    // Hashed before the name is looked up, so a taken name costs the same time.
    let hash = auth::hash_password(&state.guards.hashes, req.password).await?;
    let token = auth::new_token();
    let account = users::create_account(
        &state.db,
        &req.username,
        &key,
        &hash,
        &device,
        &auth::token_hash(&token),
    )
    .await?
    .ok_or_else(|| ApiError::UsernameTaken)?;
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

/// The order of the checks is the defence: the address limit first (cheapest), then the
/// account limit, charged alike for names that exist and names that do not, then one argon2
/// hash through the gate, against a dummy hash for an unknown name. Nothing on the way
/// depends on whether the account exists, so neither the answer nor its timing tells.
#[utoipa::path(post, path = "/api/v1/sessions", tag = "accounts", request_body = wire::LoginRequest,
    responses(
        (status = 200, description = "Signed in: a new device with its own token", body = wire::SessionResponse),
        (status = 400, description = "Malformed username, password or device name", body = wire::ErrorBody),
        (status = 401, description = "Wrong username or password", body = wire::ErrorBody),
        (status = 403, description = "`account_disabled`: the right password, for an account the operator disabled", body = wire::ErrorBody),
        (status = 429, description = "`rate_limited`: too many attempts from this address or for this account; see `Retry-After`", body = wire::ErrorBody),
        (status = 503, description = "`backoff`: too many password hashes at once; see `Retry-After`", body = wire::ErrorBody),
    ))]
pub async fn login(
    State(state): State<AppState>,
    ip: ClientIp,
    Json(req): Json<LoginRequest>,
) -> ApiResult<Json<SessionResponse>> {
    state.guards.signin_per_ip.check(&ip.limit_key())?;
    let device = check_device(&req.device_name)?;
    check_username(&req.username)?;
    check_password_length(&req.password)?;
    let key = username_key(&req.username);
    state.guards.per_account.check(&key)?;
    let creds = users::credentials(&state.db, &req.username, &key).await?;
    // Verify against a throwaway hash when the user is unknown, so timing does not tell.
    let stored = creds
        .as_ref()
        .map(|c| c.password_hash.clone())
        .unwrap_or_else(|| DUMMY_HASH.to_owned());
    let ok = auth::verify_password(&state.guards.hashes, req.password, stored).await?;
    let creds = creds.filter(|_| ok).ok_or(ApiError::BadCredentials)?;
    if creds.disabled {
        return Err(ApiError::AccountDisabled);
    }
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

/// Same parameters as `Argon2::default()` (m = 19 MiB, t = 2, p = 1), so it costs what a
/// real account's hash costs.
pub const DUMMY_HASH: &str = "$argon2id$v=19$m=19456,t=2,p=1$c29tZXNhbHRzb21lc2FsdA$3q2+7rvuBFUbmC3Xi9l9QF3MkAJ3TXAe9p/Ut8jvYMw";

#[utoipa::path(get, path = "/api/v1/me", tag = "accounts", security(("bearer" = [])),
    responses(
        (status = 200, description = "The calling user and device", body = wire::MeResponse),
        (status = 401, description = "Not signed in", body = wire::ErrorBody),
    ))]
pub async fn me(State(state): State<AppState>, Auth(c): Auth) -> ApiResult<Json<MeResponse>> {
    // The account's whole holding, item by item: its own tree and the folders it shared.
    let usage = usage::of_owner(&state.db, c.user_id, c.namespace_id).await?;
    Ok(Json(MeResponse {
        user_id: c.user_id,
        username: c.username,
        device_id: c.device_id,
        device_name: c.device_name,
        namespace_id: c.namespace_id,
        root_id: c.root_id,
        used_bytes: usage.total(),
        quota_bytes: c.quota_bytes,
        files_bytes: usage.current,
        versions_bytes: usage.history,
        uploads_bytes: usage.staged,
        retention: wire::Retention {
            trash_secs: state.settings.trash_retention.as_secs(),
            versions_secs: state.settings.version_retention.as_secs(),
            versions_max: state.settings.version_keep as u64,
        },
    }))
}
