//! Webhooks: one HTTP POST of a JSON body (ureq, blocking, rustls). Any 2xx is delivered;
//! redirects are not followed (a redirected POST would arrive as a GET without its body).

use std::time::Duration;

use crate::config::{WebhookFormat, WebhookSettings};
use crate::notify::{payload, Event};

pub fn send(settings: &WebhookSettings, event: &Event, timeout: Duration) -> Result<(), String> {
    let body = match settings.format {
        WebhookFormat::Json => payload::json_body(event, chrono::Utc::now()),
        WebhookFormat::Slack => payload::slack_body(event),
    };
    let agent: ureq::Agent = ureq::Agent::config_builder()
        .timeout_global(Some(timeout))
        .http_status_as_error(false)
        .max_redirects(0)
        .user_agent(concat!("coffer/", env!("CARGO_PKG_VERSION")))
        .build()
        .into();
    let response = agent
        .post(&settings.url)
        .header("content-type", "application/json")
        .send(body.to_string())
        // The URL may hold a token: keep it out of the message.
        .map_err(|e| e.to_string().replace(&settings.url, "<webhook url>"))?;
    let status = response.status();
    if status.is_success() {
        Ok(())
    } else {
        Err(format!("the receiver answered HTTP {}", status.as_u16()))
    }
}
