//! In Chromium: a restore that failed shows on the dashboard against the source it
//! restored (not the other one), with its reason, and its link leads to the failed task.
//! Screenshots of the board and the task list at 1400 and 400 px go to
//! `target/test-artifacts/board-*.png`.

use coffer::domain::Role;
use fantoccini::{Client, Locator};

use super::browser::{open_browser, save_screenshot, sign_in, Driver};
use super::dashboard::{console_with_uploads, failed_restore};
use super::harness::TestConsole;
use super::tasks::make_backup;
use crate::helpers::Backend;

#[test]
fn the_dashboard_shows_a_failed_restore_and_leads_to_it() {
    let console = console_with_uploads(&Backend::Sqlite, |_| {});
    let driver = Driver::start();
    console.add_user("e2e-board", Role::Admin);
    let admin = console.login_as(Role::Admin);
    let backup_id = make_backup(&console);
    let restore = failed_restore(&console, &admin, &backup_id);
    let reason = restore.error.clone().unwrap();
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap();
    runtime.block_on(async {
        let browser = open_browser(&driver).await;
        board_flow(&console, &browser, &restore.id, &reason).await;
        let _ = browser.close().await;
    });
}

async fn cell_text(browser: &Client, source: &str) -> String {
    let css = format!("#freshness tr[data-source='{source}'] td.last-failure");
    browser
        .find(Locator::Css(&css))
        .await
        .unwrap_or_else(|_| panic!("{css}"))
        .text()
        .await
        .unwrap()
}

async fn board_flow(console: &TestConsole, browser: &Client, task_id: &str, reason: &str) {
    sign_in(console, browser, "e2e-board").await;
    browser.goto(&console.url("/")).await.unwrap();
    let files = cell_text(browser, "files").await;
    assert!(files.contains("restore failed"), "{files}");
    assert!(files.contains(reason), "{reason} in {files}");
    assert_eq!(cell_text(browser, "uploads").await.trim(), "none");
    for width in [1400, 400] {
        browser.set_window_size(width, 1100).await.unwrap();
        save_screenshot(browser, &format!("board-failed-restore-{width}.png")).await;
    }
    browser.set_window_size(1280, 1000).await.unwrap();

    browser
        .find(Locator::Css(
            "#freshness tr[data-source='files'] td.last-failure a",
        ))
        .await
        .unwrap()
        .click()
        .await
        .unwrap();
    let url = browser.current_url().await.unwrap();
    assert_eq!(url.path(), format!("/tasks/{task_id}"));
    let status = browser
        .find(Locator::Css("#task-status"))
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    assert!(status.contains("failed"), "{status}");

    browser
        .goto(&console.url("/tasks?status=failed"))
        .await
        .unwrap();
    for width in [1400, 400] {
        browser.set_window_size(width, 1100).await.unwrap();
        save_screenshot(browser, &format!("board-task-list-{width}.png")).await;
    }
}
