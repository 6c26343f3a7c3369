//! The running application's shared parts: settings, the metadata pool, archive storage and
//! the keyring. Opening it prepares everything a command needs; repairing what a crashed
//! process left behind is the next step, `jobs::startup`.

use std::sync::{Arc, RwLock, RwLockReadGuard};

use crate::config::Settings;
use crate::db::{self, Backup, NewLogEntry, Pool, PooledConn};
use crate::engine::keyring::{is_blank_key_dir, Keyring};
use crate::error::{Error, IoContext, Result};
use crate::storage::{open_target, Storage};

pub struct App {
    pub settings: Settings,
    pub pool: Pool,
    /// The primary storage target: every backup is written here first.
    pub storage: Arc<dyn Storage>,
    /// Further targets each backup is copied to (`[[storage.replicas]]`), in config order.
    pub replicas: Vec<NamedStorage>,
    keyring: RwLock<Keyring>,
    notifier: crate::notify::Notifier,
}

/// A storage target with the name the config gives it.
#[derive(Clone)]
pub struct NamedStorage {
    pub name: String,
    pub storage: Arc<dyn Storage>,
}

/// When Coffer may generate a new archive key by itself.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum KeyPolicy {
    /// Only on first run: with encrypted backups in the catalogue, a missing key directory
    /// is an error (an unmounted volume must not silently start a new, unsaved key).
    FirstRunOnly,
    /// Start a new keyring if there is none (`coffer key rotate --accept-missing-keys` after
    /// keys were lost).
    Always,
}

impl App {
    pub fn open(settings: Settings) -> Result<App> {
        Self::open_with(settings, KeyPolicy::FirstRunOnly)
    }

    pub fn open_with(settings: Settings, keys: KeyPolicy) -> Result<App> {
        // Two processes starting together on a fresh install (console and worker) would both
        // migrate the SQLite file and both write a first key: one sets up, the other waits.
        let setting_up = lock_setup(&settings.data_dir)?;
        let pool = db::open(&settings.database_url)?;
        let open = |target: &crate::config::StorageTarget| {
            open_target(target).map_err(|e| {
                Error::Config(format!(
                    "config {}: storage target `{}`: {e}",
                    settings.origin, target.name
                ))
            })
        };
        let storage = open(&settings.storage.primary)?;
        let replicas = settings
            .storage
            .replicas
            .iter()
            .map(|target| {
                Ok(NamedStorage {
                    name: target.name.clone(),
                    storage: open(target)?,
                })
            })
            .collect::<Result<Vec<_>>>()?;
        let keyring = open_keyring(&settings, &pool, keys)?;
        drop(setting_up);
        let notifier = crate::notify::Notifier::new(&settings.notify, pool.clone());
        Ok(App {
            settings,
            pool,
            storage,
            replicas,
            keyring: RwLock::new(keyring),
            notifier,
        })
    }

    /// The primary target's name (`[storage] name`, default `primary`).
    pub fn storage_name(&self) -> &str {
        &self.settings.storage.primary.name
    }

    /// Every target by name, the primary first.
    pub fn storage_targets(&self) -> Vec<NamedStorage> {
        let primary = NamedStorage {
            name: self.storage_name().to_string(),
            storage: self.storage.clone(),
        };
        std::iter::once(primary)
            .chain(self.replicas.iter().cloned())
            .collect()
    }

    pub fn conn(&self) -> Result<PooledConn> {
        Ok(db::get(&self.pool)?)
    }

