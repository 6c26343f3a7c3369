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

pub fn lock_sources(data_dir: &Path, names: &[String]) -> Result<SourceLocks> {
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
            Err(TryLockError::WouldBlock) => {
                return Err(Error::Refused(format!(
                    "source `{name}` is busy: another backup or restore of it is running; try again when it has finished"
                )))
            }
            Err(TryLockError::Error(e)) => return Err(e).ctx(|| format!("locking {}", path.display())),
        }
    }
    Ok(SourceLocks { _files: files })
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
