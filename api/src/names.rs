//! File and folder names: what is allowed, and the key that makes names unique per folder.
//!
//! Names are stored NFC-normalized (what macOS, Windows and Linux users type all compare equal)
//! and compared case-insensitively while preserving case: a folder cannot hold both `Report.pdf`
//! and `report.pdf`, because such a pair cannot be synced to the case-insensitive file systems of
//! Windows and macOS without one of them being lost.

use unicode_normalization::UnicodeNormalization;

use crate::error::ApiError;

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
