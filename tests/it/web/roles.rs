//! Every route × every role: anonymous visitors are sent to sign in (pages) or get 401 (API),
//! too little power gets 403 and changes nothing, enough power gets past the role check.
//! The same routes with API tokens of each scope: tests/it/web/token_scopes.rs.
//! A session that gave the right password but not yet its second factor (an admin's) gets
//! nowhere: every route but the code page and sign-out sends it to the code page (401 on
//! the API).

use coffer::domain::Role;
use coffer::jobs::backup::{record_backup, BackupRequest};
use reqwest::blocking::Response;

use super::harness::{location, Browser, TestConsole};
use crate::helpers::BOTH;

/// (method, path, least role that may use it). `{backup}`, `{task}`, `{user}`, `{schedule}`
/// and `{token}` stand for real ids.
const ROUTES: &[(&str, &str, Role)] = &[
    ("GET", "/", Role::Viewer),
    ("GET", "/backups", Role::Viewer),
    ("GET", "/backups/new", Role::Operator),
    ("POST", "/backups", Role::Operator),
    ("GET", "/backups/stats", Role::Viewer),
    ("GET", "/backups/{backup}", Role::Viewer),
    ("GET", "/backups/{backup}/download", Role::Operator),
    ("GET", "/backups/{backup}/verify", Role::Viewer),
    ("POST", "/backups/{backup}/verify", Role::Operator),
    ("GET", "/backups/{backup}/restore", Role::Admin),
    ("POST", "/backups/{backup}/restore", Role::Admin),
    (
        "GET",
        "/backups/{backup}/restore/preview?sources=files",
        Role::Admin,
    ),
    (
        "GET",
        "/backups/{backup}/restore/preview.csv?sources=files",
        Role::Admin,
    ),
    ("GET", "/backups/{backup}/files", Role::Viewer),
    (
        "GET",
        "/backups/{backup}/files/download?path=files",
        Role::Operator,
    ),
    ("GET", "/backups/{backup}/delete", Role::Admin),
    ("POST", "/backups/{backup}/delete", Role::Admin),
    ("POST", "/backups/{backup}/pin", Role::Admin),
    ("GET", "/tasks", Role::Viewer),
    ("GET", "/tasks/{task}", Role::Viewer),
    ("GET", "/tasks/{task}/events", Role::Viewer),
    ("POST", "/tasks/{task}/cancel", Role::Operator),
    ("GET", "/sources", Role::Viewer),
    ("POST", "/sources/files/check", Role::Operator),
    ("GET", "/settings", Role::Viewer),
    ("POST", "/settings/schedules", Role::Admin),
    ("POST", "/settings/schedules/{schedule}", Role::Admin),
    ("POST", "/settings/schedules/{schedule}/delete", Role::Admin),
    ("GET", "/settings/schedules/{schedule}/delete", Role::Admin),
    ("POST", "/settings/schedules/{schedule}/run", Role::Operator),
    ("POST", "/settings/notify/test", Role::Admin),
    ("GET", "/audit", Role::Viewer),
    ("GET", "/recoverability", Role::Viewer),
    ("POST", "/recoverability/drill", Role::Operator),
    ("GET", "/drills/{task}", Role::Viewer),
    ("GET", "/users", Role::Admin),
    ("POST", "/users", Role::Admin),
    ("GET", "/users/{user}", Role::Admin),
    ("POST", "/users/{user}/role", Role::Admin),
    ("POST", "/users/{user}/disable", Role::Admin),
    ("POST", "/users/{user}/enable", Role::Admin),
    ("POST", "/users/{user}/password", Role::Admin),
    ("GET", "/users/{user}/delete", Role::Admin),
    ("POST", "/users/{user}/delete", Role::Admin),
    ("POST", "/users/{user}/tokens", Role::Admin),
    ("POST", "/users/{user}/tokens/{token}/revoke", Role::Admin),
    ("GET", "/account/password", Role::Viewer),
    ("POST", "/account/password", Role::Viewer),
    ("GET", "/account/2fa", Role::Viewer),
    ("POST", "/account/2fa/setup", Role::Viewer),
    ("POST", "/account/2fa/confirm", Role::Viewer),
    ("POST", "/account/2fa/recovery", Role::Viewer),
    ("POST", "/account/2fa/remove", Role::Viewer),
    ("POST", "/users/{user}/2fa/reset", Role::Admin),
    // The code page of sign-in: only a session waiting for its code uses it; others are
    // sent on (anonymous ones to sign in).
    ("GET", "/login/2fa", Role::Viewer),
    ("POST", "/login/2fa", Role::Viewer),
    ("POST", "/logout", Role::Viewer),
    ("GET", "/api/v1/backups", Role::Viewer),
    ("POST", "/api/v1/backups", Role::Operator),
    ("GET", "/api/v1/openapi.json", Role::Viewer),
    ("GET", "/api/v1/backups/{backup}", Role::Viewer),
    ("GET", "/api/v1/backups/{backup}/download", Role::Operator),
    ("POST", "/api/v1/backups/{backup}/verify", Role::Operator),
    ("POST", "/api/v1/backups/{backup}/restore", Role::Admin),
    ("GET", "/api/v1/tasks/{task}", Role::Viewer),
    ("GET", "/api/v1/drills", Role::Viewer),
    ("POST", "/api/v1/drills", Role::Operator),
    ("GET", "/api/v1/drills/{task}", Role::Viewer),
    ("GET", "/api/v1/schedules", Role::Viewer),
    ("POST", "/api/v1/schedules", Role::Admin),
    ("PUT", "/api/v1/schedules/{schedule}", Role::Admin),
    ("DELETE", "/api/v1/backups/{backup}", Role::Admin),
    // Last: an admin's DELETE removes the schedule the routes above use.
    ("DELETE", "/api/v1/schedules/{schedule}", Role::Admin),
    ("GET", "/metrics", Role::Viewer),
];

