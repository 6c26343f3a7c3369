//! Which file runs when Coffer starts `psql`, `pg_dump`, `pg_restore` or `pg_dumpall`.
//!
//! Debian and Ubuntu install these as links to `pg_wrapper`, a Perl script that picks a
//! PostgreSQL version and then runs that version's program: 0.05–0.2 s per call just for Perl
//! to start, and a restore makes about ten calls (a second or more of a 10 s restore on a busy
//! machine). When the program found on `PATH` is that wrapper, Coffer runs the newest
//! installed version's program (`/usr/lib/postgresql/<N>/bin/<name>`) itself: the one the
//! wrapper takes when no local cluster is named, and the one best able to read any server
//! (the version check in `check.rs` still applies). Anything else on `PATH` (another
//! packaging, a program put first on purpose) runs as found.

use std::path::{Path, PathBuf};
use std::process::Command;

/// Where Debian's packages put each version's programs.
const VERSIONS_DIR: &str = "/usr/lib/postgresql";

/// A command for the PostgreSQL client program `name`.
pub fn command(name: &str) -> Command {
    Command::new(resolve(name, Path::new(VERSIONS_DIR)))
}

fn resolve(name: &str, versions: &Path) -> PathBuf {
    let Some(found) = on_path(name) else {
        // Spawning the bare name then fails with the usual "not installed" message.
        return PathBuf::from(name);
    };
    let is_wrapper = std::fs::read_link(&found)
        .is_ok_and(|target| target.file_name().is_some_and(|f| f == "pg_wrapper"));
    if !is_wrapper {
        return found;
    }
    newest(name, versions).unwrap_or(found)
}

/// The first `name` on `PATH` that is an executable file (links followed).
fn on_path(name: &str) -> Option<PathBuf> {
    use std::os::unix::fs::PermissionsExt;
    let path = std::env::var_os("PATH")?;
    std::env::split_paths(&path)
        .map(|dir| dir.join(name))
        .find(|candidate| {
            std::fs::metadata(candidate)
                .is_ok_and(|m| m.is_file() && m.permissions().mode() & 0o111 != 0)
        })
}

/// `<versions>/<N>/bin/<name>` of the highest major version N that has it.
fn newest(name: &str, versions: &Path) -> Option<PathBuf> {
    std::fs::read_dir(versions)
        .ok()?
        .filter_map(|entry| {
            let entry = entry.ok()?;
            let version = entry.file_name().to_str()?.to_string();
            // "15", "16"; old "9.6" style names count by their first number.
            let major: u32 = version.split('.').next()?.parse().ok()?;
            let program = entry.path().join("bin").join(name);
            program.is_file().then_some((major, program))
        })
        .max_by_key(|(major, _)| *major)
        .map(|(_, program)| program)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_newest_version_with_the_program_is_chosen() {
        let dir = tempfile::tempdir().unwrap();
        for (version, has) in [("9.6", true), ("13", true), ("15", true), ("17", false)] {
            let bin = dir.path().join(version).join("bin");
            std::fs::create_dir_all(&bin).unwrap();
            if has {
                std::fs::write(bin.join("pg_dump"), "").unwrap();
            }
        }
        std::fs::create_dir_all(dir.path().join("not-a-version/bin")).unwrap();
        assert_eq!(
            newest("pg_dump", dir.path()).unwrap(),
            dir.path().join("15/bin/pg_dump")
        );
        assert!(newest("pg_restore", dir.path()).is_none());
        assert!(newest("pg_dump", &dir.path().join("missing")).is_none());
    }

    #[test]
    fn a_program_that_is_not_the_wrapper_runs_as_found() {
        // `sh` is on PATH in every test environment and is not pg_wrapper.
        let found = resolve("sh", Path::new(VERSIONS_DIR));
        assert!(found.is_absolute() && found.ends_with("sh"), "{found:?}");
        assert_eq!(
            resolve("coffer-no-such-program", Path::new(VERSIONS_DIR)),
            PathBuf::from("coffer-no-such-program")
        );
    }
}
