//! The last step of a restore: putting staged data in place of the live data.
//!
//! A whole item (a source's folder, a file, a database) is swapped in with one atomic
//! `renameat2(RENAME_EXCHANGE)` where the target exists, so there is no moment without it.
//! Every step is recorded and undone in reverse if a later one fails, so a failed switch
//! leaves every target as it was. What was there is kept aside until all switches
//! succeeded. A path-filtered restore swaps file by file and refuses to go through a
//! symlinked folder of the live tree (it would write outside the target).

use std::ffi::CString;
use std::fs;
use std::io;
use std::os::unix::ffi::OsStrExt;
use std::path::{Path, PathBuf};

use crate::domain::SourceKind;
use crate::engine::extract::remove_tree;
use crate::error::{Error, IoContext, Result};
use crate::sources::Filters;

/// One source to switch.
pub struct Switch {
    pub source: String,
    pub kind: SourceKind,
    /// The live path: the source's folder, or its file.
    pub target: PathBuf,
    /// The staged replacement (whole switch) or the staging root (partial switch).
    pub staged: PathBuf,
    /// A fresh folder beside the target that receives what was there.
    pub aside: PathBuf,
    /// Swap file by file (a `--path` restore) instead of the whole item.
    pub partial: bool,
    /// For a directory restored whole to its original place: what these filters leave out
    /// of backups (caches, excluded folders) is carried over from the previous tree.
    pub carry_over: Option<Filters>,
}

/// A step taken, and how to undo it.
enum Step {
    Moved { from: PathBuf, to: PathBuf },
    Exchanged { a: PathBuf, b: PathBuf },
}

/// Switches every source; returns warnings (things kept aside instead of deleted).
pub fn switch_over(switches: &[Switch]) -> Result<Vec<String>> {
    let mut steps: Vec<Step> = Vec::new();
    let mut previous: Vec<Option<PathBuf>> = Vec::new();
    let result = (|| {
        for switch in switches {
            fs::create_dir_all(&switch.aside)
                .ctx(|| format!("creating {}", switch.aside.display()))?;
            let mut old_item = None;
            for (staged, target) in items(switch)? {
                if switch.partial {
                    refuse_linked_folders(&switch.target, &target)?;
                }
                if let Some(parent) = target.parent() {
                    fs::create_dir_all(parent).ctx(|| format!("creating {}", parent.display()))?;
                }
                if switch.kind == SourceKind::Sqlite {
                    // A stale WAL beside a replaced database would be replayed into it.
                    for suffix in ["-wal", "-shm", "-journal"] {
                        let mut side = target.clone().into_os_string();
                        side.push(suffix);
                        let side = PathBuf::from(side);
                        if fs::symlink_metadata(&side).is_ok() {
                            let to = switch.aside.join(steps.len().to_string());
                            rename(&side, &to)?;
                            steps.push(Step::Moved { from: side, to });
                        }
                    }
                }
                if fs::symlink_metadata(&target).is_ok() {
                    exchange(&staged, &target)?;
                    steps.push(Step::Exchanged {
                        a: staged.clone(),
                        b: target.clone(),
                    });
                    let to = switch.aside.join(steps.len().to_string());
                    rename(&staged, &to)?; // the previous item now sits at `staged`
                    steps.push(Step::Moved {
                        from: staged,
                        to: to.clone(),
                    });
                    old_item = Some(to);
                } else {
                    rename(&staged, &target)?;
                    steps.push(Step::Moved {
                        from: staged,
                        to: target,
                    });
                }
            }
            previous.push(old_item);
        }
        Ok(())
    })();
    if let Err(e) = result {
        undo(&steps);
        for switch in switches {
            let _ = fs::remove_dir(&switch.aside);
        }
        return Err(e);
    }
    let mut warnings = Vec::new();
    for (switch, old_item) in switches.iter().zip(previous) {
        let mut keep_aside = false;
        if let (Some(filters), Some(old_tree), false) =
            (&switch.carry_over, old_item, switch.partial)
        {
            if let Err(problem) = carry_over(&old_tree, &switch.target, filters) {
                keep_aside = true;
                warnings.push(format!(
                    "source `{}`: {problem}; the previous content is kept at {}",
                    switch.source,
                    switch.aside.display()
                ));
            }
        }
        if !keep_aside {
            if let Err(e) = remove_tree(&switch.aside) {
                warnings.push(format!("could not remove {}: {e}", switch.aside.display()));
            }
        }
    }
    Ok(warnings)
}

fn undo(steps: &[Step]) {
    for step in steps.iter().rev() {
        let outcome = match step {
            Step::Moved { from, to } => fs::rename(to, from).map_err(|e| (to, from, e)),
            Step::Exchanged { a, b } => exchange_raw(a, b).map_err(|e| (a, b, e)),
        };
        if let Err((x, y, e)) = outcome {
            tracing::error!(
                "restore rollback: could not move {} back to {}: {e}",
                x.display(),
                y.display()
            );
        }
    }
}

