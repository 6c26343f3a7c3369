DROP TABLE backup_manifests;
DROP TABLE backup_records;
