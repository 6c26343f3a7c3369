//! Every path the settings hold, made absolute against the folder Coffer started in.
//!
//! Relative paths (the README's `data_dir = "./data"`) used to travel as they were: into
//! the config file of a temporary `redis-server`, which changes into its `dir` before it
//! opens its log, so `./data/tmp/…/coffer-redis.log` named a file that did not exist and
//! every Redis restore of such an install failed. Resolving them once, here, means no child
//! process and no later change of working directory can read a path differently.

use std::path::{Path, PathBuf};

use super::{PasswordFrom, Settings, SourceSpec, StorageLocation};

pub(super) fn make_absolute(mut settings: Settings, base: &Path) -> Settings {
    let abs = |path: &mut PathBuf| *path = absolute(base, path);
    abs(&mut settings.data_dir);
    abs(&mut settings.keys_dir);
    settings.database_url = absolute_database_url(base, &settings.database_url);
    for target in
        std::iter::once(&mut settings.storage.primary).chain(&mut settings.storage.replicas)
    {
        if let StorageLocation::Local(path) = &mut target.location {
            abs(path);
        }
    }
    for source in &mut settings.sources {
        match &mut source.spec {
            SourceSpec::Directory { path, .. }
            | SourceSpec::File { path }
            | SourceSpec::Sqlite { path } => abs(path),
            SourceSpec::Postgres { server, .. }
            | SourceSpec::Mysql { server, .. }
            | SourceSpec::Redis { server } => {
                if let Some(PasswordFrom::File(path)) = &mut server.password {
                    abs(path);
                }
            }
        }
    }
    if let Some(email) = &mut settings.notify.email {
        if let Some(PasswordFrom::File(path)) = &mut email.password {
            abs(path);
        }
    }
    settings
}

/// `base/path` without `.` components (`./data` → `<base>/data`); `..` is kept, as the
/// kernel would resolve it (through links), and an absolute path is left as it is.
fn absolute(base: &Path, path: &Path) -> PathBuf {
    if path.is_absolute() || path.as_os_str().is_empty() {
        return path.to_path_buf();
    }
    let mut out = base.to_path_buf();
    for part in path.components() {
        match part {
            std::path::Component::CurDir => {}
            other => out.push(other),
        }
    }
    out
}

/// A SQLite database URL (a path, or `sqlite://PATH`) with its path made absolute;
/// PostgreSQL URLs and what the database layer refuses anyway are left alone.
fn absolute_database_url(base: &Path, url: &str) -> String {
    let lower = url.trim_start().to_ascii_lowercase();
    if lower.starts_with("postgres://") || lower.starts_with("postgresql://") {
        return url.to_string();
    }
    let (scheme, path) = match url.strip_prefix("sqlite://") {
        Some(path) => ("sqlite://", path),
        None => ("", url),
    };
    let path = path.trim();
    if path.is_empty() || path == ":memory:" || path.starts_with("file:") {
        return url.to_string();
    }
    format!("{scheme}{}", absolute(base, Path::new(path)).display())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn relative_paths_are_resolved_against_the_start_folder() {
        let text = r#"
            data_dir = "./data"
            [storage]
            path = "backups"
            [[storage.replicas]]
            name = "usb"
            path = "../usb/coffer"
            [[sources]]
            name = "uploads"
            kind = "directory"
            path = "./srv/./uploads"
            [[sources]]
            name = "cache"
            kind = "redis"
            url = "redis://127.0.0.1:6379/3"
            password_file = "secrets/redis"
        "#;
        let s = Settings::from_toml(text, "t.toml", &|_| None).unwrap();
        let here = std::env::current_dir().unwrap();
        assert_eq!(s.data_dir, here.join("data"));
        assert_eq!(s.keys_dir, here.join("data/keys"));
        assert_eq!(
            s.database_url,
            here.join("data/coffer.db").display().to_string()
        );
        assert_eq!(s.local_storage_path(), Some(here.join("backups").as_path()));
        let StorageLocation::Local(usb) = &s.storage.replicas[0].location else {
            panic!("a local replica");
        };
        assert_eq!(usb, &here.join("../usb/coffer"));
        assert_eq!(
            s.sources[0].path(),
            Some(here.join("srv/uploads").as_path())
        );
        let Some(PasswordFrom::File(password_file)) = &s.sources[1].server().unwrap().password
        else {
            panic!("a password file");
        };
        assert_eq!(password_file, &here.join("secrets/redis"));
    }

    #[test]
    fn database_urls_keep_their_form() {
        let base = Path::new("/b");
        for (url, expected) in [
            ("./data/coffer.db", "/b/data/coffer.db"),
            ("sqlite://c.db", "sqlite:///b/c.db"),
            ("sqlite:///var/c.db", "sqlite:///var/c.db"),
            ("/var/c.db", "/var/c.db"),
            ("postgres://u@h/db", "postgres://u@h/db"),
            ("PostgreSQL://u@h/db", "PostgreSQL://u@h/db"),
            (":memory:", ":memory:"),
        ] {
            assert_eq!(absolute_database_url(base, url), expected, "{url}");
        }
    }
}
