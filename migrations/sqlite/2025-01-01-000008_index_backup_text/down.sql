DROP TRIGGER backup_records_text_update;
DROP TRIGGER backup_records_text_delete;
DROP TRIGGER backup_records_text_insert;
DROP TABLE backup_records_text;
