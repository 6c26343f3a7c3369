ALTER TABLE backup_copies DROP COLUMN retain_until;
