//! `/api/v1/openapi.json` tells the truth: it names every route the router serves (and the
//! running router answers each one it names), and real answers of every operation — success
//! and refusal alike — have a documented status, content type and a body that validates
//! against the documented schema (JSON Schema 2020-12, as OpenAPI 3.1 uses).

use std::collections::BTreeSet;

use coffer::domain::Role;
use reqwest::blocking::{Client, Response};
use serde_json::{json, Value};

use super::harness::TestConsole;
use super::users::issue_token;
use crate::helpers::BOTH;

/// A script calling the API with a token, checking every answer against the document.
pub struct Checked<'a> {
    console: &'a TestConsole,
    client: Client,
    token: String,
    document: &'a Value,
}

impl<'a> Checked<'a> {
    pub fn new(console: &'a TestConsole, token: &str, document: &'a Value) -> Checked<'a> {
        Checked {
            console,
            client: crate::helpers::http_client().build().unwrap(),
            token: token.to_string(),
            document,
        }
    }

    /// Sends `method path` (`template` is its documented path), checks the answer against
    /// the document and returns its status and body (JSON, or `null` for other content).
    pub fn call(
        &self,
        method: &str,
        template: &str,
        path: &str,
        body: Option<&Value>,
    ) -> (u16, Value) {
        let mut request = self
            .client
            .request(method.parse().unwrap(), self.console.url(path))
            .header("Authorization", format!("Bearer {}", self.token));
        if let Some(body) = body {
            request = request.json(body);
        }
        let response = request.send().unwrap();
        conforms(self.document, method, template, response)
    }
}

/// Checks one answer against the operation `method template` of `document`.
fn conforms(document: &Value, method: &str, template: &str, response: Response) -> (u16, Value) {
    let status = response.status().as_u16();
    let what = format!("{method} {template} → {status}");
    let operation = &document["paths"][template][method.to_ascii_lowercase()];
    assert!(operation.is_object(), "{what}: not in the document");
    let documented = &operation["responses"][status.to_string()];
    assert!(documented.is_object(), "{what}: status not documented");
    let content_type = response
        .headers()
        .get("content-type")
        .map(|v| v.to_str().unwrap().to_string())
        .unwrap_or_default();
    let bytes = response.bytes().unwrap();
    let Some(content) = documented["content"].as_object() else {
        assert!(bytes.is_empty(), "{what}: a body where none is documented");
        return (status, Value::Null);
    };
    let media = content_type.split(';').next().unwrap_or_default().trim();
    assert!(
        content.contains_key(media),
        "{what}: content type `{content_type}` is not one of {:?}",
        content.keys().collect::<Vec<_>>()
    );
    if media != "application/json" {
        return (status, Value::Null);
    }
    let body: Value = serde_json::from_slice(&bytes)
        .unwrap_or_else(|_| panic!("{what}: not JSON: {}", String::from_utf8_lossy(&bytes)));
    let mut schema = content[media]["schema"].clone();
    assert!(schema.is_object(), "{what}: no schema");
    // The schema's `$ref`s point into the document's components: carry them along.
    schema["components"] = document["components"].clone();
    let validator = jsonschema::options()
        .with_draft(jsonschema::Draft::Draft202012)
        .build(&schema)
        .unwrap_or_else(|e| panic!("{what}: the documented schema does not compile: {e}"));
    let errors: Vec<String> = validator
        .iter_errors(&body)
        .map(|e| format!("{} at {}", e, e.instance_path()))
        .collect();
    assert!(errors.is_empty(), "{what}: {errors:#?}\nbody: {body:#}");
    (status, body)
}

/// The document as a signed-in viewer's token reads it.
pub fn fetch_document(console: &TestConsole, token: &str) -> Value {
    let response = crate::helpers::http_client()
        .build()
        .unwrap()
        .get(console.url("/api/v1/openapi.json"))
        .header("Authorization", format!("Bearer {token}"))
        .send()
        .unwrap();
    assert_eq!(response.status(), 200);
    assert_eq!(response.headers()["content-type"], "application/json");
    response.json().unwrap()
}

/// A user with `role` and a token for them.
pub fn token_for(console: &TestConsole, role: Role, name: &str) -> String {
    let admin = console.login_as(Role::Admin);
    console.add_user(name, role);
    issue_token(console, &admin, name)
}

const METHODS: [&str; 5] = ["get", "post", "put", "patch", "delete"];

