//! The backup pages driven over HTTP: create → detail → download (checked with gzip and tar),
//! list filters and pages, the stats JSON, delete rules, roles, bad input, escaping.

use std::fs;

use coffer::db::{Backup, LogEntry, LogFilter, NewBackup};
use coffer::domain::{Role, Scope};
use serde_json::Value;

use super::harness::{location, Browser, TestConsole};
use crate::helpers::{tool, BOTH};

/// Posts the create form and returns the new backup's id (from the 303 to its page).
fn create(browser: &Browser, fields: &[(&str, &str)]) -> String {
    let response = browser.post("/backups", fields);
    let status = response.status();
    let target = location(&response);
    assert_eq!(status, 303, "{}", response.text().unwrap());
    target
        .strip_prefix("/backups/")
        .unwrap_or_else(|| panic!("redirect to a backup page, got {target}"))
        .to_string()
}

/// Downloads a backup into `path` and returns the file names `tar -tzf` lists.
fn download(console: &TestConsole, browser: &Browser, id: &str, name: &str) -> String {
    let response = browser.get(&format!("/backups/{id}/download"));
    assert_eq!(response.status(), 200);
    let disposition = response.headers()["content-disposition"]
        .to_str()
        .unwrap()
        .to_string();
    assert!(disposition.starts_with("attachment"), "{disposition}");
    let path = console.env.path(name);
    fs::write(&path, response.bytes().unwrap()).unwrap();
    let gzip = tool("gzip", &["-t", path.to_str().unwrap()]);
    assert!(gzip.status.success(), "gzip -t {name}");
    let list = tool("tar", &["-tzf", path.to_str().unwrap()]);
    assert!(list.status.success(), "tar -tzf {name}");
    String::from_utf8(list.stdout).unwrap()
}

fn figure(page: &str, id: &str) -> String {
    let marker = format!("id=\"{id}\">");
    let start = page.find(&marker).expect(id) + marker.len();
    page[start..start + page[start..].find('<').unwrap()].to_string()
}

#[test]
fn create_then_watch_then_download_full_and_incremental() {
    for backend in &BOTH {
        let console = TestConsole::start(backend);
        let operator = console.login_as(Role::Operator);
        let form = operator.page("/backups/new");
        assert!(form.contains("name=\"sources\" value=\"files\""));

        let full = create(
            &operator,
            &[("scope", "all"), ("kind", "full"), ("name", "first one")],
        );
        let pending = operator.page(&format!("/backups/{full}"));
        assert!(pending.contains("id=\"task-progress\"") && pending.contains("pending"));
        console.run_pending_jobs();
        let detail = operator.page(&format!("/backups/{full}"));
        assert!(
            detail.contains("id=\"backup-status\"><span class=\"status status-success\" data-status=\"success\">success</span>"),
            "{detail}"
        );
        let files = operator.page(&format!("/backups/{full}/files?path=files"));
        assert!(
            files.contains(">hello.txt<") && files.contains(">sub/</a>"),
            "{files}"
        );
        assert!(detail.contains(&format!("/backups/{full}/download")));
        let names = download(&console, &operator, &full, "full.tar.gz");
        assert!(names.contains("files/hello.txt") && names.contains("files/sub/data.bin"));
        assert!(names.trim_end().ends_with("coffer/manifest.json"));

        fs::write(console.env.path("files/later.txt"), "added later\n").unwrap();
        let inc = create(&operator, &[("scope", "all"), ("kind", "incremental")]);
        let for_service = create(
            &operator,
            &[("scope", "service"), ("service", "app"), ("kind", "full")],
        );
        let inc_for_sources = create(
            &operator,
            &[("scope", "sources"), ("sources", "files"), ("kind", "full")],
        );
        console.run_pending_jobs();
        let record = Backup::find_by_id(&mut console.app.conn().unwrap(), &inc).unwrap();
        assert_eq!(record.status, "success");
        assert_eq!(record.kind, "incremental");
        assert_eq!(record.parent_id.as_deref(), Some(full.as_str()));
        let chain = operator.page(&format!("/backups/{inc}"));
        assert!(
            chain.contains("id=\"ancestors\"") && chain.contains(&format!("/backups/{full}\""))
        );
        let service = Backup::find_by_id(&mut console.app.conn().unwrap(), &for_service);
        assert_eq!(service.unwrap().scope, "service:app");
        let names = download(&console, &operator, &inc, "inc.tar.gz");
        assert!(names.contains("files/later.txt") && names.contains("files/hello.txt"));
        let other = Backup::find_by_id(&mut console.app.conn().unwrap(), &inc_for_sources);
        assert_eq!(other.unwrap().scope, "sources:files");

        let downloads = LogEntry::list(
            &mut console.app.conn().unwrap(),
            &LogFilter {
                operation: Some("download".into()),
                ..LogFilter::default()
            },
        )
        .unwrap();
        assert_eq!(downloads.len(), 2, "every download is logged");
        assert!(downloads
            .iter()
            .all(|e| e.username.as_deref().unwrap().starts_with("operator-")));
    }
}

