//! `/users`: adding users, the last-admin guard, disabling, roles, password resets, API
//! tokens issued once and stored hashed; nothing secret in the audit log.

use coffer::auth::token_hash;
use coffer::db::{ApiToken, LogEntry, LogFilter, User};
use coffer::domain::Role;

use super::harness::{location, Browser, TestConsole, PASSWORD};
use crate::helpers::BOTH;

fn user(console: &TestConsole, name: &str) -> User {
    User::find_by_username(&mut console.app.conn().unwrap(), name)
        .unwrap()
        .expect("the user exists")
}

/// The admin signed in as `browser` (login_as makes up the name).
fn me(console: &TestConsole, browser: &Browser) -> User {
    let page = browser.page("/account/password");
    let users = User::list(&mut console.app.conn().unwrap()).unwrap();
    users
        .into_iter()
        .find(|u| page.contains(&format!("title=\"Change password\">{}<", u.username)))
        .expect("the page names its user")
}

fn signed_in(console: &TestConsole, name: &str, password: &str) -> Browser {
    let mut browser = console.anonymous();
    let response = browser.login(name, password);
    assert_eq!(response.status(), 303, "{name} signs in");
    browser
}

/// The token shown once on the page that issued it.
pub fn shown_token(html: &str) -> String {
    let start = html.find("<code id=\"new-token\">").expect("a new token") + 21;
    let end = start + html[start..].find('<').unwrap();
    html[start..end].to_string()
}

/// Issues a token for `username` as `admin` and returns it.
pub fn issue_token(console: &TestConsole, admin: &Browser, username: &str) -> String {
    let id = user(console, username).id;
    let response = admin.post(&format!("/users/{id}/tokens"), &[("name", "script")]);
    assert_eq!(response.status(), 200);
    assert_eq!(response.headers()["cache-control"], "no-store");
    shown_token(&response.text().unwrap())
}

#[test]
fn the_last_enabled_admin_can_be_neither_disabled_nor_demoted() {
    for backend in &BOTH {
        let console = TestConsole::start(backend);
        let admin = console.login_as(Role::Admin);
        let first = me(&console, &admin);
        for (path, fields) in [("disable", vec![]), ("role", vec![("role", "operator")])] {
            let response = admin.post(&format!("/users/{}/{path}", first.id), &fields);
            assert_eq!(response.status(), 409, "{path}");
            assert!(response.text().unwrap().contains("last enabled admin"));
        }
        assert_eq!(user(&console, &first.username), first, "nothing changed");

        let added = admin.post(
            "/users",
            &[
                ("username", "second"),
                ("role", "admin"),
                ("password", PASSWORD),
            ],
        );
        assert_eq!(added.status(), 303);
        let second = user(&console, "second");
        assert_eq!(location(&added), format!("/users/{}", second.id));
        assert!(
            !second.must_change_password,
            "unchecked box: no forced change"
        );

        // With two admins, one may go; then the other is the last one.
        let demoted = admin.post(
            &format!("/users/{}/role", first.id),
            &[("role", "operator")],
        );
        assert_eq!(demoted.status(), 303);
        assert_eq!(user(&console, &first.username).role(), Role::Operator);
        let other = signed_in(&console, "second", PASSWORD);
        let mut other = other;
        other.refresh_csrf("/users");
        let response = other.post(&format!("/users/{}/disable", second.id), &[]);
        assert_eq!(response.status(), 409);
        assert!(!user(&console, "second").disabled);
    }
}

#[test]
fn a_disabled_user_can_no_longer_sign_in_and_their_session_ends() {
    for backend in &BOTH {
        let console = TestConsole::start(backend);
        let admin = console.login_as(Role::Admin);
        let carol = console.add_user("carol", Role::Operator);
        let session = signed_in(&console, "carol", PASSWORD);
        assert_eq!(session.get("/").status(), 200);

        let response = admin.post(&format!("/users/{}/disable", carol.id), &[]);
        assert_eq!(response.status(), 303);
        assert!(user(&console, "carol").disabled);
        let after = session.get("/");
        assert_eq!(after.status(), 303, "the session ended");
        assert!(location(&after).starts_with("/login"));
        let mut again = console.anonymous();
        assert_ne!(again.login("carol", PASSWORD).status(), 303);

        assert_eq!(
            admin
                .post(&format!("/users/{}/enable", carol.id), &[])
                .status(),
            303
        );
        signed_in(&console, "carol", PASSWORD);
    }
}

