//! The forms as a browser lays them out, at 1400 px and 400 px: every radio button and
//! checkbox sits on the line of its own label text (New backup once put each alone, centred
//! above its label), every control has an accessible name (the service dropdown once had
//! none), and the audit log's When column stays on one line (it once wrapped onto three).
//! Screenshots go to `target/test-artifacts/forms-PAGE-WIDTH.png`.

use std::time::Duration;

use coffer::db::{LogEntry, NewLogEntry};
use coffer::domain::{LogLevel, Role};
use fantoccini::Client;

use super::browser::{open_browser, save_screenshot, sign_in, Driver};
use super::harness::TestConsole;
use crate::helpers::Backend;

/// Each radio button or checkbox whose label text does not start on its line, right of it;
/// each form control without an accessible name; the most lines a When cell takes.
const MEASURE: &str = r#"
const misplaced = [];
for (const input of document.querySelectorAll('main input[type=radio], main input[type=checkbox]')) {
  const label = input.closest('label');
  if (!label) { misplaced.push(input.name + '=' + input.value + ': no label around it'); continue; }
  const range = document.createRange();
  range.setStartAfter(input);
  range.setEndAfter(label.lastChild);
  const text = [...range.getClientRects()].find(r => r.width > 1);
  const box = input.getBoundingClientRect();
  if (!text || box.bottom <= text.top || box.top >= text.bottom || box.right > text.left + 1) {
    misplaced.push(input.name + '=' + input.value + ' (' + label.textContent.trim().slice(0, 40) + ')');
  }
}
const nameOf = (el) => {
  const by = el.getAttribute('aria-labelledby');
  if (by) return by.split(/\s+/).map(id => (document.getElementById(id) || {}).textContent || '').join(' ').trim();
  if (el.getAttribute('aria-label')) return el.getAttribute('aria-label').trim();
  return [...(el.labels || [])].map(l => l.textContent).join(' ').trim();
};
const unnamed = [...document.querySelectorAll('main input:not([type=hidden]), main select, main textarea')]
  .filter(el => nameOf(el) === '').map(el => el.tagName + ' ' + (el.name || ''));
const lines = (el) => {
  const range = document.createRange();
  range.selectNodeContents(el);
  return new Set([...range.getClientRects()].filter(r => r.width > 0).map(r => Math.round(r.top))).size;
};
const whens = [...document.querySelectorAll('table.audit td.when')].map(lines);
const serviceName = (() => { const s = document.querySelector('main select[name=service]'); return s ? nameOf(s) : null; })();
return { misplaced, unnamed, mostWhenLines: Math.max(0, ...whens), whens: whens.length, serviceName,
         scrollWidth: document.documentElement.scrollWidth, innerWidth: window.innerWidth };
"#;

#[test]
fn choices_sit_beside_their_labels_controls_are_named_and_times_stay_on_one_line() {
    let console = TestConsole::start(&Backend::Sqlite);
    let user = console.add_user("e2e-forms", Role::Admin);
    // An audit entry with a long message, so a narrow When column would wrap.
    let long = "`e2e-forms` did something with a long description that takes the room of the row "
        .repeat(4);
    LogEntry::insert(
        &mut console.app.conn().unwrap(),
        &NewLogEntry::new(LogLevel::Info, "settings", long).by("e2e-forms"),
    )
    .unwrap();
    let admin = console.login_as(Role::Admin);
    let schedule = admin.post(
        "/settings/schedules",
        &[
            ("name", "nightly"),
            ("enabled", "on"),
            ("action", "backup"),
            ("frequency", "daily"),
            ("time", "02:30"),
            ("timezone", "UTC"),
            ("scope", "all"),
            ("kind", "full"),
            ("retention_days", "30"),
        ],
    );
    assert_eq!(schedule.status(), 303, "{}", schedule.text().unwrap());
    let pages = [
        ("new-backup", "/backups/new".to_string()),
        ("schedules", "/settings".to_string()),
        ("users", "/users".to_string()),
        ("user", format!("/users/{}", user.id)),
        ("audit", "/audit".to_string()),
    ];
    let driver = Driver::start();
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap();
    let problems = runtime.block_on(async {
        let browser = open_browser(&driver).await;
        sign_in(&console, &browser, "e2e-forms").await;
        let mut problems = Vec::new();
        for (name, path) in &pages {
            browser.goto(&console.url(path)).await.unwrap();
            problems.extend(check(&browser, name).await);
        }
        // A refused new user: the users page again, the message beside the name.
        browser.goto(&console.url("/users")).await.unwrap();
        let form = browser
            .form(fantoccini::Locator::Css("form#add-user"))
            .await
            .unwrap();
        form.set_by_name("username", "bad name!").await.unwrap();
        form.set_by_name("password", "long enough password")
            .await
            .unwrap();
        form.submit().await.unwrap();
        let shown = browser
            .find(fantoccini::Locator::Css("#username-error"))
            .await
            .expect("the message is beside the name")
            .text()
            .await
            .unwrap();
        assert!(shown.contains("a user name has"), "{shown}");
        problems.extend(check(&browser, "users-refused").await);
        let _ = browser.close().await;
        problems
    });
    assert!(problems.is_empty(), "{}", problems.join("\n"));
}

async fn check(browser: &Client, name: &str) -> Vec<String> {
    let mut problems = Vec::new();
    for width in [1400, 400] {
        browser.set_window_size(width, 1000).await.unwrap();
        tokio::time::sleep(Duration::from_millis(150)).await;
        let found = browser.execute(MEASURE, vec![]).await.unwrap();
        save_screenshot(browser, &format!("forms-{name}-{width}.png")).await;
        for what in found["misplaced"].as_array().unwrap() {
            problems.push(format!(
                "{name} at {width} px: {what} is not beside its label"
            ));
        }
        for what in found["unnamed"].as_array().unwrap() {
            problems.push(format!(
                "{name} at {width} px: {what} has no accessible name"
            ));
        }
        if name == "new-backup" {
            let service = found["serviceName"].as_str().unwrap_or_default();
            if !service.to_lowercase().contains("service") {
                problems.push(format!("{name}: the service dropdown is named {service:?}"));
            }
        }
        if name == "audit" {
            assert!(
                found["whens"].as_u64().unwrap() > 0,
                "the audit log has rows"
            );
            let lines = found["mostWhenLines"].as_u64().unwrap();
            if lines > 1 {
                problems.push(format!(
                    "{name} at {width} px: a When cell wraps onto {lines} lines"
                ));
            }
        }
    }
    problems
}
