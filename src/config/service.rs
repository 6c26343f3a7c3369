//! `[services.NAME]`: recovery targets of a service as a whole — the set of sources that
//! share a `service` and are restored together. A service's RTO is the time a drill of all
//! its sources took until the last was proven; its proven RPO is the worst of its sources'.

use std::collections::{BTreeMap, BTreeSet};

use serde::Deserialize;

use super::source::{SourceConfig, YEAR_MINUTES};

/// Targets of one service, as written in the config file.
#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub(super) struct ServiceConfig {
    rpo_minutes: Option<u32>,
    rto_minutes: Option<u32>,
}

/// A service's targets; `None`: not set for the service (each source's own still count).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ServiceTargets {
    pub name: String,
    pub rpo_minutes: Option<u32>,
    pub rto_minutes: Option<u32>,
}

/// Checks every `[services.NAME]` against the sources: a service nobody belongs to is a typo.
pub(super) fn parse_services(
    services: BTreeMap<String, ServiceConfig>,
    sources: &[SourceConfig],
) -> Result<Vec<ServiceTargets>, (String, String)> {
    let known: BTreeSet<&str> = sources.iter().map(|s| s.service.as_str()).collect();
    services
        .into_iter()
        .map(|(name, config)| {
            let key = |k: &str| format!("services.{name}.{k}");
            if !known.contains(name.as_str()) {
                let listed: Vec<&str> = known.iter().copied().collect();
                return Err((
                    format!("services.{name}"),
                    format!(
                        "no source belongs to service `{name}` (the sources' services: {})",
                        if listed.is_empty() {
                            "none".into()
                        } else {
                            listed.join(", ")
                        }
                    ),
                ));
            }
            for (k, minutes) in [
                ("rpo_minutes", config.rpo_minutes),
                ("rto_minutes", config.rto_minutes),
            ] {
                if let Some(minutes) = minutes {
                    if !(1..=YEAR_MINUTES).contains(&minutes) {
                        return Err((
                            key(k),
                            format!("{minutes} is out of range 1..={YEAR_MINUTES} (a year)"),
                        ));
                    }
                }
            }
            Ok(ServiceTargets {
                name,
                rpo_minutes: config.rpo_minutes,
                rto_minutes: config.rto_minutes,
            })
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use crate::config::{ServiceTargets, Settings};

    const SOURCES: &str = r#"
        [[sources]]
        name = "uploads"
        service = "shop"
        kind = "directory"
        path = "/srv/uploads"
    "#;

    fn load(extra: &str) -> Result<Settings, String> {
        Settings::from_toml(&format!("{SOURCES}\n{extra}"), "t.toml", &|_| None)
            .map_err(|e| e.to_string())
    }

    #[test]
    fn a_service_takes_its_own_rpo_and_rto_targets() {
        let s = load("[services.shop]\nrpo_minutes = 60\nrto_minutes = 15").unwrap();
        assert_eq!(
            s.service("shop"),
            Some(&ServiceTargets {
                name: "shop".into(),
                rpo_minutes: Some(60),
                rto_minutes: Some(15)
            })
        );
        assert!(load("").unwrap().services.is_empty());
    }

    #[test]
    fn a_service_nobody_belongs_to_an_unknown_key_or_a_target_out_of_range_is_refused() {
        let error = load("[services.shpo]\nrto_minutes = 15").unwrap_err();
        assert!(
            error.contains("`services.shpo`: no source belongs to service `shpo` (the sources' services: shop)"),
            "{error}"
        );
        let error = load("[services.shop]\nrto_minute = 15").unwrap_err();
        assert!(error.contains("unknown field `rto_minute`"), "{error}");
        let error = load("[services.shop]\nrto_minutes = 0").unwrap_err();
        assert!(
            error.contains("`services.shop.rto_minutes`: 0 is out of range"),
            "{error}"
        );
    }
}
