-- Which version of the name-key rule (`wire::names::KEY_VERSION`) the stored `nodes.name_key`
-- values follow. SQL cannot case-fold, so the server recomputes the keys in Rust at start-up
-- whenever this is older than its own rule (`db::rekey`), and then raises it.
CREATE TABLE name_rules (
    id BIGINT PRIMARY KEY CHECK (id = 1),
    key_version BIGINT NOT NULL
);
INSERT INTO name_rules (id, key_version) VALUES (1, 0);
