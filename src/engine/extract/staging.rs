//! The staging folders of a restore, written without ever following a link. Each staging
//! folder is opened once; every path below it is walked one component at a time with
//! `openat(O_NOFOLLOW | O_DIRECTORY)` (creating what is missing with `mkdirat`), files are
//! created in such a folder with `O_CREAT | O_EXCL | O_NOFOLLOW` (by `writers.rs`), links with `symlinkat`, and modes and times
//! are set on the opened descriptor (a link's time with `AT_SYMLINK_NOFOLLOW`, its mode never).
//! A link met on the way — planted in the archive or in the staging folder — fails the walk
//! instead of redirecting a write. Setuid, setgid and sticky bits are set only when the
//! caller says they may be (an authenticated manifest, a root process); otherwise dropped.

use std::collections::HashMap;
use std::fs;
use std::io;
use std::os::fd::{AsFd, BorrowedFd, OwnedFd};
use std::path::{Path, PathBuf};

use rustix::fs::{AtFlags, Mode, OFlags, Timespec, Timestamps};
use rustix::io::Errno;

use super::writers::FileJob;
use crate::engine::manifest::FileEntry;
use crate::engine::restorable::shown;
use crate::error::{Error, IoContext, Result};

/// The staging folders, opened once, and the folders of the path walked last (one
/// descriptor per component), so neighbouring entries reopen nothing.
pub(super) struct Staging<'p> {
    roots: HashMap<&'p str, (OwnedFd, &'p Path)>,
    source: String,
    open: Vec<(String, OwnedFd)>,
    /// The mode bits a recorded mode may set: 0o7777, or 0o0777 without setuid/setgid/sticky.
    mode_mask: u32,
}

