//! The API checks what the forms check: name and description lengths in characters, a bad
//! glob or an unknown source is a 400 worded as the CLI words it, a target folder for file
//! sources must be absolute, and a database source still takes a database name as target.

use coffer::config::SourceConfig;
use coffer::domain::{Role, SourceKind};
use coffer::engine::manifest::{Manifest, SourceEntry};
use reqwest::blocking::Response;
use serde_json::{json, Value};

use super::harness::TestConsole;
use super::users::issue_token;
use crate::helpers::BOTH;

fn post(console: &TestConsole, token: &str, path: &str, body: &Value) -> (u16, Value) {
    let response: Response = crate::helpers::http_client()
        .build()
        .unwrap()
        .post(console.url(&format!("/api/v1{path}")))
        .header("Authorization", format!("Bearer {token}"))
        .json(body)
        .send()
        .unwrap();
    let status = response.status().as_u16();
    let text = response.text().unwrap();
    let json = serde_json::from_str(&text).unwrap_or_else(|_| panic!("not JSON: {text}"));
    (status, json)
}

fn error_of(body: &Value) -> &str {
    body["error"].as_str().unwrap_or_default()
}

/// The console with a second, PostgreSQL source `pgdb` configured (never backed up for
/// real: the tests only need the restore checks to know its kind).
fn console_with_database_source(backend: &crate::helpers::Backend) -> TestConsole {
    TestConsole::start_with(backend, |settings| {
        let mut pg = settings.sources[0].clone();
        pg.name = "pgdb".into();
        pg.spec = SourceConfig::from_toml(
            "name = 'pgdb'\nkind = 'postgres'\nurl = 'postgres://postgres@127.0.0.1:5432/postgres'",
        )
        .unwrap()
        .spec;
        settings.sources.push(pg);
    })
}

/// Admin token of a fresh console.
fn admin_token(console: &TestConsole) -> String {
    let admin = console.login_as(Role::Admin);
    console.add_user("scripts", Role::Admin);
    issue_token(console, &admin, "scripts")
}

/// A successful backup of `files`, made through the API; returns its id.
fn backed_up(console: &TestConsole, token: &str) -> String {
    let (status, created) = post(
        console,
        token,
        "/backups",
        &json!({"scope": "sources:files", "kind": "full"}),
    );
    assert_eq!(status, 202, "{created}");
    console.run_pending_jobs();
    created["backup"]["id"].as_str().unwrap().to_string()
}

#[test]
fn backup_names_and_descriptions_are_limited_in_characters() {
    for backend in &BOTH {
        let console = TestConsole::start(backend);
        let token = admin_token(&console);
        let create = |name: String, description: String| {
            post(
                &console,
                &token,
                "/backups",
                &json!({"scope": "sources:files", "kind": "full", "name": name,
                        "description": description}),
            )
        };
        // 200 two-byte characters are 400 bytes but a legal name; 2000 characters of
        // description likewise.
        let (status, body) = create("é".repeat(200), "日".repeat(2000));
        assert_eq!(status, 202, "{body}");
        let (status, body) = create("é".repeat(201), String::new());
        assert_eq!(status, 400, "{body}");
        assert!(error_of(&body).contains("1 to 200 characters"), "{body}");
        let (status, body) = create("   ".into(), String::new());
        assert_eq!(status, 400, "{body}");
        let (status, body) = create("fine".into(), "d".repeat(2001));
        assert_eq!(status, 400, "{body}");
        assert!(
            error_of(&body).contains("description has at most 2000 characters"),
            "{body}"
        );
    }
}

#[test]
fn bad_restore_requests_are_400_with_the_cli_wording() {
    for backend in &BOTH {
        let console = console_with_database_source(backend);
        let token = admin_token(&console);
        let id = backed_up(&console, &token);
        let restore = format!("/backups/{id}/restore");
        let cli_error = |args: &[&str]| {
            let mut all = vec!["restore", id.as_str(), "--yes"];
            all.extend_from_slice(args);
            let stderr = console.env.fails(&all);
            stderr
                .lines()
                .find_map(|l| l.strip_prefix("error: "))
                .unwrap_or_else(|| panic!("no error line in {stderr}"))
                .to_string()
        };

        let (status, body) = post(
            &console,
            &token,
            &restore,
            &json!({"confirm": true, "path": "files/[oops"}),
        );
        assert_eq!(status, 400, "{body}");
        assert_eq!(error_of(&body), cli_error(&["--path", "files/[oops"]));

        let (status, body) = post(
            &console,
            &token,
            &restore,
            &json!({"confirm": true, "sources": ["nope"]}),
        );
        assert_eq!(status, 400, "{body}");
        assert!(error_of(&body).contains("has no source `nope`"), "{body}");
        assert_eq!(error_of(&body), cli_error(&["--sources", "nope"]));

        // A file source goes into a folder: only an absolute, plain one over HTTP.
        for target in ["restored", "./restored", "/tmp/x/../y"] {
            let (status, body) = post(
                &console,
                &token,
                &restore,
                &json!({"confirm": true, "target": target}),
            );
            assert_eq!(status, 400, "{target}: {body}");
            assert!(
                error_of(&body).contains("is not an absolute folder"),
                "{target}: {body}"
            );
        }
        let folder = console.env.path("elsewhere");
        let (status, body) = post(
            &console,
            &token,
            &restore,
            &json!({"confirm": true, "target": folder}),
        );
        assert_eq!(status, 202, "{body}");
        console.run_pending_jobs();
        assert!(folder.join("files/hello.txt").is_file());
    }
}

#[test]
fn a_database_source_still_takes_a_database_name_as_target() {
    for backend in &BOTH {
        let console = console_with_database_source(backend);
        let token = admin_token(&console);
        let id = backed_up(&console, &token);
        // Let the backup's manifest list a database source too, as a backup of both would.
        let mut conn = console.app.conn().unwrap();
        let stored = coffer::db::Manifest::load(&mut conn, &id).unwrap().unwrap();
        let mut manifest = Manifest::from_json(&stored).unwrap();
        manifest.sources.push(SourceEntry {
            name: "pgdb".into(),
            service: "app".into(),
            kind: SourceKind::Postgres,
            origin: "postgres://127.0.0.1:5432/postgres".into(),
            snapshot_at: None,
            facts: None,
            base_backup: None,
        });
        coffer::db::Manifest::store(&mut conn, &id, &manifest.to_json()).unwrap();
        drop(conn);

        let restore = format!("/backups/{id}/restore");
        let (status, body) = post(
            &console,
            &token,
            &restore,
            &json!({"confirm": true, "sources": ["pgdb"], "target": "restored_copy"}),
        );
        assert_eq!(status, 202, "a database name is a target: {body}");
        let (status, body) = post(
            &console,
            &token,
            &restore,
            &json!({"confirm": true, "sources": ["pgdb"], "target": "./restored"}),
        );
        assert_eq!(status, 400, "{body}");
        assert!(error_of(&body).contains("takes a database name"), "{body}");
    }
}