#[test]
fn every_route_checks_the_role_on_the_server() {
    for backend in &BOTH {
        let console = TestConsole::start(backend);
        let ids = Ids::make(&console);
        let anonymous = console.anonymous();
        let viewer = console.login_as(Role::Viewer);
        let operator = console.login_as(Role::Operator);
        let admin = console.login_as(Role::Admin);
        let awaiting = awaiting_code(&console);
        for (method, template, needed) in ROUTES {
            let path = ids.fill(template);
            // The metrics answer a scraper like the API does: 401, no sign-in page.
            let api = path.starts_with("/api/") || path == "/metrics";

            let response = send(&anonymous, method, &path);
            if api {
                assert_eq!(response.status(), 401, "anonymous {method} {path}");
            } else {
                assert_eq!(response.status(), 303, "anonymous {method} {path}");
                assert!(location(&response).starts_with("/login"), "{method} {path}");
            }

            if path == "/logout" {
                continue; // would end the sessions this test uses; see sign_in.rs
            }
            if !template.starts_with("/login/2fa") {
                let response = send(&awaiting, method, &path);
                if api {
                    assert_eq!(response.status(), 401, "awaiting code {method} {path}");
                } else {
                    assert_eq!(response.status(), 303, "awaiting code {method} {path}");
                    assert_eq!(location(&response), "/login/2fa", "{method} {path}");
                }
            }
            for (browser, role) in [(&viewer, Role::Viewer), (&operator, Role::Operator)] {
                let response = send(browser, method, &path);
                let status = response.status().as_u16();
                if role.allows(*needed) {
                    assert!(
                        ![401, 403].contains(&status),
                        "{role} {method} {path}: {status}"
                    );
                } else {
                    assert_eq!(status, 403, "{role} {method} {path}");
                    let body = response.text().unwrap();
                    assert!(
                        body.contains("needs the"),
                        "{role} {method} {path}: a 403 page/JSON says why: {body}"
                    );
                }
            }
            // Admins may do everything; skip the ones that would end this test's own state
            // (an admin's API delete of the backup: tests/it/web/api_backups.rs).
            let deletes_backup = *method == "DELETE" && template.starts_with("/api/v1/backups/");
            if !path.contains("/delete") && !path.contains("/disable") && !deletes_backup {
                let status = send(&admin, method, &path).status().as_u16();
                assert!(
                    ![401, 403].contains(&status),
                    "admin {method} {path}: {status}"
                );
            }
        }
        // Nothing a viewer or operator tried above changed the catalogue.
        let mut conn = console.app.conn().unwrap();
        assert!(coffer::db::Backup::find_by_id(&mut conn, &ids.backup).is_ok());
        let user = coffer::db::User::find_by_id(&mut conn, &ids.user).unwrap();
        assert_eq!(user.role(), Role::Viewer);
        // The waiting session is still waiting: it reached its code page and nothing else.
        let page = awaiting.page("/login/2fa");
        assert!(page.contains("Two-factor sign-in"), "{page}");
    }
}

