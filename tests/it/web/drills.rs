//! Drills through the console and the API: `POST /api/v1/drills` queues one, the list and
//! one drill read back its report, `/metrics` has the drill figures, the Recoverability page
//! refuses a drill with nothing to drill next to its form, and a failed drill raises its
//! alert.

use coffer::domain::{BackupKind, Role, Scope};
use coffer::jobs::backup::{run_backup, BackupRequest};
use serde_json::{json, Value};

use super::harness::{Browser, TestConsole};
use crate::helpers::{tester, BOTH};

fn post_json(browser: &Browser, path: &str, body: &Value) -> (u16, Value) {
    let response = browser
        .client
        .post(browser.url(path))
        .header("X-CSRF-Token", &browser.csrf)
        .json(body)
        .send()
        .unwrap();
    let status = response.status().as_u16();
    (status, response.json().unwrap())
}

fn get_json(browser: &Browser, path: &str) -> (u16, Value) {
    let response = browser.get(path);
    let status = response.status().as_u16();
    (status, response.json().unwrap())
}

fn back_up(console: &TestConsole) {
    let request = BackupRequest::new(Scope::All, BackupKind::Full);
    run_backup(&console.app, &request, &tester(), None).unwrap();
}

#[test]
fn a_drill_queued_through_the_api_is_listed_with_its_report_and_measured_in_metrics() {
    for backend in &BOTH {
        let console = TestConsole::start_with(backend, |s| s.sources[0].rto_minutes = Some(5));
        let operator = console.login_as(Role::Operator);
        // Nothing to drill yet: refused with what to do.
        let (status, body) = post_json(&operator, "/api/v1/drills", &json!({}));
        assert_eq!(status, 409, "{body}");
        assert!(
            body["error"]
                .as_str()
                .unwrap()
                .contains("back them up first"),
            "{body}"
        );
        back_up(&console);

        let (status, body) = post_json(&operator, "/api/v1/drills", &json!({"sources": ["files"]}));
        assert_eq!(status, 202, "{body}");
        let task = body["task"]["id"].as_str().unwrap().to_string();
        assert_eq!(body["task"]["kind"], "drill");
        console.run_pending_jobs();

        let (status, list) = get_json(&operator, "/api/v1/drills");
        assert_eq!(status, 200);
        let drills = list["drills"].as_array().unwrap();
        assert_eq!(drills.len(), 1, "{list}");
        assert_eq!(drills[0]["task_id"], task.as_str());
        assert_eq!(drills[0]["passed"], true, "{list}");
        assert_eq!(drills[0]["report"]["sources"][0]["source"], "files");
        let (status, one) = get_json(&operator, &format!("/api/v1/drills/{task}"));
        assert_eq!(status, 200);
        assert_eq!(one["report"]["passed"], true);

        let metrics = operator.page("/metrics");
        for line in [
            "coffer_drill_last_success_timestamp{source=\"files\",service=\"app\"}",
            "coffer_drill_rto_seconds{source=\"files\",service=\"app\"}",
            "coffer_proven_rpo_seconds{source=\"files\",service=\"app\"}",
            "coffer_rto_target_seconds{source=\"files\",service=\"app\"} 300",
        ] {
            assert!(metrics.contains(line), "{line} in:\n{metrics}");
        }

        // The report's page and the task's audit entry.
        let report = operator.page(&format!("/drills/{task}"));
        assert!(report.contains("match their SHA-256"), "{report}");
        let audit = operator.page("/audit");
        assert!(audit.contains("drill of backup"), "{audit}");
    }
}

#[test]
fn bad_drill_requests_get_a_clear_4xx() {
    let console = TestConsole::start(&BOTH[0]);
    let operator = console.login_as(Role::Operator);
    back_up(&console);
    let cases = [
        (json!({"sourcez": ["files"]}), 400, "unknown field"),
        (
            json!({"sources": ["nope"]}),
            409,
            "no successful backup holds nope",
        ),
        (json!({"backup": "no-such-backup"}), 404, "not found"),
        (
            json!({"service": "elsewhere"}),
            400,
            "no configured source belongs to service",
        ),
    ];
    for (body, expected, says) in cases {
        let (status, answer) = post_json(&operator, "/api/v1/drills", &body);
        assert_eq!(status, expected, "{body}: {answer}");
        assert!(
            answer["error"].as_str().unwrap().contains(says),
            "{body}: {answer}"
        );
    }
    let (status, answer) = get_json(&operator, "/api/v1/drills?limit=0");
    assert_eq!(status, 400, "{answer}");
    let (status, answer) = get_json(&operator, "/api/v1/drills/not-a-drill");
    assert_eq!(status, 404, "{answer}");
    let response = operator.get("/drills/not-a-drill");
    assert_eq!(response.status(), 404);
    // The page's form: a service nobody has is refused next to the form.
    let response = operator.post("/recoverability/drill", &[("service", "elsewhere")]);
    assert_eq!(response.status(), 409);
    let page = response.text().unwrap();
    assert!(
        page.contains("No source belongs to service `elsewhere`"),
        "{page}"
    );
}

