//! The content type a file is served with: from its name, or from the type its client sniffed
//! and stored with the version when that type is on a short allowlist of kinds a browser only
//! ever shows (images, PDF, plain text, audio, video). The server never sniffs bytes, and
//! responses say `nosniff`, so a name ending `.html` in a share (or a client claiming
//! `text/html`) cannot become a page that runs in our origin unless it is served `inline` under
//! `Content-Security-Policy: sandbox`.

use wire::MAX_CONTENT_TYPE;

/// The type for `name`, `application/octet-stream` when the extension is unknown.
pub fn of(name: &str) -> &'static str {
    mime_guess::from_path(name)
        .first_raw()
        .unwrap_or("application/octet-stream")
}

/// Whether a browser can show this type itself (images, PDF, text, audio, video).
pub fn previewable(content_type: &str) -> bool {
    ["image/", "text/", "audio/", "video/"]
        .iter()
        .any(|p| content_type.starts_with(p))
        || content_type == "application/pdf"
        || content_type == "application/json"
}

/// A commit's `content_type` checked and lowercased: `type/subtype`, each 1 to 64 RFC 6838
/// `restricted-name` characters (letters, digits, `!#$&-^_.+`), no parameters, at most
/// [`MAX_CONTENT_TYPE`] bytes; `Err` says what is wrong.
pub fn normalise(raw: &str) -> Result<String, String> {
    let bad = || {
        format!(
            "content_type must be a media type `type/subtype` (letters, digits and !#$&-^_.+, no \
             parameters), at most {MAX_CONTENT_TYPE} bytes"
        )
    };
    if raw.len() > MAX_CONTENT_TYPE {
        return Err(bad());
    }
    let token = |t: &str| {
        (1..=64).contains(&t.len())
            && t.bytes()
                .all(|b| b.is_ascii_alphanumeric() || b"!#$&-^_.+".contains(&b))
    };
    match raw.split_once('/') {
        Some((t, s)) if token(t) && token(s) => Ok(raw.to_ascii_lowercase()),
        _ => Err(bad()),
    }
}

/// The stored (client-sniffed) type when the server may send it as is: it can only be shown,
/// never run (no HTML, SVG, XML or script). `None`: answer as if no type were stored.
pub fn allowed(stored: Option<&str>) -> Option<&str> {
    const IMAGES: [&str; 6] = [
        "image/png",
        "image/jpeg",
        "image/gif",
        "image/webp",
        "image/avif",
        "image/bmp",
    ];
    let t = stored?;
    let ok = IMAGES.contains(&t)
        || t == "application/pdf"
        || t == "text/plain"
        || t.starts_with("audio/")
        || t.starts_with("video/");
    ok.then_some(t)
}

/// The type a preview is served with: the stored one when [`allowed`], else from the name.
pub fn shown<'a>(stored: Option<&'a str>, name: &str) -> &'a str {
    allowed(stored).unwrap_or_else(|| of(name))
}

#[cfg(test)]
mod tests {
    #[test]
    fn commit_types_are_checked_and_lowercased() {
        let ok = |raw: &str, want: &str| assert_eq!(super::normalise(raw).as_deref(), Ok(want));
        ok("image/PNG", "image/png");
        ok("application/vnd.ms-excel", "application/vnd.ms-excel");
        ok("text/x-c++src", "text/x-c++src");
        for bad in [
            "",
            "png",
            "image/",
            "/png",
            "image/png; charset=utf-8",
            "image/png/x",
            "text/plain ",
            "tëxt/plain",
            "a/b\r\nSet-Cookie: x",
            &format!("a/{}", "b".repeat(126)),
        ] {
            assert!(super::normalise(bad).is_err(), "{bad:?}");
        }
    }

    #[test]
    fn only_allowlisted_types_are_served_as_stored() {
        assert_eq!(super::allowed(Some("image/png")), Some("image/png"));
        assert_eq!(super::allowed(Some("video/mp4")), Some("video/mp4"));
        for unsafe_type in [
            "text/html",
            "image/svg+xml",
            "application/xml",
            "text/javascript",
            "application/octet-stream",
            "application/x-unknown",
        ] {
            assert_eq!(super::allowed(Some(unsafe_type)), None, "{unsafe_type}");
        }
        assert_eq!(super::shown(Some("image/png"), "photo"), "image/png");
        assert_eq!(super::shown(Some("text/html"), "a.txt"), "text/plain");
        assert_eq!(super::shown(None, "photo"), "application/octet-stream");
    }

    #[test]
    fn types_by_name() {
        assert_eq!(super::of("a.PDF"), "application/pdf");
        assert_eq!(super::of("photo.jpg"), "image/jpeg");
        assert_eq!(super::of("notes"), "application/octet-stream");
        assert!(super::previewable("video/mp4"));
        assert!(!super::previewable("application/zip"));
    }
}
