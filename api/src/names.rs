//! File and folder names: what is allowed, and the key that makes names unique per folder.
//!
//! Names are stored NFC-normalized (what macOS, Windows and Linux users type all compare equal)
//! and compared case-insensitively while preserving case: a folder cannot hold both `Report.pdf`
//! and `report.pdf`, because such a pair cannot be synced to the case-insensitive file systems of
//! Windows and macOS without one of them being lost.

use unicode_normalization::UnicodeNormalization;

use sqlx::{Any, Transaction};

use crate::db::nodes;
use crate::error::{ApiError, ApiResult};

/// Longest name in bytes after normalization; the common file-system limit.
pub const MAX_NAME_BYTES: usize = 255;

/// A checked name: `display` is what the user sees, `key` is what must be unique per folder.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Name {
    pub display: String,
    pub key: String,
}

pub fn check(raw: &str) -> Result<Name, ApiError> {
    let display: String = raw.nfc().collect();
    let bad = |why: &str| Err(ApiError::InvalidName(why.to_owned()));
    if display.is_empty() {
        return bad("a name cannot be empty");
    }
    if display.len() > MAX_NAME_BYTES {
        return bad("a name can be at most 255 bytes long");
    }
    if display == "." || display == ".." {
        return bad("`.` and `..` are not names");
    }
    if display.contains('/') || display.contains('\\') {
        return bad("a name cannot contain `/` or `\\`");
    }
    if display.chars().any(|c| c.is_control()) {
        return bad("a name cannot contain control characters or NUL");
    }
    if display.trim() != display {
        return bad("a name cannot start or end with whitespace");
    }
    let key = display.to_lowercase().nfc().collect();
    Ok(Name { display, key })
}

/// `stem (tag).ext`: the shape of every name Cairn picks when two nodes want one name.
pub fn tagged(name: &str, tag: &str) -> String {
    let (stem, ext) = split_ext(name);
    format!("{stem} ({tag}){ext}")
}

/// `a.tar.gz` → (`a.tar`, `.gz`); a leading dot is part of the stem (`.bashrc` has no extension).
pub fn split_ext(name: &str) -> (&str, &str) {
    match name.rfind('.') {
        Some(i) if i > 0 => (&name[..i], &name[i..]),
        _ => (name, ""),
    }
}

/// The first name free in `parent_id` among `name` itself (when `plain_first`), then
/// `stem (tag).ext`, `stem (tag 2).ext`, … up to 99 tries.
pub async fn free_in(
    tx: &mut Transaction<'static, Any>,
    parent_id: i64,
    name: &str,
    tag: &str,
    plain_first: bool,
) -> ApiResult<Name> {
    let plain = plain_first.then(|| name.to_owned());
    let tagged = (1..100).map(|n| match n {
        1 => tagged(name, tag),
        n => tagged(name, &format!("{tag} {n}")),
    });
    for candidate in plain.into_iter().chain(tagged) {
        let candidate = check(&candidate)?;
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
/// name cleaned of what a file name cannot hold.
pub fn conflict_tag(device: &str, now_ms: i64) -> String {
    let device: String = device
        .chars()
        .filter(|c| !c.is_control() && *c != '/' && *c != '\\')
        .take(40)
        .collect();
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
    fn accepts_ordinary_names_and_normalizes() {
        let n = check("Cafe\u{301}.txt").unwrap();
        assert_eq!(n.display, "Café.txt");
        assert_eq!(n.key, "café.txt");
        assert_eq!(
            check("REPORT.pdf").unwrap().key,
            check("report.PDF").unwrap().key
        );
    }

    #[test]
    fn refuses_bad_names() {
        for bad in [
            "",
            ".",
            "..",
            "a/b",
            "a\\b",
            "nul\0",
            "tab\there",
            " lead",
            "trail ",
            &"x".repeat(256),
        ] {
            assert!(check(bad).is_err(), "{bad:?} should be refused");
        }
    }
}
