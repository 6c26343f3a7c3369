//! Two-factor sign-in, driven over HTTP as a user would: set-up with a code computed here
//! from the secret the page shows, sign-in with a code, wrong and replayed codes, recovery
//! codes used once, lock-out by wrong codes, `[security] require_2fa`, admin and command-line
//! resets.

use coffer::auth::totp::{step_of, STEP_SECONDS};
use coffer::auth::TotpSecret;
use coffer::db::{LogEntry, LogFilter, RecoveryCode, TotpRow};
use coffer::domain::Role;
use reqwest::blocking::Response;

use super::harness::{hidden_field, location, Browser, TestConsole, PASSWORD};
use crate::helpers::{Backend, BOTH};

/// Waits until at least 4 seconds of the current 30-second step remain, so that a code
/// computed now is still of the same step when the console checks it.
pub fn fresh_step() -> i64 {
    loop {
        let now = chrono::Utc::now().timestamp();
        if STEP_SECONDS - now.rem_euclid(STEP_SECONDS) >= 4 {
            return step_of(now);
        }
        std::thread::sleep(std::time::Duration::from_millis(500));
    }
}

/// The text of the element with `id` (no nested tags).
fn element_text(html: &str, id: &str) -> Option<String> {
    let marker = format!("id=\"{id}\"");
    let start = html.find(&marker)?;
    let open_end = start + html[start..].find('>')? + 1;
    let close = open_end + html[open_end..].find('<')?;
    Some(html[open_end..close].trim().to_string())
}

/// The recovery codes a page shows (inside `<ol class="recovery-codes">`).
fn recovery_codes(html: &str) -> Vec<String> {
    let Some(start) = html.find("class=\"recovery-codes\"") else {
        return Vec::new();
    };
    let end = start + html[start..].find("</ol>").unwrap();
    html[start..end]
        .split("<code>")
        .skip(1)
        .map(|part| part[..part.find("</code>").unwrap()].to_string())
        .collect()
}

/// Sets up two-factor sign-in from the account page of `browser`: the secret as the page
/// shows it, the step whose code confirmed it, and the recovery codes shown once.
pub fn enrol(browser: &Browser) -> (TotpSecret, i64, Vec<String>) {
    let off = browser.page("/account/2fa");
    assert!(off.contains("is <strong>off</strong>"), "{off}");
    let response = browser.post("/account/2fa/setup", &[]);
    assert_eq!(response.status(), 303);
    let pending = browser.page("/account/2fa");
    // The QR code is drawn in the page: no script, no image fetched from anywhere.
    let svg_start = pending.find("<svg ").expect("the QR code is in the page");
    let svg = &pending[svg_start..svg_start + pending[svg_start..].find("</svg>").unwrap()];
    assert!(!svg.contains("<script") && !svg.contains("href"), "{svg}");
    assert!(
        !pending.contains("<img"),
        "no image request for the QR code"
    );
    let text = element_text(&pending, "totp-secret").expect("the secret as text");
    let secret = TotpSecret::from_base32(&text).expect("the shown secret is base32");

    let step = fresh_step();
    // A code of another step than the window's is refused, with the reason beside the field.
    let wrong = browser.post(
        "/account/2fa/confirm",
        &[("code", &secret.code_at(step + 5))],
    );
    assert_eq!(wrong.status(), 400);
    assert!(wrong.text().unwrap().contains("confirm-error"));
    // The step before the current one: later steps stay free for the sign-ins of the test.
    let confirmed = browser.post(
        "/account/2fa/confirm",
        &[("code", &secret.code_at(step - 1))],
    );
    assert_eq!(confirmed.status(), 200);
    assert_eq!(
        confirmed.headers().get("cache-control").unwrap(),
        "no-store"
    );
    let page = confirmed.text().unwrap();
    let codes = recovery_codes(&page);
    assert_eq!(codes.len(), 10, "{page}");
    assert!(page.contains("is <strong>on</strong>"), "{page}");
    // Never shown again: the secret is on no later page.
    let later = browser.page("/account/2fa");
    assert!(
        !later.contains(&text),
        "the secret is shown after enrolment"
    );
    assert!(recovery_codes(&later).is_empty());
    (secret, step - 1, codes)
}

/// Signs in with the password: the answer is the way to the code page.
fn password_step(browser: &mut Browser, name: &str) {
    let response = browser.login(name, PASSWORD);
    assert_eq!(response.status(), 303);
    assert_eq!(location(&response), "/login/2fa?next=%2F");
    let page = browser.page("/login/2fa");
    browser.csrf = hidden_field(&page, "csrf_token").unwrap();
}

fn send_code(browser: &Browser, code: &str) -> Response {
    browser.post("/login/2fa", &[("code", code), ("next", "/")])
}

fn audit_messages(console: &TestConsole) -> Vec<String> {
    let mut conn = console.app.conn().unwrap();
    LogEntry::list(&mut conn, &LogFilter::default())
        .unwrap()
        .into_iter()
        .map(|e| e.message)
        .collect()
}

