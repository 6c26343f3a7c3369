//! API tokens × scopes: every API route and `/metrics` × every scope is allowed or refused
//! as `domain::token_policy` says, always within the user's current role (a downgrade limits
//! old tokens at once); tokens are refused on console pages, when expired (401 saying so,
//! one audit entry) and once revoked; their last use and its client address are recorded
//! and shown. Scopes are written out here, not read from the router: this is the policy.

use coffer::db::{ApiToken, LogEntry, LogFilter, User};
use coffer::domain::{Role, TokenScope, TokenScopes};
use coffer::jobs::backup::{record_backup, BackupRequest};
use reqwest::blocking::{Client, Response};
use serde_json::Value;

use super::harness::{Browser, TestConsole};
use super::users::{issue_scoped_token, post_token_form};
use crate::helpers::BOTH;

use TokenScope::{Admin, Backup, Read, Restore};

/// (method, path, the scope it needs). `{backup}`, `{task}`, `{schedule}` stand for real ids.
/// The two DELETEs come last: they remove what the others use.
const ROUTES: &[(&str, &str, TokenScope)] = &[
    ("GET", "/api/v1/openapi.json", Read),
    ("GET", "/api/v1/backups", Read),
    ("GET", "/api/v1/backups/{backup}", Read),
    ("GET", "/api/v1/tasks/{task}", Read),
    ("GET", "/api/v1/drills", Read),
    ("GET", "/api/v1/drills/{task}", Read),
    ("GET", "/api/v1/schedules", Read),
    ("GET", "/metrics", Read),
    ("POST", "/api/v1/backups", Backup),
    ("POST", "/api/v1/backups/{backup}/verify", Backup),
    ("POST", "/api/v1/drills", Backup),
    ("GET", "/api/v1/backups/{backup}/download", Restore),
    ("POST", "/api/v1/backups/{backup}/restore", Restore),
    ("POST", "/api/v1/schedules", Admin),
    ("PUT", "/api/v1/schedules/{schedule}", Admin),
    ("DELETE", "/api/v1/schedules/{schedule}", Admin),
    ("DELETE", "/api/v1/backups/{backup}", Admin),
];

struct Ids {
    backup: String,
    task: String,
    schedule: String,
}

impl Ids {
    fn make(console: &TestConsole) -> Ids {
        let request =
            BackupRequest::new(coffer::domain::Scope::All, coffer::domain::BackupKind::Full);
        let (backup, task) =
            record_backup(&console.app, &request, &crate::helpers::tester()).unwrap();
        console.push_task(&task);
        console.run_pending_jobs();
        let schedule = coffer::db::Schedule::insert(
            &mut console.app.conn().unwrap(),
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
            schedule: schedule.id,
        }
    }

    fn fill(&self, template: &str) -> String {
        template
            .replace("{backup}", &self.backup)
            .replace("{task}", &self.task)
            .replace("{schedule}", &self.schedule)
    }
}

fn client() -> Client {
    crate::helpers::http_client().build().unwrap()
}

/// `method path` with `token` (and an empty JSON body for changes).
fn call(console: &TestConsole, token: &str, method: &str, path: &str) -> Response {
    let mut request = client()
        .request(method.parse().unwrap(), console.url(path))
        .bearer_auth(token);
    if method != "GET" {
        request = request
            .header("content-type", "application/json")
            .body("{}");
    }
    request.send().unwrap()
}

fn error_of(response: Response) -> String {
    let body: Value = response.json().expect("a JSON error");
    body["error"]
        .as_str()
        .expect("an error message")
        .to_string()
}

fn user(console: &TestConsole, name: &str) -> User {
    User::find_by_username(&mut console.app.conn().unwrap(), name)
        .unwrap()
        .unwrap()
}

fn set_role(admin: &Browser, user: &User, role: Role) {
    let response = admin.post(
        &format!("/users/{}/role", user.id),
        &[("role", role.as_str())],
    );
    assert_eq!(response.status(), 303, "role of {} → {role}", user.username);
}

