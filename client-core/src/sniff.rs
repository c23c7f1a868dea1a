//! A file's media type from its first bytes and its name, sent with its commit so listings can
//! say what a file is (a PNG called `photo` previews as an image). Magic numbers first
//! (`infer`, no I/O: it only reads the bytes it is given), then the name's extension from the
//! table below; unknown: `None`.
//!
//! The answer is a hint, never a security decision: the server serves a stored type only from
//! its own allowlist, and the viewer shows HTML and SVG as text whatever the type says.

/// How many leading bytes [`sniff`] needs: more are ignored by every matcher that matters.
pub const SNIFF_BYTES: usize = 4096;

/// The type of a file called `name` whose first bytes are `first` (up to [`SNIFF_BYTES`]).
pub fn sniff(name: &str, first: &[u8]) -> Option<&'static str> {
    let head = &first[..first.len().min(SNIFF_BYTES)];
    infer::get(head)
        .map(|t| t.mime_type())
        .or_else(|| by_extension(name))
}

/// The type the extension of `name` stands for (any case), from [`EXTENSIONS`].
pub fn by_extension(name: &str) -> Option<&'static str> {
    let (stem, ext) = name.rsplit_once('.')?;
    if stem.is_empty() && !name[1..].contains('.') {
        // `.bashrc`: a hidden file's name, not an extension.
        return None;
    }
    let ext = ext.to_ascii_lowercase();
    EXTENSIONS.iter().find(|(e, _)| *e == ext).map(|(_, t)| *t)
}

/// Extensions the page meets often, with their registered (or usual) type. Text a person
/// reads — notes, data and source code — is `text/plain` unless it has a type of its own that
/// says more (Markdown, CSV, JSON). Bytes `infer` recognises never get here.
pub const EXTENSIONS: &[(&str, &str)] = &[
    // Images.
    ("png", "image/png"),
    ("jpg", "image/jpeg"),
    ("jpeg", "image/jpeg"),
    ("gif", "image/gif"),
    ("webp", "image/webp"),
    ("avif", "image/avif"),
    ("bmp", "image/bmp"),
    ("ico", "image/vnd.microsoft.icon"),
    ("svg", "image/svg+xml"),
    ("heic", "image/heic"),
    // Documents and archives.
    ("pdf", "application/pdf"),
    ("zip", "application/zip"),
    ("gz", "application/gzip"),
    ("tar", "application/x-tar"),
    ("7z", "application/x-7z-compressed"),
    (
        "docx",
        "application/vnd.openxmlformats-officedocument.wordprocessingml.document",
    ),
    (
        "xlsx",
        "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
    ),
    (
        "pptx",
        "application/vnd.openxmlformats-officedocument.presentationml.presentation",
    ),
    ("odt", "application/vnd.oasis.opendocument.text"),
    ("epub", "application/epub+zip"),
    // Audio and video.
    ("mp3", "audio/mpeg"),
    ("wav", "audio/wav"),
    ("ogg", "audio/ogg"),
    ("oga", "audio/ogg"),
    ("opus", "audio/opus"),
    ("flac", "audio/flac"),
    ("m4a", "audio/mp4"),
    ("aac", "audio/aac"),
    ("mp4", "video/mp4"),
    ("m4v", "video/mp4"),
    ("webm", "video/webm"),
    ("ogv", "video/ogg"),
    ("mov", "video/quicktime"),
    ("mkv", "video/x-matroska"),
    // Web pages and scripts: typed truly, so nothing takes them for plain text by mistake.
    ("html", "text/html"),
    ("htm", "text/html"),
    ("xhtml", "application/xhtml+xml"),
    ("xml", "application/xml"),
    ("js", "text/javascript"),
    ("mjs", "text/javascript"),
    ("css", "text/css"),
    // Text with a type of its own.
    ("md", "text/markdown"),
    ("markdown", "text/markdown"),
    ("csv", "text/csv"),
    ("tsv", "text/tab-separated-values"),
    ("json", "application/json"),
    // Plain text: notes, logs, configuration and source code.
    ("txt", "text/plain"),
    ("text", "text/plain"),
    ("log", "text/plain"),
    ("ini", "text/plain"),
    ("cfg", "text/plain"),
    ("conf", "text/plain"),
    ("toml", "text/plain"),
    ("yaml", "text/plain"),
    ("yml", "text/plain"),
    ("rs", "text/plain"),
    ("py", "text/plain"),
    ("ts", "text/plain"),
    ("c", "text/plain"),
    ("h", "text/plain"),
    ("cpp", "text/plain"),
    ("hpp", "text/plain"),
    ("go", "text/plain"),
    ("java", "text/plain"),
    ("kt", "text/plain"),
    ("rb", "text/plain"),
    ("php", "text/plain"),
    ("sh", "text/plain"),
    ("sql", "text/plain"),
    ("swift", "text/plain"),
    ("tex", "text/plain"),
    ("srt", "text/plain"),
    ("vtt", "text/plain"),
];

#[cfg(test)]
mod tests {
    use super::*;

    const PNG: &[u8] = b"\x89PNG\r\n\x1a\n\0\0\0\rIHDR";
    const PDF: &[u8] = b"%PDF-1.7\n";

    fn check(name: &str, first: &[u8], want: Option<&str>) {
        assert_eq!(sniff(name, first), want, "{name:?}");
    }

    #[test]
    fn bytes_win_over_the_name() {
        check("photo", PNG, Some("image/png"));
        check("photo.txt", PNG, Some("image/png"));
        check("scan", PDF, Some("application/pdf"));
        // A page named as a picture is still a page (the viewer shows it as text).
        check("fake.png", b"<!doctype html><p>hi", Some("text/html"));
    }

    #[test]
    fn the_extension_answers_when_the_bytes_do_not() {
        check("notes.TXT", b"hello", Some("text/plain"));
        check("README.md", b"# Title", Some("text/markdown"));
        check("data.csv", b"a,b\n1,2", Some("text/csv"));
        check("x.json", b"{}", Some("application/json"));
        check("main.rs", b"fn main() {}", Some("text/plain"));
        check("empty.png", b"", Some("image/png"));
        check("page.html", b"<p>hi", Some("text/html"));
    }

    #[test]
    fn unknown_is_none() {
        check("photo", b"just some bytes", None);
        check("archive.unknownext", b"\0\x01\x02", None);
        check(".bashrc", b"export X=1", None);
        check("", b"", None);
    }

    #[test]
    fn every_table_entry_is_a_lowercase_media_type() {
        for (ext, t) in EXTENSIONS {
            assert_eq!(ext.to_ascii_lowercase(), *ext);
            assert_eq!(t.to_ascii_lowercase(), *t);
            let (a, b) = t.split_once('/').expect("type/subtype");
            assert!(!a.is_empty() && !b.is_empty() && t.len() <= wire::MAX_CONTENT_TYPE);
        }
    }
}
