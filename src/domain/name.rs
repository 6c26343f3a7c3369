//! The one rule for names that become archive path components and file names (sources,
//! services, storage targets): plain ASCII, so a name can never climb out of a folder.
//! Checked wherever a name enters: the config, a scope (forms, API, schedules), a restore
//! request, a manifest read from storage (catalogue rebuild, restore), and again where a
//! lock file or staging folder is named after it.

/// Ok when `name` is 1–64 letters, digits, `_`, `-` or `.`, does not start with `.`, and is
/// not `coffer` (the archive's own folder, which holds the manifest).
pub fn check_plain_name(name: &str) -> Result<(), String> {
    let ok = !name.is_empty()
        && name.len() <= 64
        && name != "coffer"
        && name
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || matches!(c, '_' | '-' | '.'))
        && !name.starts_with('.');
    if ok {
        Ok(())
    } else {
        Err(format!(
            "`{name}` is not a valid name: use 1–64 letters, digits, `_`, `-` or `.`, not starting with `.` (and not `coffer`)"
        ))
    }
}

#[cfg(test)]
mod tests {
    use super::check_plain_name;

    #[test]
    fn names_that_could_leave_a_folder_are_refused() {
        for bad in [
            "",
            "..",
            ".",
            "../x",
            "a/b",
            "a\\b",
            "/abs",
            "a\nb",
            "a\rb",
            "tab\t",
            "nul\0",
            "esc\u{1b}[31m",
            "coffer",
            ".hidden",
            "ünï",
            "x y",
        ] {
            assert!(check_plain_name(bad).is_err(), "{bad:?}");
        }
        for good in ["files", "main_db", "app-1", "v1.2"] {
            check_plain_name(good).unwrap();
        }
    }
}
