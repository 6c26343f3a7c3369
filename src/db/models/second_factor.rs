//! A user's second factor: the TOTP secret (table `totp_secrets`) and the one-time recovery
//! codes (table `recovery_codes`, only their hashes). Using a code is one conditional UPDATE,
//! so two requests with the same code (or two codes of the same step) cannot both pass.

use chrono::NaiveDateTime;
use diesel::prelude::*;

use super::now;
use crate::db::schema::{recovery_codes, sessions, totp_secrets};
use crate::db::{DbConnection, DbError};

#[derive(Debug, Clone, PartialEq, Queryable, Selectable, Insertable)]
#[diesel(table_name = totp_secrets)]
pub struct TotpRow {
    pub user_id: String,
    /// Base32, as apps take it. Shown only until enrolment is confirmed.
    pub secret: String,
    pub created_at: NaiveDateTime,
    /// `None` while enrolment waits for its first code.
    pub confirmed_at: Option<NaiveDateTime>,
    /// The newest step a code was accepted for (0: none yet).
    pub last_step: i64,
}

impl TotpRow {
    pub fn find(conn: &mut DbConnection, user_id: &str) -> Result<Option<TotpRow>, DbError> {
        Ok(totp_secrets::table
            .find(user_id)
            .select(TotpRow::as_select())
            .first(conn)
            .optional()?)
    }

    /// The confirmed secret of `user_id`: whether they have a second factor.
    pub fn find_confirmed(
        conn: &mut DbConnection,
        user_id: &str,
    ) -> Result<Option<TotpRow>, DbError> {
        Ok(Self::find(conn, user_id)?.filter(|row| row.confirmed_at.is_some()))
    }

    /// Starts enrolment with a new secret, replacing an unconfirmed one. A confirmed one is
    /// never replaced here (removal comes first); returns false then.
    pub fn start_enrolment(
        conn: &mut DbConnection,
        user_id: &str,
        secret: &str,
    ) -> Result<bool, DbError> {
        diesel::delete(
            totp_secrets::table
                .find(user_id)
                .filter(totp_secrets::confirmed_at.is_null()),
        )
        .execute(conn)?;
        if Self::find(conn, user_id)?.is_some() {
            return Ok(false);
        }
        diesel::insert_into(totp_secrets::table)
            .values(&TotpRow {
                user_id: user_id.to_string(),
                secret: secret.to_string(),
                created_at: now(),
                confirmed_at: None,
                last_step: 0,
            })
            .execute(conn)?;
        Ok(true)
    }

    /// Switches an unconfirmed secret on, with the step of the code that confirmed it.
    pub fn confirm(conn: &mut DbConnection, user_id: &str, step: i64) -> Result<bool, DbError> {
        let changed = diesel::update(
            totp_secrets::table
                .find(user_id)
                .filter(totp_secrets::confirmed_at.is_null()),
        )
        .set((
            totp_secrets::confirmed_at.eq(Some(now())),
            totp_secrets::last_step.eq(step),
        ))
        .execute(conn)?;
        Ok(changed == 1)
    }

    /// Takes `step` as used if it is newer than every step used before; false when it is
    /// not (a replayed code, or one older than a code already accepted).
    pub fn use_step(conn: &mut DbConnection, user_id: &str, step: i64) -> Result<bool, DbError> {
        let changed = diesel::update(
            totp_secrets::table
                .find(user_id)
                .filter(totp_secrets::confirmed_at.is_not_null())
                .filter(totp_secrets::last_step.lt(step)),
        )
        .set(totp_secrets::last_step.eq(step))
        .execute(conn)?;
        Ok(changed == 1)
    }

    /// Removes the second factor of `user_id` (secret and recovery codes), and the sessions
    /// that wait for a code the user no longer has. True if there was a secret.
    pub fn remove(conn: &mut DbConnection, user_id: &str) -> Result<bool, DbError> {
        let removed = diesel::delete(totp_secrets::table.find(user_id)).execute(conn)?;
        RecoveryCode::delete_for_user(conn, user_id)?;
        diesel::delete(
            sessions::table
                .filter(sessions::user_id.eq(user_id))
                .filter(sessions::awaiting_second_factor.eq(true)),
        )
        .execute(conn)?;
        Ok(removed == 1)
    }
}

#[derive(Debug, Clone, PartialEq, Queryable, Selectable, Insertable)]
#[diesel(table_name = recovery_codes)]
pub struct RecoveryCode {
    pub code_hash: String,
    pub user_id: String,
    pub created_at: NaiveDateTime,
    pub used_at: Option<NaiveDateTime>,
}

impl RecoveryCode {
    /// Replaces every code of `user_id` with `hashes`.
    pub fn replace_all(
        conn: &mut DbConnection,
        user_id: &str,
        hashes: &[String],
    ) -> Result<(), DbError> {
        Self::delete_for_user(conn, user_id)?;
        let at = now();
        // One row at a time: diesel's multi-backend connection has no batch insert.
        for hash in hashes {
            diesel::insert_into(recovery_codes::table)
                .values(&RecoveryCode {
                    code_hash: hash.clone(),
                    user_id: user_id.to_string(),
                    created_at: at,
                    used_at: None,
                })
                .execute(conn)?;
        }
        Ok(())
    }

    /// Spends the unused code with this hash of `user_id`; false if there is none.
    pub fn spend(conn: &mut DbConnection, user_id: &str, hash: &str) -> Result<bool, DbError> {
        let changed = diesel::update(
            recovery_codes::table
                .find(hash)
                .filter(recovery_codes::user_id.eq(user_id))
                .filter(recovery_codes::used_at.is_null()),
        )
        .set(recovery_codes::used_at.eq(Some(now())))
        .execute(conn)?;
        Ok(changed == 1)
    }

    /// Codes of `user_id` not used yet.
    pub fn unused(conn: &mut DbConnection, user_id: &str) -> Result<i64, DbError> {
        Ok(recovery_codes::table
            .filter(recovery_codes::user_id.eq(user_id))
            .filter(recovery_codes::used_at.is_null())
            .count()
            .get_result(conn)?)
    }

    pub fn delete_for_user(conn: &mut DbConnection, user_id: &str) -> Result<usize, DbError> {
        Ok(
            diesel::delete(recovery_codes::table.filter(recovery_codes::user_id.eq(user_id)))
                .execute(conn)?,
        )
    }
}
