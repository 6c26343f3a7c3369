//! `/audit`: filters, paging, newest first, bad filter values.

use chrono::NaiveDate;
use coffer::db::{LogEntry, NewLogEntry};
use coffer::domain::{LogLevel, Role};

use super::harness::TestConsole;
use crate::helpers::BOTH;

fn record(
    console: &TestConsole,
    day: u32,
    level: LogLevel,
    operation: &str,
    user: &str,
    message: &str,
) {
    let mut entry = NewLogEntry::new(level, operation, message).by(user);
    entry.created_at = NaiveDate::from_ymd_opt(2026, 1, day)
        .unwrap()
        .and_hms_opt(12, 0, 0)
        .unwrap();
    LogEntry::insert(&mut console.app.conn().unwrap(), &entry).unwrap();
}

fn rows(html: &str) -> usize {
    html.matches("<tr class=\"level-").count()
}

#[test]
fn the_log_filters_by_operation_user_level_and_dates_newest_first() {
    for backend in &BOTH {
        let console = TestConsole::start(backend);
        record(
            &console,
            10,
            LogLevel::Info,
            "backup",
            "alice",
            "first backup",
        );
        record(
            &console,
            11,
            LogLevel::Info,
            "backup",
            "alice",
            "second backup",
        );
        record(
            &console,
            12,
            LogLevel::Warning,
            "login",
            "bob",
            "bob failed once",
        );
        record(
            &console,
            15,
            LogLevel::Error,
            "restore",
            "alice",
            "restore <failed>",
        );
        let viewer = console.login_as(Role::Viewer);

        let backups = viewer.page("/audit?operation=backup");
        assert_eq!(rows(&backups), 2);
        let (second, first) = (
            backups.find("second backup").unwrap(),
            backups.find("first backup").unwrap(),
        );
        assert!(second < first, "newest first");

        let bob = viewer.page("/audit?user=bob");
        assert_eq!(rows(&bob), 1);
        assert!(bob.contains("bob failed once"));

        let errors = viewer.page("/audit?level=error");
        assert_eq!(rows(&errors), 1);
        assert!(
            errors.contains("restore &") && !errors.contains("<failed>"),
            "messages are escaped"
        );

        // Both ends of the range are whole days, included.
        let range = viewer.page("/audit?from=2026-01-11&to=2026-01-12");
        assert_eq!(rows(&range), 2);
        assert!(range.contains("second backup") && range.contains("bob failed once"));
        let combined = viewer.page("/audit?operation=backup&user=alice&level=info&from=2026-01-11");
        assert_eq!(rows(&combined), 1);
        // Empty fields (as the filter form sends them) do not filter.
        let all = viewer.page("/audit?operation=&user=&level=&from=&to=");
        assert!(rows(&all) >= 5, "the four entries and the viewer's sign-in");
    }
}

#[test]
fn the_log_is_paged_fifty_at_a_time() {
    for backend in &BOTH {
        let console = TestConsole::start(backend);
        for n in 0..60 {
            record(
                &console,
                1 + n % 28,
                LogLevel::Info,
                "bulk",
                "script",
                &format!("entry {n}"),
            );
        }
        let viewer = console.login_as(Role::Viewer);
        let first = viewer.page("/audit?operation=bulk");
        assert_eq!(rows(&first), 50);
        assert!(first.contains("page 1 of 2") && first.contains("60 entries"));
        assert!(
            first.contains("href=\"/audit?operation=bulk&#38;page=2\""),
            "{first}"
        );
        let second = viewer.page("/audit?operation=bulk&page=2");
        assert_eq!(rows(&second), 10);
        let beyond = viewer.page("/audit?operation=bulk&page=9");
        assert_eq!(rows(&beyond), 0);
    }
}

#[test]
fn bad_filter_values_are_refused_with_a_message() {
    for backend in &BOTH {
        let console = TestConsole::start(backend);
        let viewer = console.login_as(Role::Viewer);
        for (query, expected) in [
            ("level=loud", "loud"),
            ("from=2026-13-01", "from"),
            ("to=yesterday", "to"),
            ("from=2026-02-01&to=2026-01-01", "starts"),
            ("page=0", "page"),
            ("page=abc", "page"),
        ] {
            let response = viewer.get(&format!("/audit?{query}"));
            assert_eq!(response.status(), 400, "{query}");
            let body = response.text().unwrap();
            assert!(body.contains(expected), "{query}: {body}");
        }
        assert_eq!(console.anonymous().get("/audit").status(), 303);
    }
}

/// Names the log writes between backticks are shown as code, not as literal backticks;
/// markup in them stays text.
#[test]
fn names_in_messages_are_code_not_backticks() {
    let console = TestConsole::start(&crate::helpers::Backend::Sqlite);
    record(
        &console,
        10,
        LogLevel::Info,
        "settings",
        "alice",
        "`alice` deleted schedule `<nightly>`",
    );
    let page = console.login_as(Role::Viewer).page("/audit");
    assert!(
        page.contains("<code>alice</code> deleted schedule <code>&lt;nightly&gt;</code>"),
        "{page}"
    );
    let table = &page[page.find("<table class=\"audit\">").unwrap()..];
    let table = &table[..table.find("</table>").unwrap()];
    assert!(!table.contains('`'), "no literal backticks: {table}");
    assert!(page.contains("<td class=\"when\">2026-01-10 12:00 UTC</td>"));
}

/// An entry edited in the database (the user of a restore renamed to "mallory") turns the
/// page's tamper check into a warning banner naming the broken link, on both backends.
#[test]
fn a_tampered_log_shows_a_warning_banner() {
    for backend in &BOTH {
        let console = TestConsole::start(backend);
        record(
            &console,
            3,
            LogLevel::Info,
            "restore",
            "alice",
            "restore of `nightly`",
        );
        let viewer = console.login_as(Role::Viewer);
        let clean = viewer.page("/audit");
        assert!(clean.contains("id=\"audit-chain-ok\""), "{clean}");
        assert!(!clean.contains("audit-chain-broken"));

        use diesel::RunQueryDsl;
        diesel::sql_query(
            "UPDATE backup_logs SET username = 'mallory' WHERE operation = 'restore'",
        )
        .execute(&mut *console.app.conn().unwrap())
        .unwrap();
        let warned = viewer.page("/audit");
        assert!(
            warned.contains("id=\"audit-chain-broken\""),
            "{backend:?}: {warned}"
        );
        assert!(warned.contains("role=\"alert\""));
        assert!(warned.contains("tampered with"), "{warned}");
        assert!(warned.contains("it was edited"), "{warned}");
        assert!(warned.contains("mallory"), "the entries are still shown");
    }
}
