//! `[notify]`: where operators hear about events — one SMTP account (`[notify.email]`) and
//! any number of webhooks (`[[notify.webhooks]]`) — and how hard delivery tries. Checked
//! here like the rest of the config; passwords are named (variable or file), never stored.

use std::path::PathBuf;
use std::time::Duration;

use serde::Deserialize;

/// Every event kind a channel may subscribe to (`crate::notify::Event::kind`). `test` is not
/// here: a test notification goes to every channel.
pub const EVENT_KINDS: &[&str] = &[
    "backup_failed",
    "backup_succeeded",
    "rpo_missed",
    "task_stalled",
    "verification_failed",
    "restore_finished",
    "restore_failed",
    "drill_failed",
    "rto_missed",
    "proven_rpo_missed",
    "service_rto_missed",
    "service_proven_rpo_missed",
    "storage_nearly_full",
    "workers_stopped",
    "audit_chain_broken",
];

/// The validated `[notify]` section.
#[derive(Debug, Clone)]
pub struct NotifySettings {
    pub email: Option<EmailSettings>,
    pub webhooks: Vec<WebhookSettings>,
    /// Whether successful backups are announced at all.
    pub on_success: bool,
    /// Attempts after the first one failed.
    pub retries: u32,
    /// The wait before the first retry; it doubles for each further one, up to `backoff_cap`.
    pub backoff_base: Duration,
    pub backoff_cap: Duration,
    /// Connecting and each read or write of one attempt.
    pub timeout: Duration,
}

impl NotifySettings {
    pub fn has_channels(&self) -> bool {
        self.email.is_some() || !self.webhooks.is_empty()
    }

