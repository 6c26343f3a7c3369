//! The last step of a restore for path-based sources (directories, files, SQLite): putting
//! staged items in place of the live ones, and the two ways out of a switch — back (all
//! old) and forward (all new) — that both the restore and recovery after a kill use.
//!
//! A whole item (a source's folder, a file, a database file) is swapped in with one atomic
//! `renameat2(RENAME_EXCHANGE)` where the target exists, so there is no moment without it;
//! the previous item then moves into the aside folder. Which of the two sits at the target is
//! told by the staged item's inode (recorded in the journal before the first step), so
//! rolling back or forward needs no record of how far the switch got, and running either
//! twice does no harm. A path-filtered restore swaps file by file and refuses to go through
//! a symlinked folder of the live tree (it would write outside the target).
//!
//! What a source's filters leave out of backups (caches, excluded folders) is not Coffer's
//! to delete: before the switch it is hard-linked (copied where links cannot be made) from
//! the live tree into the staged one, so the single exchange brings it along.

use std::ffi::CString;
use std::fs;
use std::io;
use std::os::unix::ffi::OsStrExt;
use std::os::unix::fs::MetadataExt;
use std::path::{Path, PathBuf};

use crate::domain::SourceKind;
use crate::engine::extract::remove_tree;
use crate::error::{Error, IoContext, Result};
use crate::jobs::restore::switch_journal::PathItem;
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
    /// of backups is carried over from the live tree.
    pub carry_over: Option<Filters>,
}

/// Prepares the switch without changing anything live: lists every item with the identity
/// of its staged copy.
pub fn plan_switches(switches: &[Switch]) -> Result<Vec<PathItem>> {
    let mut items = Vec::new();
    for switch in switches {
        for (n, (staged, target)) in pairs(switch)?.into_iter().enumerate() {
            if switch.partial {
                refuse_linked_folders(&switch.target, &target)?;
            }
            let meta =
                fs::symlink_metadata(&staged).ctx(|| format!("reading {}", staged.display()))?;
            let aside = switch.aside.join(n.to_string());
            let mut sides = Vec::new();
            if switch.kind == SourceKind::Sqlite {
                // A stale WAL beside a replaced database would be replayed into it.
                for suffix in ["-wal", "-shm", "-journal"] {
                    let mut side = target.clone().into_os_string();
                    side.push(suffix);
                    let side = PathBuf::from(side);
                    if fs::symlink_metadata(&side).is_ok() {
                        let mut to = aside.clone().into_os_string();
                        to.push(suffix);
                        sides.push((side, PathBuf::from(to)));
                    }
                }
            }
            let mut created = Vec::new();
            let mut missing = target.parent();
            while let Some(dir) = missing.filter(|d| fs::symlink_metadata(d).is_err()) {
                created.push(dir.to_path_buf());
                missing = dir.parent();
            }
            created.reverse();
            items.push(PathItem {
                source: switch.source.clone(),
                had_target: fs::symlink_metadata(&target).is_ok(),
                target,
                staged,
                staged_id: (meta.dev(), meta.ino()),
                aside,
                sides,
                created,
                keep_aside: false,
            });
        }
    }
    Ok(items)
}

/// Links what each whole directory's filters leave out of backups from the live tree into
/// its staged one — done right before the switch, so what the application wrote there
/// meanwhile comes along. An item whose left-out entries could not all be carried keeps
/// what it replaces aside (`keep_aside`). Returns warnings.
pub fn carry_over_all(switches: &[Switch], items: &mut [PathItem]) -> Vec<String> {
    let mut warnings = Vec::new();
    for switch in switches {
        let (Some(filters), false) = (&switch.carry_over, switch.partial) else {
            continue;
        };
        let both_folders = fs::symlink_metadata(&switch.target).is_ok_and(|m| m.is_dir())
            && fs::symlink_metadata(&switch.staged).is_ok_and(|m| m.is_dir());
        if !both_folders {
            continue;
        }
        if let Err(problem) = carry_over(&switch.target, &switch.staged, filters) {
            warnings.push(format!(
                "source `{}`: {problem}; the previous content is kept at {}",
                switch.source,
                switch.aside.display()
            ));
            for item in items.iter_mut().filter(|i| i.source == switch.source) {
                item.keep_aside = true;
            }
        }
    }
    warnings
}

/// Switches every item in order. On failure the caller rolls back (`roll_back` settles
/// every item, switched or not).
pub fn switch_items(items: &[PathItem]) -> Result<()> {
    items.iter().try_for_each(switch_one)
}

