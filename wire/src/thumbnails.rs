//! The rules of a version's thumbnail, shared by the server that checks them and the client that
//! makes one: a small WebP or JPEG the page drew in the browser from a file the user uploaded.
//!
//! The server never decodes it (no image library ever parses a client's bytes on the server):
//! it checks the declared type, the size and the format's first bytes, stores the bytes as
//! they came, and serves them back only as that image type, sandboxed and `nosniff`. A
//! thumbnail is never used for anything but showing a preview: not to type, verify or serve the
//! file it stands for.

/// The most bytes a thumbnail may have (a 256 px WebP at quality 0.8 is typically 5–20 KiB).
pub const MAX_BYTES: usize = 64 * 1024;

/// The longest side, in pixels, the page draws a thumbnail at (not checked by the server,
/// which never decodes it).
pub const MAX_SIDE: u32 = 256;

/// The media types a thumbnail may be sent and served as.
pub const TYPES: [&str; 2] = ["image/webp", "image/jpeg"];

/// The accepted type a `Content-Type` header value names (parameters and case ignored).
pub fn accepted_type(header: &str) -> Option<&'static str> {
    let essence = header.split(';').next().unwrap_or("").trim();
    TYPES.into_iter().find(|t| t.eq_ignore_ascii_case(essence))
}

/// Whether `bytes` start as a file of `media_type` must: `RIFF????WEBP` for WebP, `FF D8 FF`
/// for JPEG. A check of the signature only; nothing is decoded.
pub fn magic_matches(media_type: &str, bytes: &[u8]) -> bool {
    match media_type {
        "image/webp" => bytes.len() >= 12 && &bytes[..4] == b"RIFF" && &bytes[8..12] == b"WEBP",
        "image/jpeg" => bytes.starts_with(&[0xFF, 0xD8, 0xFF]),
        _ => false,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn types_and_signatures() {
        assert_eq!(accepted_type("image/webp"), Some("image/webp"));
        assert_eq!(accepted_type("Image/JPEG; q=1"), Some("image/jpeg"));
        for bad in ["image/png", "", "image/svg+xml", "text/html", "image/webpx"] {
            assert_eq!(accepted_type(bad), None, "{bad}");
        }
        assert!(magic_matches("image/webp", b"RIFF\x10\0\0\0WEBPVP8 "));
        assert!(!magic_matches("image/webp", b"RIFF\x10\0\0\0WAVE"));
        assert!(!magic_matches("image/webp", b"RIFF"));
        assert!(magic_matches("image/jpeg", &[0xFF, 0xD8, 0xFF, 0xE0]));
        assert!(!magic_matches("image/jpeg", b"<svg"));
        assert!(!magic_matches("image/png", b"\x89PNG\r\n\x1a\n"));
    }
}
