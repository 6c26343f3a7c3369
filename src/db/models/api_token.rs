//! Bearer tokens for scripts (table `api_tokens`): issued by an admin for a user, stored as
//! a SHA-256 hash, revocable, with scopes and an expiry (`domain::token_policy`). A token
//! acts with at most its user's current role, so the user row is read with it every time.

use chrono::NaiveDateTime;
use diesel::prelude::*;

use super::{new_id, now};
use crate::db::schema::{api_tokens, users};
use crate::db::{write_transaction, DbConnection, DbError, LogEntry, NewLogEntry, User};
use crate::domain::{LogLevel, TokenScopes};

const WHAT: &str = "API token";
/// `last_used_at` is written at most this often, so a busy script is not a write per call
/// (unless it calls from another address).
const NOTE_USE_EVERY_SECONDS: i64 = 60;
/// An expired token's use is written to the audit log at most this often per token.
const NOTE_EXPIRED_USE_EVERY_SECONDS: i64 = 3600;
/// The audit log's operation for everything about tokens.
pub const TOKEN_OPERATION: &str = "token";

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
    /// `read,backup` …; see [`ApiToken::scopes`].
    pub scopes: String,
    pub expires_at: Option<NaiveDateTime>,
    /// The client address of the last use noted (`web::client_addr`).
    pub last_used_addr: Option<String>,
    #[serde(skip_serializing)]
    pub expired_use_at: Option<NaiveDateTime>,
}

/// What a bearer token turned out to be.
#[derive(Debug)]
pub enum TokenCheck {
    /// Unknown, revoked, or its user is disabled or gone: say nothing more.
    Refused,
    /// Known and unrevoked but past its expiry; `noted` when this use was written to the
    /// audit log (at most once an hour per token).
    Expired {
        token: ApiToken,
        noted: bool,
    },
    Usable {
        token: ApiToken,
        user: User,
    },
}

impl ApiToken {
    /// A token with `scopes` that stops working at `expires_at` (`None`: never).
    pub fn new(
        user_id: &str,
        name: &str,
        token_hash: String,
        scopes: &TokenScopes,
        expires_at: Option<NaiveDateTime>,
    ) -> ApiToken {
        ApiToken {
            id: new_id(),
            user_id: user_id.to_string(),
            name: name.to_string(),
            token_hash,
            created_at: now(),
            last_used_at: None,
            revoked_at: None,
            scopes: scopes.to_string(),
            expires_at,
            last_used_addr: None,
            expired_use_at: None,
        }
    }

    /// The stored scopes; a value this version cannot read allows nothing.
    pub fn scopes(&self) -> Option<TokenScopes> {
        self.scopes.parse().ok()
    }

    pub fn is_expired(&self, at: NaiveDateTime) -> bool {
        self.expires_at.is_some_and(|end| end <= at)
    }

    /// Stores `token` and its audit entry (`by` issued it for `user`) in one transaction.
    /// The secret itself is never written anywhere.
    pub fn issue(
        conn: &mut DbConnection,
        token: &ApiToken,
        user: &User,
        by: &str,
    ) -> Result<(), DbError> {
        let expiry = token.expires_at.map_or_else(
            || "never expires".to_string(),
            |at| format!("expires {}", at.format("%Y-%m-%d %H:%M UTC")),
        );
        let message = format!(
            "`{by}` issued API token `{}` for `{}` (scopes {}; {expiry})",
            token.name, user.username, token.scopes
        );
        let details = serde_json::json!({
            "token_id": token.id,
            "user": user.username,
            "scopes": token.scopes,
            "expires_at": token.expires_at,
        });
        write_transaction(conn, |conn| {
            ApiToken::insert(conn, token)?;
            LogEntry::insert(
                conn,
                &NewLogEntry::new(LogLevel::Info, TOKEN_OPERATION, message)
                    .by(by)
                    .with_details(&details),
            )?;
            Ok(())
        })
    }

    pub fn insert(conn: &mut DbConnection, new: &ApiToken) -> Result<(), DbError> {
        diesel::insert_into(api_tokens::table)
            .values(new)
            .execute(conn)?;
        Ok(())
    }

