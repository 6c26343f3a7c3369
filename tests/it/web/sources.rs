//! `/sources`: the configured sources with their places (a server's password never shown) and
//! the "test connection" button: operators see what was found, or why it failed; viewers get
//! no button and a 403 if they post anyway; every test is audit-logged.

use coffer::config::{FilterGlobs, SourceConfig, SourceSpec};
use coffer::domain::Role;

use super::harness::TestConsole;
use crate::helpers::Backend;

fn server_source(name: &str, url: &str) -> SourceConfig {
    SourceConfig::from_toml(&format!(
        "name = '{name}'\nservice = 'shop'\nkind = 'postgres'\nurl = '{url}'\nconnect_timeout_seconds = 2"
    ))
    .unwrap()
}

#[test]
fn sources_are_listed_without_passwords_and_can_be_tested() {
    let console = TestConsole::start_with(&Backend::Sqlite, |settings| {
        let mut missing = settings.sources[0].clone();
        missing.name = "gone".into();
        missing.spec = SourceSpec::Directory {
            path: "/nonexistent/coffer-test-folder".into(),
            filters: FilterGlobs::default(),
        };
        settings.sources.push(missing);
        settings.sources.push(server_source(
            "shopdb",
            "postgres://shop:hunter2-secret@127.0.0.1:5432/shop",
        ));
    });
    let viewer = console.login_as(Role::Viewer);
    let page = viewer.page("/sources");
    assert!(page.contains("files") && page.contains("gone") && page.contains("shopdb"));
    assert!(
        page.contains("postgres://shop@127.0.0.1:5432/shop"),
        "{page}"
    );
    assert!(!page.contains("hunter2"), "a password shows on the page");
    assert!(!page.contains("Test connection"), "viewers get no button");
    assert_eq!(viewer.post("/sources/files/check", &[]).status(), 403);

    let operator = console.login_as(Role::Operator);
    let ok = operator.post("/sources/files/check", &[]);
    assert_eq!(ok.status(), 200);
    let ok = ok.text().unwrap();
    assert!(
        ok.contains("Connection OK") && ok.contains("is readable"),
        "{ok}"
    );

    let failed = operator.post("/sources/gone/check", &[]).text().unwrap();
    assert!(failed.contains("Check failed"), "{failed}");
    assert!(
        failed.contains("/nonexistent/coffer-test-folder"),
        "{failed}"
    );

    // htmx asks for the result alone.
    let partial = operator
        .client
        .post(operator.url("/sources/files/check"))
        .header("HX-Request", "true")
        .header("X-CSRF-Token", &operator.csrf)
        .send()
        .unwrap()
        .text()
        .unwrap();
    assert!(partial.contains("Connection OK"), "{partial}");
    assert!(
        !partial.contains("<html"),
        "a partial, not a page: {partial}"
    );

    assert_eq!(operator.post("/sources/nope/check", &[]).status(), 404);
    let audit = console.login_as(Role::Admin).page("/audit");
    assert!(audit.contains("connection test of source"), "{audit}");
    assert!(!audit.contains("hunter2"));
}
