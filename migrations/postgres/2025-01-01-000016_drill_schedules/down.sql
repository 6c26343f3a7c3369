ALTER TABLE backup_schedules DROP COLUMN backups_succeeded;
ALTER TABLE backup_schedules DROP COLUMN drill_every;
ALTER TABLE backup_schedules DROP COLUMN action;
