//! Every signed-in page on a phone (WCAG reflow): at 320 px and 400 px wide the page itself
//! never scrolls sideways (`scrollWidth <= innerWidth`; a wide table scrolls inside its own
//! box or becomes cards). At 1400 px each page is also checked for what a keyboard or
//! screen-reader user needs: a skip link as the first stop, named navigation landmarks, no
//! empty table header, buttons whose text stands out from their background. At 400 px and
//! 1400 px axe-core finds no serious or critical violation. Screenshots at the three widths
//! go to `target/test-artifacts/reflow-PAGE-WIDTH.png`.

use std::time::Duration;

use coffer::domain::Role;
use fantoccini::Client;
use serde_json::{json, Value};

use super::browser::{open_browser, save_screenshot, sign_in, Driver};
use super::harness::{location, TestConsole};
use crate::helpers::Backend;

/// Phone widths the pages must fit, narrowest first.
const NARROW: [u32; 2] = [320, 400];
const WIDE: u32 = 1400;

/// What a page measures in the browser: its width against the window's, and what it
/// offers keyboard and screen-reader users.
const MEASURE: &str = r#"
const doc = document.documentElement;
const focusable = document.querySelector(
  'a[href], button, input:not([type=hidden]), select, textarea, [tabindex]:not([tabindex="-1"])');
const navs = [...document.querySelectorAll('nav')].map(n => n.getAttribute('aria-label') || '');
const emptyHeaders = [...document.querySelectorAll('th')]
  .filter(th => th.textContent.trim() === '' && !th.getAttribute('aria-label')).length;
const channels = (c) => (c.match(/[\d.]+/g) || []).map(Number);
const background = (el) => {
  for (; el; el = el.parentElement) {
    const c = channels(getComputedStyle(el).backgroundColor);
    if (c.length === 3 || (c.length === 4 && c[3] > 0)) return c;
  }
  return [255, 255, 255];
};
const luminance = (c) => {
  const f = (v) => { v /= 255; return v <= 0.03928 ? v / 12.92 : Math.pow((v + 0.055) / 1.055, 2.4); };
  return 0.2126 * f(c[0]) + 0.7152 * f(c[1]) + 0.0722 * f(c[2]);
};
const contrast = (el) => {
  const [a, b] = [luminance(channels(getComputedStyle(el).color)), luminance(background(el))];
  return (Math.max(a, b) + 0.05) / (Math.min(a, b) + 0.05);
};
const faint = [...document.querySelectorAll('button, a.button')]
  .filter(el => el.getClientRects().length > 0 && contrast(el) < 4.5)
  .map(el => el.textContent.trim() + ' ' + contrast(el).toFixed(2));
const progress = [...document.querySelectorAll('.task-progress .progress-body')]
  .every(el => el.getAttribute('role') === 'status');
return {
  scrollWidth: doc.scrollWidth, innerWidth: window.innerWidth,
  heading: (document.querySelector('h1') || {}).textContent || '',
  firstFocusable: focusable ? (focusable.getAttribute('href') || focusable.tagName) : '',
  navs, emptyHeaders, faint, progress,
};
"#;

#[test]
fn every_signed_in_page_fits_a_phone_and_serves_keyboard_and_screen_readers() {
    let console = TestConsole::start(&Backend::Sqlite);
    let driver = Driver::start();
    let pages = fill_every_page(&console);
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap();
    let problems = runtime.block_on(async {
        let browser = open_browser(&driver).await;
        sign_in(&console, &browser, "e2e-layout").await;
        let mut problems = Vec::new();
        for (name, path) in &pages {
            browser.goto(&console.url(path)).await.unwrap();
            problems.extend(check_page(&browser, name).await);
        }
        let _ = browser.close().await;
        problems
    });
    assert!(
        problems.is_empty(),
        "pages that do not fit or leave users out:\n{}",
        problems.join("\n")
    );
}

