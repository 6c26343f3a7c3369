DROP TABLE backup_schedules;
