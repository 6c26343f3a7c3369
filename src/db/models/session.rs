//! A signed-in browser (table `sessions`), found by the SHA-256 of its cookie token.

use chrono::{Duration, NaiveDateTime};
use diesel::prelude::*;

use super::now;
use crate::db::schema::{sessions, users};
use crate::db::{DbConnection, DbError, User};

/// However active, a session ends this long after sign-in.
pub const MAX_SESSION_AGE: Duration = Duration::days(7);

/// One session as stored.
#[derive(Debug, Clone, PartialEq, Queryable, Selectable, Insertable)]
#[diesel(table_name = sessions)]
pub struct Session {
    pub token_hash: String,
    pub user_id: String,
    /// Sent back with every state-changing request (form field or header).
    pub csrf_token: String,
    pub created_at: NaiveDateTime,
    pub last_seen_at: NaiveDateTime,
    pub expires_at: NaiveDateTime,
    pub remote_addr: Option<String>,
    /// Signed in with the password only, by a user with a second factor: this session may
    /// only enter the code (or sign out) until the code replaces it with a full session.
    pub awaiting_second_factor: bool,
}

impl Session {
    /// A session for `user_id` that ends after `lifetime` unless it is seen again.
    pub fn new(
        token_hash: String,
        user_id: &str,
        csrf_token: String,
        lifetime: Duration,
        remote_addr: Option<String>,
    ) -> Session {
        let at = now();
        Session {
            token_hash,
            user_id: user_id.to_string(),
            csrf_token,
            created_at: at,
            last_seen_at: at,
            expires_at: at + lifetime,
            remote_addr,
            awaiting_second_factor: false,
        }
    }

    /// A session that waits for the second factor: it ends after `lifetime` whatever
    /// happens (it is never kept alive by requests).
    pub fn awaiting_code(
        token_hash: String,
        user_id: &str,
        csrf_token: String,
        lifetime: Duration,
        remote_addr: Option<String>,
    ) -> Session {
        Session {
            awaiting_second_factor: true,
            ..Session::new(token_hash, user_id, csrf_token, lifetime, remote_addr)
        }
    }

    pub fn insert(conn: &mut DbConnection, new: &Session) -> Result<(), DbError> {
        diesel::insert_into(sessions::table)
            .values(new)
            .execute(conn)?;
        Ok(())
    }

    /// The live session with this token hash and its (enabled) user: not idle too long and
    /// younger than [`MAX_SESSION_AGE`].
    pub fn find_live(
        conn: &mut DbConnection,
        token_hash: &str,
    ) -> Result<Option<(Session, User)>, DbError> {
        Ok(sessions::table
            .inner_join(users::table)
            .filter(sessions::token_hash.eq(token_hash))
            .filter(sessions::expires_at.gt(now()))
            .filter(sessions::created_at.gt(now() - MAX_SESSION_AGE))
            .filter(users::disabled.eq(false))
            .select((Session::as_select(), User::as_select()))
            .first(conn)
            .optional()?)
    }

    /// Moves the idle expiry forward; callers do this at most once a minute per session,
    /// so reading pages does not turn into a write per request.
    pub fn touch(
        conn: &mut DbConnection,
        token_hash: &str,
        lifetime: Duration,
    ) -> Result<(), DbError> {
        let at = now();
        diesel::update(sessions::table.find(token_hash))
            .set((
                sessions::last_seen_at.eq(at),
                sessions::expires_at.eq(at + lifetime),
            ))
            .execute(conn)?;
        Ok(())
    }

    pub fn delete(conn: &mut DbConnection, token_hash: &str) -> Result<(), DbError> {
        diesel::delete(sessions::table.find(token_hash)).execute(conn)?;
        Ok(())
    }

    /// Ends every session of a user (disabled, password reset, role changed).
    pub fn delete_for_user(conn: &mut DbConnection, user_id: &str) -> Result<usize, DbError> {
        Ok(diesel::delete(sessions::table.filter(sessions::user_id.eq(user_id))).execute(conn)?)
    }

    pub fn delete_expired(conn: &mut DbConnection) -> Result<usize, DbError> {
        Ok(diesel::delete(sessions::table.filter(sessions::expires_at.le(now()))).execute(conn)?)
    }
}
