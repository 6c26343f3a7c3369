//! What a backup covers: every source, one service, or a chosen list of sources.
//! Stored as text (`all`, `service:NAME`, `sources:a,b`) so it reads well in the db and logs.

use std::fmt;
use std::str::FromStr;

#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
#[serde(try_from = "String", into = "String")]
pub enum Scope {
    All,
    Service(String),
    Sources(Vec<String>),
}

impl Scope {
    /// True when a source of `service` named `name` belongs to this scope.
    pub fn covers(&self, name: &str, service: &str) -> bool {
        match self {
            Scope::All => true,
            Scope::Service(s) => s == service,
            Scope::Sources(names) => names.iter().any(|n| n == name),
        }
    }
}

impl fmt::Display for Scope {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Scope::All => f.write_str("all"),
            Scope::Service(s) => write!(f, "service:{s}"),
            Scope::Sources(names) => write!(f, "sources:{}", names.join(",")),
        }
    }
}

impl FromStr for Scope {
    type Err = String;
    fn from_str(s: &str) -> Result<Self, String> {
        let s = s.trim();
        if s.is_empty() || s == "all" {
            return Ok(Scope::All);
        }
        if let Some(service) = s.strip_prefix("service:") {
            return non_empty_name(service).map(Scope::Service);
        }
        if let Some(list) = s.strip_prefix("sources:") {
            let names = list
                .split(',')
                .map(non_empty_name)
                .collect::<Result<Vec<_>, _>>()?;
            return Ok(Scope::Sources(names));
        }
        Err(format!(
            "`{s}` is not a scope: expected `all`, `service:NAME` or `sources:a,b`"
        ))
    }
}

/// A service or source name in a scope (from a form, the API, a schedule or a manifest):
/// plain, since it may become a lock file or a folder name.
fn non_empty_name(s: &str) -> Result<String, String> {
    let s = s.trim();
    if s.is_empty() {
        return Err("a scope names an empty service or source".into());
    }
    super::check_plain_name(s)?;
    Ok(s.to_string())
}

impl TryFrom<String> for Scope {
    type Error = String;
    fn try_from(s: String) -> Result<Self, String> {
        s.parse()
    }
}

impl From<Scope> for String {
    fn from(s: Scope) -> String {
        s.to_string()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn scopes_round_trip_through_text() {
        for text in ["all", "service:main_service", "sources:a,b"] {
            assert_eq!(text.parse::<Scope>().unwrap().to_string(), text);
        }
        assert!("sources:a,,b".parse::<Scope>().is_err());
        assert!("everything".parse::<Scope>().is_err());
    }

    #[test]
    fn scope_covers_by_service_or_name() {
        let s: Scope = "service:web".parse().unwrap();
        assert!(s.covers("uploads", "web"));
        assert!(!s.covers("uploads", "admin"));
    }
}
