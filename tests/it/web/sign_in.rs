//! Signing in and out: sessions, CSRF, lock-out, the first admin.

use coffer::db::{LogEntry, LogFilter};
use coffer::domain::Role;

use super::harness::{location, TestConsole, PASSWORD};
use crate::helpers::BOTH;

#[test]
fn pages_need_a_session_and_sign_in_starts_one() {
    for backend in &BOTH {
        let console = TestConsole::start(backend);
        let mut browser = console.anonymous();
        let response = browser.get("/?page=2");
        assert_eq!(response.status(), 303);
        assert_eq!(location(&response), "/login?next=%2F%3Fpage%3D2");

        console.add_user("alice", Role::Viewer);
        let wrong = browser.login("alice", "not the password");
        assert_eq!(wrong.status(), 401);
        assert!(wrong
            .text()
            .unwrap()
            .contains("Wrong user name or password"));

        let ok = browser.login("alice", PASSWORD);
        assert_eq!(ok.status(), 303);
        let cookie = ok
            .headers()
            .get_all("set-cookie")
            .iter()
            .map(|v| v.to_str().unwrap().to_string())
            .find(|c| c.starts_with("coffer_session="))
            .expect("a session cookie");
        assert!(
            cookie.contains("HttpOnly") && cookie.contains("SameSite=Lax"),
            "{cookie}"
        );
        assert!(
            !cookie.contains("Secure"),
            "plain HTTP must not set Secure: {cookie}"
        );
        let dashboard = browser.page("/");
        assert!(dashboard.contains("Dashboard") && dashboard.contains("alice"));

        let mut conn = console.app.conn().unwrap();
        let logins = LogEntry::list(
            &mut conn,
            &LogFilter {
                operation: Some("login".into()),
                ..LogFilter::default()
            },
        )
        .unwrap();
        assert!(logins
            .iter()
            .any(|e| e.message.contains("sign-in failed for `alice`")));
        assert!(logins
            .iter()
            .any(|e| e.message.contains("`alice` signed in")));
    }
}

#[test]
fn a_new_sign_in_gets_a_new_session_id_and_sign_out_ends_it() {
    for backend in &BOTH {
        let console = TestConsole::start(backend);
        console.add_user("bob", Role::Operator);
        let mut browser = console.anonymous();
        let first = browser.login("bob", PASSWORD);
        let first_cookie = session_cookie(&first);
        let second = browser.login("bob", PASSWORD);
        let second_cookie = session_cookie(&second);
        assert_ne!(
            first_cookie, second_cookie,
            "the session id is renewed at sign-in"
        );

        // The first session ended when the second began.
        let stale = console.anonymous();
        let replay = stale
            .client
            .get(stale.url("/"))
            .header("cookie", format!("coffer_session={first_cookie}"))
            .send()
            .unwrap();
        assert_eq!(replay.status(), 303);

        browser.refresh_csrf("/");
        let without_token = browser.post_raw("/logout", &[]);
        assert_eq!(without_token.status(), 403, "no CSRF token, no sign-out");
        assert_eq!(browser.get("/").status(), 200, "still signed in");

        let out = browser.post("/logout", &[]);
        assert_eq!(out.status(), 303);
        assert_eq!(location(&out), "/login");
        assert_eq!(browser.get("/").status(), 303, "signed out");
        let replay = stale
            .client
            .get(stale.url("/"))
            .header("cookie", format!("coffer_session={second_cookie}"))
            .send()
            .unwrap();
        assert_eq!(
            replay.status(),
            303,
            "the ended session is gone on the server too"
        );
    }
}

#[test]
fn the_sign_in_form_needs_its_csrf_token() {
    for backend in &BOTH {
        let console = TestConsole::start(backend);
        console.add_user("carol", Role::Admin);
        let browser = console.anonymous();
        let forged = browser.post_raw(
            "/login",
            &[
                ("username", "carol"),
                ("password", PASSWORD),
                ("csrf_token", "forged"),
            ],
        );
        assert_eq!(forged.status(), 403);
        assert!(forged
            .headers()
            .get("set-cookie")
            .is_none_or(|c| !c.to_str().unwrap().starts_with("coffer_session")));
    }
}

