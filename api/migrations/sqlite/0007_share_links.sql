-- Share links: capabilities in a URL. Only the token's BLAKE3 hash is stored, so a copy of the
-- database opens nothing. `kind` is 'download' (read-only) or 'request' (upload-only).
CREATE TABLE share_links (
    id INTEGER PRIMARY KEY,
    token_hash TEXT NOT NULL UNIQUE,
    owner_id BIGINT NOT NULL REFERENCES users(id),
    node_id BIGINT NOT NULL REFERENCES nodes(id),
    kind TEXT NOT NULL CHECK (kind IN ('download', 'request')),
    pinned_version_id BIGINT,
    expires_at BIGINT,
    password_hash TEXT,
    max_downloads BIGINT,
    max_bytes BIGINT,
    revoked_at BIGINT,
    created_at BIGINT NOT NULL,
    last_used_at BIGINT,
    uses BIGINT NOT NULL DEFAULT 0
);
CREATE INDEX share_links_owner ON share_links(owner_id, id);
CREATE INDEX share_links_node ON share_links(node_id);

-- The download budget: bytes of each file version a link has served, capped at
-- max_downloads × the version's size by one conditional UPDATE per piece served.
CREATE TABLE link_served (
    link_id BIGINT NOT NULL,
    version_id BIGINT NOT NULL,
    bytes BIGINT NOT NULL DEFAULT 0,
    PRIMARY KEY (link_id, version_id)
);

-- What the owner sees of a link's use: when, from which network (truncated address), what.
CREATE TABLE link_access (
    id INTEGER PRIMARY KEY,
    link_id BIGINT NOT NULL,
    at BIGINT NOT NULL,
    network TEXT NOT NULL,
    action TEXT NOT NULL,
    path TEXT NOT NULL,
    outcome TEXT NOT NULL
);
CREATE INDEX link_access_link ON link_access(link_id, id);

-- File requests: uploads made through an upload-only link. Their dedup scope is the upload
-- itself (the uploader sends every chunk and learns nothing of what the owner stores), so a
-- chunk counts as sent only once this upload's bytes for it arrived (`received`).
ALTER TABLE share_links ADD COLUMN device_id BIGINT;
ALTER TABLE upload_chunks ADD COLUMN received BIGINT NOT NULL DEFAULT 0;
CREATE TABLE request_uploads (
    upload_id TEXT PRIMARY KEY,
    link_id BIGINT NOT NULL,
    uploader TEXT NOT NULL,
    name TEXT NOT NULL,
    path TEXT NOT NULL,
    size BIGINT NOT NULL
);
