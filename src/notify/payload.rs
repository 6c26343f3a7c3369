//! What each channel sends for an event: the JSON webhook body, the Slack-compatible
//! `{"text": …}` body, and the email's subject and plain-text body. Pure functions, so the
//! shapes are tested without a network.

use serde_json::{json, Value};

use crate::notify::Event;

/// The generic webhook body: the event's own fields (`event` names the kind), its one-line
/// `summary`, and who sent it.
pub fn json_body(event: &Event, sent_at: chrono::DateTime<chrono::Utc>) -> Value {
    let mut body = serde_json::to_value(event).unwrap_or_else(|_| json!({}));
    if let Value::Object(fields) = &mut body {
        fields.insert("summary".into(), Value::String(event.summary()));
        fields.insert("sender".into(), Value::String("coffer".into()));
        fields.insert("sent_at".into(), Value::String(sent_at.to_rfc3339()));
    }
    body
}

/// Slack's incoming-webhook shape (also taken by Mattermost, Rocket.Chat, Discord's `/slack`).
pub fn slack_body(event: &Event) -> Value {
    json!({ "text": format!("[Coffer] {}", event.summary()) })
}

pub fn email_subject(event: &Event) -> String {
    // Subjects are one line; an error text may hold several.
    let summary = event.summary().replace(['\r', '\n'], " ");
    let mut subject = format!("[Coffer] {summary}");
    if subject.chars().count() > 200 {
        subject = subject.chars().take(199).collect::<String>() + "…";
    }
    subject
}

/// The summary, then every field of the event on its own line.
pub fn email_body(event: &Event, sent_at: chrono::DateTime<chrono::Utc>) -> String {
    let mut text = format!("{}\n\n", event.summary());
    if let Ok(Value::Object(fields)) = serde_json::to_value(event) {
        for (key, value) in fields {
            let value = match value {
                Value::String(s) => s,
                other => other.to_string(),
            };
            text.push_str(&format!("{key}: {value}\n"));
        }
    }
    text.push_str(&format!(
        "sent_at: {}\n\n-- \nSent by Coffer. Channels and events are set in the [notify] section of its configuration.\n",
        sent_at.to_rfc3339()
    ));
    text
}

#[cfg(test)]
mod tests {
    use super::*;

    fn failed() -> Event {
        Event::BackupFailed {
            backup_id: "b-1".into(),
            name: "nightly-2024".into(),
            error: "disk full\nsecond line".into(),
        }
    }

    fn at() -> chrono::DateTime<chrono::Utc> {
        "2024-05-06T07:08:09Z".parse().unwrap()
    }

    #[test]
    fn json_body_carries_kind_fields_and_summary() {
        let body = json_body(&failed(), at());
        assert_eq!(body["event"], "backup_failed");
        assert_eq!(body["backup_id"], "b-1");
        assert_eq!(body["name"], "nightly-2024");
        assert_eq!(body["error"], "disk full\nsecond line");
        assert_eq!(body["sender"], "coffer");
        assert_eq!(body["sent_at"], "2024-05-06T07:08:09+00:00");
        assert!(body["summary"]
            .as_str()
            .unwrap()
            .starts_with("Backup `nightly-2024` failed: disk full"));
    }

    #[test]
    fn slack_body_is_only_text() {
        let body = slack_body(&Event::StorageNearlyFull {
            used_percent: 91.2,
            threshold_percent: 90.0,
            free_bytes: 10,
        });
        let object = body.as_object().unwrap();
        assert_eq!(object.len(), 1);
        assert_eq!(
            body["text"],
            "[Coffer] Backup storage is 91% full (threshold 90%)"
        );
    }

    #[test]
    fn email_has_a_one_line_subject_and_every_field_in_the_body() {
        let subject = email_subject(&failed());
        assert_eq!(
            subject,
            "[Coffer] Backup `nightly-2024` failed: disk full second line"
        );
        let long = Event::RestoreFailed {
            backup_id: "b".into(),
            task_id: "t".into(),
            error: "x".repeat(500),
        };
        assert_eq!(email_subject(&long).chars().count(), 200);
        let body = email_body(&failed(), at());
        for line in [
            "backup_id: b-1",
            "name: nightly-2024",
            "event: backup_failed",
            "sent_at: 2024-05-06T07:08:09+00:00",
        ] {
            assert!(body.contains(line), "{line} in {body}");
        }
        assert!(body.starts_with("Backup `nightly-2024` failed: disk full"));
    }
}
