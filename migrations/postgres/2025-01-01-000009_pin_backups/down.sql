ALTER TABLE backup_records DROP COLUMN pinned;
