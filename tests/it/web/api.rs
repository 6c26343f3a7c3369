//! `/api/v1`: bearer tokens with their scopes and their user's role, the create → run → status → show flow,
//! verify and restore, JSON errors (401/403/404/400), CSRF for session callers only.

use coffer::db::{Backup, BackupFilter, User};
use coffer::domain::Role;
use reqwest::blocking::{Client, RequestBuilder, Response};
use serde_json::{json, Value};

use super::harness::TestConsole;
use super::users::{issue_scoped_token, issue_token};
use crate::helpers::BOTH;

/// A script calling the API with a bearer token.
struct Script {
    client: Client,
    base: String,
    token: String,
}

impl Script {
    fn new(console: &TestConsole, token: &str) -> Script {
        Script {
            client: crate::helpers::http_client().build().unwrap(),
            base: console.url("/api/v1"),
            token: token.to_string(),
        }
    }

    fn auth(&self, request: RequestBuilder) -> RequestBuilder {
        request.header("Authorization", format!("Bearer {}", self.token))
    }

    fn get(&self, path: &str) -> Response {
        let url = format!("{}{path}", self.base);
        self.auth(self.client.get(url)).send().unwrap()
    }

    fn post(&self, path: &str, body: &Value) -> Response {
        let url = format!("{}{path}", self.base);
        self.auth(self.client.post(url)).json(body).send().unwrap()
    }
}

/// The status and the JSON body of a response.
fn answer(response: Response) -> (u16, Value) {
    let status = response.status().as_u16();
    let body = response.text().unwrap();
    let json =
        serde_json::from_str(&body).unwrap_or_else(|_| panic!("not JSON ({status}): {body}"));
    (status, json)
}

/// A user with `role` and a token for them.
fn script_as(console: &TestConsole, role: Role, name: &str) -> Script {
    let admin = console.login_as(Role::Admin);
    console.add_user(name, role);
    Script::new(console, &issue_token(console, &admin, name))
}

fn backups(console: &TestConsole) -> Vec<Backup> {
    Backup::list(&mut console.app.conn().unwrap(), &BackupFilter::default()).unwrap()
}

#[test]
fn a_token_acts_with_its_users_role_and_stops_once_revoked() {
    for backend in &BOTH {
        let console = TestConsole::start(backend);
        let admin = console.login_as(Role::Admin);
        console.add_user("vic", Role::Viewer);
        let viewer = Script::new(&console, &issue_token(&console, &admin, "vic"));

        let (status, body) = answer(viewer.get("/backups"));
        assert_eq!((status, &body["total"]), (200, &json!(0)));
        let (status, body) =
            answer(viewer.post("/backups", &json!({"scope": "all", "kind": "full"})));
        // A viewer's token can only have the `read` scope.
        assert_eq!(status, 403);
        assert!(
            body["error"].as_str().unwrap().contains("`backup` scope"),
            "{body}"
        );
        assert!(backups(&console).is_empty());

        // Promoted, the same token still only reads (its one scope); a token with the
        // `backup` scope creates backups.
        let vic = User::find_by_username(&mut console.app.conn().unwrap(), "vic")
            .unwrap()
            .unwrap();
        admin.post(&format!("/users/{}/role", vic.id), &[("role", "operator")]);
        let (status, body) =
            answer(viewer.post("/backups", &json!({"scope": "all", "kind": "full"})));
        assert_eq!(status, 403);
        assert!(
            body["error"].as_str().unwrap().contains("`backup` scope"),
            "{body}"
        );
        let backer = Script::new(
            &console,
            &issue_scoped_token(&console, &admin, "vic", &["backup"], "30"),
        );
        let created = backer.post("/backups", &json!({"scope": "all", "kind": "full"}));
        assert_eq!(created.status(), 202);

        let tokens =
            coffer::db::ApiToken::list_for_user(&mut console.app.conn().unwrap(), &vic.id).unwrap();
        let first = tokens.iter().find(|t| t.scopes == "read").unwrap();
        let revoke = format!("/users/{}/tokens/{}/revoke", vic.id, first.id);
        assert_eq!(admin.post(&revoke, &[]).status(), 303);
        assert_eq!(viewer.get("/backups").status(), 401);
    }
}

