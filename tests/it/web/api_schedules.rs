//! `/api/v1/schedules`: scripts list, add, change and delete schedules with the settings
//! form's checks — a bad field is a 400 naming it, and nothing is saved.

use coffer::domain::Role;
use serde_json::{json, Value};

use super::harness::{Browser, TestConsole};
use crate::helpers::Backend;

fn call(browser: &Browser, method: &str, path: &str, body: Option<Value>) -> (u16, Value) {
    let mut request = browser
        .client
        .request(method.parse().unwrap(), browser.url(path))
        .header("X-CSRF-Token", &browser.csrf);
    if let Some(body) = body {
        request = request.json(&body);
    }
    let response = request.send().unwrap();
    let status = response.status().as_u16();
    let text = response.text().unwrap();
    (status, serde_json::from_str(&text).unwrap_or(Value::Null))
}

#[test]
fn scripts_manage_schedules_with_the_forms_checks() {
    let console = TestConsole::start(&Backend::Sqlite);
    let admin = console.login_as(Role::Admin);
    let (status, created) = call(
        &admin,
        "POST",
        "/api/v1/schedules",
        Some(
            json!({"name": "nightly", "time": "01:30", "timezone": "Europe/Berlin",
                    "keep_daily": 7, "keep_weekly": "4"}),
        ),
    );
    assert_eq!(status, 201, "{created}");
    assert_eq!(created["cron"], "30 1 * * *");
    let id = created["id"].as_str().unwrap().to_string();

    for (body, field) in [
        (json!({"name": "a", "cron": "0 25 * * *"}), "cron"),
        (json!({"name": "b", "timezone": "Mars/Base"}), "timezone"),
        (json!({"name": "c", "keep_daily": -2}), "keep_daily"),
        (json!({"name": "d", "scope": "galaxy"}), "scope"),
        (json!({"name": "nightly"}), "name"),
    ] {
        let (status, error) = call(&admin, "POST", "/api/v1/schedules", Some(body));
        assert_eq!(status, 400, "{field}: {error}");
        assert!(error["fields"][field].is_string(), "{field}: {error}");
    }
    let (status, error) = call(
        &admin,
        "POST",
        "/api/v1/schedules",
        Some(json!({"nmae": "x"})),
    );
    assert_eq!(status, 400, "unknown fields are refused: {error}");

    let (status, changed) = call(
        &admin,
        "PUT",
        &format!("/api/v1/schedules/{id}"),
        Some(json!({"enabled": false, "keep_daily": 14})),
    );
    assert_eq!(status, 200, "{changed}");
    assert_eq!(changed["enabled"], false);
    assert_eq!(
        changed["cron"], "30 1 * * *",
        "fields left out keep their value"
    );
    assert!(changed["retention_policy"]
        .as_str()
        .unwrap()
        .contains("\"keep_daily\":14"));

    let viewer = console.login_as(Role::Viewer);
    let (status, listed) = call(&viewer, "GET", "/api/v1/schedules", None);
    assert_eq!(status, 200);
    assert_eq!(
        listed.as_array().unwrap().len(),
        1,
        "nothing refused was saved"
    );
    let (status, _) = call(&viewer, "DELETE", &format!("/api/v1/schedules/{id}"), None);
    assert_eq!(status, 403);
    let (status, _) = call(&admin, "DELETE", &format!("/api/v1/schedules/{id}"), None);
    assert_eq!(status, 204);
    let (status, _) = call(&admin, "DELETE", &format!("/api/v1/schedules/{id}"), None);
    assert_eq!(status, 404);
}

#[test]
fn scripts_make_drill_schedules_and_drill_every_with_their_checks() {
    let console = TestConsole::start(&Backend::Sqlite);
    let admin = console.login_as(Role::Admin);
    let (status, drill) = call(
        &admin,
        "POST",
        "/api/v1/schedules",
        Some(
            json!({"name": "weekly drill", "action": "drill", "frequency": "weekly",
                    "weekday": "monday", "time": "04:00", "scope": "service",
                    "service": "app", "kind": "incremental"}),
        ),
    );
    assert_eq!(status, 201, "{drill}");
    assert_eq!(drill["action"], "drill");
    assert_eq!(drill["cron"], "0 4 * * 1");
    assert_eq!(drill["kind"], "full", "a drill schedule ignores the kind");
    assert!(drill["retention_days"].is_null() && drill["retention_policy"].is_null());

    for (body, field, words) in [
        (
            json!({"name": "a", "action": "drill", "retention_days": 30}),
            "retention_days",
            "drill schedule keeps and prunes nothing",
        ),
        (
            json!({"name": "b", "action": "drill", "keep_last": 3}),
            "keep_last",
            "drill schedule",
        ),
        (
            json!({"name": "c", "action": "drill", "drill_every": 2}),
            "drill_every",
            "backup schedule",
        ),
        (
            json!({"name": "d", "drill_every": 0}),
            "drill_every",
            "1 to 1000",
        ),
        (
            json!({"name": "e", "drill_every": 1001}),
            "drill_every",
            "1 to 1000",
        ),
        (
            json!({"name": "f", "action": "restore"}),
            "action",
            "backup or drill",
        ),
    ] {
        let (status, error) = call(&admin, "POST", "/api/v1/schedules", Some(body));
        assert_eq!(status, 400, "{field}: {error}");
        let message = error["fields"][field].as_str().unwrap_or_default();
        assert!(message.contains(words), "{field}: {error}");
    }

    let (status, nightly) = call(
        &admin,
        "POST",
        "/api/v1/schedules",
        Some(json!({"name": "nightly", "drill_every": "3"})),
    );
    assert_eq!(status, 201, "{nightly}");
    assert_eq!(
        (&nightly["action"], &nightly["drill_every"]),
        (&json!("backup"), &json!(3))
    );
    let id = nightly["id"].as_str().unwrap().to_string();
    let (status, changed) = call(
        &admin,
        "PUT",
        &format!("/api/v1/schedules/{id}"),
        Some(json!({"drill_every": null})),
    );
    assert_eq!(status, 200, "{changed}");
    assert!(changed["drill_every"].is_null());
    // Turned into a drill schedule: its retention goes; back into a backup one: 30 days.
    let (status, changed) = call(
        &admin,
        "PUT",
        &format!("/api/v1/schedules/{id}"),
        Some(json!({"action": "drill"})),
    );
    assert_eq!(status, 200, "{changed}");
    assert_eq!(changed["action"], "drill");
    assert!(changed["retention_days"].is_null());
    let (status, changed) = call(
        &admin,
        "PUT",
        &format!("/api/v1/schedules/{id}"),
        Some(json!({"action": "backup", "drill_every": 5})),
    );
    assert_eq!(status, 200, "{changed}");
    assert_eq!(
        (&changed["retention_days"], &changed["drill_every"]),
        (&json!(30), &json!(5))
    );
}
