//! The running application's shared parts: settings, the metadata pool, archive storage and
//! the keyring. Opening it prepares everything a command needs and repairs what a crashed
//! process left behind (tasks stuck in `running`).

use std::sync::{Arc, RwLock, RwLockReadGuard};

use crate::config::Settings;
use crate::db::{self, NewLogEntry, Pool, PooledConn};
use crate::engine::keyring::Keyring;
use crate::error::{Error, IoContext, Result};
use crate::storage::{LocalStorage, Storage};

pub struct App {
    pub settings: Settings,
    pub pool: Pool,
    pub storage: Arc<dyn Storage>,
    keyring: RwLock<Keyring>,
}

impl App {
    pub fn open(settings: Settings) -> Result<App> {
        let pool = db::open(&settings.database_url)?;
        let storage: Arc<dyn Storage> = Arc::new(LocalStorage::new(&settings.storage_path));
        let (keyring, created) = Keyring::open_or_create(&settings.keys_dir)
            .ctx(|| format!("opening the key directory {}", settings.keys_dir.display()))?;
        if created {
            let id = keyring
                .active()
                .map(|(id, _)| id.to_string())
                .unwrap_or_default();
            tracing::warn!(
                key_id = %id,
                dir = %settings.keys_dir.display(),
                "generated a new archive encryption key: keep a copy of this directory somewhere safe, \
                 away from the backups — without it no encrypted backup can be restored"
            );
        }
        let app = App {
            settings,
            pool,
            storage,
            keyring: RwLock::new(keyring),
        };
        crate::jobs::recovery::fail_abandoned_tasks(&app)?;
        Ok(app)
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
