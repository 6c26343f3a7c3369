//! The drill figures of `/metrics`, per configured source: when a drill last passed, the
//! last measured RTO, the proven RPO and the targets (`monitor/recoverability.rs`); and per
//! service (`monitor/service_recoverability.rs`).

use chrono::NaiveDateTime;

use super::exposition::Exposition;
use crate::config::Settings;
use crate::db::{DbConnection, DbError};
use crate::monitor::recoverability::{recoverability, Recoverability};
use crate::monitor::service_recoverability::{service_recoverability, ServiceRecoverability};

pub fn render(
    e: &mut Exposition,
    conn: &mut DbConnection,
    settings: &Settings,
    now: NaiveDateTime,
) -> Result<(), DbError> {
    let all = recoverability(conn, settings, now)?;
    gauge(
        e,
        &all,
        "coffer_drill_last_success_timestamp",
        "When a drill of a source last passed (Unix time); absent if never.",
        |r| r.last_success.map(unix),
    );
    gauge(
        e,
        &all,
        "coffer_drill_rto_seconds",
        "How long the last drill of a source took to restore and prove it; absent if never drilled.",
        Recoverability::last_rto_seconds,
    );
    gauge(
        e,
        &all,
        "coffer_proven_rpo_seconds",
        "Age of the newest backup of a source that passed a drill; absent if none did.",
        |r| r.proven_rpo_seconds.map(|s| s as f64),
    );
    gauge(
        e,
        &all,
        "coffer_deep_verified_rpo_seconds",
        "Age of the newest backup of a source that passed a deep verify (read back, not restored: weaker evidence than a drill); absent if none did.",
        |r| r.deep_verified_rpo_seconds.map(|s| s as f64),
    );
    gauge(
        e,
        &all,
        "coffer_rto_target_seconds",
        "The recovery time objective of a source (rto_minutes); absent if not set.",
        |r| r.rto_target_seconds.map(|s| s as f64),
    );
    let services = service_recoverability(settings, &all);
    service_gauge(
        e,
        &services,
        "coffer_service_rto_seconds",
        "How long the newest drill of all a service's sources took until the last was proven; absent if they were never drilled together or it failed.",
        |s| s.last_drill.as_ref().filter(|d| d.passed).map(|d| d.rto_ms as f64 / 1000.0),
    );
    service_gauge(
        e,
        &services,
        "coffer_service_proven_rpo_seconds",
        "The oldest proven RPO of a service's sources; absent while any of them is unproven.",
        |s| s.proven_rpo_seconds.map(|v| v as f64),
    );
    service_gauge(
        e,
        &services,
        "coffer_service_rto_target_seconds",
        "The recovery time objective of a service ([services.NAME] rto_minutes); absent if not set.",
        |s| s.rto_target_seconds.map(|v| v as f64),
    );
    Ok(())
}

/// One gauge family with a sample per service that has a value.
fn service_gauge(
    e: &mut Exposition,
    all: &[ServiceRecoverability],
    name: &str,
    help: &str,
    value: impl Fn(&ServiceRecoverability) -> Option<f64>,
) {
    e.family(name, "gauge", help);
    for s in all {
        if let Some(v) = value(s) {
            e.sample(name, &[("service", s.service.as_str())], v);
        }
    }
}

/// One gauge family with a sample per source that has a value.
fn gauge(
    e: &mut Exposition,
    all: &[Recoverability],
    name: &str,
    help: &str,
    value: impl Fn(&Recoverability) -> Option<f64>,
) {
    e.family(name, "gauge", help);
    for r in all {
        if let Some(v) = value(r) {
            let labels = [
                ("source", r.source.as_str()),
                ("service", r.service.as_str()),
            ];
            e.sample(name, &labels, v);
        }
    }
}

fn unix(at: NaiveDateTime) -> f64 {
    at.and_utc().timestamp_millis() as f64 / 1000.0
}
