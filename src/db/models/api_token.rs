//! Bearer tokens for scripts (table `api_tokens`): issued by an admin for a user, stored as
//! a SHA-256 hash, revocable, acting with the user's role.

use chrono::NaiveDateTime;
use diesel::prelude::*;

use super::{new_id, now};
use crate::db::schema::{api_tokens, users};
use crate::db::{DbConnection, DbError, User};

const WHAT: &str = "API token";
/// `last_used_at` is written at most this often, so a busy script is not a write per call.
const NOTE_USE_EVERY_SECONDS: i64 = 60;

/// One token as stored (never the token itself).
#[derive(Debug, Clone, PartialEq, Queryable, Selectable, Insertable, serde::Serialize)]
#[diesel(table_name = api_tokens)]
pub struct ApiToken {
    pub id: String,
    pub user_id: String,
    pub name: String,
    #[serde(skip_serializing)]
    pub token_hash: String,
    pub created_at: NaiveDateTime,
    pub last_used_at: Option<NaiveDateTime>,
    pub revoked_at: Option<NaiveDateTime>,
}

impl ApiToken {
    pub fn new(user_id: &str, name: &str, token_hash: String) -> ApiToken {
        ApiToken {
            id: new_id(),
            user_id: user_id.to_string(),
            name: name.to_string(),
            token_hash,
            created_at: now(),
            last_used_at: None,
            revoked_at: None,
        }
    }

    pub fn insert(conn: &mut DbConnection, new: &ApiToken) -> Result<(), DbError> {
        diesel::insert_into(api_tokens::table)
            .values(new)
            .execute(conn)?;
        Ok(())
    }

    /// The unrevoked token with this hash and its enabled user; notes the use (at most once
    /// a minute).
    pub fn find_usable(
        conn: &mut DbConnection,
        token_hash: &str,
    ) -> Result<Option<(ApiToken, User)>, DbError> {
        let found = api_tokens::table
            .inner_join(users::table)
            .filter(api_tokens::token_hash.eq(token_hash))
            .filter(api_tokens::revoked_at.is_null())
            .filter(users::disabled.eq(false))
            .select((ApiToken::as_select(), User::as_select()))
            .first::<(ApiToken, User)>(conn)
            .optional()?;
        let at = now();
        let stale = |token: &ApiToken| {
            token
                .last_used_at
                .is_none_or(|last| (at - last).num_seconds() >= NOTE_USE_EVERY_SECONDS)
        };
        if let Some((token, _)) = found.as_ref().filter(|(token, _)| stale(token)) {
            // A note, not a condition of the request: on a full disk reading keeps working.
            if let Err(e) = diesel::update(api_tokens::table.find(&token.id))
                .set(api_tokens::last_used_at.eq(at))
                .execute(conn)
            {
                tracing::warn!("could not note the use of API token {}: {e}", token.id);
            }
        }
        Ok(found)
    }

    /// Every token of a user, newest first, revoked ones included.
    pub fn list_for_user(conn: &mut DbConnection, user_id: &str) -> Result<Vec<ApiToken>, DbError> {
        Ok(api_tokens::table
            .filter(api_tokens::user_id.eq(user_id))
            .order(api_tokens::created_at.desc())
            .select(ApiToken::as_select())
            .load(conn)?)
    }

    /// Revokes a token for good; revoking twice is harmless.
    pub fn revoke(conn: &mut DbConnection, id: &str) -> Result<(), DbError> {
        let changed = diesel::update(
            api_tokens::table
                .find(id)
                .filter(api_tokens::revoked_at.is_null()),
        )
        .set(api_tokens::revoked_at.eq(now()))
        .execute(conn)?;
        if changed == 0 {
            api_tokens::table
                .find(id)
                .select(api_tokens::id)
                .first::<String>(conn)
                .optional()?
                .ok_or_else(|| DbError::NotFound {
                    what: WHAT,
                    id: id.to_string(),
                })?;
        }
        Ok(())
    }
}
