//! The local folder backend: `<root>/<key>`. Writes go to `<key>.partial-<uuid>` beside the
//! final name, are fsynced, renamed into place, and the directory is fsynced, so after a
//! crash an object either exists whole under its key or not at all.
//!
//! An append-only folder (`append_only = true`) is write-once for Coffer: `delete` is
//! refused, and a commit publishes with a hard link, which fails when the key exists, so
//! an object is never replaced (not even by a race between two writers). The `.partial-*`
//! files of unfinished writes are not objects and are still removed.

use std::fs::{self, File};
use std::io::{self, BufWriter, Read, Write};
use std::path::{Path, PathBuf};

use super::{validate_key, PendingObject, Storage, StoredObject};

pub struct LocalStorage {
    root: PathBuf,
    append_only: bool,
}

impl LocalStorage {
    pub fn new(root: impl Into<PathBuf>) -> Self {
        LocalStorage {
            root: root.into(),
            append_only: false,
        }
    }

    pub fn with_append_only(mut self, append_only: bool) -> Self {
        self.append_only = append_only;
        self
    }

    fn refusal(&self, key: &str, doing: &str) -> io::Error {
        io::Error::new(
            io::ErrorKind::PermissionDenied,
            format!(
                "{} is append-only (write-once): {key} is not {doing}",
                self.describe()
            ),
        )
    }

    pub fn root(&self) -> &Path {
        &self.root
    }

    fn path_of(&self, key: &str) -> io::Result<PathBuf> {
        validate_key(key)?;
        Ok(self.root.join(key))
    }
}

impl Storage for LocalStorage {
    fn describe(&self) -> String {
        format!("local folder {}", self.root.display())
    }

    fn create(&self, key: &str) -> io::Result<Box<dyn PendingObject>> {
        let final_path = self.path_of(key)?;
        if self.append_only && fs::symlink_metadata(&final_path).is_ok() {
            return Err(self.refusal(key, "replaced"));
        }
        let dir = final_path.parent().unwrap_or(&self.root).to_path_buf();
        fs::create_dir_all(&dir)?;
        let file_name = final_path.file_name().unwrap_or_default().to_string_lossy();
        let temp_path = dir.join(format!(
            "{file_name}.partial-{}",
            uuid::Uuid::new_v4().simple()
        ));
        let file = File::options()
            .write(true)
            .create_new(true)
            .open(&temp_path)?;
        Ok(Box::new(LocalPending {
            writer: Some(BufWriter::with_capacity(1 << 20, file)),
            temp_path,
            final_path,
            dir,
            no_replace: self.append_only,
        }))
    }

    fn open(&self, key: &str) -> io::Result<Box<dyn Read + Send>> {
        Ok(Box::new(File::open(self.path_of(key)?)?))
    }

    fn size(&self, key: &str) -> io::Result<Option<u64>> {
        match fs::metadata(self.path_of(key)?) {
            Ok(meta) => Ok(Some(meta.len())),
            Err(e) if e.kind() == io::ErrorKind::NotFound => Ok(None),
            Err(e) => Err(e),
        }
    }

    fn delete(&self, key: &str) -> io::Result<()> {
        let path = self.path_of(key)?;
        if self.append_only {
            return match fs::symlink_metadata(&path) {
                Err(e) if e.kind() == io::ErrorKind::NotFound => Ok(()),
                _ => Err(self.refusal(key, "deleted")),
            };
        }
        match fs::remove_file(path) {
            Err(e) if e.kind() != io::ErrorKind::NotFound => Err(e),
            _ => Ok(()),
        }
    }

    fn list(&self, prefix: &str) -> io::Result<Vec<StoredObject>> {
        let mut found = Vec::new();
        if !self.root.exists() {
            return Ok(found);
        }
        for entry in walkdir::WalkDir::new(&self.root).sort_by_file_name() {
            let entry = entry.map_err(io::Error::other)?;
            if !entry.file_type().is_file() {
                continue;
            }
            let Ok(relative) = entry.path().strip_prefix(&self.root) else {
                continue;
            };
            let key = relative.to_string_lossy().into_owned();
            if key.contains(".partial-") || !key.starts_with(prefix) {
                continue; // unfinished writes are not objects
            }
            let size = entry.metadata().map_err(io::Error::other)?.len();
            found.push(StoredObject { key, size });
        }
        Ok(found)
    }

