-- Safety backups (taken by a restore before it overwrites data) are their own kind of
-- backup in lists and filters, not "automatic" ones; earlier ones are found by the
-- description every safety backup was given.
ALTER TABLE backup_records ADD COLUMN safety BOOLEAN NOT NULL DEFAULT FALSE;
UPDATE backup_records SET safety = TRUE
    WHERE automatic AND description LIKE 'Safety backup taken before restoring backup %';
CREATE INDEX backup_records_safety_created_idx ON backup_records (safety, created_at, id);

-- What a finished restore did, for its task page: where each source went and how much
-- (the JSON of `jobs::restore::report::RestoreReport`), and its safety backup. No foreign
-- keys: the report outlives a deleted backup (the page then says it is gone).
CREATE TABLE restore_reports (
    task_id TEXT PRIMARY KEY NOT NULL,
    backup_id TEXT NOT NULL,
    safety_backup_id TEXT,
    report TEXT NOT NULL,
    finished_at TIMESTAMP NOT NULL
);
CREATE INDEX restore_reports_by_safety ON restore_reports (safety_backup_id);