/// The audit page with its tamper warning (the user of a restore renamed in the database):
/// the banner fits a phone too. Screenshots `reflow-audit-tampered-WIDTH.png`.
#[test]
fn the_audit_page_warning_of_tampering_fits_a_phone() {
    let console = TestConsole::start(&Backend::Sqlite);
    let driver = Driver::start();
    console.add_user("e2e-layout", Role::Admin);
    for (operation, message) in [
        ("login", "alice signed in"),
        ("restore", "restore of backup `nightly` over the original"),
    ] {
        console.app.audit(
            coffer::db::NewLogEntry::new(coffer::domain::LogLevel::Info, operation, message)
                .by("alice"),
        );
    }
    {
        use diesel::RunQueryDsl;
        diesel::sql_query(
            "UPDATE backup_logs SET username = 'mallory' WHERE operation = 'restore'",
        )
        .execute(&mut *console.app.conn().unwrap())
        .unwrap();
    }
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap();
    let problems = runtime.block_on(async {
        let browser = open_browser(&driver).await;
        sign_in(&console, &browser, "e2e-layout").await;
        browser.goto(&console.url("/audit")).await.unwrap();
        let banner = browser
            .find(fantoccini::Locator::Id("audit-chain-broken"))
            .await
            .expect("the warning banner is shown");
        assert!(banner.text().await.unwrap().contains("tampered with"));
        let problems = check_page(&browser, "audit-tampered").await;
        let _ = browser.close().await;
        problems
    });
    assert!(problems.is_empty(), "{}", problems.join("\n"));
}

/// Gives every page something to show (a backup with its task, a schedule, a drill and
/// its report, a user with an API token) and returns the pages as (name, path).
fn fill_every_page(console: &TestConsole) -> Vec<(&'static str, String)> {
    let user = console.add_user("e2e-layout", Role::Admin);
    // Two-factor sign-in being set up: its page shows the QR code and the secret.
    let secret = coffer::auth::TotpSecret::generate().to_base32();
    let mut conn = console.app.conn().unwrap();
    assert!(coffer::db::TotpRow::start_enrolment(&mut conn, &user.id, &secret).unwrap());
    drop(conn);
    let request = coffer::jobs::backup::BackupRequest::new(
        coffer::domain::Scope::All,
        coffer::domain::BackupKind::Full,
    );
    let backup =
        coffer::jobs::backup::run_backup(&console.app, &request, &crate::helpers::tester(), None)
            .unwrap();
    // A second backup whose copy S3 Object Lock holds for a month: "locked until" in the
    // list, on its page, and its delete page refusing.
    let locked =
        coffer::jobs::backup::run_backup(&console.app, &request, &crate::helpers::tester(), None)
            .unwrap();
    coffer::db::BackupCopy::set_retain_until(
        &mut console.app.conn().unwrap(),
        &locked.id,
        console.app.storage_name(),
        Some(chrono::Utc::now().naive_utc() + chrono::Duration::days(30)),
    )
    .unwrap();
    let admin = console.login_as(Role::Admin);
    let schedule = admin.post(
        "/settings/schedules",
        &[
            ("name", "nightly everything"),
            ("enabled", "on"),
            ("action", "backup"),
            ("frequency", "daily"),
            ("time", "02:30"),
            ("weekday", "sunday"),
            ("day", "1"),
            ("cron", ""),
            ("timezone", "Europe/Berlin"),
            ("scope", "all"),
            ("kind", "full"),
            ("retention_days", "30"),
        ],
    );
    assert_eq!(schedule.status(), 303, "{}", schedule.text().unwrap());
    let drill = admin.post("/recoverability/drill", &[("service", "")]);
    assert_eq!(drill.status(), 303, "{}", drill.text().unwrap());
    let drill_task = location(&drill).trim_start_matches("/tasks/").to_string();
    console.run_pending_jobs();
    let issued = admin.post(
        &format!("/users/{}/tokens", user.id),
        &[
            ("name", "nightly script"),
            ("scope", "read"),
            ("scope", "backup"),
            ("scope", "restore"),
            ("scope", "admin"),
            ("expires", "30"),
        ],
    );
    assert_eq!(issued.status(), 200, "{}", issued.text().unwrap());
    // A used token shows when and from where it was last used.
    let scraper = admin.post(
        &format!("/users/{}/tokens", user.id),
        &[
            ("name", "prometheus"),
            ("scope", "read"),
            ("expires", "never"),
        ],
    );
    assert_eq!(scraper.status(), 200);
    let token = super::users::shown_token(&scraper.text().unwrap());
    let scraped = crate::helpers::http_client()
        .build()
        .unwrap()
        .get(console.url("/metrics"))
        .bearer_auth(&token)
        .send()
        .unwrap();
    assert_eq!(scraped.status(), 200);
    let backup_page = admin.page(&format!("/backups/{}", backup.id));
    let backup_task = backup_page
        .split("href=\"/tasks/")
        .nth(1)
        .and_then(|rest| rest.split('"').next())
        .map(str::to_string)
        .unwrap_or_else(|| drill_task.clone());
    let schedule_id = admin
        .page("/settings")
        .split("/settings?edit=")
        .nth(1)
        .and_then(|rest| rest.split('#').next())
        .expect("the schedule is listed")
        .to_string();
    vec![
        ("dashboard", "/".into()),
        ("backups", "/backups".into()),
        ("backup", format!("/backups/{}", backup.id)),
        (
            "backup-files",
            format!("/backups/{}/files?path=files", backup.id),
        ),
        ("backup-delete", format!("/backups/{}/delete", backup.id)),
        ("backup-locked", format!("/backups/{}", locked.id)),
        (
            "backup-locked-delete",
            format!("/backups/{}/delete", locked.id),
        ),
        ("new-backup", "/backups/new".into()),
        ("restore", format!("/backups/{}/restore", backup.id)),
        (
            "restore-preview",
            format!("/backups/{}/restore/preview?sources=files", backup.id),
        ),
        ("verify", format!("/backups/{}/verify", backup.id)),
        ("tasks", "/tasks".into()),
        ("task", format!("/tasks/{backup_task}")),
        ("drill-task", format!("/tasks/{drill_task}")),
        ("sources", "/sources".into()),
        ("schedules", "/settings".into()),
        ("schedule-edit", format!("/settings?edit={schedule_id}")),
        (
            "schedule-delete",
            format!("/settings/schedules/{schedule_id}/delete"),
        ),
        ("recoverability", "/recoverability".into()),
        ("drill", format!("/drills/{drill_task}")),
        ("audit", "/audit".into()),
        ("users", "/users".into()),
        ("user", format!("/users/{}", user.id)),
        // The same page scrolled to its API tokens (below the fold at every width).
        ("user-tokens", format!("/users/{}#token-list", user.id)),
        ("user-delete", format!("/users/{}/delete", user.id)),
        ("account", "/account/password".into()),
        ("two-factor", "/account/2fa".into()),
    ]
}

