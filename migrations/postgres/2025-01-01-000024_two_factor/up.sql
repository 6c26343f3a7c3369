-- Two-factor sign-in. A session signed in with the password alone, by a user who has a
-- second factor, waits for the code and can do nothing else.
ALTER TABLE sessions ADD COLUMN awaiting_second_factor BOOLEAN NOT NULL DEFAULT FALSE;

-- One TOTP secret per user (base32). `confirmed_at` is NULL while enrolment waits for the
-- first code: such a secret does not count as a second factor yet. `last_step` is the
-- newest 30-second step a code was accepted for: no code of that step or an older one is
-- accepted again (replay).
CREATE TABLE totp_secrets (
    user_id TEXT PRIMARY KEY NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    secret TEXT NOT NULL,
    created_at TIMESTAMP NOT NULL,
    confirmed_at TIMESTAMP,
    last_step BIGINT NOT NULL DEFAULT 0
);

-- One-time recovery codes, only their SHA-256 (of the user's id and the code; 80 random bits
-- each, see src/auth/recovery.rs). `used_at` set: spent.
CREATE TABLE recovery_codes (
    code_hash TEXT PRIMARY KEY NOT NULL,
    user_id TEXT NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    created_at TIMESTAMP NOT NULL,
    used_at TIMESTAMP
);
CREATE INDEX recovery_codes_user_id_idx ON recovery_codes (user_id);