/// Pairs of (staged item, live path). A whole source is one item; a path-filtered restore
/// switches each restored file or link on its own.
fn items(switch: &Switch) -> Result<Vec<(PathBuf, PathBuf)>> {
    if !switch.partial {
        let exists = fs::symlink_metadata(&switch.staged).is_ok();
        return Ok(if exists {
            vec![(switch.staged.clone(), switch.target.clone())]
        } else {
            vec![]
        });
    }
    let mut items = Vec::new();
    for entry in walkdir::WalkDir::new(&switch.staged).min_depth(1) {
        let entry = entry.map_err(|e| Error::Io {
            context: "listing staged files".into(),
            source: e.into(),
        })?;
        if entry.file_type().is_dir() {
            continue;
        }
        let rel = entry
            .path()
            .strip_prefix(&switch.staged)
            .unwrap_or(entry.path());
        items.push((entry.path().to_path_buf(), switch.target.join(rel)));
    }
    Ok(items)
}

/// Refuses when a folder between the source root and `item` is a symlink in the live tree.
fn refuse_linked_folders(root: &Path, item: &Path) -> Result<()> {
    let Ok(rel) = item.strip_prefix(root) else {
        return Err(Error::Refused(format!(
            "{} is outside {}",
            item.display(),
            root.display()
        )));
    };
    let mut here = root.to_path_buf();
    let parts: Vec<_> = rel.components().collect();
    for part in parts.iter().take(parts.len().saturating_sub(1)) {
        here.push(part);
        if fs::symlink_metadata(&here).is_ok_and(|m| m.file_type().is_symlink()) {
            return Err(Error::Refused(format!(
                "{} is a symlink in the live tree: refusing to restore through it",
                here.display()
            )));
        }
    }
    Ok(())
}

/// Moves what the source's filters leave out of backups (and special files, which backups
/// skip) from the previous tree into the restored one, so a restore never deletes data it
/// could not have brought back.
fn carry_over(
    old_tree: &Path,
    new_tree: &Path,
    filters: &Filters,
) -> std::result::Result<(), String> {
    let mut walker = walkdir::WalkDir::new(old_tree)
        .min_depth(1)
        .sort_by_file_name()
        .into_iter();
    while let Some(entry) = walker.next() {
        let entry = entry.map_err(|e| format!("cannot read the previous tree: {e}"))?;
        let rel = entry.path().strip_prefix(old_tree).unwrap_or(entry.path());
        let Some(rel_text) = rel.to_str() else {
            return Err(format!(
                "{} has a name that is not UTF-8",
                entry.path().display()
            ));
        };
        let file_type = entry.file_type();
        let special = !(file_type.is_dir() || file_type.is_file() || file_type.is_symlink());
        if !(special || filters.leaves_out(rel_text, file_type.is_dir())) {
            continue;
        }
        if file_type.is_dir() {
            walker.skip_current_dir();
        }
        let dest = new_tree.join(rel);
        if fs::symlink_metadata(&dest).is_ok() {
            return Err(format!(
                "{rel_text} is left out of backups but also in the restored backup"
            ));
        }
        if let Some(parent) = dest.parent() {
            fs::create_dir_all(parent)
                .map_err(|e| format!("creating {}: {e}", parent.display()))?;
        }
        fs::rename(entry.path(), &dest).map_err(|e| format!("keeping {rel_text}: {e}"))?;
    }
    Ok(())
}

fn rename(from: &Path, to: &Path) -> Result<()> {
    fs::rename(from, to).ctx(|| format!("moving {} to {}", from.display(), to.display()))
}

fn exchange(a: &Path, b: &Path) -> Result<()> {
    exchange_raw(a, b).ctx(|| format!("swapping {} and {}", a.display(), b.display()))
}

/// Atomically swaps two paths (Linux `renameat2(RENAME_EXCHANGE)`).
fn exchange_raw(a: &Path, b: &Path) -> io::Result<()> {
    let a = CString::new(a.as_os_str().as_bytes())?;
    let b = CString::new(b.as_os_str().as_bytes())?;
    // SAFETY: both arguments are valid NUL-terminated paths that outlive the call.
    let rc = unsafe {
        libc::renameat2(
            libc::AT_FDCWD,
            a.as_ptr(),
            libc::AT_FDCWD,
            b.as_ptr(),
            libc::RENAME_EXCHANGE,
        )
    };
    if rc == 0 {
        Ok(())
    } else {
        Err(io::Error::last_os_error())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn exchange_swaps_two_paths() {
        let dir = tempfile::tempdir().unwrap();
        let (a, b) = (dir.path().join("a"), dir.path().join("b"));
        fs::write(&a, b"A").unwrap();
        fs::create_dir(&b).unwrap();
        exchange(&a, &b).unwrap();
        assert!(a.is_dir());
        assert_eq!(fs::read(&b).unwrap(), b"A");
    }

    #[test]
    fn linked_folders_in_the_live_tree_are_refused() {
        let dir = tempfile::tempdir().unwrap();
        let root = dir.path().join("root");
        fs::create_dir_all(root.join("real")).unwrap();
        std::os::unix::fs::symlink("/tmp", root.join("docs")).unwrap();
        assert!(refuse_linked_folders(&root, &root.join("real/x.txt")).is_ok());
        let err = refuse_linked_folders(&root, &root.join("docs/x.txt")).unwrap_err();
        assert!(
            err.to_string().contains("symlink in the live tree"),
            "{err}"
        );
        // The item itself may be a link: it is moved aside, not written through.
        assert!(refuse_linked_folders(&root, &root.join("docs")).is_ok());
    }
}