fn switch_one(item: &PathItem) -> Result<()> {
    if let Some(folder) = item.aside.parent() {
        fs::create_dir_all(folder).ctx(|| format!("creating {}", folder.display()))?;
    }
    for dir in &item.created {
        match fs::create_dir(dir) {
            Ok(()) => {}
            // Made by an earlier item of the same restore (a folder of several files).
            Err(e)
                if e.kind() == io::ErrorKind::AlreadyExists
                    && fs::symlink_metadata(dir).is_ok_and(|m| m.is_dir()) => {}
            Err(e) => return Err(e).ctx(|| format!("creating {}", dir.display())),
        }
    }
    for (side, to) in &item.sides {
        rename(side, to)?;
        crate::faults::point("switch:side");
    }
    if fs::symlink_metadata(&item.target).is_ok() {
        exchange(&item.staged, &item.target)?;
        crate::faults::point("switch:exchanged");
        rename(&item.staged, &item.aside)?; // the previous item now sits at `staged`
    } else {
        rename(&item.staged, &item.target)?;
    }
    crate::faults::point("switch:item");
    Ok(())
}

/// Puts back what was there before, newest item first: whatever state each item is in
/// (untouched, exchanged, moved aside), it ends as it was before the switch and the staged
/// copy is removed. Returns what could not be put back.
pub fn roll_back(items: &[PathItem]) -> Vec<String> {
    let mut problems = Vec::new();
    for item in items.iter().rev() {
        if let Err(e) = roll_back_one(item) {
            problems.push(format!("{}: {e}", item.target.display()));
        }
    }
    problems
}

fn roll_back_one(item: &PathItem) -> Result<()> {
    if identity(&item.target) == Some(item.staged_id) {
        // The new item is in place; the old one is aside, still at `staged`, or was none.
        if fs::symlink_metadata(&item.aside).is_ok() {
            exchange(&item.aside, &item.target)?;
        } else if fs::symlink_metadata(&item.staged).is_ok() {
            exchange(&item.staged, &item.target)?;
        } else if !item.had_target {
            remove(&item.target)?;
        } else {
            return Err(crate::error::Error::Refused(format!(
                "the item {} replaced is neither aside nor staged: left in place",
                item.target.display()
            )));
        }
    }
    // The staged copy, wherever the steps above (or a kill between them) left it.
    for path in [&item.aside, &item.staged] {
        if identity(path) == Some(item.staged_id) {
            remove(path)?;
        }
    }
    for (side, aside) in &item.sides {
        if fs::symlink_metadata(aside).is_ok() && fs::symlink_metadata(side).is_err() {
            rename(aside, side)?;
        }
    }
    for dir in item.created.iter().rev() {
        let _ = fs::remove_dir(dir); // only if still empty
    }
    if let Some(folder) = item.aside.parent() {
        let _ = fs::remove_dir(folder);
    }
    Ok(())
}

/// Finishes a switch that went through: removes what was replaced (unless a left-out entry
/// could not be carried over, then it stays aside). Returns warnings.
pub fn roll_forward(items: &[PathItem]) -> Vec<String> {
    let mut warnings = Vec::new();
    for item in items {
        if identity(&item.target) != Some(item.staged_id) {
            warnings.push(format!(
                "{} is not the restored item any more: left as it is",
                item.target.display()
            ));
            continue;
        }
        if item.keep_aside {
            continue;
        }
        for path in [&item.aside, &item.staged] {
            if let Err(e) = remove(path) {
                warnings.push(format!("could not remove {}: {e}", path.display()));
            }
        }
        for (_, aside) in &item.sides {
            let _ = remove(aside);
        }
        if let Some(folder) = item.aside.parent() {
            let _ = fs::remove_dir(folder);
        }
    }
    warnings
}

fn remove(path: &Path) -> Result<()> {
    remove_tree(path).ctx(|| format!("removing {}", path.display()))
}

fn identity(path: &Path) -> Option<(u64, u64)> {
    fs::symlink_metadata(path).ok().map(|m| (m.dev(), m.ino()))
}

