ALTER TABLE api_tokens DROP COLUMN expired_use_at;
ALTER TABLE api_tokens DROP COLUMN last_used_addr;
ALTER TABLE api_tokens DROP COLUMN expires_at;
ALTER TABLE api_tokens DROP COLUMN scopes;
