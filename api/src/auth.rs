//! Who is calling. Passwords are argon2id hashes; each device holds its own random bearer token,
//! stored only as a BLAKE3 hash, so a leaked database grants no sessions and revoking one device
//! leaves the others signed in.

use argon2::password_hash::{
    rand_core::OsRng as PhOsRng, PasswordHash, PasswordHasher, PasswordVerifier, SaltString,
};
use argon2::Argon2;
use axum::extract::FromRequestParts;
use axum::http::request::Parts;
use rand::RngCore;

use crate::abuse::HashGate;
use crate::db::users::{self, Caller};
use crate::error::ApiError;
use crate::state::AppState;

/// A new device token: 256 random bits, hex encoded.
pub fn new_token() -> String {
    let mut bytes = [0u8; 32];
    rand::rngs::OsRng.fill_bytes(&mut bytes);
    hex::encode(bytes)
}

pub fn token_hash(token: &str) -> String {
    blake3::hash(token.as_bytes()).to_hex().to_string()
}

/// Hashes a new password, waiting for a turn at the hash gate (`Backoff` when it is full).
pub async fn hash_password(gate: &HashGate, password: String) -> Result<String, ApiError> {
    gate.run(move || {
        let salt = SaltString::generate(&mut PhOsRng);
        Argon2::default()
            .hash_password(password.as_bytes(), &salt)
            .map(|h| h.to_string())
            .map_err(|e| ApiError::Internal(anyhow::anyhow!("argon2: {e}")))
    })
    .await?
}

/// Whether `password` matches `stored`, through the same gate; `Backoff` when it is full.
/// Callers verify against a dummy hash for unknown users, so both cost one full hash.
pub async fn verify_password(
    gate: &HashGate,
    password: String,
    stored: String,
) -> Result<bool, ApiError> {
    gate.run(move || {
        PasswordHash::new(&stored)
            .map(|h| {
                Argon2::default()
                    .verify_password(password.as_bytes(), &h)
                    .is_ok()
            })
            .unwrap_or(false)
    })
    .await
}

const LAST_SEEN_GRAIN_MS: i64 = 60_000;

/// The extractor that makes a handler require a signed-in device.
pub struct Auth(pub Caller);

impl FromRequestParts<AppState> for Auth {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, state: &AppState) -> Result<Self, ApiError> {
        let header = parts
            .headers
            .get(axum::http::header::AUTHORIZATION)
            .and_then(|v| v.to_str().ok())
            .ok_or(ApiError::Unauthorized)?;
        let token = header
            .strip_prefix("Bearer ")
            .ok_or(ApiError::Unauthorized)?
            .trim();
        Ok(Auth(caller_for_token(state, token).await?))
    }
}

/// The device a raw token belongs to, if it is well-formed, known and not revoked.
pub async fn caller_for_token(state: &AppState, token: &str) -> Result<Caller, ApiError> {
    if token.len() != 64 || !token.bytes().all(|b| b.is_ascii_hexdigit()) {
        return Err(ApiError::Unauthorized);
    }
    let mut caller =
        users::caller_by_token(&state.db, &token_hash(token), state.settings.quota_bytes)
            .await?
            .ok_or(ApiError::Unauthorized)?;
    // At most one write a minute per device, so "last seen" costs no fsync per request.
    let now = state.clock.now_ms();
    if now - caller.last_seen_at > LAST_SEEN_GRAIN_MS {
        users::touch_device(&state.db, caller.device_id).await?;
        caller.last_seen_at = now;
    }
    Ok(caller)
}
