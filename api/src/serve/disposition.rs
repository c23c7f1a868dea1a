//! `Content-Disposition` for any file name (RFC 6266): an ASCII `filename` fallback that cannot
//! leave its quoted string, and the exact name as RFC 8187 `filename*` for clients that read it
//! (browsers, `wget --content-disposition`). `curl -J` reads only the fallback, so the fallback
//! is also a safe name to create on disk: no separators, no leading dot, no control bytes.

use axum::http::HeaderValue;

/// Whether the browser should save the file or show it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Disposition {
    Attachment,
    Inline,
}

/// The fallback's length cap, in characters; the extension is kept when it is cut.
const FALLBACK_MAX: usize = 150;

/// The header for `name`.
pub fn content_disposition(kind: Disposition, name: &str) -> HeaderValue {
    let kind = match kind {
        Disposition::Attachment => "attachment",
        Disposition::Inline => "inline",
    };
    let mut encoded = String::with_capacity(name.len());
    for b in name.bytes() {
        // RFC 8187 attr-char.
        if b.is_ascii_alphanumeric() || b"!#$&+-.^_`|~".contains(&b) {
            encoded.push(b as char);
        } else {
            encoded.push_str(&format!("%{b:02X}"));
        }
    }
    let text = format!(
        "{kind}; filename=\"{}\"; filename*=UTF-8''{encoded}",
        fallback(name)
    );
    HeaderValue::from_str(&text).expect("only visible ASCII and spaces")
}

/// Visible ASCII and spaces only; quotes, backslashes, slashes, `%` (which some browsers
/// decode) and everything else become `_`; a leading dot too, so `curl -J` never makes a
/// hidden file; at most [`FALLBACK_MAX`] characters, keeping a short extension.
fn fallback(name: &str) -> String {
    let mut out: Vec<char> = name
        .chars()
        .map(|c| {
            let plain = c == ' ' || c.is_ascii_graphic() && !"\"\\/%".contains(c);
            if plain {
                c
            } else {
                '_'
            }
        })
        .collect();
    if out.first() == Some(&'.') {
        out[0] = '_';
    }
    if out.len() > FALLBACK_MAX {
        let ext = match out.iter().rposition(|&c| c == '.') {
            Some(i) if out.len() - i <= 16 => out.split_off(i),
            _ => Vec::new(),
        };
        out.truncate(FALLBACK_MAX - ext.len());
        out.extend(ext);
    }
    let s: String = out.into_iter().collect();
    if s.trim().is_empty() {
        "download".to_owned()
    } else {
        s
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn check(name: &str, want: &str) {
        let got = content_disposition(Disposition::Attachment, name);
        assert_eq!(got.to_str().unwrap(), want, "{name:?}");
        // Whatever the name, the header decodes back to it.
        assert_eq!(decode(want).as_deref(), Some(name));
    }

    /// The `filename*` value decoded, as a browser would.
    fn decode(header: &str) -> Option<String> {
        let enc = header.split("filename*=UTF-8''").nth(1)?;
        let mut bytes = Vec::new();
        let mut it = enc.bytes();
        while let Some(b) = it.next() {
            if b == b'%' {
                let hex = [it.next()?, it.next()?];
                bytes.push(u8::from_str_radix(std::str::from_utf8(&hex).ok()?, 16).ok()?);
            } else {
                bytes.push(b);
            }
        }
        String::from_utf8(bytes).ok()
    }

    #[test]
    fn plain_names_read_the_same_in_both_forms() {
        check(
            "report.pdf",
            "attachment; filename=\"report.pdf\"; filename*=UTF-8''report.pdf",
        );
        check(
            "my file (1).tar.gz",
            "attachment; filename=\"my file (1).tar.gz\"; filename*=UTF-8''my%20file%20%281%29.tar.gz",
        );
    }

    #[test]
    fn quotes_and_backslashes_stay_inside_the_quoted_string() {
        check(
            "a\"b\\c.txt",
            "attachment; filename=\"a_b_c.txt\"; filename*=UTF-8''a%22b%5Cc.txt",
        );
        check(
            "x\"; filename=evil.exe",
            "attachment; filename=\"x_; filename=evil.exe\"; filename*=UTF-8''x%22%3B%20filename%3Devil.exe",
        );
    }

    #[test]
    fn line_breaks_cannot_start_a_header() {
        check(
            "a\r\nSet-Cookie: x\u{7f}\t.txt",
            "attachment; filename=\"a__Set-Cookie: x__.txt\"; \
             filename*=UTF-8''a%0D%0ASet-Cookie%3A%20x%7F%09.txt",
        );
    }

    #[test]
    fn separators_and_dots_make_no_paths() {
        check(
            "../../etc/passwd",
            "attachment; filename=\"_._.._etc_passwd\"; filename*=UTF-8''..%2F..%2Fetc%2Fpasswd",
        );
        check(
            ".bashrc",
            "attachment; filename=\"_bashrc\"; filename*=UTF-8''.bashrc",
        );
        check(
            "C:\\x%41.txt",
            "attachment; filename=\"C:_x_41.txt\"; filename*=UTF-8''C%3A%5Cx%2541.txt",
        );
    }

    #[test]
    fn emoji_and_accents_are_exact_in_filename_star() {
        check(
            "Ünïcode 😀.txt",
            "attachment; filename=\"_n_code _.txt\"; \
             filename*=UTF-8''%C3%9Cn%C3%AFcode%20%F0%9F%98%80.txt",
        );
        check(
            "😀",
            "attachment; filename=\"_\"; filename*=UTF-8''%F0%9F%98%80",
        );
        check(
            "   ",
            "attachment; filename=\"download\"; filename*=UTF-8''%20%20%20",
        );
    }

    #[test]
    fn very_long_names_keep_their_extension_in_the_fallback() {
        let name = format!("{}.jpeg", "é".repeat(995));
        let h = content_disposition(Disposition::Attachment, &name);
        let s = h.to_str().unwrap();
        let fb = s.split('"').nth(1).unwrap();
        assert_eq!(fb.chars().count(), FALLBACK_MAX);
        assert!(fb.ends_with("_.jpeg"), "{fb}");
        assert_eq!(decode(s).as_deref(), Some(name.as_str()));
        let plain = "a".repeat(1000);
        let s = content_disposition(Disposition::Attachment, &plain);
        let fb = s.to_str().unwrap().split('"').nth(1).unwrap().to_owned();
        assert_eq!(fb, "a".repeat(FALLBACK_MAX));
    }

    #[test]
    fn inline_says_so() {
        assert_eq!(
            content_disposition(Disposition::Inline, "cat.png"),
            "inline; filename=\"cat.png\"; filename*=UTF-8''cat.png"
        );
    }
}
