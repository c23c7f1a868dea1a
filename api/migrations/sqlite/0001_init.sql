-- Cairn metadata, SQLite flavour. Times are milliseconds since the Unix epoch.
CREATE TABLE users (
    id INTEGER PRIMARY KEY,
    username TEXT NOT NULL UNIQUE,
    password_hash TEXT NOT NULL,
    namespace_id BIGINT NOT NULL,
    created_at BIGINT NOT NULL
);

CREATE TABLE devices (
    id INTEGER PRIMARY KEY,
    user_id BIGINT NOT NULL REFERENCES users(id),
    name TEXT NOT NULL,
    token_hash TEXT NOT NULL UNIQUE,
    created_at BIGINT NOT NULL,
    last_seen_at BIGINT NOT NULL,
    revoked_at BIGINT
);

CREATE TABLE namespaces (
    id INTEGER PRIMARY KEY,
    owner_user_id BIGINT,
    root_id BIGINT,
    seq BIGINT NOT NULL DEFAULT 0
);

CREATE TABLE nodes (
    id INTEGER PRIMARY KEY,
    namespace_id BIGINT NOT NULL REFERENCES namespaces(id),
    parent_id BIGINT REFERENCES nodes(id),
    name TEXT NOT NULL,
    name_key TEXT NOT NULL,
    kind TEXT NOT NULL CHECK (kind IN ('file', 'folder')),
    version_id BIGINT,
    created_at BIGINT NOT NULL,
    modified_at BIGINT NOT NULL,
    deleted_at BIGINT
);
CREATE UNIQUE INDEX nodes_live_name ON nodes(parent_id, name_key) WHERE deleted_at IS NULL;
CREATE INDEX nodes_namespace ON nodes(namespace_id);

CREATE TABLE versions (
    id INTEGER PRIMARY KEY,
    node_id BIGINT NOT NULL REFERENCES nodes(id),
    parent_version_id BIGINT,
    size BIGINT NOT NULL,
    content_hash TEXT NOT NULL,
    chunker TEXT NOT NULL,
    author_device_id BIGINT NOT NULL,
    created_at BIGINT NOT NULL
);
CREATE INDEX versions_node ON versions(node_id);

CREATE TABLE version_chunks (
    version_id BIGINT NOT NULL REFERENCES versions(id),
    idx BIGINT NOT NULL,
    hash TEXT NOT NULL,
    offset_bytes BIGINT NOT NULL,
    size BIGINT NOT NULL,
    PRIMARY KEY (version_id, idx)
);
CREATE INDEX version_chunks_hash ON version_chunks(hash);

CREATE TABLE chunks (
    hash TEXT PRIMARY KEY,
    size BIGINT NOT NULL,
    created_at BIGINT NOT NULL
);

-- A namespace may reference a chunk only if it uploaded the verified bytes itself.
CREATE TABLE namespace_chunks (
    namespace_id BIGINT NOT NULL,
    hash TEXT NOT NULL,
    PRIMARY KEY (namespace_id, hash)
);

CREATE TABLE uploads (
    id TEXT PRIMARY KEY,
    namespace_id BIGINT NOT NULL,
    device_id BIGINT NOT NULL,
    manifest TEXT NOT NULL,
    created_at BIGINT NOT NULL,
    expires_at BIGINT NOT NULL
);

CREATE TABLE changes (
    namespace_id BIGINT NOT NULL,
    seq BIGINT NOT NULL,
    node_id BIGINT NOT NULL,
    kind TEXT NOT NULL,
    created_at BIGINT NOT NULL,
    PRIMARY KEY (namespace_id, seq)
);

CREATE TABLE idempotency (
    device_id BIGINT NOT NULL,
    key TEXT NOT NULL,
    response TEXT NOT NULL,
    created_at BIGINT NOT NULL,
    PRIMARY KEY (device_id, key)
);
