DROP TABLE audit_chain_head;
DROP INDEX backup_logs_seq_idx;
ALTER TABLE backup_logs DROP COLUMN hash;
ALTER TABLE backup_logs DROP COLUMN prev_hash;
ALTER TABLE backup_logs DROP COLUMN seq;
