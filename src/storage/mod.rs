//! Where archives live. A backend writes an object under a temporary name and makes it
//! visible under its final key only on `commit`, so a crash or an error never leaves a
//! half-written object that looks finished. Dropping a `PendingObject` aborts it.

mod local;

use std::io::{self, Read, Write};

pub use local::LocalStorage;

/// An object being written; invisible under its key until committed.
pub trait PendingObject: Write + Send {
    /// Flushes, makes durable, and publishes the object under its final key.
    fn commit(self: Box<Self>) -> io::Result<()>;
}

pub trait Storage: Send + Sync {
    /// A human-readable name for messages (`local folder /srv/backups`).
    fn describe(&self) -> String;
    /// Starts writing the object `key` (a `/`-separated relative path).
    fn create(&self, key: &str) -> io::Result<Box<dyn PendingObject>>;
    fn open(&self, key: &str) -> io::Result<Box<dyn Read + Send>>;
    /// The object's size, or `None` when it does not exist.
    fn size(&self, key: &str) -> io::Result<Option<u64>>;
    /// Removes the object; removing a missing object is not an error.
    fn delete(&self, key: &str) -> io::Result<()>;
    /// Removes temporary objects older than `older_than`, left by a process that died while
    /// writing (younger ones may belong to a backup running right now). Returns how many.
    fn sweep_abandoned(&self, older_than: std::time::Duration) -> io::Result<usize>;
    /// True when the storage can be written now (for `/ready` and start-up checks).
    fn check(&self) -> io::Result<()>;
}

/// Keys are relative paths made by Coffer; refuse anything that could leave the store.
pub(crate) fn validate_key(key: &str) -> io::Result<()> {
    let bad = key.is_empty()
        || key.starts_with('/')
        || key
            .split('/')
            .any(|part| part.is_empty() || part == "." || part == "..");
    if bad {
        return Err(io::Error::new(
            io::ErrorKind::InvalidInput,
            format!("invalid storage key `{key}`"),
        ));
    }
    Ok(())
}