fn has_message(console: &TestConsole, part: &str) -> bool {
    audit_messages(console).iter().any(|m| m.contains(part))
}

fn sign_out(browser: &Browser) {
    assert_eq!(browser.post("/logout", &[]).status(), 303);
}

fn signed_in_user(console: &TestConsole, name: &str, role: Role) -> Browser {
    console.add_user(name, role);
    let mut browser = console.anonymous();
    assert_eq!(browser.login(name, PASSWORD).status(), 303);
    browser.refresh_csrf("/account/2fa");
    browser
}

#[test]
fn enrol_then_sign_in_needs_a_code_each_step_once() {
    for backend in &BOTH {
        let console = TestConsole::start(backend);
        let mut ann = signed_in_user(&console, "ann", Role::Operator);
        let (secret, _, _) = enrol(&ann);
        {
            let mut conn = console.app.conn().unwrap();
            let user = coffer::db::User::find_by_username(&mut conn, "ann")
                .unwrap()
                .unwrap();
            let row = TotpRow::find_confirmed(&mut conn, &user.id).unwrap();
            assert!(row.is_some());
            assert_eq!(RecoveryCode::unused(&mut conn, &user.id).unwrap(), 10);
        }
        assert!(has_message(&console, "`ann` turned on two-factor sign-in"));
        sign_out(&ann);

        password_step(&mut ann, "ann");
        // The waiting session is refused everywhere else.
        let refused = ann.get("/backups");
        assert_eq!(refused.status(), 303);
        assert_eq!(location(&refused), "/login/2fa");
        assert_eq!(ann.get("/api/v1/backups").status(), 401);

        let wrong = send_code(&ann, "000000");
        assert_eq!(wrong.status(), 401);
        assert!(wrong.text().unwrap().contains("Wrong code"));
        assert!(has_message(&console, "second factor failed for `ann`"));

        let step = fresh_step();
        let right = send_code(&ann, &secret.code_at(step));
        assert_eq!(right.status(), 303);
        assert_eq!(location(&right), "/");
        ann.refresh_csrf("/");
        assert!(has_message(&console, "`ann` signed in from"));
        sign_out(&ann);

        // The same code again (same step) is a replay: refused though right.
        password_step(&mut ann, "ann");
        let replayed = send_code(&ann, &secret.code_at(step));
        assert_eq!(replayed.status(), 401);
        assert!(replayed.text().unwrap().contains("used already"));
        // The next step's code (inside the window) works.
        let next = send_code(&ann, &secret.code_at(step + 1));
        assert_eq!(next.status(), 303);
    }
}

#[test]
fn a_recovery_code_signs_in_once() {
    let console = TestConsole::start(&Backend::Sqlite);
    let mut bob = signed_in_user(&console, "bob", Role::Viewer);
    let (_, _, codes) = enrol(&bob);
    // Only hashes are stored.
    {
        let mut conn = console.app.conn().unwrap();
        let user = coffer::db::User::find_by_username(&mut conn, "bob")
            .unwrap()
            .unwrap();
        // The code itself is no key of the table; its hash is (spent here: codes[0]).
        for plain in [codes[0].clone(), codes[0].replace('-', "")] {
            assert!(!RecoveryCode::spend(&mut conn, &user.id, &plain).unwrap());
        }
        let hash = coffer::auth::recovery_code_hash(&user.id, &codes[0]).unwrap();
        assert!(RecoveryCode::spend(&mut conn, &user.id, &hash).unwrap());
    }
    sign_out(&bob);
    password_step(&mut bob, "bob");
    let used = send_code(&bob, &codes[3].to_lowercase());
    assert_eq!(used.status(), 303);
    assert!(has_message(&console, "`bob` used a recovery code"));
    bob.refresh_csrf("/account/2fa");
    assert!(bob.page("/account/2fa").contains("id=\"codes-left\">8<"));
    sign_out(&bob);

    password_step(&mut bob, "bob");
    assert_eq!(
        send_code(&bob, &codes[3]).status(),
        401,
        "a code works once"
    );
    assert_eq!(send_code(&bob, &codes[4]).status(), 303);
}

#[test]
fn wrong_codes_count_like_wrong_passwords_and_lock() {
    let console = TestConsole::start(&Backend::Sqlite);
    let mut eve = signed_in_user(&console, "eve", Role::Admin);
    let (secret, _, _) = enrol(&eve);
    sign_out(&eve);
    password_step(&mut eve, "eve");
    // USER_LOCK_AFTER (10) wrong codes, each counted; then even the right code is refused.
    for attempt in 0..10 {
        let response = send_code(&eve, "123456");
        assert_eq!(response.status(), 401, "attempt {attempt}");
    }
    let step = fresh_step();
    let locked = send_code(&eve, &secret.code_at(step));
    assert_eq!(locked.status(), 429);
    assert!(locked.text().unwrap().contains("Try again in"));
    // The lock covers the password step too: the user name is locked.
    let mut again = console.anonymous();
    assert_eq!(again.login("eve", PASSWORD).status(), 429);
    assert!(has_message(&console, "second factor refused for `eve`"));
}

