//! `coffer health [--url URL]`: asks a running console whether it answers, for container
//! health checks (the runtime image has no curl). Exit 0 on a 2xx answer, 1 otherwise.
//! Without `--url` it asks `/health` on this configuration's bind address (a wildcard bind
//! such as `0.0.0.0:8080` is asked on loopback). It needs no database and no keys.

use std::net::{IpAddr, Ipv4Addr, Ipv6Addr, SocketAddr};
use std::time::Duration;

use clap::Args as ClapArgs;

use crate::config::Settings;
use crate::error::{Error, Result};

/// A health check that hangs is worse than one that fails: container runtimes stack them up.
const TIMEOUT: Duration = Duration::from_secs(5);

#[derive(Debug, ClapArgs)]
pub struct Args {
    /// What to ask (else http://<[web] bind>/health); `/ready` also checks database, storage,
    /// free disk space and the worker pool.
    #[arg(long, value_name = "URL")]
    pub url: Option<String>,
}

pub fn run(settings: &Settings, args: Args) -> Result<()> {
    let url = args
        .url
        .unwrap_or_else(|| format!("http://{}/health", reachable(settings.web.bind)));
    let failed = |reason: String| Error::Io {
        context: format!("checking {url}"),
        source: std::io::Error::other(reason),
    };
    if !(url.starts_with("http://") || url.starts_with("https://")) {
        return Err(Error::Invalid(format!(
            "`{url}` is not an http:// or https:// URL"
        )));
    }
    let agent: ureq::Agent = ureq::Agent::config_builder()
        .timeout_global(Some(TIMEOUT))
        .http_status_as_error(false)
        .max_redirects(0)
        .user_agent(concat!("coffer-health/", env!("CARGO_PKG_VERSION")))
        .build()
        .into();
    let response = agent.get(&url).call().map_err(|e| failed(e.to_string()))?;
    let status = response.status();
    if status.is_success() {
        println!("{url}: HTTP {}", status.as_u16());
        Ok(())
    } else {
        Err(failed(format!("answered HTTP {}", status.as_u16())))
    }
}

/// The address a local client reaches a listener bound to `bind` on.
fn reachable(bind: SocketAddr) -> SocketAddr {
    let ip = match bind.ip() {
        IpAddr::V4(ip) if ip.is_unspecified() => IpAddr::V4(Ipv4Addr::LOCALHOST),
        IpAddr::V6(ip) if ip.is_unspecified() => IpAddr::V6(Ipv6Addr::LOCALHOST),
        ip => ip,
    };
    SocketAddr::new(ip, bind.port())
}

#[cfg(test)]
mod tests {
    use super::reachable;

    #[test]
    fn a_wildcard_bind_is_asked_on_loopback() {
        let at = |s: &str| reachable(s.parse().unwrap()).to_string();
        assert_eq!(at("0.0.0.0:8080"), "127.0.0.1:8080");
        assert_eq!(at("[::]:8080"), "[::1]:8080");
        assert_eq!(at("10.1.2.3:9000"), "10.1.2.3:9000");
    }
}