    fn sweep_abandoned(&self, older_than: std::time::Duration) -> io::Result<usize> {
        let mut removed = 0;
        for entry in walkdir::WalkDir::new(&self.root).into_iter().flatten() {
            let is_partial = entry.file_type().is_file()
                && entry.file_name().to_string_lossy().contains(".partial-");
            let old = entry
                .metadata()
                .ok()
                .and_then(|m| m.modified().ok())
                .and_then(|t| t.elapsed().ok())
                .is_some_and(|age| age > older_than);
            if is_partial && old && fs::remove_file(entry.path()).is_ok() {
                removed += 1;
            }
        }
        Ok(removed)
    }

    fn delete_unfinished(&self, key: &str) -> io::Result<usize> {
        let final_path = self.path_of(key)?;
        let Some(dir) = final_path.parent() else {
            return Ok(0);
        };
        let prefix = format!(
            "{}.partial-",
            final_path.file_name().unwrap_or_default().to_string_lossy()
        );
        let entries = match fs::read_dir(dir) {
            Ok(entries) => entries,
            Err(e) if e.kind() == io::ErrorKind::NotFound => return Ok(0),
            Err(e) => return Err(e),
        };
        let mut removed = 0;
        for entry in entries {
            let entry = entry?;
            if entry.file_name().to_string_lossy().starts_with(&prefix) {
                match fs::remove_file(entry.path()) {
                    Ok(()) => removed += 1,
                    Err(e) if e.kind() == io::ErrorKind::NotFound => {}
                    Err(e) => return Err(e),
                }
            }
        }
        Ok(removed)
    }

    fn append_only(&self) -> bool {
        self.append_only
    }

    fn check(&self) -> io::Result<()> {
        fs::create_dir_all(&self.root)?;
        let probe = self
            .root
            .join(format!(".probe-{}", uuid::Uuid::new_v4().simple()));
        fs::write(&probe, b"ok")?;
        fs::remove_file(&probe)
    }
}

struct LocalPending {
    writer: Option<BufWriter<File>>,
    temp_path: PathBuf,
    final_path: PathBuf,
    dir: PathBuf,
    /// Append-only: publish with a hard link, which never replaces an existing object.
    no_replace: bool,
}

impl Write for LocalPending {
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        self.writer
            .as_mut()
            .expect("written after commit")
            .write(buf)
    }

    fn flush(&mut self) -> io::Result<()> {
        self.writer.as_mut().expect("flushed after commit").flush()
    }
}

impl PendingObject for LocalPending {
    fn commit(mut self: Box<Self>) -> io::Result<()> {
        let writer = self.writer.take().expect("committed twice");
        let published = writer
            .into_inner()
            .map_err(|e| e.into_error())
            .and_then(|file| file.sync_all())
            .and_then(|()| match self.no_replace {
                false => fs::rename(&self.temp_path, &self.final_path),
                true => fs::hard_link(&self.temp_path, &self.final_path)
                    .map_err(|e| match e.kind() {
                        io::ErrorKind::AlreadyExists => io::Error::new(
                            e.kind(),
                            format!(
                                "{} exists and its folder is append-only (write-once): not replaced",
                                self.final_path.display()
                            ),
                        ),
                        _ => e,
                    })
                    .and_then(|()| fs::remove_file(&self.temp_path)),
            });
        if published.is_err() {
            // Disk full at the last flush, say: the temporary object must not stay behind.
            let _ = fs::remove_file(&self.temp_path);
        }
        published?;
        File::open(&self.dir)?.sync_all()
    }
}

