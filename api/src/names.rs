//! File and folder names on the server: the rules themselves live in `wire::names` (shared with
//! the browser client); this module turns their refusals into API errors and finds free names
//! in a folder, which needs the database.
//!
//! Names are stored NFC-normalized and compared by their case-folded key while preserving
//! case: a folder cannot hold both `Report.pdf` and `report.pdf` (nor `straße` and `STRASSE`),
//! because such a pair cannot be synced to the case-insensitive file systems of Windows and
//! macOS without one of them being lost.

use sqlx::{Any, Transaction};

use crate::db::nodes;
use crate::error::{ApiError, ApiResult};

pub use wire::names::{derive, split_ext, Name, MAX_FOLDER_DEPTH, MAX_NAME_BYTES};

/// `raw` as a name, or `400 invalid_name` saying which rule it breaks.
pub fn check(raw: &str) -> Result<Name, ApiError> {
    wire::names::check(raw).map_err(|e| ApiError::InvalidName(e.to_string()))
}

/// A name as stored (it passed the rules when it was written, or was brought up to them at
/// start-up), with its key: no refusal possible, so a stored name never blocks a move or a
/// new version.
pub fn stored(display: &str) -> Name {
    Name {
        display: display.to_owned(),
        key: wire::names::key(display),
    }
}

/// `stem (tag).ext`, shortened to fit: see `wire::names::derive`.
pub fn tagged(name: &str, tag: &str) -> String {
    derive(name, tag).display
}

/// The first name free in `parent_id` among `name` itself (when `plain_first`), then
/// `stem (tag).ext`, `stem (tag 2).ext`, … up to 99 tries, each shortened to fit 255 bytes.
pub async fn free_in(
    tx: &mut Transaction<'static, Any>,
    parent_id: i64,
    name: &str,
    tag: &str,
    plain_first: bool,
) -> ApiResult<Name> {
    let plain = plain_first.then(|| stored(name));
    let tagged = (1..100).map(|n| match n {
        1 => derive(name, tag),
        n => derive(name, &format!("{tag} {n}")),
    });
    for candidate in plain.into_iter().chain(tagged) {
        if nodes::child_by_name(tx, parent_id, &candidate)
            .await?
            .is_none()
        {
            return Ok(candidate);
        }
    }
    Err(ApiError::Conflict(format!(
        "too many nodes named like `{name}` in this folder"
    )))
}

/// The tag of a conflicted copy: `conflicted copy <device> <YYYY-MM-DD>`, with the device
/// name cut to 40 characters (`derive` cleans it of what a name cannot hold).
pub fn conflict_tag(device: &str, now_ms: i64) -> String {
    let device: String = device.chars().take(40).collect();
    format!(
        "conflicted copy {} {}",
        device.trim(),
        crate::commit::civil_date(now_ms)
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn refusals_are_invalid_name_errors() {
        let e = check("a:b").unwrap_err();
        assert_eq!(e.code(), "invalid_name");
        assert!(e.to_string().contains("Windows"), "{e}");
        assert_eq!(check("Cafe\u{301}.txt").unwrap().display, "Café.txt");
        assert_eq!(stored("Straße").key, "strasse");
    }

    #[test]
    fn conflict_tags_fit_and_are_clean() {
        let tag = conflict_tag(&"d\u{202E}:".repeat(30), 0);
        let n = derive(&"x".repeat(250), &tag);
        assert!(n.display.len() <= MAX_NAME_BYTES);
        assert!(wire::names::check(&n.display).is_ok());
        assert!(n.display.ends_with("1970-01-01)"), "{}", n.display);
    }
}