#[test]
fn a_download_that_fails_midway_breaks_the_connection() {
    let console = TestConsole::start(&BOTH[0]);
    let operator = console.login_as(Role::Operator);
    let id = create(&operator, &[("scope", "all"), ("kind", "full")]);
    console.run_pending_jobs();
    let record = Backup::find_by_id(&mut console.app.conn().unwrap(), &id).unwrap();
    let object = console
        .env
        .path("backups")
        .join(record.storage_key.unwrap());
    let mut bytes = fs::read(&object).unwrap();
    let last = bytes.len() - 1;
    bytes[last] ^= 0xff;
    fs::write(&object, bytes).unwrap();
    let outcome = operator
        .client
        .get(operator.url(&format!("/backups/{id}/download")))
        .send()
        .and_then(|r| r.bytes());
    assert!(
        outcome.is_err(),
        "a damaged archive must not download as a whole file"
    );
}

#[test]
fn invalid_create_input_is_shown_next_to_its_field() {
    let console = TestConsole::start(&BOTH[0]);
    let operator = console.login_as(Role::Operator);
    for (fields, marker) in [
        (vec![("scope", "sources")], "id=\"sources-error\""),
        (
            vec![("scope", "sources"), ("sources", "nope")],
            "There is no source named `nope`",
        ),
        (
            vec![("scope", "service"), ("service", "ghost")],
            "id=\"service-error\"",
        ),
        (vec![("scope", "everything")], "id=\"scope-error\""),
        (
            vec![("scope", "all"), ("kind", "tape")],
            "id=\"kind-error\"",
        ),
    ] {
        let response = operator.post("/backups", &fields);
        assert_eq!(response.status(), 400, "{fields:?}");
        let body = response.text().unwrap();
        assert!(body.contains(marker), "{fields:?}: {body}");
    }
    let count = Backup::count(&mut console.app.conn().unwrap(), &Default::default()).unwrap();
    assert_eq!(count, 0, "nothing recorded");
}

/// Records `n` finished backups straight into the catalogue, alternating their traits.
fn seed(console: &TestConsole, n: usize) {
    use diesel::prelude::*;
    let mut conn = console.app.conn().unwrap();
    for i in 0..n {
        let (scope, sources): (Scope, Vec<&str>) = if i % 2 == 0 {
            ("service:app".parse().unwrap(), vec!["files"])
        } else {
            ("sources:other_src".parse().unwrap(), vec!["other_src"])
        };
        let mut new = NewBackup::full(&format!("seeded-{i:02}"), &scope, &sources);
        new.status = if i % 3 == 0 { "failed" } else { "success" }.into();
        new.automatic = i % 4 == 0;
        new.created_at -= chrono::Duration::minutes((n - i) as i64);
        if i == 7 {
            new.description = Some("The Needle in the haystack".into());
        }
        let record = Backup::insert(&mut conn, &new).unwrap();
        use coffer::db::schema::backup_records::dsl;
        diesel::update(dsl::backup_records.find(&record.id))
            .set(dsl::size_bytes.eq(1000))
            .execute(&mut *conn)
            .unwrap();
    }
}

fn rows_on(page: &str) -> Vec<String> {
    page.split("<tr><td><a href=\"/backups/")
        .skip(1)
        .map(|chunk| {
            let name_start = chunk.find("\">").unwrap() + 2;
            chunk[name_start..name_start + chunk[name_start..].find('<').unwrap()].to_string()
        })
        .collect()
}

fn next_link(page: &str, rel: &str) -> Option<String> {
    let marker = format!("rel=\"{rel}\"");
    let end = page.find(&marker)?;
    let start = page[..end].rfind("href=\"")? + 6;
    let href = &page[start..start + page[start..].find('"').unwrap()];
    // askama writes `&` as `&#38;` (or `&amp;`); a browser decodes either.
    Some(href.replace("&#38;", "&").replace("&amp;", "&"))
}

