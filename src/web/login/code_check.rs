//! Checks a typed second-factor code of a user: a TOTP code (each step accepted once) or,
//! where allowed, one of their recovery codes (each accepted once). Shared by the code page
//! of the sign-in and the account page's removal and renewal forms.

use crate::auth::{normalize_recovery_code, recovery_code_hash, totp, TotpSecret};
use crate::db::{write_transaction, DbConnection, DbError, RecoveryCode, TotpRow};

/// What a typed code turned out to be.
#[derive(Debug, PartialEq)]
pub enum CodeCheck {
    /// The authenticator's code of a step not used before.
    Totp,
    /// An unused recovery code, now spent; `left` unused ones remain.
    Recovery { left: i64 },
    /// A right TOTP code of a step already used (replayed or typed twice).
    Replayed,
    /// Nothing this user has.
    Wrong,
}

impl CodeCheck {
    pub fn passed(&self) -> bool {
        matches!(self, CodeCheck::Totp | CodeCheck::Recovery { .. })
    }
}

/// Checks `typed` against `user_id`'s confirmed second factor, spending what it matched.
pub fn check_code(
    conn: &mut DbConnection,
    user_id: &str,
    typed: &str,
    allow_recovery: bool,
) -> Result<CodeCheck, DbError> {
    let Some(row) = TotpRow::find_confirmed(conn, user_id)? else {
        return Ok(CodeCheck::Wrong);
    };
    if totp::normalize_code(typed).is_some() {
        let Some(secret) = TotpSecret::from_base32(&row.secret) else {
            return Err(DbError::BadValue {
                what: "TOTP secret of user",
                id: user_id.to_string(),
                column: "secret",
                reason: "not base32".into(),
            });
        };
        let at = chrono::Utc::now().timestamp();
        return Ok(match secret.matching_step(typed, at) {
            Some(step) if TotpRow::use_step(conn, user_id, step)? => CodeCheck::Totp,
            Some(_) => CodeCheck::Replayed,
            None => CodeCheck::Wrong,
        });
    }
    if allow_recovery && normalize_recovery_code(typed).is_some() {
        let Some(hash) = recovery_code_hash(user_id, typed) else {
            return Ok(CodeCheck::Wrong);
        };
        return write_transaction(conn, |conn| {
            if RecoveryCode::spend(conn, user_id, &hash)? {
                Ok(CodeCheck::Recovery {
                    left: RecoveryCode::unused(conn, user_id)?,
                })
            } else {
                Ok(CodeCheck::Wrong)
            }
        });
    }
    Ok(CodeCheck::Wrong)
}
