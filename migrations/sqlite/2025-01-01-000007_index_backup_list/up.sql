-- Indexes for the console's backup list and stats (100k+ records). Pages are read newest
-- first by keyset (created_at, id), so every filter column leads an index that ends in
-- (created_at, id): a filtered page is an index range read backwards, stopping after one
-- page. The totals index covers GROUP BY status, kind with SUM(size_bytes), so totals and
-- stats read the index only, never the wide rows.
DROP INDEX backup_records_created_at_idx;
DROP INDEX backup_records_status_idx;
CREATE INDEX backup_records_created_id_idx ON backup_records (created_at, id);
CREATE INDEX backup_records_status_created_idx ON backup_records (status, created_at, id);
CREATE INDEX backup_records_kind_created_idx ON backup_records (kind, created_at, id);
CREATE INDEX backup_records_automatic_created_idx ON backup_records (automatic, created_at, id);
CREATE INDEX backup_records_totals_idx ON backup_records (status, kind, automatic, size_bytes);