/// An admin with two-factor sign-in who gave the right password only.
fn awaiting_code(console: &TestConsole) -> Browser {
    let user = console.add_user("admin-2fa", Role::Admin);
    {
        let mut conn = console.app.conn().unwrap();
        let secret = coffer::auth::TotpSecret::generate().to_base32();
        assert!(coffer::db::TotpRow::start_enrolment(&mut conn, &user.id, &secret).unwrap());
        assert!(coffer::db::TotpRow::confirm(&mut conn, &user.id, 0).unwrap());
    }
    let mut browser = console.anonymous();
    let response = browser.login("admin-2fa", super::harness::PASSWORD);
    assert_eq!(location(&response), "/login/2fa?next=%2F");
    let page = browser.page("/login/2fa");
    browser.csrf = super::harness::hidden_field(&page, "csrf_token").unwrap();
    browser
}

struct Ids {
    backup: String,
    task: String,
    user: String,
    schedule: String,
    token: String,
}

impl Ids {
    fn make(console: &TestConsole) -> Ids {
        let (backup, task) = record_backup(
            &console.app,
            &BackupRequest::new(coffer::domain::Scope::All, coffer::domain::BackupKind::Full),
            &crate::helpers::tester(),
        )
        .unwrap();
        console.push_task(&task);
        console.run_pending_jobs();
        let user = console.add_user("target-user", Role::Viewer);
        let mut conn = console.app.conn().unwrap();
        let token = coffer::db::ApiToken::new(
            &user.id,
            "script",
            coffer::auth::token_hash("t"),
            &coffer::domain::TokenScopes::all(),
            None,
        );
        coffer::db::ApiToken::insert(&mut conn, &token).unwrap();
        let schedule = coffer::db::Schedule::insert(
            &mut conn,
            &coffer::db::NewSchedule::new(
                "nightly",
                "0 2 * * *",
                "UTC",
                &coffer::domain::Scope::All,
                coffer::domain::BackupKind::Full,
            ),
        )
        .unwrap();
        Ids {
            backup: backup.id,
            task: task.id,
            user: user.id,
            schedule: schedule.id,
            token: token.id,
        }
    }

    fn fill(&self, template: &str) -> String {
        template
            .replace("{backup}", &self.backup)
            .replace("{task}", &self.task)
            .replace("{user}", &self.user)
            .replace("{schedule}", &self.schedule)
            .replace("{token}", &self.token)
    }
}

fn send(browser: &Browser, method: &str, path: &str) -> Response {
    match method {
        "GET" => browser.get(path),
        _ if path.starts_with("/api/") => browser
            .client
            .request(method.parse().unwrap(), browser.url(path))
            .header("X-CSRF-Token", &browser.csrf)
            .header("content-type", "application/json")
            .body("{}")
            .send()
            .unwrap(),
        _ => browser.post(path, &[]),
    }
}
