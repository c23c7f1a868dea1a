-- Who made each change: the device (and through it the user) whose request wrote it; NULL
-- for the server's own changes (a name-rule rekey, the trash's retention).
ALTER TABLE changes ADD COLUMN actor_device_id BIGINT;
