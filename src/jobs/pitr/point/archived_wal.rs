//! The WAL a recovery replays, fetched from Coffer's own WAL archive (`jobs/pitr/wal`) into a
//! scratch folder the temporary server reads with its `restore_command`: every segment from
//! the base backup's start on, each decrypted and checked before the server sees it (a bad
//! copy is read from a replica, or named). Removed when dropped.

use std::fs;
use std::path::{Path, PathBuf};

use crate::app::App;
use crate::engine::extract::remove_tree;
use crate::engine::manifest::BaseBackupFacts;
use crate::error::{Error, IoContext, Result};
use crate::jobs::pitr::wal::fetch_wal;
use crate::sources::postgres::recovery_server::give_to;

use super::server_reachable_tmp;

pub struct ArchivedWal {
    dir: PathBuf,
}

impl ArchivedWal {
    /// Fetches the archived WAL of `source` a recovery from the base backup `facts` needs,
    /// into a folder the server's `user` can read.
    pub fn fetch(
        app: &App,
        source: &str,
        facts: &BaseBackupFacts,
        user: Option<(u32, u32)>,
    ) -> Result<ArchivedWal> {
        let tag = &uuid::Uuid::new_v4().simple().to_string()[..12];
        let parent = server_reachable_tmp(app, user)?.unwrap_or_else(std::env::temp_dir);
        let dir = parent.join(format!(".coffer-pitr-wal-{tag}"));
        fs::create_dir(&dir).ctx(|| format!("creating {}", dir.display()))?;
        let archived = ArchivedWal { dir };
        let fetched = fetch_wal(
            app,
            source,
            &facts.start_segment,
            Some(facts.timeline),
            &archived.dir,
        )?;
        if fetched.segments == 0 {
            return Err(Error::Refused(format!(
                "source `{source}` has no WAL archived from segment {} on (the base backup's \
                 start): is it streaming? `coffer serve` or `coffer worker` streams the WAL of \
                 every `pitr = true` source; `coffer sources check` says what the server lacks",
                facts.start_segment
            )));
        }
        give_to(user, &archived.dir)?;
        Ok(archived)
    }

    pub fn path(&self) -> &Path {
        &self.dir
    }
}

impl Drop for ArchivedWal {
    fn drop(&mut self) {
        if let Err(e) = remove_tree(&self.dir) {
            if e.kind() != std::io::ErrorKind::NotFound {
                tracing::error!("cannot remove {}: {e}", self.dir.display());
            }
        }
    }
}
