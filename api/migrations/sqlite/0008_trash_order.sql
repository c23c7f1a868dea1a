-- The trash lists what was deleted last first. Two deletions within one millisecond used to tie
-- and fall back to node id order, which is not the order they happened in; a deletion now takes
-- a time past the namespace's newest trash item (found through this index).
CREATE INDEX nodes_trash ON nodes(namespace_id, deleted_at) WHERE trashed_with = id;
