-- Change feed: the retention horizon per namespace and each device's acknowledged cursor.
-- `pruned_seq`: every change with seq <= pruned_seq has been removed by retention; a cursor
-- below it can no longer be served (410 cursor_reset).
ALTER TABLE namespaces ADD COLUMN pruned_seq BIGINT NOT NULL DEFAULT 0;

-- What each device has already pulled, so push hints never announce what it has seen.
CREATE TABLE device_cursors (
    device_id BIGINT NOT NULL PRIMARY KEY,
    namespace_id BIGINT NOT NULL,
    seq BIGINT NOT NULL,
    updated_at BIGINT NOT NULL
);

CREATE INDEX changes_created ON changes(created_at);