#[test]
fn every_api_route_and_metrics_take_exactly_their_scope() {
    // The table names every route the router serves.
    let served: std::collections::BTreeSet<(String, String)> = coffer::web::api::routes()
        .iter()
        .map(|r| (r.method.to_string(), r.path.to_string()))
        .collect();
    let listed: std::collections::BTreeSet<(String, String)> = ROUTES
        .iter()
        .filter(|(_, p, _)| *p != "/metrics")
        .map(|(m, p, _)| {
            (
                m.to_string(),
                p.replace("{backup}", "{id}")
                    .replace("{task}", "{id}")
                    .replace("{schedule}", "{id}"),
            )
        })
        .collect();
    assert_eq!(served, listed, "every API route has its scope here");

    for backend in &BOTH {
        let console = TestConsole::start(backend);
        let ids = Ids::make(&console);
        let admin = console.login_as(Role::Admin);
        // An admin user: the role allows everything, so only the scope decides.
        console.add_user("robot", Role::Admin);
        let tokens: Vec<(TokenScope, String)> = TokenScope::ALL
            .iter()
            .map(|s| {
                (
                    *s,
                    issue_scoped_token(&console, &admin, "robot", &[s.as_str()], "30"),
                )
            })
            .collect();
        for (method, template, needed) in ROUTES {
            let path = ids.fill(template);
            for (scope, token) in &tokens {
                if scope != needed {
                    let response = call(&console, token, method, &path);
                    assert_eq!(response.status(), 403, "{scope} token: {method} {path}");
                    let error = error_of(response);
                    assert!(
                        error.contains(&format!("needs the `{needed}` scope")),
                        "{scope} token: {method} {path}: {error}"
                    );
                }
            }
            let token = &tokens.iter().find(|(s, _)| s == needed).unwrap().1;
            let status = call(&console, token, method, &path).status().as_u16();
            assert!(
                ![401, 403].contains(&status),
                "{needed} token: {method} {path}: {status}"
            );
        }
        // The refused calls changed nothing; the admin-scoped DELETE did.
        let mut conn = console.app.conn().unwrap();
        assert!(coffer::db::Schedule::list(&mut conn).unwrap().is_empty());
    }
}

#[test]
fn a_token_never_exceeds_its_users_role_even_after_a_downgrade() {
    for backend in &BOTH {
        let console = TestConsole::start(backend);
        let ids = Ids::make(&console);
        let admin = console.login_as(Role::Admin);
        console.add_user("ops", Role::Operator);
        let ops = user(&console, "ops");

        // Issuing more than the role can use is refused, beside the scopes.
        let refused = post_token_form(&console, &admin, "ops", &["read", "admin"], "30");
        assert_eq!(refused.status(), 400);
        let page = refused.text().unwrap();
        assert!(page.contains("id=\"token-scopes-error\""), "{page}");
        assert!(page.contains("cannot have the scope admin"), "{page}");

        // An operator's restore-scoped token downloads (operators may) but cannot restore.
        let token = issue_scoped_token(
            &console,
            &admin,
            "ops",
            &["read", "backup", "restore"],
            "30",
        );
        let download = format!("/api/v1/backups/{}/download", ids.backup);
        assert_eq!(call(&console, &token, "GET", &download).status(), 200);
        let restore = format!("/api/v1/backups/{}/restore", ids.backup);
        let response = call(&console, &token, "POST", &restore);
        assert_eq!(response.status(), 403);
        assert!(error_of(response).contains("needs the admin role"));

        // Downgraded to viewer: the same token reads, and nothing more, at once.
        set_role(&admin, &ops, Role::Viewer);
        assert_eq!(
            call(&console, &token, "GET", "/api/v1/backups").status(),
            200
        );
        assert_eq!(call(&console, &token, "GET", "/metrics").status(), 200);
        for (method, path) in [
            ("POST", "/api/v1/backups".to_string()),
            ("GET", download.clone()),
        ] {
            let response = call(&console, &token, method, &path);
            assert_eq!(response.status(), 403, "{method} {path}");
            assert!(error_of(response).contains("needs the operator role"));
        }
        // The page shows which scopes the role no longer covers.
        let page = admin.page(&format!("/users/{}", ops.id));
        assert!(page.contains("<del class=\"badge badge-scope\""), "{page}");
        // Promoted back, the token's own scopes are the limit again.
        set_role(&admin, &ops, Role::Operator);
        assert_eq!(call(&console, &token, "GET", &download).status(), 200);

        // Tokens are for the API and /metrics only, never for the console's pages.
        let admin_token = {
            console.add_user("root2", Role::Admin);
            issue_scoped_token(
                &console,
                &admin,
                "root2",
                &["read", "backup", "restore", "admin"],
                "30",
            )
        };
        for (method, path) in [
            ("GET", "/users".to_string()),
            ("POST", format!("/users/{}/role", ops.id)),
        ] {
            let response = client()
                .request(method.parse().unwrap(), console.url(&path))
                .bearer_auth(&admin_token)
                .form(&[("role", "admin")])
                .send()
                .unwrap();
            assert_eq!(response.status(), 403, "{method} {path}");
            assert!(response
                .text()
                .unwrap()
                .contains("accepted only by /api/v1 and /metrics"));
        }
        assert_eq!(user(&console, "ops").role(), Role::Operator);
    }
}

