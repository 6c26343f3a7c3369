//! Service-level proven-RPO alerts: a service is as recoverable as its least proven source,
//! so the monitor raises one `service_proven_rpo_missed` while some source of a drilled
//! service was never proven or the oldest proven RPO passes the service's target — once per
//! miss, not once per pass — and clears it when a drill of the whole service proves it.

use chrono::Duration;
use coffer::config::{ServiceTargets, SourceSpec};
use coffer::db::{LogEntry, LogFilter};
use coffer::domain::{BackupKind, Role, Scope};
use coffer::jobs::backup::{run_backup, BackupRequest};
use coffer::monitor::check_once;
use serde_json::json;

use super::harness::{Browser, TestConsole};
use crate::helpers::{tester, BOTH};

/// The audit log's notify entries about service `app`.
fn service_alerts(console: &TestConsole) -> Vec<String> {
    let filter = LogFilter {
        operation: Some("notify".into()),
        ..LogFilter::default()
    };
    LogEntry::list(&mut console.app.conn().unwrap(), &filter)
        .unwrap()
        .into_iter()
        .map(|e| e.message)
        .filter(|m| m.contains("Service `app`"))
        .collect()
}

fn drill(console: &TestConsole, operator: &Browser, body: serde_json::Value) {
    let response = operator
        .client
        .post(operator.url("/api/v1/drills"))
        .header("X-CSRF-Token", &operator.csrf)
        .json(&body)
        .send()
        .unwrap();
    assert_eq!(
        response.status().as_u16(),
        202,
        "{}",
        response.text().unwrap()
    );
    console.run_pending_jobs();
}

#[test]
fn a_service_not_all_proven_or_proven_too_long_ago_raises_one_alert_per_miss() {
    for backend in &BOTH {
        let console = TestConsole::start_with(backend, |s| {
            // A second source of service `app`: one file of the first one's folder.
            let mut notes = s.sources[0].clone();
            let folder = notes.path().unwrap().to_path_buf();
            notes.name = "notes".into();
            notes.spec = SourceSpec::File {
                path: folder.join("hello.txt"),
            };
            s.sources.push(notes);
            s.services.push(ServiceTargets {
                name: "app".into(),
                rpo_minutes: Some(60),
                rto_minutes: None,
            });
        });
        let operator = console.login_as(Role::Operator);
        let request = BackupRequest::new(Scope::All, BackupKind::Full);
        run_backup(&console.app, &request, &tester(), None).unwrap();

        // Never drilled at all: nothing to say yet.
        let now = coffer::db::now();
        assert!(check_once(&console.app, now).proven_rpo_missed.is_empty());

        // One source proven, the other never: the service is unproven, one alert.
        drill(&console, &operator, json!({"sources": ["files"]}));
        let now = coffer::db::now();
        let raised = check_once(&console.app, now).proven_rpo_missed;
        assert!(raised.contains(&"service:app".to_string()), "{raised:?}");
        for minute in 1..3 {
            let later = now + Duration::minutes(minute);
            let raised = check_once(&console.app, later).proven_rpo_missed;
            assert!(!raised.contains(&"service:app".to_string()), "{raised:?}");
        }
        let alerts = service_alerts(&console);
        assert_eq!(alerts.len(), 1, "{alerts:?}");
        assert!(alerts[0].contains("no backup that passed"), "{alerts:?}");

        // A drill of the whole service proves it: the miss is over.
        drill(&console, &operator, json!({"service": "app"}));
        let now = coffer::db::now();
        let raised = check_once(&console.app, now).proven_rpo_missed;
        assert!(!raised.contains(&"service:app".to_string()), "{raised:?}");

        // Two hours on, the proven backup is older than the service's 60-minute target
        // (its sources' own targets, 26 h by default, are still met): the next alert.
        let later = now + Duration::hours(2);
        assert_eq!(
            check_once(&console.app, later).proven_rpo_missed,
            vec!["service:app".to_string()]
        );
        let alerts = service_alerts(&console);
        assert_eq!(alerts.len(), 2, "{alerts:?}");
        assert!(alerts.iter().any(|a| a.contains("(RPO 1h)")), "{alerts:?}");
    }
}
