//! Where archives live. A backend writes an object under a temporary name and makes it
//! visible under its final key only on `commit`, so a crash or an error never leaves a
//! half-written object that looks finished. Dropping a `PendingObject` aborts it.

mod local;
mod s3;

use std::io::{self, Read, Write};
use std::sync::Arc;

pub use local::LocalStorage;
pub use s3::S3Storage;

use crate::config::{Protection, StorageLocation, StorageTarget};

/// An object found by `Storage::list`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StoredObject {
    pub key: String,
    pub size: u64,
}

/// Makes ring the process's TLS crypto provider, once. reqwest (under object_store) is built
/// without a provider of its own so that the whole program uses one crypto library (ring,
/// which lettre and ureq use too); any HTTP client must be built after this ran.
pub fn install_tls_provider() {
    static ONCE: std::sync::Once = std::sync::Once::new();
    ONCE.call_once(|| {
        // Err means another provider was installed first, which serves as well.
        let _ = rustls::crypto::ring::default_provider().install_default();
    });
}

/// Opens the backend a configured target names. A target with Object Lock asks the bucket
/// whether it can keep it, and is refused when it cannot.
pub fn open_target(target: &StorageTarget) -> io::Result<Arc<dyn Storage>> {
    let append_only = target.protection == Protection::AppendOnly;
    Ok(match &target.location {
        StorageLocation::Local(path) => {
            Arc::new(LocalStorage::new(path).with_append_only(append_only))
        }
        StorageLocation::S3(settings) => {
            let storage = S3Storage::new(settings)?;
            match target.protection {
                Protection::ObjectLock(lock) => Arc::new(storage.with_object_lock(lock)?),
                _ => Arc::new(storage),
            }
        }
    })
}

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
    /// Every finished object whose key starts with `prefix` (`""`: all), in no set order.
    fn list(&self, prefix: &str) -> io::Result<Vec<StoredObject>>;
    /// Removes temporary objects older than `older_than`, left by a process that died while
    /// writing (younger ones may belong to a backup running right now). Returns how many.
    fn sweep_abandoned(&self, older_than: std::time::Duration) -> io::Result<usize>;
    /// Removes the temporary objects of `key` whatever their age: the caller knows the
    /// writer is dead (the heartbeat reaper, for a backup it failed). Returns how many.
    /// A backend that cannot find them by key leaves them to [`Self::sweep_abandoned`].
    fn delete_unfinished(&self, key: &str) -> io::Result<usize> {
        let _ = key;
        Ok(0)
    }
    /// True when the storage can be written now (for `/ready` and start-up checks).
    fn check(&self) -> io::Result<()>;
    /// A write-once target: `delete` and replacing an object are refused (its own unfinished
    /// temporary objects still go).
    fn append_only(&self) -> bool {
        false
    }
    /// Until when the object `key` cannot be deleted (S3 Object Lock), as the storage says.
    fn retain_until(&self, key: &str) -> io::Result<Option<chrono::DateTime<chrono::Utc>>> {
        let _ = key;
        Ok(None)
    }
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