#[test]
fn a_drill_of_a_damaged_backup_raises_its_alert() {
    let console = TestConsole::start(&BOTH[0]);
    back_up(&console);
    // Damage the stored archive: every byte is authenticated.
    let mut conn = console.app.conn().unwrap();
    let backup = &coffer::db::Backup::list(&mut conn, &Default::default()).unwrap()[0];
    let archive = console
        .env
        .path("backups")
        .join(backup.storage_key.as_ref().unwrap());
    let mut bytes = std::fs::read(&archive).unwrap();
    let middle = bytes.len() / 2;
    bytes[middle] ^= 0xff;
    std::fs::write(&archive, bytes).unwrap();
    let operator = console.login_as(Role::Operator);
    let (status, _) = post_json(&operator, "/api/v1/drills", &json!({}));
    assert_eq!(status, 202);
    console.run_pending_jobs();
    let entries = coffer::db::LogEntry::list(
        &mut conn,
        &coffer::db::LogFilter {
            operation: Some("notify".into()),
            ..Default::default()
        },
    )
    .unwrap();
    assert!(
        entries
            .iter()
            .any(|e| e.message.starts_with("Restore drill failed")),
        "{:?}",
        entries.iter().map(|e| &e.message).collect::<Vec<_>>()
    );
    let (_, list) = get_json(&operator, "/api/v1/drills");
    assert_eq!(list["drills"][0]["passed"], false);
}

#[test]
fn a_deep_verify_is_shown_apart_as_weaker_evidence_and_proves_no_rpo() {
    for backend in &BOTH {
        let console = TestConsole::start(backend);
        let backup_id = super::tasks::make_backup(&console);
        let operator = console.login_as(Role::Operator);
        let metric = "coffer_deep_verified_rpo_seconds{source=\"files\",service=\"app\"}";
        // A quick verify only checks the stored bytes' digest: no evidence of the data.
        for depth in ["quick", "deep"] {
            let metrics = operator.page("/metrics");
            assert!(!metrics.contains(metric), "{depth}: {metrics}");
            let page = operator.page("/recoverability");
            assert!(!page.contains("deep-verified"), "{depth}: {page}");
            let queued =
                operator.post(&format!("/backups/{backup_id}/verify"), &[("depth", depth)]);
            assert_eq!(queued.status(), 303);
            console.run_pending_jobs();
        }
        let page = operator.page("/recoverability");
        let row = page
            .split("data-source=\"files\"")
            .nth(1)
            .and_then(|rest| rest.split("</tr>").next())
            .expect("the files row");
        assert!(row.contains("deep-verified"), "{row}");
        assert!(row.contains("not proven"), "a verify is not a drill: {row}");
        let metrics = operator.page("/metrics");
        assert!(metrics.contains(metric), "{metrics}");
        assert!(
            !metrics.contains("coffer_proven_rpo_seconds{source=\"files\""),
            "{metrics}"
        );
        // Gone with its backup.
        let backup = {
            let mut conn = console.app.conn().unwrap();
            coffer::db::Backup::find_by_id(&mut conn, &backup_id).unwrap()
        };
        coffer::jobs::retention::delete::delete_backup(&console.app, &backup, None, "gone".into())
            .unwrap();
        assert!(!operator.page("/metrics").contains(metric));
    }
}

#[test]
fn a_service_has_its_own_rto_target_and_the_rto_of_the_drill_of_all_its_sources() {
    let console = TestConsole::start_with(&BOTH[0], |s| {
        s.services.push(coffer::config::ServiceTargets {
            name: "app".into(),
            rpo_minutes: Some(60),
            rto_minutes: Some(5),
        })
    });
    back_up(&console);
    let operator = console.login_as(Role::Operator);
    let service_row = |page: &str| {
        page.split("data-service=\"app\"")
            .nth(1)
            .and_then(|rest| rest.split("</tr>").next())
            .expect("the app service row")
            .to_string()
    };
    let row = service_row(&operator.page("/recoverability"));
    assert!(
        row.contains("never drilled together") && row.contains("target 5 min 00 s"),
        "{row}"
    );
    assert!(row.contains("data-health=\"red\""), "{row}");

    let (status, body) = post_json(&operator, "/api/v1/drills", &json!({"service": "app"}));
    assert_eq!(status, 202, "{body}");
    let task = body["task"]["id"].as_str().unwrap().to_string();
    console.run_pending_jobs();
    let row = service_row(&operator.page("/recoverability"));
    assert!(row.contains(&format!("href=\"/drills/{task}\"")), "{row}");
    assert!(
        row.contains("passed") && row.contains("target 1 h 00 min"),
        "{row}"
    );
    assert!(!row.contains("data-health=\"red\""), "{row}");
    let metrics = operator.page("/metrics");
    for line in [
        "coffer_service_rto_seconds{service=\"app\"}",
        "coffer_service_proven_rpo_seconds{service=\"app\"}",
        "coffer_service_rto_target_seconds{service=\"app\"} 300",
    ] {
        assert!(metrics.contains(line), "{line} in:\n{metrics}");
    }
}
