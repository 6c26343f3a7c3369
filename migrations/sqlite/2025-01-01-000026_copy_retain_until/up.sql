-- Until when a copy cannot be deleted (S3 Object Lock), as its storage said after writing
-- it; NULL when the target sets no lock.
ALTER TABLE backup_copies ADD COLUMN retain_until TIMESTAMP;
