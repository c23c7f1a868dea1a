-- An account its owner deleted: its files, versions, links and memberships are gone, and the
-- row stays only as a name for what it once wrote in other people's shared folders
-- ("deleted account N" in version lists and activity). NULL: a live account.
ALTER TABLE users ADD COLUMN deleted_at BIGINT;
