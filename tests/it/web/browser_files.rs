//! In headless Chromium: a backup of 132 files has a detail page whose tasks are reached
//! without scrolling past files; the file browser opens folders, pages and searches; and a
//! deletion goes through its confirmation page and is reported on the list. Screenshots of
//! each at 1400 and 400 px go to `target/test-artifacts/files-*.png`.

use std::time::{Duration, Instant};

use coffer::domain::Role;
use fantoccini::{Client, Locator};

use super::browser::{open_browser, save_screenshot, sign_in, Driver};
use super::harness::TestConsole;
use crate::helpers::Backend;

async fn wait_for(browser: &Client, what: &str, css: &str) {
    let deadline = Instant::now() + Duration::from_secs(10);
    while browser.find(Locator::Css(css)).await.is_err() {
        assert!(Instant::now() < deadline, "timed out waiting for {what}");
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}

async fn rows(browser: &Client) -> usize {
    browser
        .find_all(Locator::Css("#file-list tbody tr"))
        .await
        .unwrap()
        .len()
}

async fn screenshots(browser: &Client, name: &str) {
    for width in [1400, 400] {
        browser.set_window_size(width, 1100).await.unwrap();
        save_screenshot(browser, &format!("files-{name}-{width}.png")).await;
    }
    browser.set_window_size(1400, 1000).await.unwrap();
}

#[test]
fn browse_search_and_delete_in_the_browser() {
    let console = TestConsole::start(&Backend::Sqlite);
    std::fs::create_dir_all(console.env.path("files/many")).unwrap();
    for i in 0..130 {
        let name = format!("files/many/report-{i:03}.txt");
        std::fs::write(console.env.path(&name), format!("report {i}\n")).unwrap();
    }
    let request = coffer::jobs::backup::BackupRequest::new(
        coffer::domain::Scope::All,
        coffer::domain::BackupKind::Full,
    );
    let backup =
        coffer::jobs::backup::run_backup(&console.app, &request, &crate::helpers::tester(), None)
            .unwrap();
    console.add_user("e2e-files", Role::Admin);
    let driver = Driver::start();
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap();
    runtime.block_on(async {
        let browser = open_browser(&driver).await;
        sign_in(&console, &browser, "e2e-files").await;
        browser.set_window_size(1400, 1000).await.unwrap();
        browser
            .goto(&console.url(&format!("/backups/{}", backup.id)))
            .await
            .unwrap();
        // The tasks start within the first two screens, whatever the number of files.
        let tasks_top = browser
            .execute(
                "const h = [...document.querySelectorAll('h2')].find(h => h.textContent === 'Tasks');
                 return h.getBoundingClientRect().top + window.scrollY;",
                vec![],
            )
            .await
            .unwrap()
            .as_f64()
            .unwrap();
        assert!(tasks_top < 1800.0, "Tasks start at {tasks_top} px");
        screenshots(&browser, "detail").await;

        browser
            .find(Locator::Css("#browse-files"))
            .await
            .unwrap()
            .click()
            .await
            .unwrap();
        wait_for(&browser, "the browser", "#crumbs").await;
        browser.find(Locator::LinkText("files/")).await.unwrap().click().await.unwrap();
        wait_for(&browser, "the folder files", "#download-folder").await;
        browser.find(Locator::LinkText("many/")).await.unwrap().click().await.unwrap();
        wait_for(&browser, "the pager", "a[rel='next']").await;
        assert_eq!(rows(&browser).await, 100);
        screenshots(&browser, "browser").await;
        browser.find(Locator::Css("a[rel='next']")).await.unwrap().click().await.unwrap();
        wait_for(&browser, "page 2", "a[rel='prev']").await;
        assert_eq!(rows(&browser).await, 30);

        let search = browser.find(Locator::Css("#file-search")).await.unwrap();
        search.send_keys("report-12").await.unwrap();
        browser
            .form(Locator::Css("form[role='search']"))
            .await
            .unwrap()
            .submit()
            .await
            .unwrap();
        wait_for(&browser, "the search results", "#matching").await;
        assert_eq!(rows(&browser).await, 10);
        let names = browser
            .execute(
                "return [...document.querySelectorAll('#file-list td.file-name')].map(td => td.textContent);",
                vec![],
            )
            .await
            .unwrap();
        let names: Vec<String> = serde_json::from_value(names).unwrap();
        assert!(names.iter().all(|n| n.starts_with("report-12")), "{names:?}");
        screenshots(&browser, "search").await;

        // Delete: the confirmation, then the list saying what was done.
        browser
            .goto(&console.url(&format!("/backups/{}", backup.id)))
            .await
            .unwrap();
        browser.find(Locator::Css("#delete-backup")).await.unwrap().click().await.unwrap();
        wait_for(&browser, "the confirmation", "#confirm-delete").await;
        screenshots(&browser, "delete-confirm").await;
        browser.find(Locator::Css("#confirm-delete")).await.unwrap().click().await.unwrap();
        wait_for(&browser, "the note on the list", "#deleted-note").await;
        let note = browser
            .find(Locator::Css("#deleted-note"))
            .await
            .unwrap()
            .text()
            .await
            .unwrap();
        assert!(note.contains(&backup.name) && note.contains("removed from"), "{note}");
        screenshots(&browser, "deleted").await;
        let _ = browser.close().await;
    });
}
