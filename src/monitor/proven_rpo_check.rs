//! The proven-RPO alert: [`Event::ProvenRpoMissed`] once when the newest backup of a source
//! that passed a drill gets older than its RPO target; over when a newer one passes (or the
//! source leaves the config). Only for sources that have been drilled at all: an install
//! that never ran a drill is not told so every minute.

use chrono::NaiveDateTime;

use crate::app::App;
use crate::db::MonitorAlert;
use crate::error::Result;
use crate::monitor::recoverability::recoverability;
use crate::notify::Event;

const PREFIX: &str = "proven-rpo:";

/// Checks every drilled source at `now`; returns the sources whose alert this call raised.
pub fn check_proven_rpo(app: &App, now: NaiveDateTime) -> Result<Vec<String>> {
    let mut conn = app.conn()?;
    let mut raised = Vec::new();
    for r in recoverability(&mut conn, &app.settings, now)? {
        let subject = format!("{PREFIX}{}", r.source);
        if r.drills.is_empty() {
            continue;
        }
        if r.rpo_missed() {
            if MonitorAlert::raise_once(&mut conn, &subject, now)? {
                app.notifier().raise(Event::ProvenRpoMissed {
                    source: r.source.clone(),
                    age_seconds: r.proven_rpo_seconds,
                    rpo_seconds: r.rpo_target_seconds,
                });
                raised.push(r.source.clone());
            }
        } else {
            MonitorAlert::clear(&mut conn, &subject)?;
        }
    }
    for subject in MonitorAlert::list_subjects(&mut conn, PREFIX)? {
        if app.settings.source(&subject[PREFIX.len()..]).is_none() {
            MonitorAlert::clear(&mut conn, &subject)?;
        }
    }
    Ok(raised)
}
