//! What a restore accepts, decided in one place and asked in three: by the archive writer
//! before a backup writes anything, by deep verify, and by `ExtractPlan::select` (and the
//! restore job, earlier still) before a restore creates anything. So a backup that verifies
//! is a backup that restores.
//!
//! Refused: a source name that is not plain or is listed twice; an entry path that is
//! absolute or holds an empty, `.` or `..` component or a NUL; an entry of no
//! listed source; a source root that is not a folder; an entry listed twice; an entry below a
//! link or a file of the same backup (restoring it would mean writing through the link); a
//! file without its checksum; a link without a target. Entry types are File, Dir and Symlink
//! by construction (the manifest knows no others, the archive reader refuses the others).
//!
//! A link's target is data, restored exactly as stored wherever it points (absolute, `..`,
//! dangling), as GNU tar does. Safety comes from the extractor instead: it never writes
//! through a link (`extract/staging.rs`).

use std::collections::HashMap;

use super::manifest::{EntryKind, FileEntry, Manifest};
use crate::domain::check_plain_name;
use crate::engine::planned::PlannedEntry;
use crate::error::{Error, Result};

/// An entry as the checks see it: a manifest's `FileEntry`, or a backup's planned entry.
pub trait RestoreEntry {
    /// `<source>/<relative path>`; the source root itself is `<source>`.
    fn path(&self) -> &str;
    fn kind(&self) -> EntryKind;
    fn has_checksum(&self) -> bool;
    fn link_target(&self) -> Option<&str>;
}

impl RestoreEntry for FileEntry {
    fn path(&self) -> &str {
        &self.path
    }
    fn kind(&self) -> EntryKind {
        self.kind
    }
    fn has_checksum(&self) -> bool {
        self.sha256.is_some()
    }
    fn link_target(&self) -> Option<&str> {
        self.link_target.as_deref()
    }
}

impl RestoreEntry for PlannedEntry {
    fn path(&self) -> &str {
        &self.archive_path
    }
    fn kind(&self) -> EntryKind {
        self.kind
    }
    /// A planned file's SHA-256 is computed as it is archived (or taken from the parent).
    fn has_checksum(&self) -> bool {
        true
    }
    fn link_target(&self) -> Option<&str> {
        self.link_target.as_deref()
    }
}

/// Ok when a restore of the sources named `sources` from `manifest` would accept it (deep
/// verify asks for every source, a restore for the ones it restores).
pub fn check_manifest(manifest: &Manifest, sources: &[&str]) -> Result<()> {
    let entries = manifest
        .files
        .iter()
        .filter(|e| sources.contains(&e.source()));
    check_restorable(sources, entries).map_err(Error::Archive)
}

/// Ok when a restore of `entries` (all belonging to `sources`) would accept every one of
/// them; otherwise the first problem, in words ending with "refused".
pub fn check_restorable<'a, E: RestoreEntry + 'a>(
    sources: &[&str],
    entries: impl IntoIterator<Item = &'a E>,
) -> std::result::Result<(), String> {
    for (i, name) in sources.iter().enumerate() {
        check_plain_name(name).map_err(|m| format!("source {m}: refused"))?;
        if sources[..i].contains(name) {
            return Err(format!("source `{name}` is listed twice: refused"));
        }
    }
    let entries: Vec<&E> = entries.into_iter().collect();
    let mut kinds: HashMap<&str, EntryKind> = HashMap::with_capacity(entries.len());
    for entry in &entries {
        let path = entry.path();
        check_path(path)?;
        let refuse = |why: &str| Err(format!("entry `{}` {why}: refused", shown(path)));
        let (source, rest) = path.split_once('/').unwrap_or((path, ""));
        if !sources.contains(&source) {
            return refuse("belongs to no source of the backup");
        }
        match entry.kind() {
            _ if rest.is_empty() && entry.kind() != EntryKind::Dir => {
                return refuse("is a source root but not a folder")
            }
            EntryKind::File if !entry.has_checksum() => return refuse("has no checksum"),
            EntryKind::Symlink => match entry.link_target() {
                None | Some("") => return refuse("is a link without a target"),
                Some(target) if target.contains('\0') => {
                    return refuse("is a link whose target holds a NUL byte")
                }
                Some(_) => {}
            },
            _ => {}
        }
        if kinds.insert(path, entry.kind()).is_some() {
            return refuse("is listed twice");
        }
    }
    for entry in &entries {
        let path = entry.path();
        let mut above = path;
        while let Some((parent, _)) = above.rsplit_once('/') {
            match kinds.get(parent) {
                Some(EntryKind::Symlink) => {
                    return Err(format!(
                        "entry `{}` lies below the link `{}` of the same backup (restoring it would write through the link): refused",
                        shown(path),
                        shown(parent)
                    ))
                }
                Some(EntryKind::File) => {
                    return Err(format!(
                        "entry `{}` lies below the file `{}`: refused",
                        shown(path),
                        shown(parent)
                    ))
                }
                _ => {}
            }
            above = parent;
        }
    }
    Ok(())
}

