-- Trash, per-user quotas, and name search (pg_trgm GIN index, maintained by PostgreSQL).

-- The node a user deleted: it and every node trashed with it share this id, so a restore
-- brings back exactly that subtree. NULL for live nodes.
ALTER TABLE nodes ADD COLUMN trashed_with BIGINT;
CREATE INDEX nodes_trashed ON nodes(namespace_id, trashed_with) WHERE trashed_with IS NOT NULL;
CREATE INDEX nodes_parent ON nodes(parent_id);
CREATE INDEX devices_user ON devices(user_id);

-- NULL: the server's default quota (CAIRN_QUOTA_BYTES).
ALTER TABLE users ADD COLUMN quota_bytes BIGINT;
-- Logical bytes of the current versions of every file not yet purged (trash included).
ALTER TABLE namespaces ADD COLUMN used_bytes BIGINT NOT NULL DEFAULT 0;
UPDATE namespaces SET used_bytes = (
    SELECT COALESCE(SUM(v.size), 0) FROM nodes n JOIN versions v ON v.id = n.version_id
    WHERE n.namespace_id = namespaces.id
);

-- Folded names compare and sort by code point, as SQLite's BINARY does, whatever the
-- database's locale: listings and search results come out in the same order on both.
ALTER TABLE nodes ALTER COLUMN name_key TYPE TEXT COLLATE "C";

-- Substring search over the case-folded name: `name_key LIKE '%q%'` uses this index for
-- queries of three characters or more. pg_trgm is a trusted extension (PostgreSQL ≥ 13).
CREATE EXTENSION IF NOT EXISTS pg_trgm;
CREATE INDEX nodes_name_trgm ON nodes USING gin (name_key gin_trgm_ops);
