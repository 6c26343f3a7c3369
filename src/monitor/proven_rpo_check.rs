//! The proven-RPO alert: [`Event::ProvenRpoMissed`] once when the newest backup of a source
//! that passed a drill gets older than its RPO target; over when a newer one passes (or the
//! source leaves the config). Only for sources that have been drilled at all: an install
//! that never ran a drill is not told so every minute.

use chrono::NaiveDateTime;

use crate::app::App;
use crate::db::MonitorAlert;
use crate::error::Result;
use crate::monitor::recoverability::{recoverability, Recoverability};
use crate::monitor::service_recoverability::service_recoverability;
use crate::notify::Event;

const PREFIX: &str = "proven-rpo:";
const SERVICE_PREFIX: &str = "service-proven-rpo:";

/// Checks every drilled source at `now`; returns the sources whose alert this call raised.
pub fn check_proven_rpo(app: &App, now: NaiveDateTime) -> Result<Vec<String>> {
    let mut conn = app.conn()?;
    let mut raised = Vec::new();
    let sources = recoverability(&mut conn, &app.settings, now)?;
    for r in &sources {
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
    raised.extend(check_services(app, &sources, now)?);
    Ok(raised)
}

/// The same per service (`service:<name>` in the returned list): raised once the oldest of
/// its sources' proven RPOs passes the service's target, or while one of them was never
/// proven; only for services some source of which has been drilled.
fn check_services(
    app: &App,
    sources: &[Recoverability],
    now: NaiveDateTime,
) -> Result<Vec<String>> {
    let mut conn = app.conn()?;
    let mut raised = Vec::new();
    let services = service_recoverability(&app.settings, sources);
    for s in &services {
        let subject = format!("{SERVICE_PREFIX}{}", s.service);
        let drilled = sources
            .iter()
            .any(|r| r.service == s.service && !r.drills.is_empty());
        let missed = s
            .proven_rpo_seconds
            .is_none_or(|age| age > s.rpo_target_seconds);
        if drilled && missed {
            if MonitorAlert::raise_once(&mut conn, &subject, now)? {
                app.notifier().raise(Event::ServiceProvenRpoMissed {
                    service: s.service.clone(),
                    age_seconds: s.proven_rpo_seconds,
                    rpo_seconds: s.rpo_target_seconds,
                });
                raised.push(format!("service:{}", s.service));
            }
        } else {
            MonitorAlert::clear(&mut conn, &subject)?;
        }
    }
    for subject in MonitorAlert::list_subjects(&mut conn, SERVICE_PREFIX)? {
        let name = &subject[SERVICE_PREFIX.len()..];
        if !services.iter().any(|s| s.service == name) {
            MonitorAlert::clear(&mut conn, &subject)?;
        }
    }
    Ok(raised)
}
