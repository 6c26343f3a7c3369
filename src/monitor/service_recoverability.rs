//! Recoverability of whole services, from their sources' ([`super::recoverability`]): a
//! service is the set of sources restored together after losing a host, so its **RTO** is
//! how long the newest drill that covered every one of its sources took until the last of
//! them was proven, and its **proven RPO** is the worst of its sources' (each is proven to
//! reach back that far, none further).

use std::collections::BTreeMap;

use chrono::NaiveDateTime;
use serde::Serialize;

use super::recoverability::{Health, Recoverability};
use crate::config::Settings;

#[derive(Debug, Clone, Serialize)]
pub struct ServiceRecoverability {
    pub service: String,
    pub sources: Vec<String>,
    /// The service's `rpo_minutes`, else the tightest of its sources'.
    pub rpo_target_seconds: i64,
    /// The service's `rto_minutes`; `None`: not set.
    pub rto_target_seconds: Option<i64>,
    /// The oldest of its sources' proven RPOs; `None` while any source is unproven.
    pub proven_rpo_seconds: Option<i64>,
    pub rpo_health: Health,
    /// The newest drill that covered every source of the service.
    pub last_drill: Option<ServiceDrill>,
    pub rto_health: Health,
}

#[derive(Debug, Clone, Serialize)]
pub struct ServiceDrill {
    pub task_id: String,
    pub finished_at: NaiveDateTime,
    /// Every source of the service was proven.
    pub passed: bool,
    /// From the drill's start until the last source of the service was proven.
    pub rto_ms: i64,
}

/// Every service of the configured sources, by name, from the sources' recoverability.
pub fn service_recoverability(
    settings: &Settings,
    sources: &[Recoverability],
) -> Vec<ServiceRecoverability> {
    let mut by_service: BTreeMap<&str, Vec<&Recoverability>> = BTreeMap::new();
    for source in sources {
        by_service.entry(&source.service).or_default().push(source);
    }
    by_service
        .into_iter()
        .map(|(service, members)| {
            let targets = settings.service(service);
            let rpo_target_seconds = targets
                .and_then(|t| t.rpo_minutes)
                .map(|m| i64::from(m) * 60)
                .unwrap_or_else(|| {
                    members
                        .iter()
                        .map(|r| r.rpo_target_seconds)
                        .min()
                        .unwrap_or(0)
                });
            let rto_target_seconds = targets
                .and_then(|t| t.rto_minutes)
                .map(|m| i64::from(m) * 60);
            let proven_rpo_seconds = members
                .iter()
                .map(|r| r.proven_rpo_seconds)
                .collect::<Option<Vec<i64>>>()
                .and_then(|ages| ages.into_iter().max());
            let rpo_health = match proven_rpo_seconds {
                Some(age) => Health::against(age, Some(rpo_target_seconds)),
                None => Health::Red,
            };
            let last_drill = newest_covering_drill(&members);
            let rto_health = match &last_drill {
                Some(d) if d.passed => Health::against((d.rto_ms + 999) / 1000, rto_target_seconds),
                _ => Health::Red,
            };
            ServiceRecoverability {
                service: service.to_string(),
                sources: members.iter().map(|r| r.source.clone()).collect(),
                rpo_target_seconds,
                rto_target_seconds,
                proven_rpo_seconds,
                rpo_health,
                last_drill,
                rto_health,
            }
        })
        .collect()
}

/// The newest drill (among each source's recent ones) that every member took part in.
fn newest_covering_drill(members: &[&Recoverability]) -> Option<ServiceDrill> {
    let (first, rest) = members.split_first()?;
    first
        .drills
        .iter()
        .filter_map(|d| {
            let parts: Vec<_> = rest
                .iter()
                .map(|r| r.drills.iter().find(|o| o.task_id == d.task_id))
                .collect::<Option<Vec<_>>>()?;
            Some(ServiceDrill {
                task_id: d.task_id.clone(),
                finished_at: d.finished_at,
                passed: d.passed && parts.iter().all(|p| p.passed),
                rto_ms: parts.iter().map(|p| p.rto_ms).fold(d.rto_ms, i64::max),
            })
        })
        .max_by_key(|d| d.finished_at)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::db::DrillSource;

    fn at(minute: u32) -> NaiveDateTime {
        chrono::NaiveDate::from_ymd_opt(2026, 12, 7)
            .unwrap()
            .and_hms_opt(12, minute, 0)
            .unwrap()
    }

    fn drilled(task: &str, source: &str, passed: bool, rto_ms: i64, minute: u32) -> DrillSource {
        DrillSource {
            task_id: task.into(),
            source: source.into(),
            service: "shop".into(),
            backup_id: "b".into(),
            passed,
            rto_ms,
            taken_at: at(0),
            finished_at: at(minute),
        }
    }

    fn source(name: &str, proven_rpo: Option<i64>, drills: Vec<DrillSource>) -> Recoverability {
        Recoverability {
            source: name.into(),
            service: "shop".into(),
            rpo_target_seconds: 3600,
            rto_target_seconds: None,
            proven_since: None,
            proven_rpo_seconds: proven_rpo,
            rpo_health: Health::Green,
            deep_verified_rpo_seconds: None,
            drills,
            rto_health: Health::Green,
            last_success: None,
        }
    }

    fn settings() -> Settings {
        let text = r#"
            [[sources]]
            name = "files"
            service = "shop"
            kind = "directory"
            path = "/srv/files"
            [[sources]]
            name = "db"
            service = "shop"
            kind = "sqlite"
            path = "/srv/db.sqlite"
            [services.shop]
            rto_minutes = 1
        "#;
        Settings::from_toml(text, "t.toml", &|_| None).unwrap()
    }

    #[test]
    fn a_service_takes_the_newest_drill_of_all_its_sources_and_the_worst_proven_rpo() {
        // d2 drilled only `files` (newer); d1 drilled both: d1 is the service's drill, and
        // its RTO is when the slower source was proven.
        let files = source(
            "files",
            Some(600),
            vec![
                drilled("d2", "files", true, 500, 30),
                drilled("d1", "files", true, 20_000, 10),
            ],
        );
        let db = source(
            "db",
            Some(1800),
            vec![drilled("d1", "db", true, 70_000, 10)],
        );
        let all = service_recoverability(&settings(), &[files.clone(), db]);
        assert_eq!(all.len(), 1);
        let shop = &all[0];
        assert_eq!(shop.sources, ["files", "db"]);
        assert_eq!(shop.proven_rpo_seconds, Some(1800));
        assert_eq!(
            shop.rpo_target_seconds, 3600,
            "the tightest of its sources'"
        );
        assert_eq!(shop.rpo_health, Health::Green);
        let drill = shop.last_drill.as_ref().unwrap();
        assert_eq!(
            (drill.task_id.as_str(), drill.rto_ms, drill.passed),
            ("d1", 70_000, true)
        );
        assert_eq!(shop.rto_target_seconds, Some(60));
        assert_eq!(shop.rto_health, Health::Amber, "71 s against 60 s");

        // A source never proven leaves the service unproven; never drilled together: no RTO.
        let db = source("db", None, vec![]);
        let shop = &service_recoverability(&settings(), &[files, db])[0];
        assert_eq!(shop.proven_rpo_seconds, None);
        assert_eq!(shop.rpo_health, Health::Red);
        assert!(shop.last_drill.is_none());
        assert_eq!(shop.rto_health, Health::Red);
    }
}