#[test]
fn an_expired_token_is_refused_saying_so_and_audited_once() {
    for backend in &BOTH {
        let console = TestConsole::start(backend);
        let robot = console.add_user("robot", Role::Operator);
        let secret = coffer::auth::new_token();
        let past = coffer::db::now() - chrono::Duration::days(2);
        let token = ApiToken::new(
            &robot.id,
            "old script",
            coffer::auth::token_hash(&secret),
            &"read,backup,restore".parse::<TokenScopes>().unwrap(),
            Some(past),
        );
        ApiToken::insert(&mut console.app.conn().unwrap(), &token).unwrap();

        for path in ["/api/v1/backups", "/metrics", "/api/v1/backups"] {
            let response = call(&console, &secret, "GET", path);
            assert_eq!(response.status(), 401, "{path}");
            let error = error_of(response);
            let day = past.format("%Y-%m-%d").to_string();
            assert!(
                error.contains("API token `old script` expired on") && error.contains(&day),
                "{path}: {error}"
            );
        }
        let entries = LogEntry::list(
            &mut console.app.conn().unwrap(),
            &LogFilter {
                operation: Some("token".into()),
                ..LogFilter::default()
            },
        )
        .unwrap();
        let expired: Vec<_> = entries
            .iter()
            .filter(|e| e.message.contains("expired API token `old script`"))
            .collect();
        assert_eq!(
            expired.len(),
            1,
            "one entry an hour, not one per call: {entries:?}"
        );
        assert!(
            expired[0].message.contains("127.0.0.1"),
            "{}",
            expired[0].message
        );
        assert!(!expired[0].message.contains(&secret));
        // An expired token is not in use: its last use stays empty.
        let stored = ApiToken::list_for_user(&mut console.app.conn().unwrap(), &robot.id).unwrap();
        assert_eq!(stored[0].last_used_at, None);
    }
}

#[test]
fn last_use_and_its_client_address_are_recorded_and_shown_and_revocation_is_immediate() {
    // The console sits behind a trusted proxy on loopback: the client is the forwarded one.
    let console = TestConsole::start_with(&BOTH[0], |settings| {
        settings.web.trusted_proxies = vec!["127.0.0.0/8".parse().unwrap()];
    });
    let admin = console.login_as(Role::Admin);
    console.add_user("prom", Role::Viewer);
    let prom = user(&console, "prom");
    let token = issue_scoped_token(&console, &admin, "prom", &["read"], "never");
    let page = admin.page(&format!("/users/{}", prom.id));
    assert!(page.contains(">never</span>"), "not used yet: {page}");

    let scrape = client()
        .get(console.url("/metrics"))
        .bearer_auth(&token)
        .header("X-Forwarded-For", "6.6.6.6, 203.0.113.9")
        .send()
        .unwrap();
    assert_eq!(scrape.status(), 200);
    let stored = ApiToken::list_for_user(&mut console.app.conn().unwrap(), &prom.id).unwrap();
    assert!(stored[0].last_used_at.is_some());
    assert_eq!(stored[0].last_used_addr.as_deref(), Some("203.0.113.9"));
    assert_eq!(stored[0].expires_at, None, "read alone may never expire");
    let page = admin.page(&format!("/users/{}", prom.id));
    assert!(page.contains("203.0.113.9"), "{page}");
    assert!(
        page.contains("<span class=\"badge badge-scope\">read</span>"),
        "{page}"
    );

    // A new address is noted at once, even within the minute.
    let again = client()
        .get(console.url("/api/v1/backups"))
        .bearer_auth(&token)
        .send()
        .unwrap();
    assert_eq!(again.status(), 200);
    let stored = ApiToken::list_for_user(&mut console.app.conn().unwrap(), &prom.id).unwrap();
    assert_eq!(stored[0].last_used_addr.as_deref(), Some("127.0.0.1"));

    // Revoked: the very next call is refused, and the revocation is in the audit log.
    let revoke = format!("/users/{}/tokens/{}/revoke", prom.id, stored[0].id);
    assert_eq!(admin.post(&revoke, &[]).status(), 303);
    assert_eq!(call(&console, &token, "GET", "/metrics").status(), 401);
    assert_eq!(
        call(&console, &token, "GET", "/api/v1/backups").status(),
        401
    );
    let log = LogEntry::list(&mut console.app.conn().unwrap(), &LogFilter::default()).unwrap();
    assert!(log
        .iter()
        .any(|e| e.operation == "token"
            && e.message.contains("revoked API token `script` of `prom`")));
    assert!(log.iter().any(|e| e.operation == "token"
        && e.message
            .contains("issued API token `script` for `prom` (scopes read; never expires)")));
}

