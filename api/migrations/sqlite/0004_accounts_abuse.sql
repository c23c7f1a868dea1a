-- Usernames compare case-insensitively, and the tables that grew for ever can be pruned.

-- `username_key`: the lower-cased username (usernames are ASCII), unique. Accounts created
-- before this migration whose names differ only by case: the oldest keeps the plain key and
-- so answers to every spelling; each newer one gets `key#<id>`, which no username can be
-- (`#` is not allowed in one), and still signs in by its exact name.
ALTER TABLE users ADD COLUMN username_key TEXT NOT NULL DEFAULT '';
UPDATE users SET username_key = lower(username) || CASE
    WHEN EXISTS (SELECT 1 FROM users o WHERE lower(o.username) = lower(users.username)
                 AND o.id < users.id) THEN '#' || id
    ELSE '' END;
CREATE UNIQUE INDEX users_by_username_key ON users(username_key);

-- Retention: idempotency records older than the upload TTL, and revoked devices past their
-- grace period that no version names as its author.
CREATE INDEX idempotency_created ON idempotency(created_at);
CREATE INDEX devices_revoked ON devices(revoked_at) WHERE revoked_at IS NOT NULL;
CREATE INDEX versions_author ON versions(author_device_id);
