//! End to end in a real browser: headless Chromium driven over WebDriver (chromedriver on a
//! free loopback port, started and killed here). Sign in → create a backup → watch its live
//! progress (htmx + SSE, no reload) reach 100% → the backup's page → the restore
//! confirmation (refused without the box ticked). A screenshot of the dashboard is saved as
//! `target/test-artifacts/dashboard.png`. Missing Chromium fails the test, saying what to
//! install: this test is part of the suite, not optional. Every page at phone widths:
//! `reflow.rs`, which drives the browser through the helpers here.

use std::net::TcpListener;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use coffer::domain::Role;
use fantoccini::{Client, ClientBuilder, Locator};
use serde_json::json;

use super::harness::{TestConsole, PASSWORD};
use super::tasks::add_files;
use crate::helpers::Backend;

const CHROMEDRIVER: &str = "/usr/bin/chromedriver";
const CHROMIUM: &str = "/usr/bin/chromium";

/// chromedriver on a free loopback port; killed when dropped.
pub(super) struct Driver {
    child: Child,
    url: String,
}

impl Driver {
    pub(super) fn start() -> Driver {
        for (path, package) in [(CHROMEDRIVER, "chromium-driver"), (CHROMIUM, "chromium")] {
            assert!(
                Path::new(path).exists(),
                "{path} is missing: the browser test needs Chromium and its WebDriver. \
                 Install them with `apt-get install -y chromium chromium-driver` (package {package}); \
                 .ci/run does this."
            );
        }
        let port = TcpListener::bind("127.0.0.1:0")
            .unwrap()
            .local_addr()
            .unwrap()
            .port();
        let child = Command::new(CHROMEDRIVER)
            .arg(format!("--port={port}"))
            .arg("--allowed-ips=127.0.0.1")
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .expect("chromedriver starts");
        let url = format!("http://127.0.0.1:{port}");
        let status = format!("{url}/status");
        // reqwest is built without a TLS provider of its own (see `install_tls_provider`).
        coffer::storage::install_tls_provider();
        let deadline = Instant::now() + Duration::from_secs(20);
        while reqwest::blocking::get(&status).map_or(true, |r| !r.status().is_success()) {
            assert!(
                Instant::now() < deadline,
                "chromedriver did not answer on {url}"
            );
            std::thread::sleep(Duration::from_millis(100));
        }
        Driver { child, url }
    }
}

