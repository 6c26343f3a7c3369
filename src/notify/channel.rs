//! A configured place notifications go to, named for logs and pages without its secrets.

use std::time::Duration;

use crate::config::{EmailSettings, NotifySettings, WebhookSettings};
use crate::notify::{email, webhook, Event};

#[derive(Debug, Clone)]
pub enum Channel {
    Email(EmailSettings),
    Webhook(WebhookSettings),
}

impl Channel {
    /// Every configured channel, email first.
    pub fn all(settings: &NotifySettings) -> Vec<Channel> {
        let email = settings.email.iter().cloned().map(Channel::Email);
        let hooks = settings.webhooks.iter().cloned().map(Channel::Webhook);
        email.chain(hooks).collect()
    }

    /// `email` or `webhook:NAME`: how logs, pages and the CLI name the channel.
    pub fn label(&self) -> String {
        match self {
            Channel::Email(_) => "email".into(),
            Channel::Webhook(hook) => format!("webhook:{}", hook.name),
        }
    }

    /// Where it goes, safe to show (no password, no webhook URL: it may hold a token).
    pub fn describe(&self) -> String {
        match self {
            Channel::Email(e) => format!(
                "SMTP {}:{} ({:?}) to {}",
                e.host,
                e.port,
                e.security,
                e.to.join(", ")
            )
            .replace("(Starttls)", "(STARTTLS)")
            .replace("(Tls)", "(TLS)")
            .replace("(None)", "(unencrypted)"),
            Channel::Webhook(hook) => format!("{:?} webhook", hook.format).to_lowercase(),
        }
    }

    /// Whether this channel takes events of `kind`; a test goes everywhere.
    pub fn wants(&self, kind: &str) -> bool {
        let events = match self {
            Channel::Email(e) => &e.events,
            Channel::Webhook(w) => &w.events,
        };
        kind == "test" || events.iter().any(|e| e == kind)
    }

    /// One delivery attempt. The error text is safe to log (no password, no URL).
    pub fn send(&self, event: &Event, timeout: Duration) -> Result<(), String> {
        match self {
            Channel::Email(settings) => email::send(settings, event, timeout),
            Channel::Webhook(settings) => webhook::send(settings, event, timeout),
        }
    }
}