#[test]
fn remove_needs_password_and_code_and_renewal_replaces_codes() {
    let console = TestConsole::start(&Backend::Sqlite);
    let ann = signed_in_user(&console, "ann", Role::Viewer);
    let (secret, _, old_codes) = enrol(&ann);

    let step = fresh_step();
    let renewed = ann.post("/account/2fa/recovery", &[("code", &secret.code_at(step))]);
    assert_eq!(renewed.status(), 200);
    let new_codes = recovery_codes(&renewed.text().unwrap());
    assert_eq!(new_codes.len(), 10);
    assert!(new_codes.iter().all(|c| !old_codes.contains(c)));
    assert!(has_message(&console, "`ann` made new recovery codes"));

    let wrong_password = ann.post(
        "/account/2fa/remove",
        &[("password", "nope"), ("code", &secret.code_at(step + 1))],
    );
    assert_eq!(wrong_password.status(), 400);
    assert!(wrong_password.text().unwrap().contains("remove-error"));
    let wrong_code = ann.post(
        "/account/2fa/remove",
        &[("password", PASSWORD), ("code", "999999")],
    );
    assert_eq!(wrong_code.status(), 401);
    // The old recovery codes no longer work; a new one does.
    let old = ann.post(
        "/account/2fa/remove",
        &[("password", PASSWORD), ("code", &old_codes[0])],
    );
    assert_eq!(old.status(), 401);
    let removed = ann.post(
        "/account/2fa/remove",
        &[("password", PASSWORD), ("code", &new_codes[0])],
    );
    assert_eq!(removed.status(), 303);
    assert!(ann.page("/account/2fa").contains("is <strong>off</strong>"));
    assert!(has_message(&console, "`ann` turned off two-factor sign-in"));
    sign_out(&ann);
    let mut again = console.anonymous();
    let response = again.login("ann", PASSWORD);
    assert_eq!(location(&response), "/", "no code is asked any more");
}

#[test]
fn require_2fa_forces_enrolment_before_anything_else() {
    let console = TestConsole::start_with(&Backend::Sqlite, |settings| {
        settings.security.require_2fa = vec![Role::Admin, Role::Operator];
    });
    let admin = signed_in_user(&console, "root", Role::Admin);
    for path in ["/", "/backups", "/users", "/account/password"] {
        let response = admin.get(path);
        assert_eq!(response.status(), 303, "{path}");
        assert_eq!(location(&response), "/account/2fa", "{path}");
    }
    assert_eq!(admin.get("/api/v1/backups").status(), 403);
    let refused = admin.post("/backups", &[]);
    assert_eq!(location(&refused), "/account/2fa");
    let page = admin.page("/account/2fa");
    assert!(
        page.contains("Your role requires two-factor sign-in"),
        "{page}"
    );
    enrol(&admin);
    assert_eq!(admin.get("/").status(), 200);

    // Viewers are not named: nothing forced.
    let viewer = console.login_as(Role::Viewer);
    assert_eq!(viewer.get("/backups").status(), 200);
}

#[test]
fn an_admin_or_the_command_line_resets_a_lost_second_factor() {
    let console = TestConsole::start(&Backend::Sqlite);
    let ann = signed_in_user(&console, "ann", Role::Operator);
    enrol(&ann);
    let user_id = {
        let mut conn = console.app.conn().unwrap();
        coffer::db::User::find_by_username(&mut conn, "ann")
            .unwrap()
            .unwrap()
            .id
    };
    let admin = console.login_as(Role::Admin);
    let detail = admin.page(&format!("/users/{user_id}"));
    assert!(
        detail.contains("id=\"user-two-factor\">On since"),
        "{detail}"
    );
    let reset = admin.post(&format!("/users/{user_id}/2fa/reset"), &[]);
    assert_eq!(reset.status(), 303);
    assert!(admin
        .page(&format!("/users/{user_id}"))
        .contains("id=\"user-two-factor\">Off."));
    assert!(has_message(
        &console,
        "reset the two-factor sign-in of `ann`"
    ));
    // Her sessions ended with it.
    assert_eq!(location(&ann.get("/")), "/login?next=%2F");
    let again = admin.post(&format!("/users/{user_id}/2fa/reset"), &[]);
    assert_eq!(again.status(), 409);

    // The break-glass command.
    let mut ann = console.anonymous();
    assert_eq!(location(&ann.login("ann", PASSWORD)), "/");
    ann.refresh_csrf("/account/2fa");
    enrol(&ann);
    let out = console.env.ok(&["user", "2fa-reset", "ann"]);
    assert!(out.contains("reset"), "{out}");
    assert!(has_message(&console, "from the command line"));
    let err = console.env.fails(&["user", "2fa-reset", "ann"]);
    assert!(err.contains("no two-factor sign-in"), "{err}");
    let err = console.env.fails(&["user", "2fa-reset", "nobody"]);
    assert!(err.contains("no user `nobody`"), "{err}");
}