/// An entry path must be relative, without empty, `.` or `..` parts or a NUL. Other control
/// characters are data (macOS `Icon\r` files, names a program made): they are restored as
/// they are, and only escaped where a message shows them.
/// (Checked on the raw `/`-separated text: `Path::components` would silently drop a `.`.)
pub fn check_path(path: &str) -> std::result::Result<(), String> {
    let refuse = |why: &str| Err(format!("entry `{}` {why}: refused", shown(path)));
    if path.is_empty() {
        return refuse("has an empty path");
    }
    if path.starts_with('/') {
        return refuse("has an absolute path");
    }
    for part in path.split('/') {
        match part {
            "" => return refuse("has an empty path component"),
            "." => return refuse("contains `.`"),
            ".." => return refuse("climbs out with `..`"),
            _ if part.contains('\0') => return refuse("has a NUL in its name"),
            _ => {}
        }
    }
    Ok(())
}

/// A path fit for a message: control characters escaped, anything else as it is.
pub fn shown(path: &str) -> std::borrow::Cow<'_, str> {
    if path.chars().any(char::is_control) {
        path.escape_debug().to_string().into()
    } else {
        path.into()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::engine::manifest::Sha256Sum;

    fn entry(path: &str, kind: EntryKind) -> FileEntry {
        FileEntry {
            path: path.into(),
            kind,
            size: 0,
            mode: 0o755,
            mtime_ns: 0,
            sha256: (kind == EntryKind::File).then(|| Sha256Sum::of(sha2::Sha256::default())),
            link_target: None,
            stored_in: None,
        }
    }

    fn link(path: &str, target: &str) -> FileEntry {
        FileEntry {
            link_target: Some(target.into()),
            ..entry(path, EntryKind::Symlink)
        }
    }

    fn check(entries: &[FileEntry]) -> std::result::Result<(), String> {
        check_restorable(&["src"], entries)
    }

    #[test]
    fn links_are_data_wherever_they_point() {
        let tree = [
            entry("src", EntryKind::Dir),
            entry("src/etc", EntryKind::Dir),
            link("src/host", "/etc/hostname"),
            link("src/dangling", "../outside"),
            link("src/current", "/srv/app/releases/42"),
            link("src/etc/up", "../../.."),
            link("src/loop", "loop"),
            entry("src/etc/a.conf", EntryKind::File),
        ];
        check(&tree).unwrap();
    }

    #[test]
    fn a_path_through_a_link_of_the_same_backup_is_refused() {
        let err = check(&[
            entry("src", EntryKind::Dir),
            link("src/evil", "/tmp/somewhere-outside"),
            entry("src/evil/x", EntryKind::File),
        ])
        .unwrap_err();
        assert!(err.contains("below the link `src/evil`"), "{err}");
        // Listed before the link, or with the folders between them left out: the same.
        let err = check(&[
            entry("src/evil/deeper/x", EntryKind::File),
            link("src/evil", "/tmp"),
        ])
        .unwrap_err();
        assert!(err.contains("below the link"), "{err}");
        let err = check(&[
            entry("src/f", EntryKind::File),
            entry("src/f/x", EntryKind::File),
        ])
        .unwrap_err();
        assert!(err.contains("below the file"), "{err}");
    }

    #[test]
    fn bad_paths_names_and_entries_are_refused() {
        for bad in [
            "/etc/passwd",
            "../x",
            "src/../../x",
            "src/./x",
            "src//b",
            "src/",
            "src/a\0b",
            "other/x",
            "coffer/manifest.json",
        ] {
            let err = check(&[entry(bad, EntryKind::File)]).unwrap_err();
            assert!(err.ends_with("refused"), "{bad}: {err}");
            assert!(!err.contains('\n') && !err.contains('\u{1b}'), "{err}");
        }
        for bad in ["../etc", "a/b", "", ".hidden", "coffer", "x y"] {
            assert!(check_restorable::<FileEntry>(&[bad], []).is_err(), "{bad}");
        }
        assert!(check_restorable::<FileEntry>(&["a", "a"], []).is_err());
        let no_sum = FileEntry {
            sha256: None,
            ..entry("src/f", EntryKind::File)
        };
        assert!(check(&[no_sum]).unwrap_err().contains("no checksum"));
        assert!(check(&[link("src/l", "")])
            .unwrap_err()
            .contains("without a target"));
        assert!(check(&[link("src", "/")])
            .unwrap_err()
            .contains("source root"));
        let twice = [entry("src/d", EntryKind::Dir), link("src/d", "x")];
        assert!(check(&twice).unwrap_err().contains("twice"));
        check(&[entry("src/ünï cödé", EntryKind::File)]).unwrap();
    }
}
