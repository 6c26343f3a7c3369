-- Console sign-ins. The cookie holds a random token; only its SHA-256 is stored, so a copy
-- of the database holds no usable session. Rows live in SQL so that every `coffer serve`
-- process behind a load balancer knows every session and they survive restarts.
CREATE TABLE sessions (
    token_hash TEXT PRIMARY KEY NOT NULL,
    user_id TEXT NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    csrf_token TEXT NOT NULL,
    created_at TIMESTAMP NOT NULL,
    last_seen_at TIMESTAMP NOT NULL,
    expires_at TIMESTAMP NOT NULL,
    remote_addr TEXT
);
CREATE INDEX sessions_user_id_idx ON sessions (user_id);
CREATE INDEX sessions_expires_at_idx ON sessions (expires_at);

-- Bearer tokens for scripts, issued by an admin per user, acting with that user's role.
CREATE TABLE api_tokens (
    id TEXT PRIMARY KEY NOT NULL,
    user_id TEXT NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    name TEXT NOT NULL,
    token_hash TEXT NOT NULL UNIQUE,
    created_at TIMESTAMP NOT NULL,
    last_used_at TIMESTAMP,
    revoked_at TIMESTAMP
);
CREATE INDEX api_tokens_user_id_idx ON api_tokens (user_id);

-- Failed sign-ins per user name ('user:NAME') and per address ('addr:IP'): slowed down,
-- then locked for a while. Shared by all processes, like sessions.
CREATE TABLE login_throttle (
    subject TEXT PRIMARY KEY NOT NULL,
    failures BIGINT NOT NULL DEFAULT 0,
    last_failure_at TIMESTAMP NOT NULL,
    locked_until TIMESTAMP
);
