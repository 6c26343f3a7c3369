//! A database server's URL, checked against its kind: scheme, host, and a database name (or
//! Redis database number) Coffer handles. Messages never echo the URL: it may hold a password.

use std::fmt;

use percent_encoding::percent_decode_str;

use crate::domain::SourceKind;

/// A URL known to fit its source's kind. It may still hold a password (`sources::ServerAddress`
/// takes it out); `Debug` never shows it.
#[derive(Clone, PartialEq, Eq)]
pub struct ServerUrl(url::Url);

impl fmt::Debug for ServerUrl {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let mut url = self.0.clone();
        if url.password().is_some() {
            let _ = url.set_password(Some("***"));
        }
        write!(f, "ServerUrl({url})")
    }
}

impl ServerUrl {
    pub fn parse(kind: SourceKind, text: &str) -> Result<ServerUrl, String> {
        let schemes: &[&str] = match kind {
            SourceKind::Postgres => &["postgres", "postgresql"],
            SourceKind::Mysql => &["mysql", "mariadb"],
            SourceKind::Redis => &["redis"],
            other => return Err(format!("a {other} source has no url")),
        };
        let example = match kind {
            SourceKind::Postgres => "postgres://user@127.0.0.1:5432/app",
            SourceKind::Mysql => "mysql://root@127.0.0.1:3306/app",
            _ => "redis://127.0.0.1:6379/0",
        };
        let url = url::Url::parse(text)
            .map_err(|e| format!("not a valid URL ({e}); expected one like {example}"))?;
        if !schemes.contains(&url.scheme()) {
            return Err(format!(
                "scheme `{}` does not fit a {kind} source; expected one like {example}",
                url.scheme()
            ));
        }
        if url.host_str().is_none_or(str::is_empty) {
            return Err(format!(
                "the URL names no host; expected one like {example}"
            ));
        }
        if let Some(db) = database_of(&url) {
            if kind == SourceKind::Redis {
                if db.parse::<u32>().is_err() {
                    return Err(format!(
                        "`{db}` is not a Redis database number; expected one like {example}"
                    ));
                }
            } else {
                check_database_name(&db)?;
            }
        }
        Ok(ServerUrl(url))
    }

    pub fn as_url(&self) -> &url::Url {
        &self.0
    }

    /// The database named in the URL's path (postgres, mysql; a number for redis).
    pub fn database(&self) -> Option<String> {
        database_of(&self.0)
    }

    /// The same URL with another database in its path.
    pub fn with_database(&self, name: &str) -> ServerUrl {
        let mut url = self.0.clone();
        url.set_path(&format!("/{name}"));
        ServerUrl(url)
    }

    /// The user name, when the URL gives one.
    pub fn user(&self) -> Option<String> {
        Some(self.0.username())
            .filter(|u| !u.is_empty())
            .map(decode)
    }

    /// The URL without its password, and the password (decoded).
    pub fn without_password(&self) -> (ServerUrl, Option<String>) {
        let mut url = self.0.clone();
        let password = url.password().map(decode);
        let _ = url.set_password(None);
        (ServerUrl(url), password)
    }
}

/// Database names become SQL identifiers and dump file names: keep them plain.
pub fn check_database_name(name: &str) -> Result<(), String> {
    let ok = !name.is_empty()
        && name.len() <= 63
        && !name.starts_with('.')
        && name
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || matches!(c, '_' | '-' | '.' | '$'));
    if ok {
        Ok(())
    } else {
        Err(format!(
            "`{name}` is not a database name Coffer handles: use 1–63 letters, digits, `_`, `-`, `.` or `$`"
        ))
    }
}

/// The URL's path without its slash, percent-decoded (`None` when empty).
fn database_of(url: &url::Url) -> Option<String> {
    let path = url.path().trim_start_matches('/');
    Some(decode(path)).filter(|p| !p.is_empty())
}

/// A percent-encoded URL part (user, password, path) as text.
fn decode(text: &str) -> String {
    percent_decode_str(text).decode_utf8_lossy().into_owned()
}
