//! "Send a test notification" (settings page, `coffer notify test`): one attempt on every
//! channel at once, waited for, so the person asking sees which channels got it.

use crate::db::NewLogEntry;
use crate::domain::LogLevel;
use crate::error::{Error, Result};
use crate::notify::deliverer::deliver;
use crate::notify::{Channel, Event, Notifier};

/// How one channel took the test.
#[derive(Debug, Clone, serde::Serialize)]
pub struct ChannelReport {
    pub channel: String,
    pub target: String,
    pub delivered: bool,
    /// Why not (safe to show: no password, no webhook URL).
    pub error: Option<String>,
}

impl Notifier {
    /// Sends a test event to every configured channel (one attempt each, in parallel; each
    /// attempt logged like any other). Refused when no channel is configured (`origin` names
    /// the config file to add one to).
    pub fn send_test(&self, origin: &str, requested_by: &str) -> Result<Vec<ChannelReport>> {
        let settings = self.settings();
        let channels = Channel::all(settings);
        if channels.is_empty() {
            return Err(Error::Refused(format!(
            "no notification channels are configured: add [notify.email] or [[notify.webhooks]] to {origin}"
        )));
        }
        let event = Event::Test {
            requested_by: requested_by.to_string(),
        };
        self.audit(NewLogEntry::new(LogLevel::Info, "notify", event.summary()).by(requested_by));
        let pool = self.pool();
        let reports = std::thread::scope(|scope| {
            let running: Vec<_> = channels
                .iter()
                .map(|channel| {
                    let event = &event;
                    let handle = scope.spawn(move || deliver(channel, event, settings, 1, pool));
                    (channel, handle)
                })
                .collect();
            running
                .into_iter()
                .map(|(channel, handle)| {
                    let result = handle
                        .join()
                        .unwrap_or_else(|_| Err("the delivery failed unexpectedly".into()));
                    ChannelReport {
                        channel: channel.label(),
                        target: channel.describe(),
                        delivered: result.is_ok(),
                        error: result.err(),
                    }
                })
                .collect()
        });
        Ok(reports)
    }
}
