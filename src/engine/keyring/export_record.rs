//! The `exported` file of a key directory: when the keys were last exported (`coffer key
//! export`), which ones, and to which file. Until every key of the directory is covered by
//! an export, `coffer serve`, `coffer worker` and `coffer key list` remind the operator.
//!
//! It lives in the key directory rather than in the catalogue because it is a fact about
//! those key files: a key directory that is lost and started again has never been exported,
//! whatever the catalogue remembers, and several hosts sharing one key volume share it.

use std::fs;
use std::io;

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

use super::{context, write_private_file, Keyring};

const RECORD_FILE: &str = "exported";

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ExportRecord {
    pub exported_at: DateTime<Utc>,
    pub key_ids: Vec<String>,
    pub file: String,
}

impl Keyring {
    /// The last export recorded in this key directory, if any (an unreadable record counts
    /// as none: the reminder stays until a new export writes a good one).
    pub fn export_record(&self) -> Option<ExportRecord> {
        let text = fs::read_to_string(self.dir.join(RECORD_FILE)).ok()?;
        serde_json::from_str(&text).ok()
    }

    pub fn record_export(&self, record: &ExportRecord) -> io::Result<()> {
        let text = serde_json::to_string_pretty(record).map_err(io::Error::other)?;
        write_private_file(&self.dir, RECORD_FILE, format!("{text}\n").as_bytes(), true)
            .map_err(|e| context(e, "cannot record the export in", &self.dir))
    }

    /// Keys no recorded export holds: those a lost key directory would take with it.
    pub fn unexported(&self) -> Vec<String> {
        let exported = self.export_record().map(|r| r.key_ids).unwrap_or_default();
        self.keys
            .keys()
            .filter(|id| !exported.contains(id))
            .cloned()
            .collect()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_rotation_after_an_export_is_unexported_again() {
        let tmp = tempfile::tempdir().unwrap();
        let (mut keyring, _) = Keyring::open_or_create(tmp.path()).unwrap();
        let first = keyring.active().unwrap().0.to_string();
        assert_eq!(keyring.unexported(), vec![first.clone()]);
        keyring
            .record_export(&ExportRecord {
                exported_at: Utc::now(),
                key_ids: vec![first.clone()],
                file: "/safe/keys.export".into(),
            })
            .unwrap();
        assert!(keyring.unexported().is_empty());
        assert_eq!(keyring.export_record().unwrap().key_ids, vec![first]);
        let second = keyring.rotate().unwrap().id;
        assert_eq!(keyring.unexported(), vec![second]);
        // Not mistaken for a key, and no reason to start a new keyring.
        assert_eq!(Keyring::open(tmp.path()).unwrap().list().len(), 2);
    }
}