impl Drop for Driver {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

pub(super) async fn open_browser(driver: &Driver) -> Client {
    let mut capabilities = serde_json::Map::new();
    capabilities.insert(
        "goog:chromeOptions".into(),
        json!({
            "binary": CHROMIUM,
            "args": ["--headless=new", "--no-sandbox", "--disable-dev-shm-usage",
                     "--disable-gpu", "--window-size=1280,1000"]
        }),
    );
    ClientBuilder::new(hyper_util::client::legacy::connect::HttpConnector::new())
        .capabilities(capabilities)
        .connect(&driver.url)
        .await
        .expect("a Chromium session")
}

/// Waits until `check` holds, polling every 100 ms, for at most `limit`.
pub(super) async fn wait_until<F, Fut>(what: &str, limit: Duration, mut check: F)
where
    F: FnMut() -> Fut,
    Fut: std::future::Future<Output = bool>,
{
    let deadline = Instant::now() + limit;
    while !check().await {
        assert!(Instant::now() < deadline, "timed out waiting for {what}");
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}

pub(super) async fn text_of(browser: &Client, css: &str) -> Option<String> {
    browser
        .find(Locator::Css(css))
        .await
        .ok()?
        .text()
        .await
        .ok()
}

fn artifacts_dir() -> PathBuf {
    let target = std::env::var_os("CARGO_TARGET_DIR")
        .map(PathBuf::from)
        .unwrap_or_else(|| Path::new(env!("CARGO_MANIFEST_DIR")).join("target"));
    target.join("test-artifacts")
}

#[test]
fn sign_in_back_up_watch_it_live_and_reach_the_restore_confirmation() {
    let console = TestConsole::start(&Backend::Sqlite);
    let driver = Driver::start();
    add_files(&console, 4000);
    console.add_user("e2e-admin", Role::Admin);
    let _workers = console.start_workers();
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap();
    runtime.block_on(async {
        let browser = open_browser(&driver).await;
        let result = flow(&console, &browser).await;
        let _ = browser.close().await;
        result
    });
}

async fn flow(console: &TestConsole, browser: &Client) {
    sign_in(console, browser, "e2e-admin").await;

    // Create a backup with the form; its page follows the task live.
    browser.goto(&console.url("/backups/new")).await.unwrap();
    let form = browser
        .form(Locator::Css("form[action='/backups']"))
        .await
        .unwrap();
    form.submit().await.unwrap();
    wait_until("the backup's page", Duration::from_secs(10), || async {
        browser
            .current_url()
            .await
            .is_ok_and(|u| u.path().starts_with("/backups/") && !u.path().ends_with("/new"))
    })
    .await;
    let url = browser.current_url().await.unwrap();
    let backup_id = url.path().trim_start_matches("/backups/").to_string();

    // Live progress up to 100%, swapped in by htmx from the event stream, without a reload.
    browser
        .execute("window.cofferMarker = 'still here';", vec![])
        .await
        .unwrap();
    let mut seen: Vec<String> = Vec::new();
    let deadline = Instant::now() + Duration::from_secs(120);
    loop {
        let status = text_of(browser, ".task-progress [data-status]")
            .await
            .unwrap_or_default();
        if let Some(percent) = text_of(browser, ".task-progress .percent").await {
            if seen.last() != Some(&percent) {
                seen.push(percent);
            }
        }
        if status == "success" {
            break;
        }
        assert!(
            status != "failed" && Instant::now() < deadline,
            "the backup did not succeed: {status}, seen {seen:?}"
        );
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    assert_eq!(
        text_of(browser, ".task-progress .percent").await.as_deref(),
        Some("100%")
    );
    assert!(seen.len() >= 2, "the bar moved while watched: {seen:?}");
    save_screenshot(browser, "task.png").await;
    let marker = browser
        .execute("return window.cofferMarker || null;", vec![])
        .await
        .unwrap();
    assert_eq!(
        marker,
        json!("still here"),
        "updates came live, not by reloading"
    );

    // The backup's page, after a reload, says it succeeded.
    browser
        .goto(&console.url(&format!("/backups/{backup_id}")))
        .await
        .unwrap();
    let page = browser.source().await.unwrap();
    assert!(
        page.contains(&backup_id),
        "the detail page names its backup"
    );
    assert_eq!(
        text_of(browser, "#backup-status").await.as_deref(),
        Some("success")
    );

    // Changed after the backup, so the confirmation page has changes to show.
    std::fs::write(
        console.env.path("files/later.txt"),
        "written after the backup",
    )
    .unwrap();
    std::fs::write(console.env.path("files/hello.txt"), "changed!").unwrap();

    // The restore confirmation: a warning, and no restore without the box ticked.
    browser
        .goto(&console.url(&format!("/backups/{backup_id}/restore")))
        .await
        .unwrap();
    let warning = text_of(browser, "#restore-warning").await.unwrap();
    assert!(warning.contains("overwrites"), "{warning}");
    let form = browser.form(Locator::Css("#restore-form")).await.unwrap();
    form.submit_with(Locator::Css("#restore-form button[type='submit']"))
        .await
        .unwrap();
    // The confirmation page: what the restore would change, then the box and the button.
    wait_until("the preview", Duration::from_secs(10), || async {
        browser.find(Locator::Css("#restore-confirm")).await.is_ok()
    })
    .await;
    let preview = text_of(browser, "#restore-preview").await.unwrap();
    assert!(preview.contains("files/later.txt"), "{preview}");
    save_screenshot(browser, "restore-preview.png").await;
    let form = browser
        .form(Locator::Css("#restore-confirm"))
        .await
        .unwrap();
    form.submit_with(Locator::Css("#restore-confirm button[type='submit']"))
        .await
        .unwrap();
    wait_until("the refusal", Duration::from_secs(10), || async {
        text_of(browser, "#confirm-error").await.is_some()
    })
    .await;

    save_screenshot(browser, "restore.png").await;

    // The dashboard, kept as a picture.
    browser.goto(&console.url("/")).await.unwrap();
    save_screenshot(browser, "dashboard.png").await;
}

/// Signs in with the form and waits for the dashboard.
pub(super) async fn sign_in(console: &TestConsole, browser: &Client, username: &str) {
    browser.goto(&console.url("/login")).await.unwrap();
    let form = browser
        .form(Locator::Css("form[action='/login']"))
        .await
        .unwrap();
    form.set_by_name("username", username).await.unwrap();
    form.set_by_name("password", PASSWORD).await.unwrap();
    form.submit().await.unwrap();
    wait_until("the dashboard", Duration::from_secs(10), || async {
        text_of(browser, "h1").await.as_deref() == Some("Dashboard")
    })
    .await;
}

/// Saves what the browser shows as `target/test-artifacts/NAME`.
pub(super) async fn save_screenshot(browser: &Client, name: &str) {
    let png = browser.screenshot().await.unwrap();
    assert!(png.starts_with(b"\x89PNG"), "a PNG screenshot");
    let dir = artifacts_dir();
    std::fs::create_dir_all(&dir).unwrap();
    std::fs::write(dir.join(name), png).unwrap();
}

#[test]
fn the_recoverability_page_turns_green_once_a_drill_has_proven_a_backup() {
    let console = TestConsole::start_with(&Backend::Sqlite, |settings| {
        settings.sources[0].rto_minutes = Some(10);
    });
    let driver = Driver::start();
    console.add_user("e2e-operator", Role::Operator);
    let by = crate::helpers::tester();
    let request = coffer::jobs::backup::BackupRequest::new(
        coffer::domain::Scope::All,
        coffer::domain::BackupKind::Full,
    );
    coffer::jobs::backup::run_backup(&console.app, &request, &by, None).unwrap();
    let _workers = console.start_workers();
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap();
    runtime.block_on(async {
        let browser = open_browser(&driver).await;
        recoverability_flow(&console, &browser).await;
        let _ = browser.close().await;
    });
}

/// The colour of `files`' RPO and RTO cells.
async fn health(browser: &Client) -> (String, String) {
    let mut found = Vec::new();
    for measure in ["rpo", "rto"] {
        let css = format!("tr[data-source='files'] [data-measure='{measure}']");
        let cell = browser.find(Locator::Css(&css)).await.unwrap();
        found.push(cell.attr("data-health").await.unwrap().unwrap_or_default());
    }
    (found.remove(0), found.remove(0))
}

async fn recoverability_flow(console: &TestConsole, browser: &Client) {
    sign_in(console, browser, "e2e-operator").await;

    // Backed up, but never proven: red for both.
    browser.goto(&console.url("/recoverability")).await.unwrap();
    assert_eq!(health(browser).await, ("red".into(), "red".into()));
    save_screenshot(browser, "recoverability-before.png").await;

    // A drill from the form; its task page follows it to the end.
    let form = browser.form(Locator::Css("#drill-form")).await.unwrap();
    form.submit().await.unwrap();
    wait_until("the drill's task page", Duration::from_secs(10), || async {
        browser
            .current_url()
            .await
            .is_ok_and(|u| u.path().starts_with("/tasks/"))
    })
    .await;
    wait_until("the drill to succeed", Duration::from_secs(60), || async {
        text_of(browser, ".task-progress [data-status]")
            .await
            .as_deref()
            == Some("success")
    })
    .await;

    // Proven within both targets: green, with a link to the report.
    browser.goto(&console.url("/recoverability")).await.unwrap();
    assert_eq!(health(browser).await, ("green".into(), "green".into()));
    save_screenshot(browser, "recoverability-after.png").await;
    let link = browser
        .find(Locator::Css("tr[data-source='files'] a[href^='/drills/']"))
        .await
        .unwrap();
    link.click().await.unwrap();
    wait_until("the drill's report", Duration::from_secs(10), || async {
        text_of(browser, "#drill-verdict")
            .await
            .is_some_and(|t| t.contains("passed"))
    })
    .await;
    let proof = text_of(browser, "section.proof[data-source='files']")
        .await
        .unwrap();
    assert!(proof.contains("match their SHA-256"), "{proof}");

    // The dashboard shows the same colours.
    browser.goto(&console.url("/")).await.unwrap();
    assert_eq!(health(browser).await, ("green".into(), "green".into()));
}

/// The heading's status, the progress box's status and percent, read in one go (a swap
/// cannot fall between them).
async fn live_figures(browser: &Client) -> (String, String, String) {
    let read = browser
        .execute(
            "const text = (css) => { const e = document.querySelector(css); \
               return e ? e.textContent.trim() : ''; }; \
             return [text('#backup-status'), text('.task-progress [data-status]'), \
                     text('.task-progress .percent')];",
            vec![],
        )
        .await
        .unwrap();
    let field = |i: usize| read[i].as_str().unwrap_or_default().to_string();
    (field(0), field(1), field(2))
}

#[test]
fn the_bar_moves_inside_one_large_file_and_every_status_follows() {
    let console = TestConsole::start(&Backend::Sqlite);
    let driver = Driver::start();
    // One file of 160 MiB that does not compress: seconds of archiving, all in one file.
    let big = console.env.path("files/big.bin");
    let made = Command::new("head")
        .args(["-c", "160M", "/dev/urandom"])
        .stdout(std::fs::File::create(&big).unwrap())
        .status()
        .unwrap();
    assert!(made.success());
    console.add_user("e2e-large", Role::Admin);
    let _workers = console.start_workers();
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap();
    runtime.block_on(async {
        let browser = open_browser(&driver).await;
        large_file_flow(&console, &browser).await;
        let _ = browser.close().await;
    });
}

async fn large_file_flow(console: &TestConsole, browser: &Client) {
    sign_in(console, browser, "e2e-large").await;
    browser.goto(&console.url("/backups/new")).await.unwrap();
    let form = browser
        .form(Locator::Css("form[action='/backups']"))
        .await
        .unwrap();
    form.submit().await.unwrap();
    wait_until("the backup's page", Duration::from_secs(10), || async {
        text_of(browser, "#backup-status").await.is_some()
    })
    .await;
    browser
        .execute("window.cofferMarker = 'still here';", vec![])
        .await
        .unwrap();

    // Percents seen inside the big file (it is 99.9 % of the bytes), and whether the
    // heading ever disagreed with the box.
    let mut inside: Vec<String> = Vec::new();
    let mut shot = false;
    let deadline = Instant::now() + Duration::from_secs(180);
    loop {
        let (heading, boxed, percent) = live_figures(browser).await;
        assert_eq!(
            heading, boxed,
            "the heading says {heading}, the box {boxed}"
        );
        let value: u32 = percent.trim_end_matches('%').parse().unwrap_or(0);
        if boxed == "running" && (1..=98).contains(&value) && inside.last() != Some(&percent) {
            inside.push(percent);
            if !shot && value >= 20 {
                // While it runs: Cancel offered, Delete and Pin not.
                assert!(browser.find(Locator::Css("#cancel-backup")).await.is_ok());
                assert!(browser.find(Locator::Css("#delete-backup")).await.is_err());
                // The start fetched the content again: it waited, and it runs.
                let queued = text_of(browser, "#backup-queued").await.unwrap_or_default();
                let ran = text_of(browser, "#backup-ran").await.unwrap_or_default();
                assert!(
                    !queued.contains("since") && ran.starts_with("since "),
                    "queued {queued}, ran {ran}"
                );
                let title = browser.title().await.unwrap();
                assert!(title.contains("(running)"), "{title}");
                screenshots(browser, "backup-running").await;
                shot = true;
                // Its task's page while it runs: the same live status, Cancel offered.
                let back = browser.current_url().await.unwrap();
                let link = browser
                    .find(Locator::Css("#tasks a[href^='/tasks/']"))
                    .await
                    .unwrap();
                let task_page = link.attr("href").await.unwrap().unwrap();
                browser.goto(&console.url(&task_page)).await.unwrap();
                let status = text_of(browser, "#task-status").await.unwrap_or_default();
                if status == "running" {
                    assert!(browser.find(Locator::Css("#cancel-task")).await.is_ok());
                    screenshots(browser, "task-running").await;
                }
                // The list shows the same live bar in the backup's row.
                browser.goto(&console.url("/backups")).await.unwrap();
                wait_until("the list's live bar", Duration::from_secs(5), || async {
                    text_of(browser, "#backup-list .task-progress .percent")
                        .await
                        .is_some()
                })
                .await;
                screenshots(browser, "list-running").await;
                browser.goto(back.as_str()).await.unwrap();
                browser
                    .execute("window.cofferMarker = 'still here';", vec![])
                    .await
                    .unwrap();
            }
        }
        if boxed == "success" {
            break;
        }
        assert!(
            boxed != "failed" && Instant::now() < deadline,
            "the backup did not succeed: {boxed}, seen {inside:?}"
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    assert!(
        inside.len() >= 3,
        "the bar moved while the one large file was read: {inside:?}"
    );

    // At the end the page's content comes again by itself: the actions of a finished
    // backup, the times, no Cancel.
    wait_until("the finished page", Duration::from_secs(10), || async {
        browser.find(Locator::Css("#delete-backup")).await.is_ok()
    })
    .await;
    assert!(browser.find(Locator::Css("#cancel-backup")).await.is_err());
    let ran = text_of(browser, "#backup-ran").await.unwrap_or_default();
    assert!(ran.ends_with(" s") && !ran.contains("since"), "{ran}");
    let marker = browser
        .execute("return window.cofferMarker || null;", vec![])
        .await
        .unwrap();
    assert_eq!(marker, json!("still here"), "no reload of the page itself");
    let title = browser.title().await.unwrap();
    assert!(title.contains("(success)"), "{title}");
    screenshots(browser, "backup-done").await;

    let task = browser
        .find(Locator::Css("#tasks a[href^='/tasks/']"))
        .await
        .unwrap();
    task.click().await.unwrap();
    wait_until("the task's page", Duration::from_secs(10), || async {
        text_of(browser, "#task-status").await.as_deref() == Some("success")
    })
    .await;
    assert!(browser.find(Locator::Css("#cancel-task")).await.is_err());
    screenshots(browser, "task-done").await;
}

/// Saves `NAME-1400.png` and `NAME-400.png` (the page at both widths), then goes back to
/// the usual size.
async fn screenshots(browser: &Client, name: &str) {
    for width in [1400, 400] {
        browser.set_window_size(width, 1100).await.unwrap();
        save_screenshot(browser, &format!("{name}-{width}.png")).await;
    }
    browser.set_window_size(1280, 1000).await.unwrap();
}
