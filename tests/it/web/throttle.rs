//! The sign-in throttle under pressure: bursts of guesses, forged addresses, huge names.

use std::sync::{Arc, Barrier};

use coffer::db::{LogEntry, LogFilter, LoginThrottle};
use coffer::domain::Role;
use reqwest::blocking::Response;
use sha2::{Digest, Sha256};

use super::harness::{Browser, TestConsole, PASSWORD};
use crate::helpers::BOTH;

/// Attempts on one user name before it locks (src/web/login/throttle.rs).
const USER_LOCK_AFTER: usize = 10;

/// One sign-in attempt with the form's token (each answer sets a new one).
fn attempt(
    browser: &Browser,
    token: &str,
    name: &str,
    password: &str,
    via: Option<&str>,
) -> Response {
    let mut request = browser.client.post(browser.url("/login")).form(&[
        ("username", name),
        ("password", password),
        ("csrf_token", token),
        ("next", "/"),
    ]);
    if let Some(forwarded) = via {
        request = request.header("x-forwarded-for", forwarded);
    }
    request.send().unwrap()
}

fn user_subject(name: &str) -> String {
    format!("user:{}", hex::encode(Sha256::digest(name.as_bytes())))
}

fn count(console: &TestConsole, subject: &str) -> Option<i64> {
    let mut conn = console.app.conn().unwrap();
    LoginThrottle::find(&mut conn, subject)
        .unwrap()
        .map(|row| row.failures)
}

fn login_entries(console: &TestConsole) -> Vec<LogEntry> {
    let mut conn = console.app.conn().unwrap();
    let filter = LogFilter {
        operation: Some("login".into()),
        ..LogFilter::default()
    };
    LogEntry::list(&mut conn, &filter).unwrap()
}

#[test]
fn a_burst_of_guesses_checks_at_most_the_limit_of_passwords() {
    const BURST: usize = 24;
    for backend in &BOTH {
        let console = TestConsole::start(backend);
        console.add_user("erin", Role::Viewer);
        let browsers: Vec<(Browser, String)> = (0..BURST)
            .map(|_| {
                let browser = console.anonymous();
                let token = browser.sign_in_token();
                (browser, token)
            })
            .collect();
        let start = Arc::new(Barrier::new(BURST));
        let threads: Vec<_> = browsers
            .into_iter()
            .enumerate()
            .map(|(i, (browser, token))| {
                let start = start.clone();
                std::thread::spawn(move || {
                    start.wait();
                    let guess = format!("guess number {i}");
                    attempt(&browser, &token, "erin", &guess, None)
                        .status()
                        .as_u16()
                })
            })
            .collect();
        let statuses: Vec<u16> = threads.into_iter().map(|t| t.join().unwrap()).collect();
        assert!(
            statuses.iter().all(|s| matches!(s, 401 | 429 | 503)),
            "only refusals, never a server error: {statuses:?}"
        );
        let checked = statuses.iter().filter(|s| **s == 401).count();
        assert!(
            (1..=USER_LOCK_AFTER).contains(&checked),
            "{checked} passwords checked: {statuses:?}"
        );
        // Every checked password left a failure in the audit log; the others never got there.
        let failed = login_entries(&console)
            .iter()
            .filter(|e| e.message.starts_with("sign-in failed for `erin`"))
            .count();
        assert_eq!(failed, checked);
        let mut browser = console.anonymous();
        assert_eq!(browser.login("erin", PASSWORD).status(), 429, "locked");
    }
}

#[test]
fn a_huge_or_unknown_user_name_is_a_plain_401_and_stays_out_of_the_audit() {
    for backend in &BOTH {
        let console = TestConsole::start(backend);
        let mut browser = console.anonymous();
        let huge = "a".repeat(5000);
        let response = browser.login(&huge, "whatever password");
        assert_eq!(response.status(), 401);
        // A password typed into the name field must not land in the log.
        let response = browser.login("Tr0ub4dor&3-secret", "whatever password");
        assert_eq!(response.status(), 401);
        let entries = login_entries(&console);
        assert_eq!(entries.len(), 2, "{entries:?}");
        for entry in &entries {
            assert!(entry.username.is_none(), "{entry:?}");
            assert!(!entry.message.contains("aaaa"), "{}", entry.message);
            assert!(!entry.message.contains("Tr0ub4dor"), "{}", entry.message);
        }
        assert!(entries
            .iter()
            .any(|e| e.message.contains("unknown user name (5000 chars)")));
        assert_eq!(count(&console, &user_subject(&huge)), Some(1));
    }
}

#[test]
fn a_forged_forwarded_for_does_not_change_the_address() {
    for backend in &BOTH {
        let console = TestConsole::start(backend);
        let browser = console.anonymous();
        for i in 0..3 {
            let token = browser.sign_in_token();
            let forged = format!("198.51.100.{i}");
            let name = format!("nobody{i}");
            let response = attempt(&browser, &token, &name, "a wrong password", Some(&forged));
            assert_eq!(response.status(), 401);
        }
        assert_eq!(count(&console, "addr:127.0.0.1"), Some(3));
        assert_eq!(count(&console, "addr:198.51.100.0"), None);
    }
}

#[test]
fn behind_a_trusted_proxy_the_forwarded_client_counts() {
    for backend in &BOTH {
        let console = TestConsole::start_with(backend, |settings| {
            settings.web.trusted_proxies = vec!["127.0.0.0/8".parse().unwrap()];
        });
        console.add_user("fred", Role::Viewer);
        let browser = console.anonymous();
        let token = browser.sign_in_token();
        // The left entry is whatever the client sent; the proxy appended the real one.
        let via = Some("6.6.6.6, 203.0.113.7");
        assert_eq!(
            attempt(&browser, &token, "fred", "wrong password", via).status(),
            401
        );
        assert_eq!(count(&console, "addr:203.0.113.7"), Some(1));
        assert_eq!(count(&console, "addr:127.0.0.1"), None);
        assert_eq!(count(&console, "addr:6.6.6.6"), None);
        // IPv6 clients count by their /64.
        let via = Some("2001:db8:1:2::99");
        let token = browser.sign_in_token();
        assert_eq!(
            attempt(&browser, &token, "fred", "wrong password", via).status(),
            401
        );
        assert_eq!(count(&console, "addr:2001:db8:1:2::/64"), Some(1));

        let token = browser.sign_in_token();
        let ok = attempt(&browser, &token, "fred", PASSWORD, Some("203.0.113.7"));
        assert_eq!(ok.status(), 303);
        assert!(login_entries(&console)
            .iter()
            .any(|e| e.message == "`fred` signed in from 203.0.113.7"));
    }
}

#[test]
fn a_success_clears_the_user_count_but_not_the_address_count() {
    for backend in &BOTH {
        let console = TestConsole::start(backend);
        console.add_user("gina", Role::Viewer);
        let mut browser = console.anonymous();
        for name in ["nobody1", "nobody2", "gina"] {
            assert_eq!(browser.login(name, "a wrong password").status(), 401);
        }
        assert_eq!(count(&console, &user_subject("gina")), Some(1));
        assert_eq!(browser.login("gina", PASSWORD).status(), 303);
        assert_eq!(count(&console, &user_subject("gina")), None);
        assert_eq!(
            count(&console, "addr:127.0.0.1"),
            Some(3),
            "the failures from this address remain; only the success is not counted"
        );
    }
}
