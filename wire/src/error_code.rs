//! The machine codes of error answers, one list for the server that sends them, the client core
//! that branches on them and (as generated constants) the browser shell, so no layer spells a
//! code of its own. A code is part of the API: once sent, it keeps its spelling.

use serde::{Deserialize, Serialize};

macro_rules! codes {
    ($($(#[doc = $doc:literal])* $variant:ident = $code:literal,)*) => {
        /// The `error.code` of an error answer. Clients must treat a code they do not know
        /// like `bad_request` (by its HTTP status): the list grows.
        #[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
        #[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
        #[serde(rename_all = "snake_case")]
        pub enum ErrorCode {
            $($(#[doc = $doc])* $variant,)*
        }

        impl ErrorCode {
            /// Every code, in the order above.
            pub const ALL: &'static [ErrorCode] = &[$(ErrorCode::$variant,)*];

            /// The code as it appears on the wire.
            pub const fn as_str(self) -> &'static str {
                match self {
                    $(ErrorCode::$variant => $code,)*
                }
            }

            /// What the code means, for generated documentation.
            pub fn doc(self) -> &'static str {
                match self {
                    $(ErrorCode::$variant => concat!($($doc),*).trim_start(),)*
                }
            }
        }
    };
}

codes! {
    /// 400: the request is malformed in a way no other code names (a bad path or query
    /// parameter, a setting out of range, an action that does not apply to this kind of node).
    BadRequest = "bad_request",
    /// 400: a file or folder name breaks the name rules (`wire::names`).
    InvalidName = "invalid_name",
    /// 400: the manifest is inconsistent (offsets, sizes, bounds, the file hash).
    InvalidManifest = "invalid_manifest",
    /// 400: the body is not JSON of the shape this endpoint takes.
    BadJson = "bad_json",
    /// 413: the body is larger than the endpoint takes.
    TooLarge = "too_large",
    /// 401: the bearer token (or event-stream ticket) is missing, unknown, expired or revoked.
    Unauthorized = "unauthorized",
    /// 401: wrong username or password at sign-in.
    BadCredentials = "bad_credentials",
    /// 403: a signed chunk URL is invalid, tampered with, used for another method, or expired.
    BadSignature = "bad_signature",
    /// 403: the caller may not do this here.
    Forbidden = "forbidden",
    /// 403: the caller's role in this shared folder lets it look, not change (a viewer), or
    /// not manage members and links (an editor).
    RoleTooLow = "role_too_low",
    /// 404: no such thing (or not the caller's to see); the message names what.
    NotFound = "not_found",
    /// 404: a commit's folder is gone (deleted, or no longer shared with the caller). The
    /// edit is still the user's: Cairn's clients commit it into the home root instead.
    FolderGone = "folder_gone",
    /// 409: the request clashes with the current state (a version that is not the node's,
    /// too many conflicted copies of a name).
    Conflict = "conflict",
    /// 409: the username is taken.
    UsernameTaken = "username_taken",
    /// 409: the name is taken in that folder.
    NameTaken = "name_taken",
    /// 400: a move that cannot be (into itself or below, out of the namespace).
    InvalidMove = "invalid_move",
    /// 400: bytes PUT to a chunk URL do not hash to the chunk's name.
    HashMismatch = "hash_mismatch",
    /// 409: a commit of an upload whose chunks have not all arrived.
    UploadIncomplete = "upload_incomplete",
    /// 410: the upload session expired; start it again.
    UploadExpired = "upload_expired",
    /// 507: the commit or upload would exceed the storage quota.
    QuotaExceeded = "quota_exceeded",
    /// 416: the requested byte range is outside the file.
    RangeNotSatisfiable = "range_not_satisfiable",
    /// 410: the change-feed cursor can no longer be served; list the tree again.
    CursorReset = "cursor_reset",
    /// 405: the endpoint does not take this method.
    MethodNotAllowed = "method_not_allowed",
    /// 503: the server is busy; retry after `Retry-After` seconds.
    Backoff = "backoff",
    /// 503: the metadata database or the chunk store cannot be reached (restarting); retry.
    Unavailable = "unavailable",
    /// 500: an internal error (details are in the server's log, never in the answer).
    Internal = "internal",
    /// 409: too many uploads are open at once; commit or cancel some.
    TooManyUploads = "too_many_uploads",
    /// 429: too many requests; retry after `Retry-After` seconds.
    RateLimited = "rate_limited",
    /// 408: the request's body or answer took too long; send it again.
    Timeout = "timeout",
    /// 400: folders would nest deeper than the limit.
    TooDeep = "too_deep",
    /// 403: the server takes no sign-ups.
    SignupClosed = "signup_closed",
    /// 403: the current password given to change it is wrong.
    WrongCurrentPassword = "wrong_current_password",
    /// 400: the username typed to confirm deleting the account is not the account's.
    ConfirmationMismatch = "confirmation_mismatch",
    /// 403: the server's operator disabled this account (`cairn admin user disable`); said
    /// only to the right password.
    AccountDisabled = "account_disabled",
    /// 410: the share link was revoked, expired, or what it shared was deleted.
    LinkGone = "link_gone",
    /// 410: the share link's download limit is used up.
    LinkExhausted = "link_exhausted",
    /// 401: the share link needs its password (a grant or Basic auth).
    PasswordRequired = "password_required",
    /// 403: wrong password for the share link.
    WrongPassword = "wrong_password",
    /// 410: the file request takes no more uploads (revoked, past its deadline, target gone).
    RequestClosed = "request_closed",
    /// 413: the upload would exceed the file request's size limit.
    RequestTooLarge = "request_too_large",
    /// 409: a shared folder's rule: a folder inside a shared folder (or holding one) cannot be
    /// shared on its own, a shared folder cannot move into another, and the shared folder
    /// itself is stopped sharing before it is deleted.
    SharedFolder = "shared_folder",
    /// 409: the user already is a member of this shared folder (or has an invitation to it),
    /// or is its owner.
    AlreadyMember = "already_member",
    /// 400: a member's role is `viewer` or `editor` (a shared folder has one owner).
    InvalidRole = "invalid_role",
    /// 409: an upload was started from a manifest draft with a part not yet sent (the
    /// message names the first missing part, `part n of m`); send it, then start again.
    ManifestIncomplete = "manifest_incomplete",
    /// 415: the body's `Content-Type` is not one this endpoint takes (a thumbnail is
    /// `image/webp` or `image/jpeg`).
    UnsupportedMediaType = "unsupported_media_type",
}

impl std::fmt::Display for ErrorCode {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
}

impl std::str::FromStr for ErrorCode {
    type Err = ();
    fn from_str(s: &str) -> Result<ErrorCode, ()> {
        ErrorCode::ALL
            .iter()
            .copied()
            .find(|c| c.as_str() == s)
            .ok_or(())
    }
}

impl PartialEq<&str> for ErrorCode {
    fn eq(&self, other: &&str) -> bool {
        self.as_str() == *other
    }
}

/// The codes as an ES module of constants (`export const NAME_TAKEN = 'name_taken';`), which
/// the wasm build writes beside the bindings so the browser shell spells no code by hand.
pub fn js_module() -> String {
    let mut out =
        String::from("// Generated by `cargo xtask wasm` from wire::ErrorCode; do not edit.\n");
    for c in ErrorCode::ALL {
        let name = c.as_str().to_ascii_uppercase();
        out.push_str(&format!(
            "/** {} */\nexport const {name} = '{}';\n",
            c.doc(),
            c.as_str()
        ));
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn serde_spells_each_code_as_as_str_and_back() {
        for &c in ErrorCode::ALL {
            let json = serde_json::to_string(&c).unwrap();
            assert_eq!(json, format!("\"{}\"", c.as_str()));
            assert_eq!(serde_json::from_str::<ErrorCode>(&json).unwrap(), c);
            assert_eq!(c.as_str().parse::<ErrorCode>(), Ok(c));
            assert!(!c.doc().is_empty(), "{c} has no doc");
        }
        let mut seen = std::collections::HashSet::new();
        assert!(ErrorCode::ALL.iter().all(|c| seen.insert(c.as_str())));
    }

    #[test]
    fn the_js_module_exports_every_code() {
        let js = js_module();
        assert!(js.contains("export const NAME_TAKEN = 'name_taken';"));
        assert_eq!(js.matches("export const").count(), ErrorCode::ALL.len());
    }
}
