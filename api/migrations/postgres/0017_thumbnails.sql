-- A small preview image of a file version, drawn by the uploading page in the browser (WebP or
-- JPEG, at most 64 KiB, longest side 256 px) and stored as sent: the server checks its type,
-- size and first bytes and never decodes it. Used for showing a preview only, never to type,
-- verify or serve the file itself. One per version, replaced when sent again; it goes with its
-- version (ON DELETE CASCADE: SQLite's connections run with foreign keys on), whichever path
-- deletes that (retention making room, trash purge, account deletion).
CREATE TABLE thumbnails (
    version_id BIGINT PRIMARY KEY REFERENCES versions(id) ON DELETE CASCADE,
    media_type TEXT NOT NULL,
    bytes BYTEA NOT NULL,
    created_at BIGINT NOT NULL
);
-- Counts the thumbnails set in a namespace, so a folder listing's ETag changes when one is set
-- (a thumbnail is not a change to the tree and moves no change sequence).
ALTER TABLE namespaces ADD COLUMN thumbs BIGINT NOT NULL DEFAULT 0;
