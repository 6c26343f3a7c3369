DROP TABLE backup_tasks;
