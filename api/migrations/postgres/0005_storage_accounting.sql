-- What an account holds on the server's disk, all of it under its quota: the current versions
-- of its files (`used_bytes`, trash included), the versions those replaced and that are still
-- kept (`history_bytes`), and the chunks its open uploads may still send (`staged_bytes`).
ALTER TABLE namespaces ADD COLUMN history_bytes BIGINT NOT NULL DEFAULT 0;
ALTER TABLE namespaces ADD COLUMN staged_bytes BIGINT NOT NULL DEFAULT 0;
UPDATE namespaces SET history_bytes = (
    SELECT COALESCE(SUM(v.size), 0) FROM versions v JOIN nodes n ON n.id = v.node_id
    WHERE n.namespace_id = namespaces.id AND (n.version_id IS NULL OR n.version_id <> v.id)
);

-- The chunks an upload may send (those its namespace could not use when the upload was
-- announced or resumed), one row each, so a chunk PUT looks up one row instead of parsing the
-- whole manifest, and the collector asks SQL which chunks an open upload still needs. Their
-- bytes are reserved in `staged_bytes` until the upload is committed, cancelled or expires.
ALTER TABLE uploads ADD COLUMN reserved_bytes BIGINT NOT NULL DEFAULT 0;
CREATE TABLE upload_chunks (
    upload_id TEXT NOT NULL,
    hash TEXT NOT NULL,
    size BIGINT NOT NULL,
    PRIMARY KEY (upload_id, hash)
);
CREATE INDEX upload_chunks_hash ON upload_chunks(hash);
CREATE INDEX uploads_namespace ON uploads(namespace_id, expires_at);
-- Uploads announced before this migration may send any chunk of their manifest; they reserved
-- nothing and expire within the upload TTL.
INSERT INTO upload_chunks (upload_id, hash, size)
    SELECT u.id, c.value ->> 'hash', (c.value ->> 'size')::BIGINT
    FROM uploads u, jsonb_array_elements(u.manifest::jsonb -> 'chunks') AS c(value)
    ON CONFLICT DO NOTHING;
