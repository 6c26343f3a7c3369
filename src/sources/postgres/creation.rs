//! How a database was created — its encoding and locale (collation, character classes,
//! locale provider) — read from the `CREATE DATABASE` statement in its dump, so that the
//! database a restore creates is created the same way on any server and under any name.
//! Without it a staging database takes `template0`'s encoding and locale, which are the
//! target server's defaults, not the backed-up database's.
//!
//! `pg_dump` writes the statement in the form of its own version: `ENCODING = 'UTF8'
//! LOCALE_PROVIDER = libc LOCALE = 'C'` (15+), `LC_COLLATE = … LC_CTYPE = …` when the two
//! differ, `ICU_LOCALE` (15+), `ICU_RULES` (16+), `BUILTIN_LOCALE` (17+). Only those options
//! are taken, and each value is checked and quoted again here: the dump's statement itself
//! is never run. `TEMPLATE`, `OWNER` and `TABLESPACE` are not taken (always `template0`; the
//! owner as before; the target's default tablespace, which may be the only one it has).

use super::sql::literal;

/// The creation options of a database that a restore carries over.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Creation {
    pub encoding: Option<String>,
    /// `icu` or `builtin`; `None` for `libc`, the default, left out so that servers older
    /// than 15 (which have no `LOCALE_PROVIDER`) accept the statement.
    pub provider: Option<String>,
    pub collate: Option<String>,
    pub ctype: Option<String>,
    pub icu_locale: Option<String>,
    pub icu_rules: Option<String>,
    pub builtin_locale: Option<String>,
}

/// Options of the dump's statement that are deliberately not carried over.
const NOT_TAKEN: &[&str] = &[
    "TEMPLATE",
    "OWNER",
    "TABLESPACE",
    "OID",
    "STRATEGY",
    "COLLATION_VERSION",
    "CONNECTION",
    "ALLOW_CONNECTIONS",
    "IS_TEMPLATE",
];

impl Creation {
    /// Reads the options of a `CREATE DATABASE <name> WITH …;` line. Returns them with the
    /// names of options it does not know (for a warning: they are not carried over).
    pub fn parse(statement: &str) -> Result<(Creation, Vec<String>), String> {
        let mut words = Words::new(statement.trim());
        for keyword in ["CREATE", "DATABASE"] {
            if !words
                .next_word()
                .is_some_and(|w| w.eq_ignore_ascii_case(keyword))
            {
                return Err(format!("not a CREATE DATABASE statement: {statement}"));
            }
        }
        words.value()?; // the name
        let mut creation = Creation::default();
        let mut unknown = Vec::new();
        loop {
            words.skip_spaces();
            if words.rest.is_empty() || words.rest.starts_with(';') {
                break;
            }
            let key = words
                .next_word()
                .ok_or_else(|| format!("cannot read the options of: {statement}"))?
                .to_ascii_uppercase();
            if key == "WITH" {
                continue;
            }
            words.skip_spaces();
            if let Some(rest) = words.rest.strip_prefix('=') {
                words.rest = rest;
            }
            let value = words.value()?;
            let slot = match key.as_str() {
                "ENCODING" => &mut creation.encoding,
                "LOCALE_PROVIDER" => &mut creation.provider,
                "LC_COLLATE" => &mut creation.collate,
                "LC_CTYPE" => &mut creation.ctype,
                "ICU_LOCALE" => &mut creation.icu_locale,
                "ICU_RULES" => &mut creation.icu_rules,
                "BUILTIN_LOCALE" => &mut creation.builtin_locale,
                "LOCALE" => {
                    creation.collate = Some(value.clone());
                    creation.ctype = Some(value);
                    continue;
                }
                other => {
                    if !NOT_TAKEN.contains(&other) {
                        unknown.push(other.to_string());
                    }
                    continue;
                }
            };
            *slot = Some(value);
        }
        if let Some(provider) = &creation.provider {
            let provider = provider.to_ascii_lowercase();
            if !provider.chars().all(|c| c.is_ascii_lowercase()) {
                return Err(format!("unexpected locale provider `{provider}`"));
            }
            creation.provider = (provider != "libc").then_some(provider);
        }
        Ok((creation, unknown))
    }

    /// ` ENCODING 'LATIN1' LC_COLLATE 'C' …`, to follow `CREATE DATABASE <name>`.
    pub fn clause(&self) -> String {
        let mut sql = String::new();
        if let Some(encoding) = &self.encoding {
            sql.push_str(&format!(" ENCODING {}", literal(encoding)));
        }
        if let Some(provider) = &self.provider {
            // Checked to be a bare lowercase word by `parse`.
            sql.push_str(&format!(" LOCALE_PROVIDER {provider}"));
        }
        for (option, value) in self.locales() {
            sql.push_str(&format!(" {option} {}", literal(value)));
        }
        sql
    }

    /// `ENCODING LATIN1, LC_COLLATE C, …`, for messages.
    pub fn describe(&self) -> String {
        let mut parts = Vec::new();
        if let Some(encoding) = &self.encoding {
            parts.push(format!("ENCODING {encoding}"));
        }
        if let Some(provider) = &self.provider {
            parts.push(format!("LOCALE_PROVIDER {provider}"));
        }
        for (option, value) in self.locales() {
            parts.push(format!("{option} {value}"));
        }
        parts.join(", ")
    }

