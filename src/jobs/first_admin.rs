//! The first start: with no users at all, create `admin`, with the password from
//! `COFFER_ADMIN_PASSWORD` (automated installs) or a random one printed once to the log,
//! which must be changed at first sign-in.

use crate::app::App;
use crate::auth::{hash_password, new_password};
use crate::db::{NewLogEntry, NewUser, User};
use crate::domain::{LogLevel, Role};
use crate::error::{Error, Result};

pub const ADMIN_PASSWORD_ENV: &str = "COFFER_ADMIN_PASSWORD";

/// Creates the first admin if there is no user; returns its name when it did.
pub fn ensure_first_admin(app: &App, given_password: Option<String>) -> Result<Option<String>> {
    let mut conn = app.conn()?;
    if User::count(&mut conn)? > 0 {
        return Ok(None);
    }
    let generated = given_password.is_none();
    let password = given_password.unwrap_or_else(new_password);
    let hash = hash_password(&password)
        .map_err(|e| Error::Config(format!("{ADMIN_PASSWORD_ENV}: {e}")))?;
    let mut new = NewUser::new("admin", &hash, Role::Admin);
    if generated {
        new = new.must_change_password();
    }
    match User::insert(&mut conn, &new) {
        Ok(_) => {}
        // Another process created it at the same moment: theirs stands.
        Err(e) if e.is_unique_violation() => return Ok(None),
        Err(e) => return Err(e.into()),
    }
    if generated {
        tracing::warn!(
            "created the first user `admin` with the password {password} — it is shown only \
             now and must be changed at the first sign-in"
        );
    } else {
        tracing::info!(
            "created the first user `admin` with the password from {ADMIN_PASSWORD_ENV}"
        );
    }
    app.audit(NewLogEntry::new(
        LogLevel::Info,
        "user",
        "created the first user `admin` (role admin)",
    ));
    Ok(Some("admin".into()))
}
