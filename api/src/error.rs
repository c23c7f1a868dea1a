//! One error type for the whole API, mapped to an HTTP status and a stable machine code in one
//! place, so every failure reaches the client as the same JSON shape and internals stay in logs.

use axum::extract::rejection::{JsonRejection, PathRejection, QueryRejection};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use wire::{ErrorBody, ErrorDetail};

#[derive(Debug, thiserror::Error)]
pub enum ApiError {
    #[error("{0}")]
    BadRequest(String),
    #[error("invalid name: {0}")]
    InvalidName(String),
    #[error("invalid manifest: {0}")]
    InvalidManifest(String),
    #[error("the request body is not valid JSON for this endpoint: {0}")]
    BadJson(String),
    #[error("the request body is too large")]
    TooLarge,
    #[error("sign in first: the bearer token is missing, unknown or revoked")]
    Unauthorized,
    #[error("wrong username or password")]
    BadCredentials,
    #[error("the signed URL is invalid or has expired")]
    BadSignature,
    #[error("you may not do that here")]
    Forbidden,
    #[error("{0} not found")]
    NotFound(&'static str),
    #[error("{0}")]
    Conflict(String),
    #[error("the name is already taken in this folder")]
    NameTaken,
    #[error("{0}")]
    InvalidMove(String),
    #[error("the uploaded bytes do not hash to the chunk's name")]
    HashMismatch,
    #[error("the upload is not complete: {0} chunk(s) were never received")]
    UploadIncomplete(usize),
    #[error("the upload session has expired; start the upload again")]
    UploadExpired,
    #[error("the storage quota would be exceeded")]
    QuotaExceeded,
    #[error("the requested range cannot be satisfied")]
    RangeNotSatisfiable,
    #[error("this method is not allowed on this endpoint")]
    MethodNotAllowed,
    #[error("this cursor can no longer be served; list the tree again and take a fresh cursor")]
    CursorReset,
    #[error("the server is busy; retry after {0} s")]
    Backoff(u64),
    #[error("database unavailable")]
    Unavailable,
    #[error("internal error")]
    Internal(#[from] anyhow::Error),
    #[error("at most {0} uploads may be open at once; commit or cancel some first")]
    TooManyUploads(usize),
    #[error("too many requests; retry after {0} s")]
    RateLimited(u64),
    #[error("the request took too long (reading its body or answering it); send it again")]
    RequestTimeout,
    #[error("folders can be nested at most {max} levels below the root; this would put one at level {0}", max = wire::names::MAX_FOLDER_DEPTH)]
    TooDeep(u32),
    #[error("this server does not take sign-ups; ask its operator for an account")]
    SignupClosed,
    #[error("the current password is wrong")]
    CurrentPasswordWrong,
    #[error("this link no longer works: {0}")]
    LinkGone(&'static str),
    #[error("this link's download limit has been used up")]
    LinkExhausted,
    #[error("this link is protected by a password")]
    PasswordRequired,
    #[error("wrong password for this link")]
    WrongPassword,
    #[error("this file request no longer takes uploads: {0}")]
    RequestClosed(&'static str),
    #[error("this upload would exceed the file request's size limit")]
    RequestTooLarge,
}

impl ApiError {
    pub fn status(&self) -> StatusCode {
        use ApiError::*;
        match self {
            BadRequest(_) | InvalidName(_) | InvalidManifest(_) | BadJson(_) | HashMismatch
            | InvalidMove(_) | TooDeep(_) => StatusCode::BAD_REQUEST,
            TooLarge | RequestTooLarge => StatusCode::PAYLOAD_TOO_LARGE,
            Unauthorized | BadCredentials | PasswordRequired => StatusCode::UNAUTHORIZED,
            BadSignature | Forbidden | SignupClosed | CurrentPasswordWrong | WrongPassword => {
                StatusCode::FORBIDDEN
            }
            LinkGone(_) | LinkExhausted | RequestClosed(_) => StatusCode::GONE,
            NotFound(_) => StatusCode::NOT_FOUND,
            Conflict(_) | NameTaken | UploadIncomplete(_) | TooManyUploads(_) => {
                StatusCode::CONFLICT
            }
            UploadExpired | CursorReset => StatusCode::GONE,
            MethodNotAllowed => StatusCode::METHOD_NOT_ALLOWED,
            Backoff(_) | Unavailable => StatusCode::SERVICE_UNAVAILABLE,
            QuotaExceeded => StatusCode::INSUFFICIENT_STORAGE,
            RangeNotSatisfiable => StatusCode::RANGE_NOT_SATISFIABLE,
            Internal(_) => StatusCode::INTERNAL_SERVER_ERROR,
            RateLimited(_) => StatusCode::TOO_MANY_REQUESTS,
            RequestTimeout => StatusCode::REQUEST_TIMEOUT,
        }
    }

    pub fn code(&self) -> &'static str {
        use ApiError::*;
        match self {
            BadRequest(_) => "bad_request",
            InvalidName(_) => "invalid_name",
            InvalidManifest(_) => "invalid_manifest",
            BadJson(_) => "bad_json",
            TooLarge => "too_large",
            Unauthorized => "unauthorized",
            BadCredentials => "bad_credentials",
            BadSignature => "bad_signature",
            Forbidden => "forbidden",
            NotFound(_) => "not_found",
            Conflict(_) => "conflict",
            NameTaken => "name_taken",
            InvalidMove(_) => "invalid_move",
            HashMismatch => "hash_mismatch",
            UploadIncomplete(_) => "upload_incomplete",
            UploadExpired => "upload_expired",
            QuotaExceeded => "quota_exceeded",
            RangeNotSatisfiable => "range_not_satisfiable",
            CursorReset => "cursor_reset",
            MethodNotAllowed => "method_not_allowed",
            Backoff(_) => "backoff",
            Unavailable => "unavailable",
            Internal(_) => "internal",
            TooManyUploads(_) => "too_many_uploads",
            RateLimited(_) => "rate_limited",
            RequestTimeout => "timeout",
            TooDeep(_) => "too_deep",
            SignupClosed => "signup_closed",
            CurrentPasswordWrong => "wrong_current_password",
            LinkGone(_) => "link_gone",
            LinkExhausted => "link_exhausted",
            PasswordRequired => "password_required",
            WrongPassword => "wrong_password",
            RequestClosed(_) => "request_closed",
            RequestTooLarge => "request_too_large",
        }
    }
}

impl From<sqlx::Error> for ApiError {
    fn from(e: sqlx::Error) -> Self {
        ApiError::Internal(e.into())
    }
}

impl From<std::io::Error> for ApiError {
    fn from(e: std::io::Error) -> Self {
        ApiError::Internal(e.into())
    }
}

impl From<JsonRejection> for ApiError {
    fn from(r: JsonRejection) -> Self {
        match r {
            JsonRejection::BytesRejection(_) => ApiError::TooLarge,
            other => ApiError::BadJson(other.body_text()),
        }
    }
}

impl From<PathRejection> for ApiError {
    fn from(r: PathRejection) -> Self {
        ApiError::BadRequest(r.body_text())
    }
}

impl From<QueryRejection> for ApiError {
    fn from(r: QueryRejection) -> Self {
        ApiError::BadRequest(r.body_text())
    }
}

impl IntoResponse for ApiError {
    fn into_response(self) -> Response {
        let status = self.status();
        if let ApiError::Internal(e) = &self {
            tracing::error!(error = ?e, "internal error");
        }
        let body = ErrorBody {
            error: ErrorDetail {
                code: self.code().to_owned(),
                message: self.to_string(),
            },
        };
        let mut response = (status, axum::Json(body)).into_response();
        if let ApiError::Backoff(secs) | ApiError::RateLimited(secs) = self {
            response
                .headers_mut()
                .insert(axum::http::header::RETRY_AFTER, secs.into());
        }
        response
    }
}

pub type ApiResult<T> = Result<T, ApiError>;