    fn locales(&self) -> impl Iterator<Item = (&'static str, &String)> {
        [
            ("LC_COLLATE", &self.collate),
            ("LC_CTYPE", &self.ctype),
            ("ICU_LOCALE", &self.icu_locale),
            ("ICU_RULES", &self.icu_rules),
            ("BUILTIN_LOCALE", &self.builtin_locale),
        ]
        .into_iter()
        .filter_map(|(option, value)| value.as_ref().map(|v| (option, v)))
    }
}

/// A cursor over the statement's words and values.
struct Words<'a> {
    rest: &'a str,
}

impl<'a> Words<'a> {
    fn new(text: &'a str) -> Self {
        Words { rest: text }
    }

    fn skip_spaces(&mut self) {
        self.rest = self.rest.trim_start();
    }

    /// A bare word (letters, digits, `_`).
    fn next_word(&mut self) -> Option<&'a str> {
        self.skip_spaces();
        let end = self
            .rest
            .find(|c: char| !(c.is_ascii_alphanumeric() || c == '_'))
            .unwrap_or(self.rest.len());
        if end == 0 {
            return None;
        }
        let (word, rest) = self.rest.split_at(end);
        self.rest = rest;
        Some(word)
    }

    /// A value: `'a string'` (`''` inside), `"an identifier"` (`""` inside) or a bare word.
    fn value(&mut self) -> Result<String, String> {
        self.skip_spaces();
        let text = self.rest;
        let Some(quote) = text.chars().next().filter(|c| matches!(c, '\'' | '"')) else {
            return self
                .next_word()
                .map(str::to_string)
                .ok_or_else(|| format!("unexpected text in CREATE DATABASE at `{text}`"));
        };
        let mut value = String::new();
        let mut chars = text.char_indices().skip(1);
        while let Some((at, c)) = chars.next() {
            if c != quote {
                value.push(c);
                continue;
            }
            // `at` is the closing quote's byte, unless it is doubled.
            if text[at + 1..].starts_with(quote) {
                value.push(quote);
                chars.next();
                continue;
            }
            self.rest = &text[at + 1..];
            return Ok(value);
        }
        Err("a quoted value in CREATE DATABASE does not end".into())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parse(statement: &str) -> Creation {
        let (creation, unknown) = Creation::parse(statement).unwrap();
        assert!(unknown.is_empty(), "{unknown:?}");
        creation
    }

    #[test]
    fn the_forms_of_each_pg_dump_version_are_read() {
        // 15+, one locale for both
        let latin1 = parse(
            "CREATE DATABASE shop WITH TEMPLATE = template0 ENCODING = 'LATIN1' \
             LOCALE_PROVIDER = libc LOCALE = 'C';",
        );
        assert_eq!(
            latin1.clause(),
            " ENCODING 'LATIN1' LC_COLLATE 'C' LC_CTYPE 'C'"
        );
        // collation and ctype differ; a quoted name
        let mixed = parse(
            "CREATE DATABASE \"Sh\"\"op\" WITH TEMPLATE = template0 ENCODING = 'UTF8' \
             LOCALE_PROVIDER = libc LC_COLLATE = 'C' LC_CTYPE = 'C.UTF-8';",
        );
        assert_eq!(
            mixed.clause(),
            " ENCODING 'UTF8' LC_COLLATE 'C' LC_CTYPE 'C.UTF-8'"
        );
        // ICU, with rules (16+); before 15 no provider at all
        let icu = parse(
            "CREATE DATABASE shop WITH TEMPLATE = template0 ENCODING = 'UTF8' \
             LOCALE_PROVIDER = icu LOCALE = 'C.UTF-8' ICU_LOCALE = 'de-DE' ICU_RULES = '&a < ''b''';",
        );
        assert_eq!(
            icu.clause(),
            " ENCODING 'UTF8' LOCALE_PROVIDER icu LC_COLLATE 'C.UTF-8' LC_CTYPE 'C.UTF-8' \
             ICU_LOCALE 'de-DE' ICU_RULES '&a < ''b'''"
        );
        assert_eq!(
            parse("CREATE DATABASE shop WITH TEMPLATE = template0 ENCODING = 'SQL_ASCII' LOCALE = 'C';")
                .describe(),
            "ENCODING SQL_ASCII, LC_COLLATE C, LC_CTYPE C"
        );
    }

    #[test]
    fn what_is_not_carried_is_named_and_bad_text_refused() {
        let (creation, unknown) = Creation::parse(
            "CREATE DATABASE shop WITH TEMPLATE = template0 ENCODING = 'UTF8' \
             TABLESPACE = \"fast disk\" LOCALE = 'C' FUTURE_THING = 'x';",
        )
        .unwrap();
        assert_eq!(unknown, vec!["FUTURE_THING"]);
        assert_eq!(creation.encoding.as_deref(), Some("UTF8"));
        assert!(Creation::parse("ALTER DATABASE shop SET x = 1;").is_err());
        assert!(Creation::parse("CREATE DATABASE shop WITH ENCODING = 'UTF8").is_err());
        assert!(Creation::parse("CREATE DATABASE shop WITH LOCALE_PROVIDER = \"a b\";").is_err());
    }
}
