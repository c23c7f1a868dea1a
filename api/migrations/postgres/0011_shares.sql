-- A namespace that is a shared folder (not a user's home) says since when; NULL for homes and
-- for a folder shared once and private again. Its owner's shared folders are found by owner.
ALTER TABLE namespaces ADD COLUMN shared_at BIGINT;
CREATE INDEX namespaces_owner ON namespaces(owner_user_id);
