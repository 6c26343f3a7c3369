//! A full filesystem, recognised and named. A write that fails for lack of space (ENOSPC or
//! EDQUOT from the system, SQLite's "database or disk is full", PostgreSQL's "No space left
//! on device") is not an internal error: the console answers 507 with a message naming the
//! filesystem that is full, and what only reads keeps working. Which filesystem is full is
//! found by looking, when the error happens, at the places this process writes to (its data
//! folder, its SQLite database, its local storage folder), remembered once at start.

use std::io;
use std::os::unix::fs::MetadataExt;
use std::path::{Path, PathBuf};
use std::sync::OnceLock;

use crate::config::Settings;
use crate::monitor::storage::usage;

/// Below this many free bytes a filesystem counts as full: no task row, queue entry or
/// archive fits any more.
pub const FULL_BELOW_BYTES: u64 = 256 * 1024;

static PLACES: OnceLock<Vec<PathBuf>> = OnceLock::new();

/// Remembers where this process writes, for [`describe`] (the first call wins: one process
/// serves one configuration).
pub fn remember_places(settings: &Settings) {
    let _ = PLACES.set(places_of(settings));
}

/// The places Coffer writes to under `settings`: the data folder, the SQLite database file
/// (not a PostgreSQL server: its disk is not ours to watch), the local storage folder.
pub fn places_of(settings: &Settings) -> Vec<PathBuf> {
    let mut places = vec![settings.data_dir.clone()];
    if let Ok(file) = crate::db::sqlite_path(&settings.database_url) {
        if crate::db::Backend::of_url(&settings.database_url) == crate::db::Backend::Sqlite {
            places.push(file);
        }
    }
    if let Some(storage) = settings.local_storage_path() {
        places.push(storage.to_path_buf());
    }
    places
}

/// True when an I/O error says the filesystem (or the user's quota on it) is full.
pub fn is_full_io(e: &io::Error) -> bool {
    matches!(e.raw_os_error(), Some(libc::ENOSPC) | Some(libc::EDQUOT))
        || matches!(
            e.kind(),
            io::ErrorKind::StorageFull | io::ErrorKind::QuotaExceeded
        )
}

/// True when an error's text is a full disk as SQLite, PostgreSQL or the system word it.
pub fn is_full_text(text: &str) -> bool {
    let text = text.to_ascii_lowercase();
    [
        "database or disk is full",
        "no space left on device",
        "disk quota exceeded",
    ]
    .iter()
    .any(|said| text.contains(said))
}

/// The filesystems (their mount points) holding `places` that have less than
/// [`FULL_BELOW_BYTES`] free, each once, with the first place found on it.
pub fn full_filesystems(places: &[PathBuf]) -> Vec<(PathBuf, PathBuf)> {
    let mut full: Vec<(PathBuf, PathBuf)> = Vec::new();
    for place in places {
        let Ok(found) = usage(place) else { continue };
        if found.free_bytes >= FULL_BELOW_BYTES {
            continue;
        }
        let mount = mount_point(place);
        if !full.iter().any(|(m, _)| *m == mount) {
            full.push((mount, place.clone()));
        }
    }
    full
}

/// The message a person reads when a write failed on a full disk: which filesystem, which
/// of Coffer's places it holds, and that reading still works. When none of Coffer's local
/// places is full, the disk is elsewhere (the PostgreSQL metadata server, a restore target,
/// the temporary folder): the failure's own words (`detail`) say where.
pub fn describe(detail: &str) -> String {
    let places = PLACES.get().map(Vec::as_slice).unwrap_or_default();
    let named = full_filesystems(places)
        .iter()
        .map(|(mount, place)| format!("{} (holding {})", mount.display(), place.display()))
        .collect::<Vec<_>>();
    let which = match named.as_slice() {
        [] => format!("A disk was full ({detail})"),
        [one] => format!("The filesystem mounted at {one} is full"),
        many => format!("The filesystems mounted at {} are full", many.join(", ")),
    };
    format!("{which}: nothing could be recorded. Free some space there and try again; pages can still be read.")
}

/// The mount point of the filesystem holding `path`: its highest ancestor on the same device.
pub fn mount_point(path: &Path) -> PathBuf {
    let Some(existing) = path.ancestors().find(|p| p.exists()) else {
        return PathBuf::from("/");
    };
    let existing = existing
        .canonicalize()
        .unwrap_or_else(|_| existing.to_path_buf());
    let Ok(device) = std::fs::metadata(&existing).map(|m| m.dev()) else {
        return existing;
    };
    let mut mount = existing.clone();
    for ancestor in existing.ancestors().skip(1) {
        match std::fs::metadata(ancestor) {
            Ok(m) if m.dev() == device => mount = ancestor.to_path_buf(),
            _ => break,
        }
    }
    mount
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn full_disks_are_recognised_in_every_wording() {
        assert!(is_full_text(
            "database query failed: database or disk is full"
        ));
        assert!(is_full_text(
            "could not extend file \"base/1/2\": No space left on device"
        ));
        assert!(!is_full_text("database is locked"));
        assert!(is_full_io(&io::Error::from_raw_os_error(libc::ENOSPC)));
        assert!(!is_full_io(&io::Error::from_raw_os_error(libc::EACCES)));
    }

    #[test]
    fn the_mount_point_of_a_folder_is_on_its_device() {
        let dir = tempfile::tempdir().unwrap();
        let mount = mount_point(&dir.path().join("not/yet/made"));
        assert!(dir.path().canonicalize().unwrap().starts_with(&mount));
        assert_eq!(mount_point(Path::new("/proc/self")), PathBuf::from("/proc"));
    }
}
