//! The audit chain in the monitor: its head is published to storage at least hourly while
//! the chain moves (`jobs::audit_chain::publish`), and the whole chain is verified daily;
//! a broken chain raises [`Event::AuditChainBroken`] once (until a check finds it whole).

use chrono::{Duration, NaiveDateTime};

use crate::app::App;
use crate::db::{AuditHead, MonitorAlert};
use crate::error::Result;
use crate::jobs::audit_chain::{publish_head, verify_chain};
use crate::notify::Event;

const SUBJECT: &str = "audit_chain";

/// What this pass did.
#[derive(Debug, Default, Clone, PartialEq)]
pub struct AuditChecked {
    /// A head was published (its position).
    pub published: Option<i64>,
    /// The chain was verified: whether it was intact.
    pub intact: Option<bool>,
}

/// One pass at `now`.
pub fn check_audit_chain(app: &App, now: NaiveDateTime) -> Result<AuditChecked> {
    let head = AuditHead::get(&mut *app.conn()?)?;
    let mut checked = AuditChecked::default();
    if head
        .checked_at
        .is_none_or(|at| now - at >= Duration::hours(24))
    {
        let report = verify_chain(app)?;
        AuditHead::mark_checked(&mut *app.conn()?, now)?;
        checked.intact = Some(report.ok);
        if report.ok {
            MonitorAlert::clear(&mut *app.conn()?, SUBJECT)?;
        } else {
            tracing::error!("{}", report.summary());
            if MonitorAlert::raise_once(&mut *app.conn()?, SUBJECT, now)? {
                app.notifier().raise(Event::AuditChainBroken {
                    problem: report.summary(),
                });
            }
            return Ok(checked);
        }
    }
    let moved = head.published_seq != Some(head.seq);
    let due = head
        .published_at
        .is_none_or(|at| now - at >= Duration::hours(1));
    if moved && due {
        checked.published = Some(publish_head(app)?.seq);
    }
    Ok(checked)
}