impl<'p> Staging<'p> {
    /// Creates each staging folder (its parent is the target's, chosen by the operator) and
    /// opens it without following a link.
    pub(super) fn open(
        staging: &'p HashMap<String, PathBuf>,
        special_bits: bool,
    ) -> Result<Staging<'p>> {
        use std::os::unix::fs::DirBuilderExt;
        let mut roots = HashMap::new();
        for (source, root) in staging {
            if let Some(parent) = root.parent().filter(|p| !p.as_os_str().is_empty()) {
                fs::create_dir_all(parent).ctx(|| format!("creating {}", parent.display()))?;
            }
            match fs::DirBuilder::new().mode(0o700).create(root) {
                Err(e) if e.kind() != io::ErrorKind::AlreadyExists => {
                    return Err(e).ctx(|| format!("creating staging folder {}", root.display()))
                }
                _ => {}
            }
            let fd = rustix::fs::open(root, folder_flags(), Mode::empty())
                .map_err(|e| not_a_folder(e, root))?;
            roots.insert(source.as_str(), (fd, root.as_path()));
        }
        Ok(Staging {
            roots,
            source: String::new(),
            open: Vec::new(),
            mode_mask: if special_bits { 0o7777 } else { 0o0777 },
        })
    }

    /// Where `entry_path` lands on disk, for messages.
    fn disk_path(&self, entry_path: &str) -> PathBuf {
        let (source, rest) = entry_path.split_once('/').unwrap_or((entry_path, ""));
        match self.roots.get(source) {
            Some((_, root)) if rest.is_empty() => root.to_path_buf(),
            Some((_, root)) => root.join(rest),
            None => PathBuf::from(entry_path),
        }
    }

    /// The folder at `path` (`<source>` or `<source>/<relative path>`), created where
    /// missing; every component is opened with `O_NOFOLLOW`, so a link fails the walk.
    pub(super) fn folder(&mut self, path: &str) -> Result<BorrowedFd<'_>> {
        let (source, rest) = path.split_once('/').unwrap_or((path, ""));
        let Some((root, root_path)) = self.roots.get(source) else {
            return Err(Error::Archive(format!(
                "entry `{}` belongs to no selected source",
                shown(path)
            )));
        };
        if self.source != source {
            self.open.clear();
            self.source = source.to_string();
        }
        let parts: Vec<&str> = rest.split('/').filter(|p| !p.is_empty()).collect();
        let same = self
            .open
            .iter()
            .zip(&parts)
            .take_while(|((name, _), part)| name == *part)
            .count();
        self.open.truncate(same);
        for (depth, part) in parts.iter().enumerate().skip(same) {
            let parent = self.open.last().map_or(root.as_fd(), |(_, fd)| fd.as_fd());
            let here = || root_path.join(parts[..=depth].join("/"));
            match rustix::fs::mkdirat(parent, *part, Mode::from_raw_mode(0o700)) {
                Ok(()) | Err(Errno::EXIST) => {}
                Err(e) => {
                    return Err(io::Error::from(e)).ctx(|| format!("creating {}", here().display()))
                }
            }
            let fd = rustix::fs::openat(parent, *part, folder_flags(), Mode::empty())
                .map_err(|e| not_a_folder(e, &here()))?;
            self.open.push((part.to_string(), fd));
        }
        Ok(self.open.last().map_or(root.as_fd(), |(_, fd)| fd.as_fd()))
    }

    /// The folder holding a file or link entry, and the entry's own name in it.
    fn parent_of<'e>(&mut self, entry_path: &'e str) -> Result<(BorrowedFd<'_>, &'e str)> {
        let (parent, name) = entry_path.rsplit_once('/').ok_or_else(|| {
            Error::Archive(format!(
                "entry `{}` is a source root but not a folder: refused",
                shown(entry_path)
            ))
        })?;
        Ok((self.folder(parent)?, name))
    }

    /// What a writer lane needs to create the file of `entry`: its folder (created where
    /// missing, walked without following links, then duplicated so the lane owns it), its
    /// name there and the mode bits it may get now.
    pub(super) fn file_job<'e>(&mut self, entry: &'e FileEntry) -> Result<FileJob<'e>> {
        let disk_path = self.disk_path(&entry.path);
        let mode_mask = self.mode_mask;
        let (dir, name) = self.parent_of(&entry.path)?;
        let dir = dir
            .try_clone_to_owned()
            .ctx(|| format!("opening the folder of {}", disk_path.display()))?;
        Ok(FileJob {
            dir,
            name,
            entry,
            disk_path,
            mode_mask,
        })
    }

    /// Creates a link exactly as stored, wherever it points, and sets its own time.
    pub(super) fn create_link(&mut self, entry: &FileEntry) -> Result<()> {
        let path = self.disk_path(&entry.path);
        let target = entry.link_target.as_deref().unwrap_or_default();
        let (dir, name) = self.parent_of(&entry.path)?;
        rustix::fs::symlinkat(target, dir, name)
            .map_err(io::Error::from)
            .ctx(|| format!("creating link {}", path.display()))?;
        rustix::fs::utimensat(
            dir,
            name,
            &timestamps(entry.mtime_ns),
            AtFlags::SYMLINK_NOFOLLOW,
        )
        .map_err(io::Error::from)
        .ctx(|| format!("setting the time of {}", path.display()))
    }

    /// From now on recorded modes may set setuid, setgid and sticky bits (the manifest is
    /// authenticated and Coffer runs as root).
    pub(super) fn grant_special_bits(&mut self) {
        self.mode_mask = 0o7777;
    }

    /// Sets a file written earlier to its recorded mode again (once special bits are
    /// granted), through a descriptor opened without following a link.
    pub(super) fn set_file_mode(&mut self, entry: &FileEntry) -> Result<()> {
        if entry.mode & 0o7000 == 0 {
            return Ok(());
        }
        let path = self.disk_path(&entry.path);
        let (dir, name) = self.parent_of(&entry.path)?;
        let fd = rustix::fs::openat(
            dir,
            name,
            OFlags::RDONLY | OFlags::NOFOLLOW | OFlags::CLOEXEC,
            Mode::empty(),
        )
        .map_err(io::Error::from)
        .ctx(|| format!("opening {}", path.display()))?;
        rustix::fs::fchmod(&fd, Mode::from_raw_mode(entry.mode & self.mode_mask))
            .map_err(io::Error::from)
            .ctx(|| format!("setting the mode of {}", path.display()))
    }

    /// Sets a folder's recorded mode and time on its open descriptor.
    pub(super) fn seal_folder(&mut self, entry: &FileEntry) -> Result<()> {
        let path = self.disk_path(&entry.path);
        let mode = Mode::from_raw_mode(entry.mode & self.mode_mask);
        let fd = self.folder(&entry.path)?;
        rustix::fs::fchmod(fd, mode)
            .map_err(io::Error::from)
            .ctx(|| format!("setting the mode of {}", path.display()))?;
        rustix::fs::futimens(fd, &timestamps(entry.mtime_ns))
            .map_err(io::Error::from)
            .ctx(|| format!("setting the time of {}", path.display()))
    }
}

fn folder_flags() -> OFlags {
    OFlags::RDONLY | OFlags::DIRECTORY | OFlags::NOFOLLOW | OFlags::CLOEXEC
}

/// Opening a folder failed: a link or a file where a folder must be is refused by name.
fn not_a_folder(e: Errno, path: &Path) -> Error {
    match e {
        Errno::LOOP | Errno::NOTDIR => Error::Refused(format!(
            "{} is a link or a file, not a folder: nothing is written through it: refused",
            path.display()
        )),
        other => Error::Io {
            context: format!("opening folder {}", path.display()),
            source: other.into(),
        },
    }
}

/// Access and modification time both set to the recorded mtime (nanoseconds).
pub(super) fn timestamps(mtime_ns: i64) -> Timestamps {
    let time = Timespec {
        tv_sec: mtime_ns.div_euclid(1_000_000_000),
        tv_nsec: mtime_ns.rem_euclid(1_000_000_000) as _,
    };
    Timestamps {
        last_access: time,
        last_modification: time,
    }
}