    pub fn keyring(&self) -> RwLockReadGuard<'_, Keyring> {
        self.keyring
            .read()
            .unwrap_or_else(|poisoned| poisoned.into_inner())
    }

    /// Adds a new active key; older keys stay for reading existing archives.
    pub fn rotate_key(&self) -> Result<crate::engine::keyring::KeyInfo> {
        let mut keyring = self
            .keyring
            .write()
            .unwrap_or_else(|poisoned| poisoned.into_inner());
        keyring.rotate().ctx(|| "rotating the archive key".into())
    }

    /// Keys the catalogue's successful backups were encrypted with that the keyring lacks,
    /// with how many backups each one encrypted.
    pub fn missing_keys(&self) -> Result<Vec<(String, i64)>> {
        let by_key = Backup::count_by_key_id(&mut *self.conn()?)?;
        let keyring = self.keyring();
        Ok(by_key
            .into_iter()
            .filter(|(id, _)| keyring.get(id).is_none())
            .collect())
    }

    /// The reminder to export the keys, while some key has never been exported.
    pub fn key_export_reminder(&self) -> Option<String> {
        let unexported = self.keyring().unexported();
        if unexported.is_empty() {
            return None;
        }
        Some(format!(
            "archive key(s) {} have never been exported: if the key directory {} is lost, every \
             backup they encrypted is lost with it. Run `coffer key export --out FILE` and keep \
             the file (and its passphrase) apart from the backups",
            unexported.join(", "),
            self.settings.keys_dir.display()
        ))
    }

    /// Warns on standard error (the log) while the keys are not exported.
    pub fn remind_key_export(&self) {
        if let Some(reminder) = self.key_export_reminder() {
            tracing::warn!("{reminder}");
        }
    }

    /// Delivers raised events to the notification channels (`Notifier::raise`).
    pub fn notifier(&self) -> &crate::notify::Notifier {
        &self.notifier
    }

    /// Writes an audit log entry. A failure to log is reported but never fails the work.
    pub fn audit(&self, entry: NewLogEntry) {
        let result = self
            .conn()
            .and_then(|mut conn| Ok(db::LogEntry::insert(&mut conn, &entry)?));
        if let Err(e) = result {
            tracing::error!("cannot write audit log entry: {e}");
        }
    }

    /// The key new archives are encrypted with, or `None` when encryption is off.
    pub fn archive_key(&self) -> Result<Option<(String, [u8; 32])>> {
        if !self.settings.archive.encryption {
            return Ok(None);
        }
        let keyring = self.keyring();
        let (id, key) = keyring.active().ok_or_else(|| {
            Error::Refused(format!(
                "encryption is on but the key directory {} has no active key: refusing to write an unencrypted archive",
                self.settings.keys_dir.display()
            ))
        })?;
        Ok(Some((id.to_string(), *key)))
    }
}

fn open_keyring(settings: &Settings, pool: &Pool, policy: KeyPolicy) -> Result<Keyring> {
    let dir = &settings.keys_dir;
    let blank =
        is_blank_key_dir(dir).ctx(|| format!("reading the key directory {}", dir.display()))?;
    if blank && policy == KeyPolicy::FirstRunOnly {
        let by_key = Backup::count_by_key_id(&mut *db::get(pool)?)?;
        if !by_key.is_empty() {
            let encrypted: i64 = by_key.iter().map(|(_, n)| n).sum();
            return Err(Error::Refused(format!(
                "the key directory {} is missing or empty, but the catalogue holds {encrypted} encrypted backup(s) \
                 under {}: restore the key directory (or mount its volume), or import an export of the keys \
                 with `coffer key import FILE`. To start a new keyring anyway (those backups stay unreadable \
                 until their keys are imported), run `coffer key rotate --accept-missing-keys`.",
                dir.display(),
                describe_missing(&by_key)
            )));
        }
    }
    let (keyring, created) = Keyring::open_or_create(dir)
        .ctx(|| format!("opening the key directory {}", dir.display()))?;
    if created {
        let id = keyring
            .active()
            .map(|(id, _)| id.to_string())
            .unwrap_or_default();
        tracing::warn!(
            key_id = %id,
            dir = %dir.display(),
            "generated a new archive encryption key: keep a copy of this directory somewhere safe, \
             away from the backups — without it no encrypted backup can be restored. \
             Export it now, sealed with a passphrase: coffer key export --out FILE"
        );
    }
    Ok(keyring)
}

/// `k-1 (3 backups), k-2 (1 backup)`: which keys, and how much each one locks away.
pub fn describe_missing(by_key: &[(String, i64)]) -> String {
    by_key
        .iter()
        .map(|(id, n)| format!("{id} ({n} backup{})", if *n == 1 { "" } else { "s" }))
        .collect::<Vec<_>>()
        .join(", ")
}

/// An exclusive lock on `<data_dir>/.coffer-setup.lock`, held while the database is migrated
/// and the keyring opened or imported into (released when dropped, or by the kernel if the
/// process dies).
pub fn lock_setup(data_dir: &std::path::Path) -> Result<std::fs::File> {
    std::fs::create_dir_all(data_dir).ctx(|| format!("creating {}", data_dir.display()))?;
    let path = data_dir.join(".coffer-setup.lock");
    let file = std::fs::File::create(&path).ctx(|| format!("creating {}", path.display()))?;
    file.lock().ctx(|| format!("locking {}", path.display()))?;
    Ok(file)
}