/// Pairs of (staged item, live path). A whole source is one item; a path-filtered restore
/// switches each restored file or link on its own.
fn pairs(switch: &Switch) -> Result<Vec<(PathBuf, PathBuf)>> {
    if !switch.partial {
        let exists = fs::symlink_metadata(&switch.staged).is_ok();
        return Ok(if exists {
            vec![(switch.staged.clone(), switch.target.clone())]
        } else {
            vec![]
        });
    }
    let mut items = Vec::new();
    for entry in walkdir::WalkDir::new(&switch.staged)
        .min_depth(1)
        .sort_by_file_name()
    {
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

/// Links what the source's filters leave out of backups (and special files, which backups
/// skip) from the live tree into the staged one, so a restore never deletes data it could
/// not have brought back. The live tree is only read. An entry that cannot be carried (the
/// backup holds the same path) does not stop the others: every other one still comes
/// along, and the caller keeps the whole previous tree aside for the ones that could not.
fn carry_over(
    live_tree: &Path,
    staged_tree: &Path,
    filters: &Filters,
) -> std::result::Result<(), String> {
    let mut problems: Vec<String> = Vec::new();
    let mut walker = walkdir::WalkDir::new(live_tree)
        .min_depth(1)
        .sort_by_file_name()
        .into_iter();
    while let Some(entry) = walker.next() {
        let entry = entry.map_err(|e| format!("cannot read the live tree: {e}"))?;
        let rel = entry.path().strip_prefix(live_tree).unwrap_or(entry.path());
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
        let dest = staged_tree.join(rel);
        if fs::symlink_metadata(&dest).is_ok() {
            problems.push(format!(
                "{rel_text} is left out of backups but also in the restored backup"
            ));
            continue;
        }
        if let Err(e) = make_parents(staged_tree, rel).and_then(|()| link_tree(entry.path(), &dest))
        {
            problems.push(format!("keeping {rel_text}: {e}"));
        }
    }
    match problems.len() {
        0 => Ok(()),
        1 => Err(problems.remove(0)),
        n => Err(format!("{} (and {} more)", problems[0], n - 1)),
    }
}

/// Creates the folders of `rel`'s parent inside `root`, refusing to go through a link (the
/// staged tree holds the backup's links, which may point anywhere).
fn make_parents(root: &Path, rel: &Path) -> io::Result<()> {
    let mut here = root.to_path_buf();
    let parts: Vec<_> = rel.components().collect();
    for part in parts.iter().take(parts.len().saturating_sub(1)) {
        here.push(part);
        match fs::symlink_metadata(&here) {
            Ok(m) if m.is_dir() => {}
            Ok(_) => {
                return Err(io::Error::other(format!(
                    "{} is not a folder in the restored backup",
                    here.display()
                )))
            }
            Err(_) => fs::create_dir(&here)?,
        }
    }
    Ok(())
}

/// Recreates `from` at `to`: folders anew (same mode and times), everything else as a hard
/// link to the same inode; a regular file or link that cannot be linked (another file
/// system, a protected link) is copied.
fn link_tree(from: &Path, to: &Path) -> io::Result<()> {
    use std::os::unix::fs::PermissionsExt;
    let meta = fs::symlink_metadata(from)?;
    if meta.is_dir() {
        fs::create_dir(to)?;
        let mut children: Vec<_> = fs::read_dir(from)?.collect::<io::Result<_>>()?;
        children.sort_by_key(|c| c.file_name());
        for child in children {
            link_tree(&child.path(), &to.join(child.file_name()))?;
        }
        fs::set_permissions(to, fs::Permissions::from_mode(meta.mode()))?;
        let mtime = filetime::FileTime::from_last_modification_time(&meta);
        return filetime::set_file_times(to, mtime, mtime);
    }
    match link_raw(from, to) {
        Ok(()) => Ok(()),
        Err(_) if meta.file_type().is_symlink() => {
            std::os::unix::fs::symlink(fs::read_link(from)?, to)
        }
        Err(_) if meta.is_file() => {
            fs::copy(from, to)?;
            let mtime = filetime::FileTime::from_last_modification_time(&meta);
            filetime::set_file_times(to, mtime, mtime)
        }
        Err(e) => Err(e),
    }
}

/// A hard link to `from` itself (a symlink is linked, not followed).
fn link_raw(from: &Path, to: &Path) -> io::Result<()> {
    let a = CString::new(from.as_os_str().as_bytes())?;
    let b = CString::new(to.as_os_str().as_bytes())?;
    // SAFETY: both arguments are valid NUL-terminated paths that outlive the call.
    let rc = unsafe { libc::linkat(libc::AT_FDCWD, a.as_ptr(), libc::AT_FDCWD, b.as_ptr(), 0) };
    if rc == 0 {
        Ok(())
    } else {
        Err(io::Error::last_os_error())
    }
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
mod tests;
