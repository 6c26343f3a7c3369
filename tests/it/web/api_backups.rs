//! `GET /api/v1/backups/{id}/download` and `DELETE /api/v1/backups/{id}`: the console's
//! download and delete for scripts, with the same rules — roles, refusals with a JSON reason
//! (a backup not finished, a task at work on it, an incremental depending on it), the audit
//! log — and the same `.tar.gz` that GNU tar opens.

use std::fs;

use coffer::db::{Backup, LogEntry, LogFilter};
use coffer::domain::Role;
use reqwest::blocking::Response;
use serde_json::{json, Value};

use super::api_document::token_for;
use super::harness::TestConsole;
use crate::helpers::{tool, BOTH};

fn send(
    console: &TestConsole,
    token: &str,
    method: &str,
    path: &str,
    body: Option<Value>,
) -> Response {
    let mut request = crate::helpers::http_client()
        .build()
        .unwrap()
        .request(method.parse().unwrap(), console.url(path))
        .header("Authorization", format!("Bearer {token}"));
    if let Some(body) = body {
        request = request.json(&body);
    }
    request.send().unwrap()
}

/// The status and the `error` of a refusal, which is JSON.
fn refusal(response: Response) -> (u16, String) {
    let status = response.status().as_u16();
    let body: Value = response.json().expect("a JSON error");
    (
        status,
        body["error"]
            .as_str()
            .expect("an error message")
            .to_string(),
    )
}

/// Queues a backup of `kind` through the API and returns its id.
fn queue_backup(console: &TestConsole, token: &str, kind: &str) -> String {
    let response = send(
        console,
        token,
        "POST",
        "/api/v1/backups",
        Some(json!({"scope": "all", "kind": kind})),
    );
    assert_eq!(response.status(), 202);
    let body: Value = response.json().unwrap();
    body["backup"]["id"].as_str().unwrap().to_string()
}

fn audit(console: &TestConsole, operation: &str) -> Vec<LogEntry> {
    LogEntry::list(
        &mut console.app.conn().unwrap(),
        &LogFilter {
            operation: Some(operation.into()),
            ..LogFilter::default()
        },
    )
    .unwrap()
}

#[test]
fn a_script_downloads_a_backup_as_the_console_does() {
    for backend in &BOTH {
        let console = TestConsole::start(backend);
        let operator = token_for(&console, Role::Operator, "olga");
        let viewer = token_for(&console, Role::Viewer, "vic");
        let id = queue_backup(&console, &operator, "full");
        let path = format!("/api/v1/backups/{id}/download");

        // Not yet made: refused with the reason, nothing logged.
        let (status, error) = refusal(send(&console, &operator, "GET", &path, None));
        assert_eq!(status, 409);
        assert!(error.contains("only successful backups"), "{error}");
        console.run_pending_jobs();

        // A viewer's token cannot hold the `restore` scope a download needs.
        let (status, error) = refusal(send(&console, &viewer, "GET", &path, None));
        assert_eq!(status, 403);
        assert!(error.contains("`restore` scope"), "{error}");
        let (status, _) = refusal(send(
            &console,
            &operator,
            "GET",
            "/api/v1/backups/nope/download",
            None,
        ));
        assert_eq!(status, 404);
        assert!(audit(&console, "download").is_empty());

        let response = send(&console, &operator, "GET", &path, None);
        assert_eq!(response.status(), 200);
        assert_eq!(response.headers()["content-type"], "application/gzip");
        let disposition = response.headers()["content-disposition"]
            .to_str()
            .unwrap()
            .to_string();
        assert!(disposition.starts_with("attachment"), "{disposition}");
        let file = console.env.path("api.tar.gz");
        fs::write(&file, response.bytes().unwrap()).unwrap();
        let list = tool("tar", &["-tzf", file.to_str().unwrap()]);
        assert!(list.status.success(), "tar -tzf");
        let names = String::from_utf8(list.stdout).unwrap();
        assert!(names.contains("files/hello.txt"), "{names}");

        let downloads = audit(&console, "download");
        assert_eq!(downloads.len(), 1, "the download is logged");
        assert_eq!(downloads[0].username.as_deref(), Some("olga"));
    }
}

#[test]
fn a_script_deletes_a_backup_under_the_consoles_rules() {
    for backend in &BOTH {
        let console = TestConsole::start(backend);
        let admin = token_for(&console, Role::Admin, "ada");
        let operator = token_for(&console, Role::Operator, "olga");
        let full = queue_backup(&console, &admin, "full");
        let one = |id: &str| format!("/api/v1/backups/{id}");

        // Pending (its backup task is queued): kept, with the reason.
        let (status, error) = refusal(send(&console, &admin, "DELETE", &one(&full), None));
        assert_eq!(status, 409);
        assert!(error.contains("cannot be deleted while"), "{error}");
        console.run_pending_jobs();
        let incremental = queue_backup(&console, &admin, "incremental");
        console.run_pending_jobs();

        // Too little power: 403 and nothing changes.
        let (status, error) = refusal(send(&console, &operator, "DELETE", &one(&full), None));
        assert_eq!(status, 403);
        assert!(error.contains("admin"), "{error}");
        // A parent of an incremental: kept, naming the dependant.
        let (status, error) = refusal(send(&console, &admin, "DELETE", &one(&full), None));
        assert_eq!(status, 409);
        assert!(error.contains("depend on it"), "{error}");
        // A task queued on it: kept.
        let verify = send(
            &console,
            &admin,
            "POST",
            &format!("{}/verify", one(&incremental)),
            Some(json!({})),
        );
        assert_eq!(verify.status(), 202);
        let (status, error) = refusal(send(&console, &admin, "DELETE", &one(&incremental), None));
        assert_eq!(status, 409);
        assert!(error.contains("verify task is pending"), "{error}");
        console.run_pending_jobs();
        let mut conn = console.app.conn().unwrap();
        assert!(Backup::find_by_id(&mut conn, &full).is_ok());
        assert!(Backup::find_by_id(&mut conn, &incremental).is_ok());
        let archive = console.env.path("backups").join(
            Backup::find_by_id(&mut conn, &incremental)
                .unwrap()
                .storage_key
                .unwrap(),
        );
        drop(conn);
        assert!(archive.is_file());

        // The incremental, then its parent: gone with their archives, and logged.
        for id in [&incremental, &full] {
            let response = send(&console, &admin, "DELETE", &one(id), None);
            assert_eq!(response.status(), 204);
            assert!(response.bytes().unwrap().is_empty());
            assert!(Backup::find_by_id(&mut console.app.conn().unwrap(), id).is_err());
        }
        assert!(!archive.exists(), "the archive is removed from storage");
        let deletions = audit(&console, "delete");
        assert_eq!(deletions.len(), 2, "{deletions:?}");
        assert!(deletions
            .iter()
            .all(|e| e.username.as_deref() == Some("ada")));
        let (status, _) = refusal(send(&console, &admin, "DELETE", &one(&full), None));
        assert_eq!(status, 404);
    }
}
