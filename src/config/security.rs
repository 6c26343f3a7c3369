//! `[security]`: sign-in rules of the console.

use serde::Deserialize;

use crate::domain::Role;

/// The checked `[security]` section.
#[derive(Debug, Clone, Default)]
pub struct SecuritySettings {
    /// Users of these roles without a second factor must set one up right after signing in,
    /// before anything else (`require_2fa`).
    pub require_2fa: Vec<Role>,
}

impl SecuritySettings {
    pub fn requires_2fa(&self, role: Role) -> bool {
        self.require_2fa.contains(&role)
    }
}

#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub(super) struct SecurityConfig {
    #[serde(default)]
    require_2fa: Vec<String>,
}

impl SecurityConfig {
    /// The settings, or (key, message) for the first bad value.
    pub(super) fn validate(self) -> Result<SecuritySettings, (String, String)> {
        let mut require_2fa = Vec::new();
        for text in &self.require_2fa {
            let role: Role = text.trim().parse().map_err(|_| {
                (
                    "security.require_2fa".to_string(),
                    format!("`{text}` is not a role (viewer, operator or admin)"),
                )
            })?;
            if !require_2fa.contains(&role) {
                require_2fa.push(role);
            }
        }
        Ok(SecuritySettings { require_2fa })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parse(text: &str) -> Result<SecuritySettings, (String, String)> {
        toml::from_str::<SecurityConfig>(text).unwrap().validate()
    }

    #[test]
    fn roles_are_read_and_bad_ones_named() {
        let settings = parse("require_2fa = [\"admin\", \"operator\", \"admin\"]").unwrap();
        assert_eq!(settings.require_2fa, vec![Role::Admin, Role::Operator]);
        assert!(settings.requires_2fa(Role::Admin));
        assert!(!settings.requires_2fa(Role::Viewer));
        assert!(parse("").unwrap().require_2fa.is_empty());
        let (key, message) = parse("require_2fa = [\"root\"]").unwrap_err();
        assert_eq!(key, "security.require_2fa");
        assert!(message.contains("`root`"), "{message}");
    }
}
