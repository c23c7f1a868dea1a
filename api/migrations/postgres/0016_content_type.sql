-- The media type a client sniffed from a file's name and first bytes when it committed the
-- version (`image/png`), lowercased and checked for shape by the server; NULL: not given (a
-- version written before 0016, a client that did not say, a file request's drop). Shown in
-- listings; served only when it is on the server's allowlist (`api/src/mime.rs`).
ALTER TABLE versions ADD COLUMN content_type TEXT;
