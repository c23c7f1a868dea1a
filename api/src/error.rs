//! One error type for the whole API, mapped to an HTTP status and a stable machine code
//! (`wire::ErrorCode`) in one place, so every failure reaches the client as the same JSON shape
//! and internals stay in logs. Each variant names one kind of failure; its message says what
//! exactly was wrong.

use axum::extract::rejection::{JsonRejection, PathRejection, QueryRejection};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use wire::{ErrorBody, ErrorCode, ErrorDetail};

#[derive(Debug, thiserror::Error)]
pub enum ApiError {
    /// A path or query parameter that does not parse.
    #[error("{0}")]
    BadParameter(String),
    /// A paging or size parameter out of its range (`limit must be 1 to 1000`).
    #[error("{0}")]
    OutOfRange(String),
    #[error("invalid cursor")]
    InvalidCursor,
    /// An action that does not apply to this kind of node (`only files have versions`).
    #[error("{0}")]
    WrongKind(&'static str),
    /// A username, password or device name that breaks its rule.
    #[error("{0}")]
    InvalidAccount(String),
    #[error("that username is taken")]
    UsernameTaken,
    /// Link settings that do not fit together or are out of range.
    #[error("{0}")]
    InvalidLink(String),
    /// Search filters that are malformed or contradict each other.
    #[error("{0}")]
    InvalidSearch(&'static str),
    #[error("say who you are: 1 to 64 printable characters, no `/`")]
    InvalidUploader,
    /// More paths or files than one answer takes.
    #[error("{0}")]
    TooManyPaths(String),
    #[error("the body could not be read: {0}")]
    UnreadableBody(String),
    #[error("expected a password form")]
    NotAForm,
    #[error("this version lists chunk sizes that do not match the stored chunks, so it cannot be restored")]
    UnrestorableVersion,
    #[error("nothing to change: send `name` and/or `parent_id`")]
    NothingToChange,
    #[error("the root folder cannot be deleted")]
    RootFolder,
    #[error("idempotency_key must be 1 to {0} characters")]
    InvalidKey(usize),
    /// Every name a copy could take in its folder (`stem (tag n).ext`) is taken.
    #[error("too many nodes named like `{0}` in this folder")]
    NoFreeName(String),
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
    #[error("your role in this shared folder does not allow that")]
    RoleTooLow,
    #[error("{0} not found")]
    NotFound(&'static str),
    #[error("the folder is gone: deleted, or no longer shared with you")]
    FolderGone,
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
    #[error("the database or the chunk store cannot be reached; retry shortly")]
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
    #[error("this account is disabled; ask the server's operator")]
    AccountDisabled,
    #[error("the current password is wrong")]
    CurrentPasswordWrong,
    #[error("type this account's username to confirm deleting it")]
    ConfirmationMismatch,
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
    #[error("{0}")]
    SharedFolder(&'static str),
    #[error("{0} already has a place in this shared folder (as its owner, a member or invited)")]
    AlreadyMember(String),
    #[error("a member's role is viewer or editor: a shared folder has one owner")]
    InvalidRole,
    #[error("the manifest draft lacks part {part} (of {parts}): send every part first")]
    ManifestIncomplete { part: u32, parts: u32 },
    #[error("part {0} of this manifest draft was sent before with other chunks")]
    PartDiffers(u32),
    #[error("at most {0} manifest drafts may be open at once; use them or let them expire")]
    TooManyDrafts(usize),
    #[error("the manifest draft has expired; send it again")]
    DraftExpired,
    /// A body of a media type the endpoint does not take (`send image/webp or image/jpeg`).
    #[error("{0}")]
    UnsupportedMediaType(&'static str),
}

impl ApiError {
    pub fn status(&self) -> StatusCode {
        use ApiError::*;
        match self {
            BadParameter(_) | OutOfRange(_) | InvalidCursor | WrongKind(_) | InvalidAccount(_)
            | InvalidLink(_) | InvalidSearch(_) | InvalidUploader | TooManyPaths(_)
            | UnreadableBody(_) | NotAForm | NothingToChange | RootFolder | InvalidKey(_)
            | InvalidName(_) | InvalidManifest(_) | BadJson(_) | HashMismatch | InvalidMove(_)
            | TooDeep(_) | InvalidRole | ConfirmationMismatch => StatusCode::BAD_REQUEST,
            TooLarge | RequestTooLarge => StatusCode::PAYLOAD_TOO_LARGE,
            Unauthorized | BadCredentials | PasswordRequired => StatusCode::UNAUTHORIZED,
            BadSignature | Forbidden | RoleTooLow | SignupClosed | AccountDisabled
            | CurrentPasswordWrong | WrongPassword => StatusCode::FORBIDDEN,
            LinkGone(_) | LinkExhausted | RequestClosed(_) => StatusCode::GONE,
            NotFound(_) | FolderGone => StatusCode::NOT_FOUND,
            UsernameTaken | UnrestorableVersion | NoFreeName(_) | NameTaken
            | UploadIncomplete(_) | TooManyUploads(_) | SharedFolder(_) | AlreadyMember(_) => {
                StatusCode::CONFLICT
            }
            ManifestIncomplete { .. } | PartDiffers(_) | TooManyDrafts(_) => StatusCode::CONFLICT,
            UploadExpired | CursorReset | DraftExpired => StatusCode::GONE,
            MethodNotAllowed => StatusCode::METHOD_NOT_ALLOWED,
            Backoff(_) | Unavailable => StatusCode::SERVICE_UNAVAILABLE,
            QuotaExceeded => StatusCode::INSUFFICIENT_STORAGE,
            RangeNotSatisfiable => StatusCode::RANGE_NOT_SATISFIABLE,
            Internal(_) => StatusCode::INTERNAL_SERVER_ERROR,
            RateLimited(_) => StatusCode::TOO_MANY_REQUESTS,
            RequestTimeout => StatusCode::REQUEST_TIMEOUT,
            UnsupportedMediaType(_) => StatusCode::UNSUPPORTED_MEDIA_TYPE,
        }
    }

    pub fn code(&self) -> ErrorCode {
        use ApiError::*;
        match self {
            BadParameter(_) | OutOfRange(_) | InvalidCursor | WrongKind(_) | InvalidAccount(_)
            | InvalidLink(_) | InvalidSearch(_) | InvalidUploader | TooManyPaths(_)
            | UnreadableBody(_) | NotAForm | NothingToChange | RootFolder | InvalidKey(_) => {
                ErrorCode::BadRequest
            }
            UsernameTaken => ErrorCode::UsernameTaken,
            UnrestorableVersion | NoFreeName(_) | PartDiffers(_) => ErrorCode::Conflict,
            InvalidName(_) => ErrorCode::InvalidName,
            InvalidManifest(_) => ErrorCode::InvalidManifest,
            BadJson(_) => ErrorCode::BadJson,
            TooLarge => ErrorCode::TooLarge,
            Unauthorized => ErrorCode::Unauthorized,
            BadCredentials => ErrorCode::BadCredentials,
            BadSignature => ErrorCode::BadSignature,
            Forbidden => ErrorCode::Forbidden,
            RoleTooLow => ErrorCode::RoleTooLow,
            NotFound(_) => ErrorCode::NotFound,
            FolderGone => ErrorCode::FolderGone,
            NameTaken => ErrorCode::NameTaken,
            InvalidMove(_) => ErrorCode::InvalidMove,
            HashMismatch => ErrorCode::HashMismatch,
            UploadIncomplete(_) => ErrorCode::UploadIncomplete,
            UploadExpired | DraftExpired => ErrorCode::UploadExpired,
            QuotaExceeded => ErrorCode::QuotaExceeded,
            RangeNotSatisfiable => ErrorCode::RangeNotSatisfiable,
            CursorReset => ErrorCode::CursorReset,
            MethodNotAllowed => ErrorCode::MethodNotAllowed,
            Backoff(_) => ErrorCode::Backoff,
            Unavailable => ErrorCode::Unavailable,
            Internal(_) => ErrorCode::Internal,
            TooManyUploads(_) | TooManyDrafts(_) => ErrorCode::TooManyUploads,
            RateLimited(_) => ErrorCode::RateLimited,
            RequestTimeout => ErrorCode::Timeout,
            TooDeep(_) => ErrorCode::TooDeep,
            SignupClosed => ErrorCode::SignupClosed,
            AccountDisabled => ErrorCode::AccountDisabled,
            CurrentPasswordWrong => ErrorCode::WrongCurrentPassword,
            ConfirmationMismatch => ErrorCode::ConfirmationMismatch,
            LinkGone(_) => ErrorCode::LinkGone,
            LinkExhausted => ErrorCode::LinkExhausted,
            PasswordRequired => ErrorCode::PasswordRequired,
            WrongPassword => ErrorCode::WrongPassword,
            RequestClosed(_) => ErrorCode::RequestClosed,
            RequestTooLarge => ErrorCode::RequestTooLarge,
            SharedFolder(_) => ErrorCode::SharedFolder,
            AlreadyMember(_) => ErrorCode::AlreadyMember,
            InvalidRole => ErrorCode::InvalidRole,
            ManifestIncomplete { .. } => ErrorCode::ManifestIncomplete,
            UnsupportedMediaType(_) => ErrorCode::UnsupportedMediaType,
        }
    }
}

/// The database is away rather than refusing a statement: no connection within the pool's
/// wait, one that broke mid-statement, or PostgreSQL saying it is shutting down, crashed or
/// still starting (SQLSTATE 57P01–57P03). Answered 503 `unavailable`.
pub fn database_away(e: &sqlx::Error) -> bool {
    match e {
        sqlx::Error::PoolTimedOut | sqlx::Error::Io(_) => true,
        sqlx::Error::Database(d) => {
            matches!(d.code().as_deref(), Some("57P01" | "57P02" | "57P03"))
        }
        _ => false,
    }
}

impl From<sqlx::Error> for ApiError {
    fn from(e: sqlx::Error) -> Self {
        // The client retries; it is not our bug.
        if database_away(&e) {
            tracing::warn!(error = %e, "database unavailable");
            return ApiError::Unavailable;
        }
        // PostgreSQL refuses text holding NUL (SQLSTATE 22021) where SQLite stores it: a
        // client's string with one in it (an upload id, a username, a key) is a bad request,
        // not the server failing. Found by `tests/props/bodies.rs`.
        if let sqlx::Error::Database(d) = &e {
            if d.code().as_deref() == Some("22021") {
                return ApiError::BadParameter("text cannot contain U+0000 (NUL)".to_owned());
            }
        }
        ApiError::Internal(e.into())
    }
}

impl From<std::io::Error> for ApiError {
    fn from(e: std::io::Error) -> Self {
        // The chunk store out of reach (`blob::s3`): the client retries.
        if e.kind() == std::io::ErrorKind::NotConnected {
            tracing::warn!(error = %e, "chunk store unavailable");
            return ApiError::Unavailable;
        }
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
        ApiError::BadParameter(r.body_text())
    }
}

impl From<QueryRejection> for ApiError {
    fn from(r: QueryRejection) -> Self {
        ApiError::BadParameter(r.body_text())
    }
}

impl ApiError {
    /// The status and body this error answers with; a batch answers one per item.
    pub fn detail(self) -> (StatusCode, ErrorDetail, Option<u64>) {
        // A database or store error carried up as `anyhow` (through a helper's `?`) may still
        // be the backend away, which is a 503 wherever it surfaced.
        let away = match &self {
            ApiError::Internal(e) => {
                e.downcast_ref::<sqlx::Error>().is_some_and(database_away)
                    || e.downcast_ref::<std::io::Error>()
                        .is_some_and(|io| io.kind() == std::io::ErrorKind::NotConnected)
            }
            _ => false,
        };
        let this = match self {
            ApiError::Internal(e) if away => {
                tracing::warn!(error = %e, "a backend is unavailable");
                ApiError::Unavailable
            }
            other => other,
        };
        if let ApiError::Internal(e) = &this {
            tracing::error!(error = ?e, "internal error");
        }
        let retry_after = match &this {
            ApiError::Backoff(secs) | ApiError::RateLimited(secs) => Some(*secs),
            _ => None,
        };
        let detail = ErrorDetail {
            code: this.code().as_str().to_owned(),
            message: this.to_string(),
        };
        (this.status(), detail, retry_after)
    }
}

impl IntoResponse for ApiError {
    fn into_response(self) -> Response {
        let (status, error, retry_after) = self.detail();
        let mut response = (status, axum::Json(ErrorBody { error })).into_response();
        if let Some(secs) = retry_after {
            response
                .headers_mut()
                .insert(axum::http::header::RETRY_AFTER, secs.into());
        }
        response
    }
}

pub type ApiResult<T> = Result<T, ApiError>;
