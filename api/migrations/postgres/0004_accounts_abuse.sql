-- Usernames compare case-insensitively, and the tables that grew for ever can be pruned.

-- `username_key`: the lower-cased username (usernames are ASCII; `translate` rather than
-- `lower`, which follows the database's locale), unique. Accounts created before this
-- migration whose names differ only by case: the oldest keeps the plain key and so answers to
-- every spelling; each newer one gets `key#<id>`, which no username can be (`#` is not allowed
-- in one), and still signs in by its exact name.
ALTER TABLE users ADD COLUMN username_key TEXT;
UPDATE users u SET username_key =
    translate(u.username, 'ABCDEFGHIJKLMNOPQRSTUVWXYZ', 'abcdefghijklmnopqrstuvwxyz') ||
    CASE WHEN EXISTS (
        SELECT 1 FROM users o
        WHERE translate(o.username, 'ABCDEFGHIJKLMNOPQRSTUVWXYZ', 'abcdefghijklmnopqrstuvwxyz')
            = translate(u.username, 'ABCDEFGHIJKLMNOPQRSTUVWXYZ', 'abcdefghijklmnopqrstuvwxyz')
          AND o.id < u.id
    ) THEN '#' || u.id ELSE '' END;
ALTER TABLE users ALTER COLUMN username_key SET NOT NULL;
CREATE UNIQUE INDEX users_by_username_key ON users(username_key);

-- Retention: idempotency records older than the upload TTL, and revoked devices past their
-- grace period that no version names as its author.
CREATE INDEX idempotency_created ON idempotency(created_at);
CREATE INDEX devices_revoked ON devices(revoked_at) WHERE revoked_at IS NOT NULL;
CREATE INDEX versions_author ON versions(author_device_id);
