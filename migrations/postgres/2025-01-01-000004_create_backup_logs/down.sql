DROP TABLE backup_logs;
