//! File and folder names on the server: the rules themselves live in `wire::names` (shared with
//! the browser client); this module turns their refusals into API errors and names copies
//! (conflicted, restored) in order of preference.
//!
//! Names are stored NFC-normalized and compared by their case-folded key while preserving
//! case: a folder cannot hold both `Report.pdf` and `report.pdf` (nor `straße` and `STRASSE`),
//! because such a pair cannot be synced to the case-insensitive file systems of Windows and
//! macOS without one of them being lost.

use crate::error::ApiError;

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

/// The names a copy may take in a folder, in order of preference: `name` itself (when
/// `plain_first`), then `stem (tag).ext`, `stem (tag 2).ext`, … up to 99 tries, each shortened
/// to fit 255 bytes. `db::nodes::free_name` takes the first one free.
pub fn free_candidates<'a>(
    name: &'a str,
    tag: &'a str,
    plain_first: bool,
) -> impl Iterator<Item = Name> + 'a {
    let plain = plain_first.then(|| stored(name));
    let tagged = (1..100).map(move |n| match n {
        1 => derive(name, tag),
        n => derive(name, &format!("{tag} {n}")),
    });
    plain.into_iter().chain(tagged)
}

/// The tag of a conflicted copy: `conflicted copy <device> <YYYY-MM-DD>`, with the device
/// name cut to 40 characters (`derive` cleans it of what a name cannot hold).
pub fn conflict_tag(device: &str, now_ms: i64) -> String {
    let device: String = device.chars().take(40).collect();
    format!("conflicted copy {} {}", device.trim(), civil_date(now_ms))
}

/// `YYYY-MM-DD` (UTC) of a millisecond timestamp, by Howard Hinnant's days-to-civil algorithm.
pub fn civil_date(ms: i64) -> String {
    let z = ms.div_euclid(86_400_000) + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z - era * 146_097;
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let d = doy - (153 * mp + 2) / 5 + 1;
    let m = if mp < 10 { mp + 3 } else { mp - 9 };
    let y = yoe + era * 400 + i64::from(m <= 2);
    format!("{y:04}-{m:02}-{d:02}")
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

    #[test]
    fn dates_tags_and_candidates() {
        assert_eq!(civil_date(0), "1970-01-01");
        assert_eq!(civil_date(1_795_305_600_000), "2026-11-22");
        assert_eq!(split_ext("a.tar.gz"), ("a.tar", ".gz"));
        assert_eq!(split_ext(".bashrc"), (".bashrc", ""));
        assert_eq!(split_ext("README"), ("README", ""));
        assert_eq!(
            tagged("report.pdf", "conflicted copy laptop 2026-11-22"),
            "report (conflicted copy laptop 2026-11-22).pdf"
        );
        let names: Vec<String> = free_candidates("a.txt", "restored", true)
            .take(3)
            .map(|n| n.display)
            .collect();
        assert_eq!(names, ["a.txt", "a (restored).txt", "a (restored 2).txt"]);
        assert_eq!(free_candidates("a.txt", "t", false).count(), 99);
    }
}
