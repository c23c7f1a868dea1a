-- A member's place for a shared folder in their own tree: a folder row of their home that
-- stands for the shared folder's root (`mount_of` names the shared folder's namespace). Its
-- name takes part in the folder's name uniqueness like any other child; it has no children
-- of its own (the shared folder's rows hang under the shared root). See api/src/db/mounts.rs.
ALTER TABLE nodes ADD COLUMN mount_of BIGINT REFERENCES namespaces(id);
CREATE INDEX nodes_mounts ON nodes(mount_of, namespace_id) WHERE mount_of IS NOT NULL;