#[test]
fn the_document_names_every_route_and_the_router_serves_every_documented_one() {
    let console = TestConsole::start(&BOTH[0]);
    let token = token_for(&console, Role::Viewer, "reader");
    let document = fetch_document(&console, &token);
    assert_eq!(document["openapi"], "3.1.0");
    assert!(document["components"]["securitySchemes"]["bearer"].is_object());

    // The console links it where tokens are issued.
    let admin = console.login_as(Role::Admin);
    let reader = coffer::db::User::find_by_username(&mut console.app.conn().unwrap(), "reader")
        .unwrap()
        .unwrap();
    let page = admin.page(&format!("/users/{}", reader.id));
    assert!(page.contains("href=\"/api/v1/openapi.json\""), "{page}");

    let documented: BTreeSet<(String, String)> = document["paths"]
        .as_object()
        .unwrap()
        .iter()
        .flat_map(|(path, item)| {
            METHODS
                .iter()
                .filter(|m| item.get(**m).is_some())
                .map(|m| (m.to_ascii_uppercase(), path.clone()))
                .collect::<Vec<_>>()
        })
        .collect();
    let routed: BTreeSet<(String, String)> = coffer::web::api::routes()
        .iter()
        .map(|r| (r.method.to_string(), r.path.to_string()))
        .collect();
    assert_eq!(documented, routed, "the document and the router differ");
    for wanted in [
        ("DELETE", "/api/v1/backups/{id}"),
        ("GET", "/api/v1/backups/{id}/download"),
    ] {
        assert!(
            routed.contains(&(wanted.0.into(), wanted.1.into())),
            "{wanted:?}"
        );
    }

    // The running router answers each documented route: without credentials its role check
    // says 401 (an unknown route would be the 404 of the fallback). Every documented
    // operation documents that 401 and its error body.
    let anonymous = crate::helpers::http_client().build().unwrap();
    for (method, path) in &documented {
        let url = console.url(&path.replace("{id}", "some-id"));
        let response = anonymous
            .request(method.parse().unwrap(), url)
            .header("content-type", "application/json")
            .body("{}")
            .send()
            .unwrap();
        let (status, body) = conforms(&document, method, path, response);
        assert_eq!(status, 401, "{method} {path}");
        assert!(body["error"].is_string());
    }
}

