-- An account the operator disabled (`cairn admin user disable`): its sign-ins are refused and
-- its devices were signed out; its files stay. NULL: active.
ALTER TABLE users ADD COLUMN disabled_at BIGINT;