#[test]
fn the_list_filters_pages_and_totals() {
    for backend in &BOTH {
        let console = TestConsole::start(backend);
        seed(&console, 30);
        let viewer = console.login_as(Role::Viewer);

        let all = viewer.page("/backups");
        assert_eq!(figure(&all, "total-count"), "30");
        assert_eq!(figure(&all, "total-failed"), "10");
        assert_eq!(figure(&all, "total-succeeded"), "20");
        assert_eq!(figure(&all, "total-size"), "29.3 KiB");
        assert_eq!(rows_on(&all).len(), 25);
        assert_eq!(rows_on(&all)[0], "seeded-29", "newest first");

        // Pages of 4 failed backups, filters kept in every link, no row twice.
        let mut path = "/backups?status=failed&per_page=4".to_string();
        let mut seen = Vec::new();
        loop {
            let page = viewer.page(&path);
            assert_eq!(figure(&page, "total-count"), "10");
            seen.extend(rows_on(&page));
            match next_link(&page, "next") {
                Some(link) => {
                    assert!(link.contains("status=failed") && link.contains("per_page=4"));
                    path = link;
                }
                None => break,
            }
        }
        let expected: Vec<String> = (0..30)
            .rev()
            .filter(|i| i % 3 == 0)
            .map(|i| format!("seeded-{i:02}"))
            .collect();
        assert_eq!(seen, expected);
        // And back again from the last page.
        let back = next_link(&viewer.page(&path), "prev").expect("a link to newer rows");
        assert_eq!(rows_on(&viewer.page(&back)), expected[4..8].to_vec());

        let count = |query: &str| figure(&viewer.page(&format!("/backups?{query}")), "total-count");
        assert_eq!(count("source=files"), "15");
        assert_eq!(count("source=other_src"), "15");
        assert_eq!(count("service=app"), "15");
        assert_eq!(count("trigger=automatic"), "8");
        assert_eq!(count("trigger=manual&kind=full"), "22");
        assert_eq!(count("kind=incremental"), "0");
        assert_eq!(count("q=needle"), "1");
        assert_eq!(count("q=seeded-1"), "10");
        assert_eq!(count("q=%25"), "0", "% matches itself only");
        // Through the trigram index (3+ characters) and without it, quotes and wildcards
        // taken literally.
        assert_eq!(count("q=NEEDLE"), "1");
        assert_eq!(count("q=ded-2"), "10");
        assert_eq!(count("q=%22needle%22"), "0");
        assert_eq!(count("q=seeded_2"), "0", "_ matches itself only");
        assert_eq!(count("q=needle&status=failed"), "0");
        assert_eq!(count("q=needle&status=success&source=other_src"), "1");
        assert_eq!(
            count("status=&kind=&q="),
            "30",
            "empty fields do not filter"
        );

        for bad in [
            "status=bogus",
            "kind=tape",
            "trigger=sometimes",
            "per_page=0",
            "per_page=lots",
            "before=yesterday",
            "before=1.a&after=1.b",
            "source=a%22b",
            "q=a%00b",
        ] {
            let response = viewer.get(&format!("/backups?{bad}"));
            assert_eq!(response.status(), 400, "{bad}");
        }
    }
}

#[test]
fn stats_report_totals_and_last_successes() {
    for backend in &BOTH {
        let console = TestConsole::start(backend);
        seed(&console, 12);
        let viewer = console.login_as(Role::Viewer);
        let response = viewer.get("/backups/stats");
        assert_eq!(response.status(), 200);
        let stats: Value = response.json().unwrap();
        assert_eq!(stats["total"], 12);
        assert_eq!(stats["total_size_bytes"], 12_000);
        assert_eq!(stats["by_status"]["success"], 8);
        assert_eq!(stats["by_status"]["failed"], 4);
        assert_eq!(stats["by_status"]["running"], 0);
        assert_eq!(stats["by_kind"]["full"], 12);
        assert_eq!(stats["by_kind"]["incremental"], 0);
        assert!(
            stats["last_success"]["sources"]["files"].is_string(),
            "{stats}"
        );
        assert!(
            stats["last_success"]["services"]["app"].is_string(),
            "{stats}"
        );
        assert_eq!(stats["running_tasks"], serde_json::json!([]));

        let dashboard = viewer.page("/");
        assert!(dashboard.contains("id=\"size-chart\"") && dashboard.contains("<polyline"));
        assert!(dashboard.contains("min ago"), "age of the last success");
    }
}

