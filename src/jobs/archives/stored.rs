//! Opening the stored archive of a recorded backup: its record must say `success`, and the
//! bytes come from a healthy copy (`copies::open_healthy`) with the record's digest to check.

use std::io::Read;

use crate::app::App;
use crate::db::Backup;
use crate::domain::Status;
use crate::engine::archive_reader::StoredDigest;
use crate::engine::extract::ArchiveSource;
use crate::engine::stage_clock::StageClock;
use crate::error::{Error, Result};

/// Opens archives of recorded, successful backups from storage.
pub struct StoredArchives<'a> {
    app: &'a App,
    clock: StageClock,
}

impl<'a> StoredArchives<'a> {
    pub fn new(app: &'a App) -> Self {
        StoredArchives::timed(app, StageClock::default())
    }

    /// Archives whose fetch, check and decrypt times go to `clock`.
    pub fn timed(app: &'a App, clock: StageClock) -> Self {
        StoredArchives { app, clock }
    }

    pub(crate) fn record(&self, backup_id: &str) -> Result<(Backup, String, StoredDigest)> {
        let backup = Backup::find_by_id(&mut *self.app.conn()?, backup_id).map_err(|_| {
            Error::Archive(format!(
                "backup {backup_id}, needed by the chain, is not in the catalogue"
            ))
        })?;
        let (Some(key), Some(sha256), Status::Succeeded) =
            (&backup.storage_key, &backup.sha256, backup.status())
        else {
            return Err(Error::Archive(format!(
                "backup {backup_id}, needed by the chain, is not a successful backup"
            )));
        };
        let expected = StoredDigest {
            sha256: sha256.clone(),
            bytes: backup.size_bytes as u64,
        };
        let key = key.clone();
        Ok((backup, key, expected))
    }
}

impl ArchiveSource for StoredArchives<'_> {
    fn open(&self, backup_id: &str) -> Result<(Box<dyn Read + Send>, StoredDigest)> {
        let (_, key, expected) = self.record(backup_id)?;
        let reader =
            crate::jobs::archives::copies::open_healthy(self.app, backup_id, &key, &expected)?;
        Ok((reader, expected))
    }

    fn stage_clock(&self) -> Option<&StageClock> {
        Some(&self.clock)
    }
}