impl Drop for LocalPending {
    fn drop(&mut self) {
        if self.writer.is_some() {
            // Not committed: the object must not survive under any name.
            let _ = fs::remove_file(&self.temp_path);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn object_appears_only_after_commit() {
        let dir = tempfile::tempdir().unwrap();
        let store = LocalStorage::new(dir.path());
        let mut obj = store.create("2026/11/a.bin").unwrap();
        obj.write_all(b"hello").unwrap();
        assert_eq!(store.size("2026/11/a.bin").unwrap(), None);
        obj.commit().unwrap();
        assert_eq!(store.size("2026/11/a.bin").unwrap(), Some(5));
        let mut text = String::new();
        store
            .open("2026/11/a.bin")
            .unwrap()
            .read_to_string(&mut text)
            .unwrap();
        assert_eq!(text, "hello");
    }

    #[test]
    fn dropped_object_leaves_nothing() {
        let dir = tempfile::tempdir().unwrap();
        let store = LocalStorage::new(dir.path());
        let mut obj = store.create("x/b.bin").unwrap();
        obj.write_all(b"half").unwrap();
        drop(obj);
        assert_eq!(fs::read_dir(dir.path().join("x")).unwrap().count(), 0);
    }

    #[test]
    fn only_old_partial_objects_are_swept() {
        let dir = tempfile::tempdir().unwrap();
        let store = LocalStorage::new(dir.path());
        let mut obj = store.create("a/b.bin").unwrap();
        obj.write_all(b"in progress").unwrap();
        assert_eq!(
            store
                .sweep_abandoned(std::time::Duration::from_secs(3600))
                .unwrap(),
            0
        );
        assert_eq!(store.sweep_abandoned(std::time::Duration::ZERO).unwrap(), 1);
    }

    #[test]
    fn unfinished_objects_of_one_key_are_removed_at_any_age() {
        let dir = tempfile::tempdir().unwrap();
        let storage = LocalStorage::new(dir.path());
        let mut mine = storage.create("2026/01/a.tar.gz").unwrap();
        mine.write_all(b"half").unwrap();
        let mut other = storage.create("2026/01/ab.tar.gz").unwrap();
        other.write_all(b"half").unwrap();
        mine.flush().unwrap();
        other.flush().unwrap();
        let partials = |name: &str| {
            fs::read_dir(dir.path().join("2026/01"))
                .unwrap()
                .filter(|e| {
                    let e = e.as_ref().unwrap().file_name();
                    e.to_string_lossy().starts_with(&format!("{name}.partial-"))
                })
                .count()
        };
        assert_eq!((partials("a.tar.gz"), partials("ab.tar.gz")), (1, 1));
        assert_eq!(storage.delete_unfinished("2026/01/a.tar.gz").unwrap(), 1);
        assert_eq!((partials("a.tar.gz"), partials("ab.tar.gz")), (0, 1));
        assert_eq!(storage.delete_unfinished("2026/02/none.tar.gz").unwrap(), 0);
        // The writer whose file was removed cannot publish it any more.
        assert!(mine.commit().is_err());
        drop(other);
    }

    #[test]
    fn an_append_only_folder_adds_but_never_deletes_or_replaces() {
        let dir = tempfile::tempdir().unwrap();
        let store = LocalStorage::new(dir.path()).with_append_only(true);
        let mut obj = store.create("2026/12/a.bin").unwrap();
        obj.write_all(b"first").unwrap();
        // Another writer of the same key finishes first: this commit must not replace it.
        let mut racer = store.create("2026/12/a.bin").unwrap();
        racer.write_all(b"second").unwrap();
        racer.commit().unwrap();
        let raced = obj.commit().unwrap_err();
        assert_eq!(raced.kind(), io::ErrorKind::AlreadyExists, "{raced}");
        let replaced = store.create("2026/12/a.bin").err().unwrap();
        assert!(replaced.to_string().contains("append-only"), "{replaced}");
        let deleted = store.delete("2026/12/a.bin").unwrap_err();
        assert_eq!(deleted.kind(), io::ErrorKind::PermissionDenied);
        assert!(deleted.to_string().contains("not deleted"), "{deleted}");
        assert_eq!(
            fs::read(dir.path().join("2026/12/a.bin")).unwrap(),
            b"second"
        );
        // Deleting what is not there is still no error, and unfinished writes are swept.
        store.delete("2026/12/none.bin").unwrap();
        let mut half = store.create("2026/12/b.bin").unwrap();
        half.write_all(b"half").unwrap();
        half.flush().unwrap();
        assert_eq!(store.sweep_abandoned(std::time::Duration::ZERO).unwrap(), 1);
        drop(half);
        let names: Vec<String> = fs::read_dir(dir.path().join("2026/12"))
            .unwrap()
            .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
            .collect();
        assert_eq!(names, ["a.bin"], "no partial left behind");
    }

    #[test]
    fn keys_cannot_escape_the_root() {
        let store = LocalStorage::new("/tmp/nowhere");
        for key in ["../x", "/etc/passwd", "a/../../b", "", "a//b"] {
            assert!(store.create(key).is_err(), "{key}");
        }
    }
}
