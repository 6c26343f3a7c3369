-- Trigram indexes for the console's text search (a case-insensitive substring of the name
-- or the description). A LIKE '%q%' cannot use a b-tree index, so at 100k records every
-- search read the whole table; pg_trgm's GIN indexes answer LIKE on the very expressions
-- the search compares (lower(name), lower(description)), rechecking each candidate row.
CREATE EXTENSION IF NOT EXISTS pg_trgm;
CREATE INDEX backup_records_name_trgm_idx ON backup_records USING gin (lower(name) gin_trgm_ops);
CREATE INDEX backup_records_description_trgm_idx
    ON backup_records USING gin (lower(description) gin_trgm_ops);
