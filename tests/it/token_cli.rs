//! `coffer token create|list|revoke`: the token is printed once, on stdout only (exactly one
//! JSON document with --json), stored hashed, never in stderr or the audit log; the policy
//! of the console (scopes within the role, expiry) names the flag that breaks it; a revoked
//! token is refused by the console at once.

use coffer::db::{ApiToken, LogEntry, LogFilter, NewUser, User};
use coffer::domain::Role;
use serde_json::Value;

use crate::helpers::*;

fn add_user(env: &TestEnv, name: &str, role: Role) {
    let app = env.app();
    let mut conn = app.conn().unwrap();
    User::insert(&mut conn, &NewUser::new(name, "$argon2id$v=19$x", role)).unwrap();
}

/// stdout parsed as exactly one JSON document (serde refuses trailing text).
fn one_document(stdout: &str) -> Value {
    serde_json::from_str(stdout).unwrap_or_else(|e| panic!("not one JSON document ({e}): {stdout}"))
}

#[test]
fn tokens_are_created_listed_and_revoked_from_the_cli() {
    for backend in &BOTH {
        let env = TestEnv::with_directory(backend);
        add_user(&env, "prom", Role::Viewer);
        add_user(&env, "ci", Role::Operator);

        // --json: one document holding the token; stderr has no token.
        let out = env.run(&[
            "token",
            "create",
            "--user",
            "prom",
            "--name",
            "prometheus",
            "--scope",
            "read",
            "--expires",
            "never",
            "--json",
        ]);
        assert!(
            out.status.success(),
            "{}",
            String::from_utf8_lossy(&out.stderr)
        );
        let created = one_document(&String::from_utf8(out.stdout).unwrap());
        let token = created["token"].as_str().unwrap().to_string();
        assert_eq!(token.len(), 64);
        assert_eq!(created["scopes"], serde_json::json!(["read"]));
        assert_eq!(created["expires_at"], Value::Null);
        assert!(!String::from_utf8_lossy(&out.stderr).contains(&token));

        // Without --json: the token alone on stdout, what it is on stderr.
        let out = env.run(&[
            "token",
            "create",
            "--user",
            "ci",
            "--name",
            "deploy",
            "--scope",
            "read,backup",
            "--expires-in-days",
            "7",
        ]);
        assert!(out.status.success());
        let stdout = String::from_utf8(out.stdout).unwrap();
        let ci_token = stdout.trim_end().to_string();
        assert_eq!(stdout, format!("{ci_token}\n"));
        assert_eq!(ci_token.len(), 64);
        let stderr = String::from_utf8(out.stderr).unwrap();
        assert!(
            stderr.contains("scopes read,backup") && !stderr.contains(&ci_token),
            "{stderr}"
        );

        {
            let app = env.app();
            let mut conn = app.conn().unwrap();
            let all = ApiToken::list_all(&mut conn).unwrap();
            let hashes: Vec<&str> = all.iter().map(|(t, _)| t.token_hash.as_str()).collect();
            assert!(hashes.contains(&coffer::auth::token_hash(&token).as_str()));
            assert!(hashes.contains(&coffer::auth::token_hash(&ci_token).as_str()));
            let deploy = &all.iter().find(|(t, _)| t.name == "deploy").unwrap().0;
            let days = (deploy.expires_at.unwrap() - deploy.created_at).num_days();
            assert_eq!(days, 7);
        }

        let list = one_document(&env.ok(&["token", "list", "--json"]));
        let rows = list.as_array().unwrap();
        assert_eq!(rows.len(), 2, "{list}");
        let deploy = rows.iter().find(|r| r["name"] == "deploy").unwrap();
        assert_eq!(deploy["user"], "ci");
        assert_eq!(deploy["scopes"], serde_json::json!(["read", "backup"]));
        assert_eq!(deploy["state"], "active");
        assert!(!list.to_string().contains(&token) && !list.to_string().contains(&ci_token));
        let only = one_document(&env.ok(&["token", "list", "--user", "prom", "--json"]));
        assert_eq!(only.as_array().unwrap().len(), 1);
        assert!(env.ok(&["token", "list"]).contains("prometheus"));

        // Revoke by name, then by id (again: harmless).
        let revoked = one_document(&env.ok(&["token", "revoke", "deploy", "--json"]));
        assert_eq!(revoked["already_revoked"], false);
        let id = deploy["id"].as_str().unwrap();
        let again = one_document(&env.ok(&["token", "revoke", id, "--json"]));
        assert_eq!(again["already_revoked"], true);
        let list = one_document(&env.ok(&["token", "list", "--json"]));
        let deploy = list
            .as_array()
            .unwrap()
            .iter()
            .find(|r| r["name"] == "deploy")
            .unwrap();
        assert_eq!(deploy["state"], "revoked");
        let err = env.fails(&["token", "revoke", "nothing"]);
        assert!(
            err.contains("no API token in force has the id or name `nothing`"),
            "{err}"
        );

        // Audited by the CLI user, never with the token.
        let app = env.app();
        let entries = LogEntry::list(
            &mut app.conn().unwrap(),
            &LogFilter {
                operation: Some("token".into()),
                ..LogFilter::default()
            },
        )
        .unwrap();
        let messages: Vec<String> = entries
            .iter()
            .map(|e| format!("{} {:?}", e.message, e.details))
            .collect();
        assert_eq!(messages.len(), 3, "two issued, one revoked: {messages:?}");
        assert!(messages
            .iter()
            .any(|m| m.contains("revoked API token `deploy` of `ci`")));
        assert!(messages
            .iter()
            .all(|m| !m.contains(&token) && !m.contains(&ci_token)));
    }
}

#[test]
fn the_cli_refuses_tokens_against_the_policy_naming_the_flag() {
    let env = TestEnv::with_directory(&Backend::Sqlite);
    add_user(&env, "vic", Role::Viewer);
    for (extra, flag, words) in [
        (
            vec!["--name", "x", "--scope", "read,admin"],
            "--scope",
            "cannot have the scope admin",
        ),
        (
            vec!["--name", "x", "--scope", "root"],
            "--scope",
            "`root` is not a scope",
        ),
        (
            vec!["--name", "x", "--scope", "read", "--expires", "2020-01-01"],
            "--expires",
            "not in the future",
        ),
        (
            vec!["--name", "x", "--scope", "read", "--expires", "tomorrow"],
            "--expires",
            "not an expiry",
        ),
        (
            vec!["--name", "x", "--scope", "read", "--expires-in-days", "0"],
            "--expires-in-days",
            "1 to 1095 days",
        ),
        (
            vec!["--name", " ", "--scope", "read"],
            "--name",
            "1 to 100 characters",
        ),
    ] {
        let mut args = vec!["token", "create", "--user", "vic"];
        args.extend(extra.iter().copied());
        let err = env.fails(&args);
        assert!(err.contains(flag) && err.contains(words), "{args:?}: {err}");
        assert!(err.contains("no token was issued"), "{err}");
    }
    add_user(&env, "ops", Role::Operator);
    let err = env.fails(&[
        "token",
        "create",
        "--user",
        "ops",
        "--name",
        "x",
        "--scope",
        "backup",
        "--expires",
        "never",
    ]);
    assert!(
        err.contains("only a token with the `read` scope alone"),
        "{err}"
    );
    let err = env.fails(&[
        "token", "create", "--user", "nobody", "--name", "x", "--scope", "read",
    ]);
    assert!(err.contains("there is no user `nobody`"), "{err}");
    let list = one_document(&env.ok(&["token", "list", "--json"]));
    assert_eq!(list, serde_json::json!([]), "nothing was issued");
}
