-- Manifests sent in parts (`POST /api/v1/manifests`, `PUT …/parts/{n}`): a manifest too large
-- for one request body (a file of many thousands of chunks) is kept here, its head in
-- `manifest_drafts` and its chunk list in numbered parts, until `POST /api/v1/uploads` names
-- the draft, puts the parts together, checks the whole and deletes the draft in the
-- transaction that opens the upload. A draft no upload used expires like an upload session
-- (same TTL) and the collector's expiry pass drops it with its parts.
CREATE TABLE manifest_drafts (
    id TEXT PRIMARY KEY,
    namespace_id BIGINT NOT NULL,
    device_id BIGINT NOT NULL,
    chunker TEXT NOT NULL,
    size BIGINT NOT NULL,
    hash TEXT NOT NULL,
    chunk_count BIGINT NOT NULL,
    -- Fixed when the draft is made, so a changed setting never splits one draft two ways.
    part_chunks BIGINT NOT NULL,
    created_at BIGINT NOT NULL,
    expires_at BIGINT NOT NULL
);
CREATE INDEX manifest_drafts_namespace ON manifest_drafts(namespace_id, expires_at);
CREATE INDEX manifest_drafts_expiry ON manifest_drafts(expires_at);

-- One row per part sent: its entries as JSON (`[{"hash","size"}…]`, as the server wrote them
-- back, so a part sent again compares as text).
CREATE TABLE manifest_parts (
    draft_id TEXT NOT NULL,
    part BIGINT NOT NULL,
    chunks TEXT NOT NULL,
    PRIMARY KEY (draft_id, part)
);
