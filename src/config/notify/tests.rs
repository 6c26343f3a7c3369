//! `[notify]` parsing and the errors that name their key.

use crate::config::{PasswordFrom, Settings, SmtpSecurity, WebhookFormat};
use std::time::Duration;

fn no_env(_: &str) -> Option<String> {
    None
}

fn load(text: &str) -> Result<Settings, String> {
    Settings::from_toml(text, "my.toml", &no_env).map_err(|e| e.to_string())
}

const EMAIL: &str = "[notify.email]\nhost = \"smtp.example.org\"\nfrom = \"Coffer <coffer@example.org>\"\nto = [\"ops@example.org\"]\n";

#[test]
fn defaults_have_no_channels_and_sane_retries() {
    let n = load("").unwrap().notify;
    assert!(!n.has_channels());
    assert!(!n.on_success);
    assert_eq!(n.retries, 4);
    assert_eq!(n.backoff(2), Duration::from_secs(1));
    assert_eq!(n.backoff(3), Duration::from_secs(2));
    assert_eq!(n.backoff(5), Duration::from_secs(8));
    assert_eq!(n.backoff(40), Duration::from_secs(300), "capped");
}

#[test]
fn email_and_webhooks_parse_with_default_events() {
    let text = format!(
        "{EMAIL}user = \"coffer\"\npassword_env = \"SMTP_PW\"\n[[notify.webhooks]]\nname = \"chat\"\nurl = \"https://hooks.example/T/secret\"\nformat = \"slack\"\n[[notify.webhooks]]\nname = \"pager\"\nurl = \"http://127.0.0.1:9/x\"\nevents = [\"backup_failed\"]\n"
    );
    let n = load(&text).unwrap().notify;
    let email = n.email.as_ref().unwrap();
    assert_eq!((email.port, email.security), (587, SmtpSecurity::Starttls));
    assert!(matches!(&email.password, Some(PasswordFrom::Env(v)) if v == "SMTP_PW"));
    assert!(email.events.contains(&"backup_failed".to_string()));
    assert!(!email.events.contains(&"backup_succeeded".to_string()));
    assert_eq!(n.webhooks[0].format, WebhookFormat::Slack);
    assert_eq!(n.webhooks[1].events, vec!["backup_failed".to_string()]);
    // The URL may hold a token: not in Debug output (settings are logged in places).
    assert!(!format!("{n:?}").contains("secret"));

    let with_success = load(
        "[notify]\non_success = true\n[[notify.webhooks]]\nname = \"a\"\nurl = \"http://h/\"\n",
    )
    .unwrap();
    assert!(with_success.notify.webhooks[0]
        .events
        .contains(&"backup_succeeded".to_string()));
}

#[test]
fn bad_notify_configs_name_the_key() {
    let cases = [
        (format!("{EMAIL}password = \"hunter2\""), "notify.email.password"),
        (format!("{EMAIL}security = \"ssl\""), "ssl"),
        (format!("{EMAIL}user = \"u\""), "notify.email.user"),
        (format!("{EMAIL}password_env = \"PW\""), "notify.email.user"),
        (
            format!("{EMAIL}user = \"u\"\npassword_env = \"PW\"\npassword_file = \"/pw\""),
            "notify.email.password_env",
        ),
        (EMAIL.replace("ops@example.org", "not an address"), "notify.email.to[0]"),
        (EMAIL.replace("[\"ops@example.org\"]", "[]"), "notify.email.to"),
        (EMAIL.replace("Coffer <coffer@example.org>", "@"), "notify.email.from"),
        (format!("{EMAIL}port = 0"), "notify.email.port"),
        (format!("{EMAIL}events = [\"backup_exploded\"]"), "notify.email.events"),
        ("[notify]\nretries = 50".into(), "notify.retries"),
        ("[notify]\nbackoff_base_ms = 0".into(), "notify.backoff_base_ms"),
        (
            "[notify]\nbackoff_base_ms = 500\nbackoff_cap_ms = 100".into(),
            "notify.backoff_cap_ms",
        ),
        ("[notify]\ntimeout_seconds = 0".into(), "notify.timeout_seconds"),
        ("[notify]\nretires = 3".into(), "retires"),
        (
            "[[notify.webhooks]]\nname = \"a\"\nurl = \"ftp://h/x\"".into(),
            "notify.webhooks[0].url",
        ),
        (
            "[[notify.webhooks]]\nname = \"a b\"\nurl = \"http://h/x\"".into(),
            "notify.webhooks[0].name",
        ),
        (
            "[[notify.webhooks]]\nname = \"a\"\nurl = \"http://h/x\"\n[[notify.webhooks]]\nname = \"a\"\nurl = \"http://h/y\"".into(),
            "notify.webhooks[1].name",
        ),
        (
            "[[notify.webhooks]]\nname = \"a\"\nurl = \"http://h/x\"\nformat = \"xml\"".into(),
            "xml",
        ),
        (
            "[[notify.webhooks]]\nname = \"a\"\nurl = \"http://h/x\"\nevents = [\"backup_succeeded\"]".into(),
            "notify.on_success",
        ),
    ];
    for (text, needle) in cases {
        let err = load(&text).unwrap_err();
        assert!(err.contains("my.toml"), "{err}");
        assert!(err.contains(needle), "expected `{needle}` in: {err}");
        assert!(!err.contains("hunter2"), "{err}");
    }
}

#[test]
fn a_webhook_url_is_not_repeated_in_its_error() {
    let err = load("[[notify.webhooks]]\nname = \"a\"\nurl = \"gopher://h/tok3n\"").unwrap_err();
    assert!(!err.contains("tok3n"), "{err}");
}
