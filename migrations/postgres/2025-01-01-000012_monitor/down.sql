DROP TABLE monitor_counters;
DROP TABLE monitor_alerts;
ALTER TABLE backup_tasks DROP COLUMN progress_at;
