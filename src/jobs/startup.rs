//! What every Coffer process does once the application is open, before its first command:
//! settle the restores a killed process left (each source all old or all new), fail the
//! tasks of processes that died, and sweep their leftovers. A step of its own, not part of
//! `App::open`, so that opening the application needs nothing from `jobs`.

use crate::app::{App, KeyPolicy};
use crate::config::Settings;
use crate::error::Result;
use crate::jobs::restore::recovery::{recover_restores, Recovered};
use crate::jobs::run::recovery::{fail_abandoned_tasks, sweep_leftovers};

/// An open application, repaired; with the interrupted restores it settled (`coffer
/// recover` shows them).
pub struct Started {
    pub app: App,
    pub recovered: Vec<Recovered>,
}

/// Opens the application and repairs what a crashed process left behind.
pub fn start(settings: Settings, keys: KeyPolicy) -> Result<Started> {
    let app = App::open_with(settings, keys)?;
    let recovered = repair(&app)?;
    Ok(Started { app, recovered })
}

/// Settles interrupted restores, then fails abandoned tasks and removes their leftovers.
pub fn repair(app: &App) -> Result<Vec<Recovered>> {
    // Interrupted restores first: they know how their task ended, a dead pid does not.
    let recovered = recover_restores(app);
    fail_abandoned_tasks(app)?;
    sweep_leftovers(app);
    Ok(recovered)
}
