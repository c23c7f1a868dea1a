-- What keeps a tree of a million nodes as quick as a small one (`cargo xtask bench-tree`).
-- Listing pages (`db::listing`): folders first, then files, each by name_key. With the kind in
-- the key, every page is one range scan, however large the folder.
CREATE INDEX nodes_live_kind_name ON nodes(parent_id, kind, name_key) WHERE deleted_at IS NULL;
-- Searches of one or two characters (`db::search`): the names of a tree that start with them,
-- read in name order until the limit.
CREATE INDEX nodes_live_names ON nodes(namespace_id, name_key) WHERE deleted_at IS NULL;
