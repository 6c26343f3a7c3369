DROP TABLE backup_copies;
