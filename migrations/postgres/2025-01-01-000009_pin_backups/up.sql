-- A pinned backup is kept forever: retention never removes it.
ALTER TABLE backup_records ADD COLUMN pinned BOOLEAN NOT NULL DEFAULT FALSE;
