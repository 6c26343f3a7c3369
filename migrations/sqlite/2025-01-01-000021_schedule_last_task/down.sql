ALTER TABLE backup_schedules DROP COLUMN last_task_id;
