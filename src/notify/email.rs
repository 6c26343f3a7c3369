//! Email through SMTP (lettre, blocking): STARTTLS, TLS from the start, or plain for a local
//! relay. The password is read when sending, from the variable or file the config names.

use std::time::Duration;

use lettre::message::header::ContentType;
use lettre::message::Mailbox;
use lettre::transport::smtp::authentication::Credentials;
use lettre::transport::smtp::client::{Tls, TlsParameters};
use lettre::{Message, SmtpTransport, Transport};

use crate::config::{EmailSettings, PasswordFrom, SmtpSecurity};
use crate::notify::{payload, Event};

pub fn send(settings: &EmailSettings, event: &Event, timeout: Duration) -> Result<(), String> {
    let message = message(settings, event)?;
    let tls = || {
        TlsParameters::new(settings.host.clone())
            .map_err(|e| format!("TLS setup for {}: {e}", settings.host))
    };
    let tls = match settings.security {
        SmtpSecurity::None => Tls::None,
        SmtpSecurity::Starttls => Tls::Required(tls()?),
        SmtpSecurity::Tls => Tls::Wrapper(tls()?),
    };
    let mut transport = SmtpTransport::builder_dangerous(&settings.host)
        .port(settings.port)
        .tls(tls)
        .timeout(Some(timeout));
    if let (Some(user), Some(from)) = (&settings.user, &settings.password) {
        transport = transport.credentials(Credentials::new(user.clone(), password(from)?));
    }
    transport
        .build()
        .send(&message)
        .map(|_| ())
        .map_err(|e| format!("SMTP {}:{}: {e}", settings.host, settings.port))
}

fn message(settings: &EmailSettings, event: &Event) -> Result<Message, String> {
    let mailbox = |text: &str| {
        text.parse::<Mailbox>()
            .map_err(|e| format!("`{text}` is not an email address: {e}"))
    };
    let mut builder = Message::builder()
        .from(mailbox(&settings.from)?)
        .subject(payload::email_subject(event))
        .header(ContentType::TEXT_PLAIN);
    for to in &settings.to {
        builder = builder.to(mailbox(to)?);
    }
    builder
        .body(payload::email_body(event, chrono::Utc::now()))
        .map_err(|e| format!("building the message: {e}"))
}

fn password(from: &PasswordFrom) -> Result<String, String> {
    match from {
        PasswordFrom::Env(var) => std::env::var(var).map_err(|_| {
            format!(
                "notify.email.password_env names `{var}`, which is not set in Coffer's environment"
            )
        }),
        PasswordFrom::File(file) => std::fs::read_to_string(file)
            .map(|text| text.lines().next().unwrap_or_default().to_string())
            .map_err(|e| {
                format!(
                    "cannot read notify.email.password_file {}: {e}",
                    file.display()
                )
            }),
    }
}