#[test]
fn delete_keeps_parents_of_incrementals_and_removes_objects() {
    for backend in &BOTH {
        let console = TestConsole::start(backend);
        let admin = console.login_as(Role::Admin);
        let full = create(&admin, &[("scope", "all"), ("kind", "full")]);
        console.run_pending_jobs();
        let inc = create(&admin, &[("scope", "all"), ("kind", "incremental")]);
        console.run_pending_jobs();
        let mut conn = console.app.conn().unwrap();
        let inc_record = Backup::find_by_id(&mut conn, &inc).unwrap();
        assert_eq!(inc_record.parent_id.as_deref(), Some(full.as_str()));

        let refused = admin.post(&format!("/backups/{full}/delete"), &[]);
        assert_eq!(refused.status(), 409);
        assert!(refused.text().unwrap().contains("depend on it"));
        assert!(Backup::find_by_id(&mut conn, &full).is_ok());

        let object = console
            .env
            .path("backups")
            .join(inc_record.storage_key.unwrap());
        assert!(object.exists());
        let deleted = admin.post(&format!("/backups/{inc}/delete"), &[]);
        assert_eq!(deleted.status(), 303);
        assert!(!object.exists(), "the archive object is gone");
        assert_eq!(admin.get(&format!("/backups/{inc}")).status(), 404);
        assert_eq!(
            admin.post(&format!("/backups/{full}/delete"), &[]).status(),
            303
        );
        let deletions = LogEntry::list(
            &mut conn,
            &LogFilter {
                operation: Some("delete".into()),
                ..LogFilter::default()
            },
        )
        .unwrap();
        assert_eq!(deletions.len(), 2);
    }
}

#[test]
fn roles_bad_ids_and_escaping() {
    for backend in &BOTH {
        let console = TestConsole::start(backend);
        let operator = console.login_as(Role::Operator);
        let hostile = "<script>alert(1)</script>";
        let id = create(
            &operator,
            &[
                ("scope", "all"),
                ("name", hostile),
                ("description", "<b>bold</b>"),
            ],
        );
        console.run_pending_jobs();

        let viewer = console.login_as(Role::Viewer);
        assert_eq!(viewer.get("/backups/new").status(), 403);
        assert_eq!(viewer.post("/backups", &[("scope", "all")]).status(), 403);
        assert_eq!(viewer.get(&format!("/backups/{id}/download")).status(), 403);
        assert_eq!(
            viewer.post(&format!("/backups/{id}/delete"), &[]).status(),
            403
        );
        assert_eq!(
            operator
                .post(&format!("/backups/{id}/delete"), &[])
                .status(),
            403
        );
        let detail = viewer.page(&format!("/backups/{id}"));
        assert!(
            !detail.contains("/download"),
            "no download link for a viewer"
        );
        assert!(
            !detail.contains("/delete\""),
            "no delete button for a viewer"
        );

        for page in [viewer.page("/backups"), detail] {
            assert!(!page.contains(hostile) && !page.contains("<b>bold"));
            assert!(page.contains("&lt;script&gt;") || page.contains("&#60;script&#62;"));
        }

        let admin = console.login_as(Role::Admin);
        assert_eq!(admin.get("/backups/no-such-id").status(), 404);
        assert_eq!(admin.get("/backups/no-such-id/download").status(), 404);
        assert_eq!(admin.post("/backups/no-such-id/delete", &[]).status(), 404);
        assert_eq!(
            admin
                .get(&format!("/backups/{id}/files?page=zero"))
                .status(),
            400
        );
    }
}

#[test]
fn admins_pin_and_unpin_a_backup() {
    let console = TestConsole::start(&crate::helpers::Backend::Sqlite);
    let admin = console.login_as(Role::Admin);
    let id = create(&admin, &[("scope", "all"), ("kind", "full")]);
    console.run_pending_jobs();
    let pinned = admin.post(&format!("/backups/{id}/pin"), &[("pinned", "yes")]);
    assert_eq!(pinned.status(), 303);
    let page = admin.page(&format!("/backups/{id}"));
    assert!(
        page.contains("id=\"pinned-note\"") && page.contains("Unpin"),
        "{page}"
    );
    let mut conn = console.app.conn().unwrap();
    assert!(Backup::find_by_id(&mut conn, &id).unwrap().pinned);
    let bad = admin.post(&format!("/backups/{id}/pin"), &[("pinned", "maybe")]);
    assert_eq!(bad.status(), 400);
    assert!(bad.text().unwrap().contains("`yes` or `no`"));
    admin.post(&format!("/backups/{id}/pin"), &[("pinned", "no")]);
    assert!(!Backup::find_by_id(&mut conn, &id).unwrap().pinned);
    assert!(!admin
        .page(&format!("/backups/{id}"))
        .contains("id=\"pinned-note\""));
}
