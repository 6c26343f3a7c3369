//! The RPO alert: [`Event::RpoMissed`] once when a source goes past its RPO; the alert is
//! over when the source has a successful backup within its RPO again (or leaves the config),
//! so the next miss raises it again.

use chrono::NaiveDateTime;

use crate::app::App;
use crate::db::MonitorAlert;
use crate::error::Result;
use crate::monitor::rpo::rpo_status;
use crate::notify::Event;

const PREFIX: &str = "rpo:";

/// Checks every source at `now`; returns the sources whose alert this call raised.
pub fn check_rpo(app: &App, now: NaiveDateTime) -> Result<Vec<String>> {
    let mut conn = app.conn()?;
    let statuses = rpo_status(&mut conn, &app.settings, now)?;
    let mut raised = Vec::new();
    for status in &statuses {
        let subject = format!("{PREFIX}{}", status.source);
        if let Some(age) = status.alert_age() {
            if MonitorAlert::raise_once(&mut conn, &subject, now)? {
                app.notifier().raise(Event::RpoMissed {
                    source: status.source.clone(),
                    age_seconds: age.num_seconds(),
                    rpo_seconds: status.rpo.num_seconds(),
                });
                raised.push(status.source.clone());
            }
        } else if !status.missed() {
            MonitorAlert::clear(&mut conn, &subject)?;
        }
    }
    for subject in MonitorAlert::list_subjects(&mut conn, PREFIX)? {
        let source = &subject[PREFIX.len()..];
        if app.settings.source(source).is_none() {
            MonitorAlert::clear(&mut conn, &subject)?;
        }
    }
    Ok(raised)
}