#[test]
fn real_answers_validate_against_the_document() {
    for backend in &BOTH {
        let console = TestConsole::start(backend);
        let admin_token = token_for(&console, Role::Admin, "ada");
        let viewer_token = token_for(&console, Role::Viewer, "vic");
        let document = fetch_document(&console, &viewer_token);
        let admin = Checked::new(&console, &admin_token, &document);
        let viewer = Checked::new(&console, &viewer_token, &document);

        let (status, _) = admin.call("GET", "/api/v1/openapi.json", "/api/v1/openapi.json", None);
        assert_eq!(status, 200);

        // Backups: create, list (filters and pages), show, verify, download.
        let new = json!({"scope": "all", "kind": "full", "name": "checked", "description": "d"});
        let (status, queued) = admin.call("POST", "/api/v1/backups", "/api/v1/backups", Some(&new));
        assert_eq!(status, 202);
        let id = queued["backup"]["id"].as_str().unwrap().to_string();
        let one = "/api/v1/backups/{id}";
        let at = |suffix: &str| format!("/api/v1/backups/{id}{suffix}");
        // Still pending: not downloadable, not deletable.
        let (status, _) = admin.call("GET", &format!("{one}/download"), &at("/download"), None);
        assert_eq!(status, 409);
        let (status, _) = admin.call("DELETE", one, &at(""), None);
        assert_eq!(status, 409);
        console.run_pending_jobs();

        for query in [
            "",
            "?status=success&kind=full&limit=10&offset=0",
            "?offset=5",
        ] {
            let (status, list) = viewer.call(
                "GET",
                "/api/v1/backups",
                &format!("/api/v1/backups{query}"),
                None,
            );
            assert_eq!(status, 200, "{query}");
            assert!(list["total"].as_i64().unwrap() >= 1);
        }
        let (status, _) = viewer.call("GET", "/api/v1/backups", "/api/v1/backups?limit=0", None);
        assert_eq!(status, 400);
        let (status, shown) = viewer.call("GET", one, &at(""), None);
        assert_eq!((status, &shown["status"]), (200, &json!("success")));
        let (status, _) = viewer.call("GET", one, "/api/v1/backups/nope", None);
        assert_eq!(status, 404);
        let (status, _) = admin.call("GET", &format!("{one}/download"), &at("/download"), None);
        assert_eq!(status, 200);
        let (status, _) = viewer.call("GET", &format!("{one}/download"), &at("/download"), None);
        assert_eq!(status, 403);

        let (status, verify) = admin.call(
            "POST",
            &format!("{one}/verify"),
            &at("/verify"),
            Some(&json!({"depth": "deep"})),
        );
        assert_eq!(status, 202);
        let task = verify["task"]["id"].as_str().unwrap().to_string();
        let (status, _) = viewer.call(
            "GET",
            "/api/v1/tasks/{id}",
            &format!("/api/v1/tasks/{task}"),
            None,
        );
        assert_eq!(status, 200, "a pending task");
        console.run_pending_jobs();
        let (status, done) = viewer.call(
            "GET",
            "/api/v1/tasks/{id}",
            &format!("/api/v1/tasks/{task}"),
            None,
        );
        assert_eq!((status, &done["status"]), (200, &json!("success")));

        // Restore: refused without the confirmation, queued with it.
        let target = console.env.path("restored");
        std::fs::create_dir_all(&target).unwrap();
        let restore = format!("{one}/restore");
        let (status, _) = admin.call(
            "POST",
            &restore,
            &at("/restore"),
            Some(&json!({"target": target})),
        );
        assert_eq!(status, 400);
        let (status, _) = viewer.call(
            "POST",
            &restore,
            &at("/restore"),
            Some(&json!({"confirm": true})),
        );
        assert_eq!(status, 403);
        let body = json!({"confirm": true, "target": target, "sources": ["files"]});
        let (status, _) = admin.call("POST", &restore, &at("/restore"), Some(&body));
        assert_eq!(status, 202);
        console.run_pending_jobs();

        // Drills.
        let (status, drill) =
            admin.call("POST", "/api/v1/drills", "/api/v1/drills", Some(&json!({})));
        assert_eq!(status, 202);
        let drill_task = drill["task"]["id"].as_str().unwrap().to_string();
        console.run_pending_jobs();
        let (status, drills) = viewer.call("GET", "/api/v1/drills", "/api/v1/drills?limit=5", None);
        assert_eq!(status, 200);
        assert_eq!(drills["drills"].as_array().unwrap().len(), 1);
        let (status, _) = viewer.call(
            "GET",
            "/api/v1/drills/{id}",
            &format!("/api/v1/drills/{drill_task}"),
            None,
        );
        assert_eq!(status, 200);
        let (status, _) = viewer.call("GET", "/api/v1/drills/{id}", "/api/v1/drills/nope", None);
        assert_eq!(status, 404);

        // Schedules: add, refuse a bad one by field, change, list, delete.
        let schedule = json!({"name": "nightly", "frequency": "daily", "time": "02:00",
                              "kind": "full", "keep_last": 7});
        let (status, added) = admin.call(
            "POST",
            "/api/v1/schedules",
            "/api/v1/schedules",
            Some(&schedule),
        );
        assert_eq!(status, 201);
        let schedule_id = added["id"].as_str().unwrap().to_string();
        let (status, refused) = admin.call(
            "POST",
            "/api/v1/schedules",
            "/api/v1/schedules",
            Some(&json!({"name": "", "time": "25:99"})),
        );
        assert_eq!(status, 400);
        assert!(refused["fields"].is_object(), "{refused}");
        let path = format!("/api/v1/schedules/{schedule_id}");
        let (status, _) = admin.call(
            "PUT",
            "/api/v1/schedules/{id}",
            &path,
            Some(&json!({"enabled": false, "drill_every": null})),
        );
        assert_eq!(status, 200);
        let (status, listed) = viewer.call("GET", "/api/v1/schedules", "/api/v1/schedules", None);
        assert_eq!((status, listed.as_array().unwrap().len()), (200, 1));
        let (status, _) = viewer.call("DELETE", "/api/v1/schedules/{id}", &path, None);
        assert_eq!(status, 403);
        let (status, _) = admin.call("DELETE", "/api/v1/schedules/{id}", &path, None);
        assert_eq!(status, 204);

        // Delete: refused for a viewer, done for an admin, then gone.
        let (status, _) = viewer.call("DELETE", one, &at(""), None);
        assert_eq!(status, 403);
        let (status, _) = admin.call("DELETE", one, &at(""), None);
        assert_eq!(status, 204);
        let (status, _) = admin.call("DELETE", one, &at(""), None);
        assert_eq!(status, 404);
    }
}