    /// Looks a presented token up by its hash. A usable one has its use noted (time and
    /// client `addr`, at most once a minute from one address); an expired one's use goes to
    /// the audit log (at most once an hour).
    pub fn authenticate(
        conn: &mut DbConnection,
        token_hash: &str,
        addr: Option<&str>,
    ) -> Result<TokenCheck, DbError> {
        let found = api_tokens::table
            .inner_join(users::table)
            .filter(api_tokens::token_hash.eq(token_hash))
            .filter(api_tokens::revoked_at.is_null())
            .filter(users::disabled.eq(false))
            .select((ApiToken::as_select(), User::as_select()))
            .first::<(ApiToken, User)>(conn)
            .optional()?;
        let Some((token, user)) = found else {
            return Ok(TokenCheck::Refused);
        };
        let at = now();
        if token.is_expired(at) {
            let noted = note_expired_use(conn, &token, &user, addr, at);
            return Ok(TokenCheck::Expired { token, noted });
        }
        let stale = token
            .last_used_at
            .is_none_or(|last| (at - last).num_seconds() >= NOTE_USE_EVERY_SECONDS)
            || token.last_used_addr.as_deref() != addr;
        if stale {
            // A note, not a condition of the request: on a full disk reading keeps working.
            if let Err(e) = diesel::update(api_tokens::table.find(&token.id))
                .set((
                    api_tokens::last_used_at.eq(at),
                    api_tokens::last_used_addr.eq(addr),
                ))
                .execute(conn)
            {
                tracing::warn!("could not note the use of API token {}: {e}", token.id);
            }
        }
        Ok(TokenCheck::Usable { token, user })
    }

    /// Every token with its user, newest first, revoked ones included.
    pub fn list_all(conn: &mut DbConnection) -> Result<Vec<(ApiToken, User)>, DbError> {
        Ok(api_tokens::table
            .inner_join(users::table)
            .order((api_tokens::created_at.desc(), api_tokens::id))
            .select((ApiToken::as_select(), User::as_select()))
            .load(conn)?)
    }

    /// Every token of a user, newest first, revoked ones included.
    pub fn list_for_user(conn: &mut DbConnection, user_id: &str) -> Result<Vec<ApiToken>, DbError> {
        Ok(api_tokens::table
            .filter(api_tokens::user_id.eq(user_id))
            .order((api_tokens::created_at.desc(), api_tokens::id))
            .select(ApiToken::as_select())
            .load(conn)?)
    }

    /// Revokes `token` of `user` and writes the audit entry, in one transaction. Revoking
    /// takes effect on the next request: every request looks the token up again.
    pub fn revoke_noted(
        conn: &mut DbConnection,
        token: &ApiToken,
        user: &User,
        by: &str,
    ) -> Result<(), DbError> {
        if token.revoked_at.is_some() {
            return Ok(()); // revoking twice is harmless and says nothing new
        }
        let message = format!(
            "`{by}` revoked API token `{}` of `{}`",
            token.name, user.username
        );
        write_transaction(conn, |conn| {
            ApiToken::revoke(conn, &token.id)?;
            LogEntry::insert(
                conn,
                &NewLogEntry::new(LogLevel::Info, TOKEN_OPERATION, message)
                    .by(by)
                    .with_details(
                        &serde_json::json!({"token_id": token.id, "user": user.username}),
                    ),
            )?;
            Ok(())
        })
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

/// Writes the expired use to the audit log unless one was written in the last hour; a
/// failure to write is logged and does not change the answer (401 either way).
fn note_expired_use(
    conn: &mut DbConnection,
    token: &ApiToken,
    user: &User,
    addr: Option<&str>,
    at: NaiveDateTime,
) -> bool {
    let recent = token
        .expired_use_at
        .is_some_and(|last| (at - last).num_seconds() < NOTE_EXPIRED_USE_EVERY_SECONDS);
    if recent {
        return false;
    }
    let expired = token.expires_at.unwrap_or(at).format("%Y-%m-%d %H:%M UTC");
    let message = format!(
        "expired API token `{}` of `{}` (expired {expired}) was refused for {}",
        token.name,
        user.username,
        addr.unwrap_or("an unknown address")
    );
    let written = write_transaction(conn, |conn| -> Result<(), DbError> {
        diesel::update(api_tokens::table.find(&token.id))
            .set(api_tokens::expired_use_at.eq(at))
            .execute(conn)?;
        LogEntry::insert(
            conn,
            &NewLogEntry::new(LogLevel::Warning, TOKEN_OPERATION, message)
                .by(&user.username)
                .with_details(&serde_json::json!({"token_id": token.id, "address": addr})),
        )?;
        Ok(())
    });
    match written {
        Ok(()) => true,
        Err(e) => {
            tracing::warn!(
                "could not record the use of expired API token {}: {e}",
                token.id
            );
            false
        }
    }
}