#[test]
fn repeated_failures_lock_the_account_for_a_while() {
    for backend in &BOTH {
        let console = TestConsole::start(backend);
        console.add_user("dave", Role::Viewer);
        let mut browser = console.anonymous();
        for _ in 0..10 {
            let response = browser.login("dave", "guess-guess-guess");
            assert!(matches!(response.status().as_u16(), 401 | 429));
        }
        let locked = browser.login("dave", PASSWORD);
        assert_eq!(
            locked.status(),
            429,
            "the right password does not open a locked account"
        );
        assert!(locked.text().unwrap().contains("Too many failed sign-ins"));
    }
}

#[test]
fn cookies_are_secure_behind_a_tls_proxy() {
    let console = TestConsole::start(&crate::helpers::Backend::Sqlite);
    let browser = console.anonymous();
    let response = browser
        .client
        .get(browser.url("/login"))
        .header("x-forwarded-proto", "https")
        .send()
        .unwrap();
    let cookie = response
        .headers()
        .get("set-cookie")
        .unwrap()
        .to_str()
        .unwrap();
    assert!(cookie.contains("Secure"), "{cookie}");
}

#[test]
fn a_generated_first_password_must_be_changed_before_anything_else() {
    let console = TestConsole::start(&crate::helpers::Backend::Sqlite);
    // What `coffer serve` does on an empty install, with the password captured here.
    let password = {
        let mut conn = console.app.conn().unwrap();
        assert_eq!(coffer::db::User::count(&mut conn).unwrap(), 0);
        drop(conn);
        coffer::jobs::first_admin::ensure_first_admin(&console.app, None).unwrap();
        let mut conn = console.app.conn().unwrap();
        let admin = coffer::db::User::find_by_username(&mut conn, "admin")
            .unwrap()
            .unwrap();
        assert!(admin.must_change_password);
        // Give it a known password, keeping the forced change.
        let hash = coffer::auth::hash_password(PASSWORD).unwrap();
        coffer::db::User::update(
            &mut conn,
            &admin.id,
            &coffer::db::UserChanges {
                password_hash: Some(hash),
                ..Default::default()
            },
        )
        .unwrap();
        PASSWORD
    };
    let mut browser = console.anonymous();
    let signed_in = browser.login("admin", password);
    assert_eq!(location(&signed_in), "/account/password");
    assert_eq!(location(&browser.get("/")), "/account/password");
    browser.refresh_csrf("/account/password");
    let too_short = browser.post(
        "/account/password",
        &[
            ("current_password", password),
            ("new_password", "short"),
            ("confirm_password", "short"),
        ],
    );
    assert_eq!(too_short.status(), 400);
    let changed = browser.post(
        "/account/password",
        &[
            ("current_password", password),
            ("new_password", "a much better passphrase"),
            ("confirm_password", "a much better passphrase"),
        ],
    );
    assert_eq!(changed.status(), 303);
    assert_eq!(browser.get("/").status(), 200);
    // With COFFER_ADMIN_PASSWORD-style input on a non-empty install nothing is created.
    assert!(
        coffer::jobs::first_admin::ensure_first_admin(&console.app, Some("x".repeat(12)))
            .unwrap()
            .is_none()
    );
}

fn session_cookie(response: &reqwest::blocking::Response) -> String {
    response
        .headers()
        .get_all("set-cookie")
        .iter()
        .filter_map(|v| v.to_str().ok())
        .find_map(|c| c.strip_prefix("coffer_session="))
        .map(|c| c.split(';').next().unwrap().to_string())
        .expect("a session cookie")
}

#[test]
fn a_wrong_bearer_token_is_refused_in_the_form_the_route_speaks() {
    let console = TestConsole::start(&crate::helpers::Backend::Sqlite);
    let browser = console.anonymous();
    let api = browser
        .client
        .get(browser.url("/api/v1/backups"))
        .bearer_auth("not-a-token")
        .send()
        .unwrap();
    assert_eq!(api.status(), 401);
    let body: serde_json::Value = api.json().unwrap();
    assert!(body["error"]
        .as_str()
        .unwrap()
        .contains("authentication required"));
    let page = browser
        .client
        .get(browser.url("/"))
        .bearer_auth("not-a-token")
        .send()
        .unwrap();
    assert_eq!(page.status(), 401);
    assert!(page.text().unwrap().contains("Sign in required"));
    // Static files and health checks need no identity at all.
    assert_eq!(browser.get("/static/coffer.css").status(), 200);
    assert_eq!(browser.get("/health").status(), 200);
}