    /// The wait before attempt `attempt` (2 is the first retry): base, 2×base, 4×base …, capped.
    pub fn backoff(&self, attempt: u32) -> Duration {
        let doublings = attempt.saturating_sub(2).min(30);
        self.backoff_base
            .saturating_mul(1 << doublings)
            .min(self.backoff_cap)
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum SmtpSecurity {
    /// Plain connection upgraded with STARTTLS; refused if the server cannot.
    Starttls,
    /// TLS from the first byte (SMTPS, usually port 465).
    Tls,
    /// No encryption: only for a relay on the same host or network.
    None,
}

#[derive(Debug, Clone)]
pub struct EmailSettings {
    pub host: String,
    pub port: u16,
    pub security: SmtpSecurity,
    pub user: Option<String>,
    pub password: Option<PasswordFrom>,
    pub from: String,
    pub to: Vec<String>,
    pub events: Vec<String>,
}

/// Where a password is read each time it is needed, so a rotated one is picked up: the SMTP
/// password when a message is sent, a database server's when the server is used.
#[derive(Debug, Clone)]
pub enum PasswordFrom {
    Env(String),
    File(PathBuf),
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum WebhookFormat {
    /// The event as a JSON object (`event`, `summary`, the event's fields).
    Json,
    /// `{"text": "…"}`, which Slack, Mattermost, Rocket.Chat and others accept.
    Slack,
}

#[derive(Clone)]
pub struct WebhookSettings {
    pub name: String,
    /// May carry a token (Slack's do): never logged or shown.
    pub url: String,
    pub format: WebhookFormat,
    pub events: Vec<String>,
}

impl std::fmt::Debug for WebhookSettings {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("WebhookSettings")
            .field("name", &self.name)
            .field("url", &"<hidden>")
            .field("format", &self.format)
            .field("events", &self.events)
            .finish()
    }
}

#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub(super) struct NotifyConfig {
    email: Option<EmailConfig>,
    #[serde(default)]
    webhooks: Vec<WebhookConfig>,
    #[serde(default)]
    on_success: bool,
    retries: Option<u32>,
    backoff_base_ms: Option<u64>,
    backoff_cap_ms: Option<u64>,
    timeout_seconds: Option<u64>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct EmailConfig {
    host: String,
    port: Option<u16>,
    security: Option<SmtpSecurity>,
    user: Option<String>,
    password_env: Option<String>,
    password_file: Option<PathBuf>,
    /// Accepted only to refuse it with a helpful message.
    password: Option<toml::Value>,
    from: String,
    to: Vec<String>,
    events: Option<Vec<String>>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct WebhookConfig {
    name: String,
    url: String,
    #[serde(default = "default_format")]
    format: WebhookFormat,
    events: Option<Vec<String>>,
}

fn default_format() -> WebhookFormat {
    WebhookFormat::Json
}

/// A problem with one key: `(key, what is wrong)`.
type KeyError = (String, String);

impl NotifyConfig {
    pub(super) fn validate(self) -> Result<NotifySettings, KeyError> {
        let bad = |key: &str, msg: String| (format!("notify.{key}"), msg);
        let retries = self.retries.unwrap_or(4);
        if retries > 20 {
            return Err(bad("retries", format!("{retries} is out of range 0..=20")));
        }
        let base_ms = self.backoff_base_ms.unwrap_or(1000);
        let cap_ms = self.backoff_cap_ms.unwrap_or(5 * 60 * 1000);
        if !(1..=3_600_000).contains(&base_ms) {
            return Err(bad(
                "backoff_base_ms",
                format!("{base_ms} is out of range 1..=3600000"),
            ));
        }
        if cap_ms < base_ms || cap_ms > 3_600_000 {
            return Err(bad(
                "backoff_cap_ms",
                format!(
                    "{cap_ms} must be at least backoff_base_ms ({base_ms}) and at most 3600000"
                ),
            ));
        }
        let timeout = self.timeout_seconds.unwrap_or(15);
        if !(1..=600).contains(&timeout) {
            return Err(bad(
                "timeout_seconds",
                format!("{timeout} is out of range 1..=600"),
            ));
        }
        let on_success = self.on_success;
        let email = self
            .email
            .map(|e| e.validate(on_success).map_err(|(k, m)| bad(&k, m)))
            .transpose()?;
        let mut webhooks = Vec::with_capacity(self.webhooks.len());
        for (i, hook) in self.webhooks.into_iter().enumerate() {
            let key = |field: &str| format!("webhooks[{i}].{field}");
            let name = hook.name.trim();
            let plain = name
                .chars()
                .all(|c| c.is_ascii_alphanumeric() || matches!(c, '_' | '-' | '.'));
            if name.is_empty() || name.len() > 64 || !plain {
                return Err(bad(
                    &key("name"),
                    format!(
                        "`{name}` is not a valid name: use 1–64 letters, digits, `_`, `-` or `.`"
                    ),
                ));
            }
            if webhooks.iter().any(|w: &WebhookSettings| w.name == name) {
                return Err(bad(
                    &key("name"),
                    format!("`{name}` is used by two webhooks"),
                ));
            }
            check_url(&hook.url).map_err(|m| bad(&key("url"), m))?;
            let events = events(hook.events, on_success).map_err(|m| bad(&key("events"), m))?;
            webhooks.push(WebhookSettings {
                name: name.to_string(),
                url: hook.url,
                format: hook.format,
                events,
            });
        }
        Ok(NotifySettings {
            email,
            webhooks,
            on_success,
            retries,
            backoff_base: Duration::from_millis(base_ms),
            backoff_cap: Duration::from_millis(cap_ms),
            timeout: Duration::from_secs(timeout),
        })
    }
}

impl EmailConfig {
    fn validate(self, on_success: bool) -> Result<EmailSettings, KeyError> {
        let bad = |field: &str, msg: String| (format!("email.{field}"), msg);
        if self.password.is_some() {
            return Err(bad(
                "password",
                "keep the SMTP password out of the config file: name an environment variable \
                 (password_env) or a file whose first line is the password (password_file)"
                    .into(),
            ));
        }
        let host = self.host.trim();
        if host.is_empty() || host.contains(|c: char| c.is_whitespace() || c == '/') {
            return Err(bad(
                "host",
                format!("`{host}` is not a host name or address"),
            ));
        }
        let security = self.security.unwrap_or(SmtpSecurity::Starttls);
        let port = self.port.unwrap_or(match security {
            SmtpSecurity::Tls => 465,
            SmtpSecurity::Starttls => 587,
            SmtpSecurity::None => 25,
        });
        if port == 0 {
            return Err(bad("port", "0 is not a port".into()));
        }
        let password = match (self.password_env, self.password_file) {
            (Some(_), Some(_)) => {
                return Err(bad(
                    "password_env",
                    "give the password in one place only: password_env or password_file".into(),
                ))
            }
            (Some(var), None) => {
                if var.is_empty() || var.contains(['=', '\0']) {
                    return Err(bad(
                        "password_env",
                        format!("`{var}` is not a variable name"),
                    ));
                }
                Some(PasswordFrom::Env(var))
            }
            (None, Some(file)) => Some(PasswordFrom::File(file)),
            (None, None) => None,
        };
        let user = self.user.filter(|u| !u.is_empty());
        match (&user, &password) {
            (Some(_), None) => {
                return Err(bad(
                    "user",
                    "a user needs a password: set password_env or password_file".into(),
                ))
            }
            (None, Some(_)) => {
                return Err(bad(
                    "user",
                    "a password is set but no user to log in with".into(),
                ))
            }
            _ => {}
        }
        check_mailbox(&self.from).map_err(|m| bad("from", m))?;
        if self.to.is_empty() {
            return Err(bad("to", "name at least one recipient".into()));
        }
        for (i, to) in self.to.iter().enumerate() {
            check_mailbox(to).map_err(|m| bad(&format!("to[{i}]"), m))?;
        }
        Ok(EmailSettings {
            host: host.to_string(),
            port,
            security,
            user,
            password,
            from: self.from,
            to: self.to,
            events: events(self.events, on_success).map_err(|m| bad("events", m))?,
        })
    }
}

fn check_mailbox(text: &str) -> Result<(), String> {
    text.parse::<lettre::message::Mailbox>()
        .map(|_| ())
        .map_err(|e| format!("`{text}` is not an email address ({e})"))
}

/// An `http`/`https` URL with a host. Its text is not repeated in the message: it may hold a token.
fn check_url(text: &str) -> Result<(), String> {
    let url = url::Url::parse(text).map_err(|e| format!("not a URL ({e})"))?;
    if !matches!(url.scheme(), "http" | "https") || url.host_str().is_none() {
        return Err("must be an http:// or https:// URL with a host".into());
    }
    Ok(())
}

/// A channel's events: the listed ones (checked), else every kind but `backup_succeeded`
/// unless `on_success`.
fn events(listed: Option<Vec<String>>, on_success: bool) -> Result<Vec<String>, String> {
    let Some(listed) = listed else {
        return Ok(EVENT_KINDS
            .iter()
            .filter(|k| on_success || **k != "backup_succeeded")
            .map(|k| k.to_string())
            .collect());
    };
    for kind in &listed {
        if !EVENT_KINDS.contains(&kind.as_str()) {
            return Err(format!(
                "unknown event `{kind}`: choose from {}",
                EVENT_KINDS.join(", ")
            ));
        }
        if kind == "backup_succeeded" && !on_success {
            return Err(
                "`backup_succeeded` is listed but notify.on_success is false: set it to true"
                    .into(),
            );
        }
    }
    Ok(listed)
}

#[cfg(test)]
mod tests;
