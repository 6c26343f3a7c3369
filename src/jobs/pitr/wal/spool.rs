//! The spool folder `pg_receivewal` writes into (`<data_dir>/pitr/<source>/spool`): finished
//! segments and history files appear under their own names (renamed there once complete and
//! synced), the segment being received as `<name>.partial`. Each finished file is stored,
//! oldest first, and only then removed; the partial one is stored whenever its content
//! changed since it was last stored. What a killed process left in the spool is stored by
//! the next one, and `pg_receivewal` resumes from it.

use std::path::{Path, PathBuf};

use sha2::{Digest, Sha256};

use super::names::WalName;
use super::store::store_wal;
use crate::app::App;
use crate::error::{IoContext, Result};

const PARTIAL: &str = ".partial";

pub struct Spool {
    pub dir: PathBuf,
    /// The partial segment last stored by this process, and its SHA-256.
    stored_partial: Option<(String, [u8; 32])>,
}

impl Spool {
    pub fn new(data_dir: &Path, source: &str) -> Spool {
        Spool {
            dir: data_dir.join("pitr").join(source).join("spool"),
            stored_partial: None,
        }
    }

    pub fn create(&self) -> Result<()> {
        std::fs::create_dir_all(&self.dir).ctx(|| format!("creating {}", self.dir.display()))
    }

    /// Stores every finished segment and history file (history first, then by name),
    /// removing each from the spool once stored. Stops at the first failure, so what is
    /// stored never skips a segment. Returns how many were stored.
    pub fn store_finished(&mut self, app: &App, source: &str) -> Result<usize> {
        let mut finished: Vec<(bool, String)> = self
            .names()?
            .into_iter()
            .filter_map(|name| match WalName::parse(&name)? {
                WalName::History { .. } => Some((false, name)),
                WalName::Segment { .. } => Some((true, name)),
            })
            .collect();
        finished.sort();
        for (_, name) in &finished {
            let path = self.dir.join(name);
            let plain = std::fs::read(&path).ctx(|| format!("reading {}", path.display()))?;
            store_wal(app, source, name, false, &plain)?;
            std::fs::remove_file(&path).ctx(|| format!("removing {}", path.display()))?;
            if self.stored_partial.as_ref().is_some_and(|(p, _)| p == name) {
                self.stored_partial = None;
            }
            tracing::debug!("WAL of `{source}`: stored {name}");
        }
        Ok(finished.len())
    }

    /// Stores the newest partial segment when it changed since this process last stored
    /// it. `true` when it was stored.
    pub fn store_partial(&mut self, app: &App, source: &str) -> Result<bool> {
        let newest = self
            .names()?
            .into_iter()
            .filter_map(|file| {
                let name = file.strip_suffix(PARTIAL)?;
                matches!(WalName::parse(name)?, WalName::Segment { .. }).then(|| name.to_string())
            })
            .max();
        let Some(name) = newest else {
            return Ok(false);
        };
        let path = self.dir.join(format!("{name}{PARTIAL}"));
        let plain = match std::fs::read(&path) {
            Ok(plain) => plain,
            // Finished (renamed) since the listing: the next round stores it whole.
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(false),
            Err(e) => return Err(e).ctx(|| format!("reading {}", path.display())),
        };
        let digest: [u8; 32] = Sha256::digest(&plain).into();
        if self.stored_partial.as_ref() == Some(&(name.clone(), digest)) {
            return Ok(false);
        }
        store_wal(app, source, &name, true, &plain)?;
        self.stored_partial = Some((name, digest));
        Ok(true)
    }

    fn names(&self) -> Result<Vec<String>> {
        let entries =
            std::fs::read_dir(&self.dir).ctx(|| format!("reading {}", self.dir.display()))?;
        let mut names = Vec::new();
        for entry in entries {
            let entry = entry.ctx(|| format!("reading {}", self.dir.display()))?;
            if let Some(name) = entry.file_name().to_str() {
                names.push(name.to_string());
            }
        }
        Ok(names)
    }
}