#[test]
fn the_issue_form_checks_scopes_and_expiry_beside_their_fields() {
    let console = TestConsole::start(&BOTH[0]);
    let admin = console.login_as(Role::Admin);
    console.add_user("ann", Role::Admin);
    for (scopes, expires, field, words) in [
        (vec![], "30", "token-scopes-error", "at least one scope"),
        (
            vec!["root"],
            "30",
            "token-scopes-error",
            "`root` is not a valid TokenScope",
        ),
        (
            vec!["backup"],
            "never",
            "token-expiry-error",
            "only a token with the `read` scope alone",
        ),
        (vec!["read"], "0", "token-expiry-error", "1 to 1095 days"),
        (vec!["read"], "soon", "token-expiry-error", "not an expiry"),
    ] {
        let response = post_token_form(&console, &admin, "ann", &scopes, expires);
        assert_eq!(response.status(), 400, "{scopes:?} {expires}");
        let page = response.text().unwrap();
        assert!(
            page.contains(&format!("id=\"{field}\"")),
            "{scopes:?} {expires}: {page}"
        );
        assert!(page.contains(words), "{scopes:?} {expires}: {words}");
    }
    let ann = user(&console, "ann");
    let id = ann.id.clone();
    let past = admin.post(
        &format!("/users/{id}/tokens"),
        &[
            ("name", "late"),
            ("scope", "read"),
            ("expires", "30"),
            ("expires_on", "2020-01-01"),
        ],
    );
    assert_eq!(past.status(), 400);
    assert!(past.text().unwrap().contains("is not in the future"));
    assert!(
        ApiToken::list_for_user(&mut console.app.conn().unwrap(), &id)
            .unwrap()
            .is_empty()
    );

    let day = (coffer::db::now() + chrono::Duration::days(200)).date();
    let dated = admin.post(
        &format!("/users/{id}/tokens"),
        &[
            ("name", "dated"),
            ("scope", "read"),
            ("scope", "backup"),
            ("expires", "30"),
            ("expires_on", &day.to_string()),
        ],
    );
    let page = dated.text().unwrap();
    assert!(page.contains("id=\"new-token\""));
    assert!(page.contains(&day.to_string()), "{page}");
    let stored = ApiToken::list_for_user(&mut console.app.conn().unwrap(), &id).unwrap();
    assert_eq!(stored[0].scopes, "read,backup");
    assert_eq!(
        stored[0].expires_at.unwrap(),
        day.and_hms_opt(0, 0, 0).unwrap()
    );
}

#[test]
fn metrics_take_a_read_token_and_answer_as_before_without_one() {
    let console = TestConsole::start(&BOTH[0]);
    let admin = console.login_as(Role::Admin);
    console.add_user("prom", Role::Viewer);
    let token = issue_scoped_token(&console, &admin, "prom", &["read"], "never");
    let scrape = call(&console, &token, "GET", "/metrics");
    assert_eq!(scrape.status(), 200);
    assert!(scrape.text().unwrap().contains("coffer_backups"));
    // No token: 401 in JSON, as before; a signed-in viewer's session still reads it.
    let anonymous = client().get(console.url("/metrics")).send().unwrap();
    assert_eq!(anonymous.status(), 401);
    assert!(error_of(anonymous).contains("Authorization: Bearer"));
    let viewer = console.login_as(Role::Viewer);
    assert_eq!(viewer.get("/metrics").status(), 200);
}

#[test]
fn the_api_document_names_each_operations_scope() {
    let console = TestConsole::start(&BOTH[0]);
    let admin = console.login_as(Role::Admin);
    console.add_user("reader", Role::Viewer);
    let token = issue_scoped_token(&console, &admin, "reader", &["read"], "30");
    let document: Value = call(&console, &token, "GET", "/api/v1/openapi.json")
        .json()
        .unwrap();
    for (method, template, scope) in ROUTES.iter().filter(|(_, p, _)| *p != "/metrics") {
        let path = template
            .replace("{backup}", "{id}")
            .replace("{task}", "{id}")
            .replace("{schedule}", "{id}");
        let operation = &document["paths"][&path][method.to_ascii_lowercase()];
        assert_eq!(
            operation["security"],
            serde_json::json!([{"bearer": [scope.as_str()]}]),
            "{method} {path}"
        );
    }
    let description = document["info"]["description"].as_str().unwrap();
    assert!(
        description.contains("`restore` restore and download"),
        "{description}"
    );
}
