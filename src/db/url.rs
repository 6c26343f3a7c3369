//! Which backend a database URL names, and how to show it without its password.

use std::path::{Path, PathBuf};

use super::DbError;

/// The two databases Coffer keeps its metadata in.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Backend {
    Sqlite,
    Postgres,
}

impl Backend {
    /// `postgres://` and `postgresql://` name PostgreSQL; anything else is a SQLite file.
    pub fn of_url(url: &str) -> Backend {
        let lower = url.trim_start().to_ascii_lowercase();
        if lower.starts_with("postgres://") || lower.starts_with("postgresql://") {
            Backend::Postgres
        } else {
            Backend::Sqlite
        }
    }

    pub fn name(self) -> &'static str {
        match self {
            Backend::Sqlite => "SQLite",
            Backend::Postgres => "PostgreSQL",
        }
    }
}

/// The file path a SQLite URL names: the URL itself, or what follows `sqlite://`.
pub(crate) fn sqlite_path(url: &str) -> Result<PathBuf, DbError> {
    let path = url.strip_prefix("sqlite://").unwrap_or(url).trim();
    if path.is_empty() {
        return Err(DbError::Connect(
            "the database URL is empty: give a SQLite file path or a postgres:// URL".into(),
        ));
    }
    // A pool of in-memory databases would be a pool of unrelated empty databases.
    if path == ":memory:" || path.starts_with("file:") {
        return Err(DbError::Connect(format!(
            "`{path}` is not supported: give the SQLite database as a plain file path"
        )));
    }
    Ok(PathBuf::from(path))
}

/// Creates the directory a SQLite file lives in, so a fresh install needs no setup.
pub(crate) fn create_parent_dir(path: &Path) -> Result<(), DbError> {
    match path.parent() {
        Some(dir) if !dir.as_os_str().is_empty() => std::fs::create_dir_all(dir).map_err(|e| {
            DbError::Connect(format!(
                "cannot create the directory {} for the SQLite database: {e}",
                dir.display()
            ))
        }),
        _ => Ok(()),
    }
}

/// The URL with any password replaced by `***`, safe for messages and logs.
pub fn redact_url(url: &str) -> String {
    let mut out = url.to_string();
    if let Some(scheme_end) = out.find("://") {
        let rest_start = scheme_end + 3;
        let authority_end = out[rest_start..]
            .find(['/', '?'])
            .map_or(out.len(), |i| rest_start + i);
        if let Some(at) = out[rest_start..authority_end].rfind('@') {
            let userinfo = &out[rest_start..rest_start + at];
            if let Some(colon) = userinfo.find(':') {
                out.replace_range(rest_start + colon + 1..rest_start + at, "***");
            }
        }
    }
    redact_query_password(&out)
}

/// Hides `password=…` in the query string (libpq accepts the password there too).
fn redact_query_password(url: &str) -> String {
    let Some((base, query)) = url.split_once('?') else {
        return url.to_string();
    };
    let params: Vec<String> = query
        .split('&')
        .map(|param| match param.split_once('=') {
            Some((key, _)) if key.eq_ignore_ascii_case("password") => format!("{key}=***"),
            _ => param.to_string(),
        })
        .collect();
    format!("{base}?{}", params.join("&"))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn backend_follows_the_scheme() {
        assert_eq!(Backend::of_url("postgres://h/db"), Backend::Postgres);
        assert_eq!(Backend::of_url("PostgreSQL://h/db"), Backend::Postgres);
        assert_eq!(Backend::of_url("data/coffer.db"), Backend::Sqlite);
        assert_eq!(Backend::of_url("sqlite:///var/coffer.db"), Backend::Sqlite);
    }

    #[test]
    fn sqlite_urls_become_paths() {
        assert_eq!(
            sqlite_path("sqlite:///var/c.db").unwrap(),
            PathBuf::from("/var/c.db")
        );
        assert_eq!(
            sqlite_path("data/c.db").unwrap(),
            PathBuf::from("data/c.db")
        );
        assert!(sqlite_path("").is_err());
        assert!(sqlite_path(":memory:").is_err());
    }

    #[test]
    fn passwords_never_show() {
        assert_eq!(
            redact_url("postgres://coffer:s3cr@t@db:5432/coffer"),
            "postgres://coffer:***@db:5432/coffer"
        );
        assert_eq!(
            redact_url("postgres://coffer@db/x"),
            "postgres://coffer@db/x"
        );
        assert_eq!(
            redact_url("postgres://db/x?sslmode=require&password=hunter2"),
            "postgres://db/x?sslmode=require&password=***"
        );
    }
}
