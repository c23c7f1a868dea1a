-- Trash, per-user quotas, and name search (FTS5 trigram index kept in sync by triggers).

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

-- Substring search over the case-folded name; the table holds only the index, its rows are
-- the nodes themselves (external content).
CREATE VIRTUAL TABLE nodes_fts USING fts5(
    name_key, content = 'nodes', content_rowid = 'id', tokenize = 'trigram'
);
CREATE TRIGGER nodes_fts_insert AFTER INSERT ON nodes BEGIN
    INSERT INTO nodes_fts (rowid, name_key) VALUES (new.id, new.name_key);
END;
CREATE TRIGGER nodes_fts_delete AFTER DELETE ON nodes BEGIN
    INSERT INTO nodes_fts (nodes_fts, rowid, name_key) VALUES ('delete', old.id, old.name_key);
END;
CREATE TRIGGER nodes_fts_rename AFTER UPDATE OF name_key ON nodes BEGIN
    INSERT INTO nodes_fts (nodes_fts, rowid, name_key) VALUES ('delete', old.id, old.name_key);
    INSERT INTO nodes_fts (rowid, name_key) VALUES (new.id, new.name_key);
END;
INSERT INTO nodes_fts (nodes_fts) VALUES ('rebuild');