#[test]
fn a_role_change_takes_effect_at_once() {
    for backend in &BOTH {
        let console = TestConsole::start(backend);
        let admin = console.login_as(Role::Admin);
        let dave = console.add_user("dave", Role::Viewer);
        let session = signed_in(&console, "dave", PASSWORD);
        assert_eq!(session.get("/users").status(), 403);

        let promoted = admin.post(&format!("/users/{}/role", dave.id), &[("role", "admin")]);
        assert_eq!(promoted.status(), 303);
        assert_eq!(
            session.get("/users").status(),
            200,
            "same session, new power"
        );

        let demoted = admin.post(&format!("/users/{}/role", dave.id), &[("role", "viewer")]);
        assert_eq!(demoted.status(), 303);
        assert_eq!(session.get("/").status(), 303, "demotion ends the sessions");
        let again = signed_in(&console, "dave", PASSWORD);
        assert_eq!(again.get("/users").status(), 403);

        let bad = admin.post(&format!("/users/{}/role", dave.id), &[("role", "root")]);
        assert_eq!(bad.status(), 400);
        let unknown = admin.post("/users/nobody/role", &[("role", "viewer")]);
        assert_eq!(unknown.status(), 404);
    }
}

#[test]
fn a_password_reset_ends_sessions_and_can_force_a_change() {
    for backend in &BOTH {
        let console = TestConsole::start(backend);
        let admin = console.login_as(Role::Admin);
        let erin = console.add_user("erin", Role::Viewer);
        let session = signed_in(&console, "erin", PASSWORD);
        let new_password = "a brand new secret 42";

        let short = admin.post(
            &format!("/users/{}/password", erin.id),
            &[("password", "short")],
        );
        assert_eq!(short.status(), 400);
        let reset = admin.post(
            &format!("/users/{}/password", erin.id),
            &[("password", new_password), ("must_change_password", "on")],
        );
        assert_eq!(reset.status(), 303);
        assert_eq!(session.get("/").status(), 303, "old session ended");
        let mut old = console.anonymous();
        assert_eq!(old.login("erin", PASSWORD).status(), 401);
        let fresh = signed_in(&console, "erin", new_password);
        let forced = fresh.get("/");
        assert_eq!(location(&forced), "/account/password");

        let token = issue_token(&console, &admin, "erin");
        let everything =
            LogEntry::list(&mut console.app.conn().unwrap(), &LogFilter::default()).unwrap();
        for entry in &everything {
            let text = format!("{} {:?}", entry.message, entry.details);
            assert!(
                !text.contains(new_password) && !text.contains(&token),
                "{text}"
            );
        }
        let messages: Vec<&str> = everything.iter().map(|e| e.message.as_str()).collect();
        assert!(messages
            .iter()
            .any(|m| m.contains("reset the password of `erin`")));
        assert!(messages
            .iter()
            .any(|m| m.contains("issued API token `script` for `erin`")));
    }
}

#[test]
fn admins_add_users_and_issue_tokens_that_are_stored_hashed() {
    for backend in &BOTH {
        let console = TestConsole::start(backend);
        let admin = console.login_as(Role::Admin);
        for (name, role, password, status) in [
            ("frank", "operator", "short", 400),
            ("bad name!", "operator", PASSWORD, 400),
            ("frank", "superuser", PASSWORD, 400),
        ] {
            let response = admin.post(
                "/users",
                &[("username", name), ("role", role), ("password", password)],
            );
            assert_eq!(response.status(), status, "{name} {role}");
        }
        let fields = [
            ("username", "frank"),
            ("role", "operator"),
            ("password", PASSWORD),
            ("must_change_password", "on"),
        ];
        assert_eq!(admin.post("/users", &fields).status(), 303);
        assert_eq!(admin.post("/users", &fields).status(), 409, "taken name");
        let frank = user(&console, "frank");
        assert!(frank.must_change_password && frank.role() == Role::Operator);
        assert!(admin.page("/users").contains("frank"));

        let token = issue_token(&console, &admin, "frank");
        assert_eq!(token.len(), 64);
        let stored = ApiToken::list_for_user(&mut console.app.conn().unwrap(), &frank.id).unwrap();
        assert_eq!(stored.len(), 1);
        assert_eq!(stored[0].token_hash, token_hash(&token));
        let page = admin.page(&format!("/users/{}", frank.id));
        assert!(
            page.contains("script") && !page.contains(&token),
            "shown once only"
        );

        let revoke = format!("/users/{}/tokens/{}/revoke", frank.id, stored[0].id);
        assert_eq!(admin.post(&revoke, &[]).status(), 303);
        let missing = format!("/users/{}/tokens/nope/revoke", frank.id);
        assert_eq!(admin.post(&missing, &[]).status(), 404);

        for role in [Role::Viewer, Role::Operator] {
            let browser = console.login_as(role);
            assert_eq!(browser.get("/users").status(), 403);
            let response = browser.post(&format!("/users/{}/disable", frank.id), &[]);
            assert_eq!(response.status(), 403);
        }
        assert!(!user(&console, "frank").disabled);
    }
}
