//! The Recoverability page's service rows: per service (the sources restored together), the
//! worst proven RPO of its sources and the RTO of the newest drill that covered them all,
//! each against the service's targets.

use chrono::NaiveDateTime;

use super::{rto_text, LastDrill};
use crate::monitor::service_recoverability::ServiceRecoverability;
use crate::present::duration_text;
use crate::web::backups::rows::age;

pub struct ServiceRow {
    pub service: String,
    /// "files, db".
    pub sources: String,
    pub rpo_health: &'static str,
    pub proven_rpo: String,
    pub rpo_target: String,
    pub rto_health: &'static str,
    pub last_rto: String,
    pub rto_target: String,
    pub last_drill: Option<LastDrill>,
}

impl ServiceRow {
    pub fn of(s: &ServiceRecoverability, now: NaiveDateTime) -> ServiceRow {
        ServiceRow {
            service: s.service.clone(),
            sources: s.sources.join(", "),
            rpo_health: s.rpo_health.as_str(),
            proven_rpo: s
                .proven_rpo_seconds
                .map_or_else(|| "not proven".into(), duration_text),
            rpo_target: duration_text(s.rpo_target_seconds),
            rto_health: s.rto_health.as_str(),
            last_rto: match &s.last_drill {
                None => "never drilled together".into(),
                Some(d) if !d.passed => "last drill failed".into(),
                Some(d) => rto_text(d.rto_ms),
            },
            rto_target: s
                .rto_target_seconds
                .map_or_else(|| "not set".into(), duration_text),
            last_drill: s.last_drill.as_ref().map(|d| LastDrill {
                task_id: d.task_id.clone(),
                when: age(d.finished_at, now),
                passed: d.passed,
            }),
        }
    }
}
