DROP INDEX backup_records_totals_idx;
DROP INDEX backup_records_automatic_created_idx;
DROP INDEX backup_records_kind_created_idx;
DROP INDEX backup_records_status_created_idx;
DROP INDEX backup_records_created_id_idx;
CREATE INDEX backup_records_status_idx ON backup_records (status);
CREATE INDEX backup_records_created_at_idx ON backup_records (created_at);