#[test]
fn create_run_status_show_verify_and_restore_through_the_api() {
    for backend in &BOTH {
        let console = TestConsole::start(backend);
        let operator = script_as(&console, Role::Operator, "olga");
        let body = json!({"scope": "all", "kind": "full", "name": "api <backup>", "description": "from a script"});
        let (status, created) = answer(operator.post("/backups", &body));
        assert_eq!(status, 202, "{created}");
        let backup_id = created["backup"]["id"].as_str().unwrap().to_string();
        let task_id = created["task"]["id"].as_str().unwrap().to_string();
        assert_eq!(created["backup"]["status"], "pending");
        assert_eq!(created["task"]["status"], "pending");

        console.run_pending_jobs();
        let (status, task) = answer(operator.get(&format!("/tasks/{task_id}")));
        assert_eq!(status, 200);
        assert_eq!(
            (&task["status"], &task["finished"]),
            (&json!("success"), &json!(true)),
            "{task}"
        );
        assert_eq!(task["backup_id"], json!(backup_id));

        let (status, shown) = answer(operator.get(&format!("/backups/{backup_id}")));
        assert_eq!(status, 200);
        assert_eq!(shown["status"], "success");
        assert_eq!(shown["kind"], "full");
        assert_eq!(shown["name"], "api <backup>");
        assert_eq!(shown["description"], "from a script");
        assert_eq!(shown["created_by"], "olga");
        assert!(shown["size"].as_i64().unwrap() > 0);
        assert_eq!(shown["files"].as_i64().unwrap(), 2, "{shown}");
        assert_eq!(shown["sha256"].as_str().unwrap().len(), 64);
        assert!(!shown["storage_key"].as_str().unwrap().is_empty());
        assert!(shown["created_at"].is_string());

        let (_, listed) = answer(operator.get("/backups?status=success&kind=full&limit=10"));
        assert_eq!(listed["total"], 1);
        assert_eq!(listed["backups"][0]["id"], json!(backup_id));
        let (_, none) = answer(operator.get("/backups?kind=incremental"));
        assert_eq!(none["total"], 0);
        let (_, paged) = answer(operator.get("/backups?offset=1"));
        assert_eq!(
            (&paged["total"], paged["backups"].as_array().unwrap().len()),
            (&json!(1), 0)
        );

        let (status, verify) = answer(operator.post(
            &format!("/backups/{backup_id}/verify"),
            &json!({"depth": "deep"}),
        ));
        assert_eq!(status, 202, "{verify}");
        console.run_pending_jobs();
        let verify_id = verify["task"]["id"].as_str().unwrap();
        let (_, verified) = answer(operator.get(&format!("/tasks/{verify_id}")));
        assert_eq!(verified["status"], "success", "{verified}");
        assert_eq!(verified["kind"], "verify");

        // Restore is for admins, and only with the confirmation.
        let target = console.env.path("restored");
        std::fs::create_dir_all(&target).unwrap();
        let restore = format!("/backups/{backup_id}/restore");
        let request = json!({"confirm": true, "target": target});
        assert_eq!(operator.post(&restore, &request).status(), 403);
        let admin = script_as(&console, Role::Admin, "ada");
        let (status, refused) = answer(admin.post(&restore, &json!({"target": target})));
        assert_eq!(status, 400);
        assert!(refused["error"].as_str().unwrap().contains("confirm"));
        let (status, restoring) = answer(admin.post(&restore, &request));
        assert_eq!(status, 202, "{restoring}");
        console.run_pending_jobs();
        let restore_id = restoring["task"]["id"].as_str().unwrap();
        let (_, restored) = answer(admin.get(&format!("/tasks/{restore_id}")));
        assert_eq!(restored["status"], "success", "{restored}");
        let hello = std::fs::read_to_string(target.join("files/hello.txt")).unwrap();
        assert_eq!(hello, "hello from coffer\n");
    }
}

#[test]
fn errors_are_json_with_the_right_status() {
    for backend in &BOTH {
        let console = TestConsole::start(backend);
        let operator = script_as(&console, Role::Operator, "otto");
        let anonymous = crate::helpers::http_client().build().unwrap();

        let (status, body) = answer(
            anonymous
                .get(console.url("/api/v1/backups"))
                .send()
                .unwrap(),
        );
        assert_eq!(status, 401);
        assert!(body["error"].is_string());
        let wrong = Script::new(&console, "not-a-token");
        assert_eq!(wrong.get("/backups").status(), 401);

        for path in ["/backups/nope", "/tasks/nope", "/nowhere"] {
            let (status, body) = answer(operator.get(path));
            assert_eq!(status, 404, "{path}");
            assert!(body["error"].is_string());
        }
        let (status, _) = answer(operator.post("/backups/nope/verify", &json!({"depth": "quick"})));
        assert_eq!(status, 404);

        for query in [
            "status=weird",
            "kind=tape",
            "limit=0",
            "limit=abc",
            "offset=-1",
            "colour=red",
        ] {
            let (status, body) = answer(operator.get(&format!("/backups?{query}")));
            assert_eq!(status, 400, "{query}: {body}");
        }
        for bad in [
            json!({"scope": "all"}),
            json!({"scope": "all", "kind": "tape"}),
            json!({"scope": "everything", "kind": "full"}),
            json!({"scope": "sources:ghost", "kind": "full"}),
            json!({"scope": "all", "kind": "full", "extra": 1}),
        ] {
            let (status, body) = answer(operator.post("/backups", &bad));
            assert_eq!(status, 400, "{bad}: {body}");
        }
        let raw = operator
            .auth(operator.client.post(console.url("/api/v1/backups")))
            .header("Content-Type", "application/json")
            .body("{not json")
            .send()
            .unwrap();
        assert_eq!(answer(raw).0, 400);
        assert!(backups(&console).is_empty(), "nothing was created");
    }
}

#[test]
fn session_callers_need_the_csrf_header_and_token_callers_do_not() {
    for backend in &BOTH {
        let console = TestConsole::start(backend);
        let browser = console.login_as(Role::Operator);
        let body = json!({"scope": "all", "kind": "full"});
        let url = browser.url("/api/v1/backups");
        let refused = browser.client.post(&url).json(&body).send().unwrap();
        assert_eq!(refused.status(), 403);
        assert!(backups(&console).is_empty());
        let forged = browser
            .client
            .post(&url)
            .header("X-CSRF-Token", "forged")
            .json(&body)
            .send()
            .unwrap();
        assert_eq!(forged.status(), 403);
        assert!(backups(&console).is_empty());

        let accepted = browser
            .client
            .post(&url)
            .header("X-CSRF-Token", &browser.csrf)
            .json(&body)
            .send()
            .unwrap();
        assert_eq!(accepted.status(), 202);
        // The session reads the API too.
        assert_eq!(answer(browser.get("/api/v1/backups")).1["total"], 1);

        let script = script_as(&console, Role::Operator, "cron-job");
        assert_eq!(
            script.post("/backups", &body).status(),
            202,
            "no CSRF for tokens"
        );
        assert_eq!(backups(&console).len(), 2);
    }
}
