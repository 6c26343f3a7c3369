DROP INDEX backup_records_description_trgm_idx;
DROP INDEX backup_records_name_trgm_idx;
DROP EXTENSION IF EXISTS pg_trgm;
