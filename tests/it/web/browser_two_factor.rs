//! Two-factor sign-in in a real browser (headless Chromium, see `browser.rs`): the account
//! page's set-up (the secret read from the page, the code computed here), the recovery
//! codes, signing out, and signing in again with a code. Screenshots of the set-up page, the
//! recovery codes and the code page at 1400 and 400 px: `target/test-artifacts/two-factor-*`.

use std::time::Duration;

use coffer::auth::TotpSecret;
use coffer::domain::Role;
use fantoccini::{Client, Locator};

use super::browser::{open_browser, save_screenshot, sign_in, text_of, wait_until, Driver};
use super::harness::{TestConsole, PASSWORD};
use super::two_factor::fresh_step;
use crate::helpers::Backend;

#[test]
fn set_up_two_factor_sign_in_in_the_browser_and_sign_in_with_a_code() {
    let console = TestConsole::start(&Backend::Sqlite);
    let driver = Driver::start();
    console.add_user("e2e-2fa", Role::Operator);
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap();
    runtime.block_on(async {
        let browser = open_browser(&driver).await;
        flow(&console, &browser).await;
        let _ = browser.close().await;
    });
}

/// Screenshots at both widths, each checked by axe-core, then back to the usual size.
async fn both_widths(browser: &Client, name: &str) {
    for width in [1400, 400] {
        browser.set_window_size(width, 1100).await.unwrap();
        tokio::time::sleep(Duration::from_millis(150)).await;
        save_screenshot(browser, &format!("two-factor-{name}-{width}.png")).await;
        let page = format!("two-factor {name} at {width} px");
        let problems = super::axe::serious_violations(browser, &page).await;
        assert!(problems.is_empty(), "{}", problems.join("\n"));
        let fits = browser
            .execute(
                "return document.documentElement.scrollWidth <= window.innerWidth;",
                vec![],
            )
            .await
            .unwrap();
        assert_eq!(
            fits,
            serde_json::json!(true),
            "{page} is wider than the window"
        );
    }
    browser.set_window_size(1280, 1000).await.unwrap();
}

async fn flow(console: &TestConsole, browser: &Client) {
    sign_in(console, browser, "e2e-2fa").await;
    browser.goto(&console.url("/account/2fa")).await.unwrap();
    browser
        .find(Locator::Css("#setup-2fa"))
        .await
        .unwrap()
        .click()
        .await
        .unwrap();
    wait_until("the secret", Duration::from_secs(10), || async {
        text_of(browser, "#totp-secret").await.is_some()
    })
    .await;
    assert!(browser.find(Locator::Css("svg.qr-code")).await.is_ok());
    both_widths(browser, "setup").await;
    let shown = text_of(browser, "#totp-secret").await.unwrap();
    let secret = TotpSecret::from_base32(&shown).expect("the page shows a base32 secret");

    let step = fresh_step();
    let form = browser
        .form(Locator::Css("form[action='/account/2fa/confirm']"))
        .await
        .unwrap();
    form.set_by_name("code", &secret.code_at(step - 1))
        .await
        .unwrap();
    form.submit().await.unwrap();
    wait_until("the recovery codes", Duration::from_secs(10), || async {
        text_of(browser, "#new-recovery-codes").await.is_some()
    })
    .await;
    assert!(text_of(browser, "#two-factor-state")
        .await
        .unwrap()
        .contains("on"));
    both_widths(browser, "recovery-codes").await;

    // Sign out, and in again: the password, then the code page.
    browser
        .find(Locator::Css("form[action='/logout'] button"))
        .await
        .unwrap()
        .click()
        .await
        .unwrap();
    wait_until("the sign-in form", Duration::from_secs(10), || async {
        text_of(browser, "h1").await.as_deref() == Some("Sign in")
    })
    .await;
    let form = browser
        .form(Locator::Css("form[action='/login']"))
        .await
        .unwrap();
    form.set_by_name("username", "e2e-2fa").await.unwrap();
    form.set_by_name("password", PASSWORD).await.unwrap();
    form.submit().await.unwrap();
    wait_until("the code page", Duration::from_secs(10), || async {
        text_of(browser, "h1").await.as_deref() == Some("Two-factor sign-in")
    })
    .await;
    both_widths(browser, "code").await;
    // The dashboard is out of reach until the code is given.
    browser.goto(&console.url("/")).await.unwrap();
    assert_eq!(
        text_of(browser, "h1").await.as_deref(),
        Some("Two-factor sign-in")
    );
    let step = fresh_step();
    let form = browser
        .form(Locator::Css("form[action='/login/2fa']"))
        .await
        .unwrap();
    form.set_by_name("code", &secret.code_at(step))
        .await
        .unwrap();
    form.submit().await.unwrap();
    wait_until("the dashboard", Duration::from_secs(10), || async {
        text_of(browser, "h1").await.as_deref() == Some("Dashboard")
    })
    .await;
}