/// The page's problems at each width, each a line naming the page; screenshots of each.
async fn check_page(browser: &Client, name: &str) -> Vec<String> {
    let mut problems = Vec::new();
    for width in NARROW.into_iter().chain([WIDE]) {
        browser.set_window_size(width, 1000).await.unwrap();
        // A resize lays the page out again; give it a moment before measuring.
        tokio::time::sleep(Duration::from_millis(150)).await;
        let found = browser.execute(MEASURE, vec![]).await.unwrap();
        let number = |key: &str| found[key].as_u64().unwrap_or(0);
        let (scroll, inner) = (number("scrollWidth"), number("innerWidth"));
        assert_eq!(
            inner,
            u64::from(width),
            "the window is {width} px wide inside"
        );
        let heading = found["heading"].as_str().unwrap_or_default();
        assert!(
            !heading.is_empty() && !heading.contains("Not found"),
            "{name} shows a page: {heading:?}"
        );
        if scroll > inner {
            problems.push(format!(
                "{name} at {width} px: the page is {scroll} px wide, {} px too wide",
                scroll - inner
            ));
        }
        if width == WIDE {
            problems.extend(access_problems(name, &found));
        }
        if width != NARROW[0] {
            let page = format!("{name} at {width} px");
            problems.extend(super::axe::serious_violations(browser, &page).await);
        }
        save_screenshot(browser, &format!("reflow-{name}-{width}.png")).await;
    }
    problems
}

/// What the page lacks for keyboard and screen-reader users.
fn access_problems(name: &str, found: &Value) -> Vec<String> {
    let mut problems = Vec::new();
    if found["firstFocusable"] != json!("#content") {
        problems.push(format!(
            "{name}: the first stop of the keyboard is {}, not a skip link to #content",
            found["firstFocusable"]
        ));
    }
    let navs: Vec<&str> = found["navs"]
        .as_array()
        .unwrap()
        .iter()
        .map(|n| n.as_str().unwrap_or_default())
        .collect();
    let mut named: Vec<&str> = navs.iter().copied().filter(|n| !n.is_empty()).collect();
    named.sort_unstable();
    named.dedup();
    if named.len() != navs.len() {
        problems.push(format!(
            "{name}: navigation landmarks need a name each, and different names: {navs:?}"
        ));
    }
    if found["emptyHeaders"] != json!(0) {
        problems.push(format!(
            "{name}: {} empty table headers",
            found["emptyHeaders"]
        ));
    }
    if found["faint"] != json!([]) {
        problems.push(format!(
            "{name}: buttons below 4.5:1 contrast: {}",
            found["faint"]
        ));
    }
    if found["progress"] != json!(true) {
        problems.push(format!(
            "{name}: a progress box is not announced (role=status)"
        ));
    }
    problems
}
