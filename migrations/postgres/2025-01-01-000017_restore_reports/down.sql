DROP TABLE restore_reports;
DROP INDEX backup_records_safety_created_idx;
ALTER TABLE backup_records DROP COLUMN safety;
