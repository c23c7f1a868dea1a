//! The server's name rules (`wire::names`) as the client applies them, so a name is refused,
//! and two names compared, exactly as the API will: before an offline change is queued, not
//! at its replay.

pub use wire::names::{key, NameError, MAX_FOLDER_DEPTH};

/// The name in the form the server stores (NFC), or which rule it breaks.
pub fn check(name: &str) -> Result<String, NameError> {
    wire::names::check(name).map(|n| n.display)
}

/// Whether two names are one in a folder (full case folding: `straße` and `STRASSE` are).
pub fn same(a: &str, b: &str) -> bool {
    key(a) == key(b)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_compare_and_check_as_the_server_does() {
        assert!(same("straße", "STRASSE"));
        assert!(!same("a.txt", "b.txt"));
        assert!(check("a/b").is_err());
        assert!(check("..").is_err());
        assert_eq!(check("e\u{301}").unwrap(), "\u{e9}");
    }
}
