-- API tokens gain scopes (what a token may call, on top of its user's role), an expiry, the
-- address of their last use, and when an expired use was last written to the audit log (so
-- a script retrying with an expired token does not flood it). Existing tokens keep every
-- scope and no expiry: they go on acting with their user's role, as before.
ALTER TABLE api_tokens ADD COLUMN scopes TEXT NOT NULL DEFAULT 'read,backup,restore,admin';
ALTER TABLE api_tokens ADD COLUMN expires_at TIMESTAMP;
ALTER TABLE api_tokens ADD COLUMN last_used_addr TEXT;
ALTER TABLE api_tokens ADD COLUMN expired_use_at TIMESTAMP;
