-- Shared folders: who besides a namespace's owner may use it, and how. A row with no
-- `accepted_at` is an invitation; only accepted members have their role. One indexed lookup
-- (the primary key) answers "what may this user do in this namespace".
CREATE TABLE members (
    namespace_id BIGINT NOT NULL REFERENCES namespaces(id),
    user_id BIGINT NOT NULL REFERENCES users(id),
    role TEXT NOT NULL CHECK (role IN ('viewer', 'editor')),
    invited_by BIGINT NOT NULL REFERENCES users(id),
    created_at BIGINT NOT NULL,
    accepted_at BIGINT,
    PRIMARY KEY (namespace_id, user_id)
);
CREATE INDEX members_user ON members(user_id);
