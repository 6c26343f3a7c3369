-- What a schedule does when its slot is due: back up its scope (every row so far), or run a
-- restore drill of the newest successful backup holding it (kind and retention then unused).
ALTER TABLE backup_schedules ADD COLUMN action TEXT NOT NULL DEFAULT 'backup'
    CHECK (action IN ('backup', 'drill'));
-- A backup schedule with `drill_every` = N queues a drill of every N-th successful backup it
-- made; `backups_succeeded` counts them, raised in the transaction that records a success,
-- so the count survives restarts and is shared by every Coffer process on the database.
ALTER TABLE backup_schedules ADD COLUMN drill_every BIGINT
    CHECK (drill_every IS NULL OR (drill_every >= 1 AND drill_every <= 1000));
ALTER TABLE backup_schedules ADD COLUMN backups_succeeded BIGINT NOT NULL DEFAULT 0;
