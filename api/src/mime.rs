//! The content type a file is served with, from its name alone: the server never sniffs bytes,
//! and responses say `nosniff`, so a name ending `.html` in a share cannot become a page that
//! runs in our origin unless it is served `inline` under `Content-Security-Policy: sandbox`.

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

#[cfg(test)]
mod tests {
    #[test]
    fn types_by_name() {
        assert_eq!(super::of("a.PDF"), "application/pdf");
        assert_eq!(super::of("photo.jpg"), "image/jpeg");
        assert_eq!(super::of("notes"), "application/octet-stream");
        assert!(super::previewable("video/mp4"));
        assert!(!super::previewable("application/zip"));
    }
}
