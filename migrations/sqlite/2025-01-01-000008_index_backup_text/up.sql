-- A trigram index for the console's text search (a case-insensitive substring of the name
-- or the description). A LIKE '%q%' cannot use a b-tree index, so at 100k records every
-- search read the whole table. The FTS5 table keeps only the index: its content is
-- backup_records itself (external content), matched by rowid. backup_records has no INTEGER
-- PRIMARY KEY, but it has indexes, and VACUUM keeps the rowids of a table with indexes
-- (only an index-less table is renumbered), so the rowids stay a stable key.
-- The triggers keep the index in step with every insert, update and delete.
CREATE VIRTUAL TABLE backup_records_text USING fts5(
    name, description,
    content = 'backup_records',
    tokenize = 'trigram'
);
INSERT INTO backup_records_text (backup_records_text) VALUES ('rebuild');

CREATE TRIGGER backup_records_text_insert AFTER INSERT ON backup_records BEGIN
    INSERT INTO backup_records_text (rowid, name, description)
    VALUES (new.rowid, new.name, new.description);
END;

CREATE TRIGGER backup_records_text_delete AFTER DELETE ON backup_records BEGIN
    INSERT INTO backup_records_text (backup_records_text, rowid, name, description)
    VALUES ('delete', old.rowid, old.name, old.description);
END;

CREATE TRIGGER backup_records_text_update AFTER UPDATE OF name, description ON backup_records BEGIN
    INSERT INTO backup_records_text (backup_records_text, rowid, name, description)
    VALUES ('delete', old.rowid, old.name, old.description);
    INSERT INTO backup_records_text (rowid, name, description)
    VALUES (new.rowid, new.name, new.description);
END;
