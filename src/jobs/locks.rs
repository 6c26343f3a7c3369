//! Two jobs never work on the same source at once, also across processes: each source has
//! a lock file under `<data_dir>/locks/`, held (flock) for the job's whole run and released
//! by the kernel if the process dies.

use std::fs::{self, File, TryLockError};
use std::path::Path;

use crate::error::{Error, IoContext, Result};

/// Held locks; dropping releases them.
pub struct SourceLocks {
    _files: Vec<File>,
}

impl SourceLocks {
    /// No locks, for work that only reads archives (verify).
    pub fn none() -> SourceLocks {
        SourceLocks { _files: Vec::new() }
    }
}

/// Locks every source in `names`, or refuses at once naming the busy one (the CLI's way).
pub fn lock_sources(data_dir: &Path, names: &[String]) -> Result<SourceLocks> {
    try_lock_sources(data_dir, names)?.map_err(|busy| {
        Error::Refused(format!(
            "source `{busy}` is busy: another backup or restore of it is running; try again when it has finished"
        ))
    })
}

/// Locks every source in `names`, or, when one is held by another job, releases what it
/// took and returns that source's name (`Ok(Err(name))`) so the caller can wait and retry.
pub fn try_lock_sources(
    data_dir: &Path,
    names: &[String],
) -> Result<std::result::Result<SourceLocks, String>> {
    let dir = data_dir.join("locks");
    fs::create_dir_all(&dir).ctx(|| format!("creating {}", dir.display()))?;
    let mut files = Vec::with_capacity(names.len());
    for name in names {
        let path = dir.join(format!("{name}.lock"));
        let file = File::options()
            .create(true)
            .truncate(false)
            .write(true)
            .open(&path)
            .ctx(|| format!("opening lock {}", path.display()))?;
        match file.try_lock() {
            Ok(()) => files.push(file),
            Err(TryLockError::WouldBlock) => return Ok(Err(name.clone())),
            Err(TryLockError::Error(e)) => {
                return Err(e).ctx(|| format!("locking {}", path.display()))
            }
        }
    }
    Ok(Ok(SourceLocks { _files: files }))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_second_lock_on_the_same_source_is_refused() {
        let dir = tempfile::tempdir().unwrap();
        let held = lock_sources(dir.path(), &["db".into()]).unwrap();
        let err = lock_sources(dir.path(), &["db".into()]).err().unwrap();
        assert!(err.to_string().contains("busy"), "{err}");
        assert!(lock_sources(dir.path(), &["uploads".into()]).is_ok());
        drop(held);
        assert!(lock_sources(dir.path(), &["db".into()]).is_ok());
    }
}
