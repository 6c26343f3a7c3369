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

/// Issues a token for `username` as `admin` with every scope their role may use (and the
/// default expiry) and returns it.
pub fn issue_token(console: &TestConsole, admin: &Browser, username: &str) -> String {
    let role = user(console, username).role();
    let scopes: Vec<&str> = coffer::domain::TokenScope::ALL
        .iter()
        .filter(|s| role.allows(s.least_role()))
        .map(|s| s.as_str())
        .collect();
    issue_scoped_token(console, admin, username, &scopes, "")
}

/// Issues a token for `username` with `scopes` and `expires` (the form's choice: days,
/// `never`, or empty for the default) and returns it.
pub fn issue_scoped_token(
    console: &TestConsole,
    admin: &Browser,
    username: &str,
    scopes: &[&str],
    expires: &str,
) -> String {
    let response = post_token_form(console, admin, username, scopes, expires);
    assert_eq!(response.status(), 200);
    assert_eq!(response.headers()["cache-control"], "no-store");
    shown_token(&response.text().unwrap())
}

/// Sends the issue form as the console's page does.
pub fn post_token_form(
    console: &TestConsole,
    admin: &Browser,
    username: &str,
    scopes: &[&str],
    expires: &str,
) -> reqwest::blocking::Response {
    let id = user(console, username).id;
    let mut fields = vec![("name", "script"), ("expires", expires)];
    fields.extend(scopes.iter().map(|s| ("scope", *s)));
    admin.post(&format!("/users/{id}/tokens"), &fields)
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

/// The text of the element with `id` (its first text, up to the next tag).
fn text_by_id(html: &str, id: &str) -> Option<String> {
    let marker = format!("id=\"{id}\"");
    let at = html.find(&marker)?;
    let start = at + html[at..].find('>')? + 1;
    let end = start + html[start..].find('<')?;
    Some(html[start..end].trim().to_string())
}

/// A refused new user comes back as the users page — navigation, the list, the form with
/// what was typed (never the password) — with the message next to the wrong field.
#[test]
fn a_refused_new_user_is_shown_on_the_form_next_to_the_field() {
    for backend in &BOTH {
        let console = TestConsole::start(backend);
        let admin = console.login_as(Role::Admin);
        let cases = [
            (
                "bad name!",
                "operator",
                PASSWORD,
                400,
                "username-error",
                "a user name has",
            ),
            (
                "gina",
                "superuser",
                PASSWORD,
                400,
                "role-error",
                "superuser",
            ),
            (
                "gina",
                "operator",
                "short",
                400,
                "password-error",
                "at least 10",
            ),
        ];
        for (name, role, password, status, field, message) in cases {
            let response = admin.post(
                "/users",
                &[("username", name), ("role", role), ("password", password)],
            );
            assert_eq!(response.status(), status, "{name} {role}");
            let page = response.text().unwrap();
            let shown = text_by_id(&page, field).unwrap_or_else(|| panic!("{field}: {page}"));
            assert!(shown.contains(message), "{field}: {shown}");
            assert!(page.contains("<nav"), "the page has its navigation");
            assert!(page.contains("id=\"add-user\""), "the form is there again");
            assert!(page.contains("Nobody was added"));
            assert!(!page.contains(PASSWORD), "the password is not sent back");
        }
        let again = admin.post(
            "/users",
            &[
                ("username", "gina"),
                ("role", "operator"),
                ("password", "short"),
            ],
        );
        let page = again.text().unwrap();
        assert!(page.contains("value=\"gina\""), "the typed name stays");
        assert!(
            page.contains("value=\"operator\" selected"),
            "the chosen role stays"
        );

        let fields = [
            ("username", "gina"),
            ("role", "operator"),
            ("password", PASSWORD),
        ];
        assert_eq!(admin.post("/users", &fields).status(), 303);
        let taken = admin.post("/users", &fields);
        assert_eq!(taken.status(), 409);
        let page = taken.text().unwrap();
        assert_eq!(
            text_by_id(&page, "username-error").as_deref(),
            Some("a user named “gina” already exists"),
            "{page}"
        );
        assert!(page.contains("<nav"));
        assert_eq!(
            User::list(&mut console.app.conn().unwrap()).unwrap().len(),
            2
        );
    }
}

/// The forms of a user's page say what is wrong next to themselves, on that page.
#[test]
fn refusals_on_a_users_page_are_shown_next_to_their_form() {
    for backend in &BOTH {
        let console = TestConsole::start(backend);
        let admin = console.login_as(Role::Admin);
        let first = me(&console, &admin);
        let base = format!("/users/{}", first.id);

        let disable = admin.post(&format!("{base}/disable"), &[]);
        assert_eq!(disable.status(), 409);
        let page = disable.text().unwrap();
        assert!(text_by_id(&page, "access-error")
            .unwrap()
            .contains("last enabled admin"));
        assert!(
            page.contains(&format!("<h1>{}", first.username)),
            "the user's page"
        );

        let demote = admin.post(&format!("{base}/role"), &[("role", "viewer")]);
        assert_eq!(demote.status(), 409);
        assert!(text_by_id(&demote.text().unwrap(), "role-error")
            .unwrap()
            .contains("last enabled admin"));

        let bad_role = admin.post(&format!("{base}/role"), &[("role", "root")]);
        assert_eq!(bad_role.status(), 400);
        assert!(text_by_id(&bad_role.text().unwrap(), "role-error").is_some());

        let short = admin.post(&format!("{base}/password"), &[("password", "short")]);
        assert_eq!(short.status(), 400);
        assert!(text_by_id(&short.text().unwrap(), "password-error")
            .unwrap()
            .contains("at least 10"));

        let token = admin.post(&format!("{base}/tokens"), &[("name", "  ")]);
        assert_eq!(token.status(), 400);
        assert!(text_by_id(&token.text().unwrap(), "token-error")
            .unwrap()
            .contains("token name"));
    }
}

/// Deleting a user asks first (what ends with them, what stays), then the users page says
/// who was deleted; their sessions and tokens end. Nobody deletes their own account.
#[test]
fn deleting_a_user_asks_first_ends_their_access_and_says_what_happened() {
    for backend in &BOTH {
        let console = TestConsole::start(backend);
        let admin = console.login_as(Role::Admin);
        console.add_user("hank", Role::Operator);
        let hank = user(&console, "hank");
        let session = signed_in(&console, "hank", PASSWORD);
        let token = issue_token(&console, &admin, "hank");

        let ask = format!("/users/{}/delete", hank.id);
        assert!(admin
            .page(&format!("/users/{}", hank.id))
            .contains(&format!("href=\"{ask}\"")));
        let question = admin.page(&ask);
        assert!(
            question.contains("<h1>Delete user hank?</h1>"),
            "{question}"
        );
        assert!(question.contains("API token stops working"), "{question}");
        assert!(question.contains(&format!("<form method=\"post\" action=\"{ask}\"")));
        assert!(question.contains("class=\"button\">Cancel</a>"));
        assert!(
            User::find_by_username(&mut console.app.conn().unwrap(), "hank")
                .unwrap()
                .is_some()
        );

        let gone = admin.post(&ask, &[]);
        assert_eq!(gone.status(), 303);
        assert_eq!(location(&gone), "/users?deleted=hank");
        let page = admin.page(&location(&gone));
        assert!(page.contains("User “hank” was deleted"), "{page}");
        let mut conn = console.app.conn().unwrap();
        assert!(User::find_by_username(&mut conn, "hank").unwrap().is_none());
        assert!(ApiToken::list_for_user(&mut conn, &hank.id)
            .unwrap()
            .is_empty());
        drop(conn);
        assert_eq!(session.get("/").status(), 303, "their session ended");
        let api = console
            .anonymous()
            .client
            .get(console.url("/api/v1/backups"))
            .bearer_auth(&token)
            .send()
            .unwrap();
        assert_eq!(api.status(), 401, "their token stopped");
        let log = LogEntry::list(&mut console.app.conn().unwrap(), &LogFilter::default()).unwrap();
        assert!(log
            .iter()
            .any(|e| e.message.contains("deleted user `hank` (operator)")));

        // A link cannot claim a deletion that did not happen.
        let me = me(&console, &admin);
        assert!(
            !admin
                .page(&format!("/users/{}", me.id))
                .contains("id=\"delete-user\""),
            "no Delete on one's own page"
        );
        let forged = admin.page(&format!("/users?deleted={}", me.username));
        assert!(!forged.contains("was deleted"));
        let own = admin.post(&format!("/users/{}/delete", me.id), &[]);
        assert_eq!(own.status(), 409);
        let page = own.text().unwrap();
        assert!(
            page.contains("you cannot delete your own account"),
            "{page}"
        );
        assert!(User::find_by_id(&mut console.app.conn().unwrap(), &me.id).is_ok());
        assert_eq!(admin.get("/users/nope/delete").status(), 404);
    }
}
