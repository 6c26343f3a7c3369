//! The one rule for names that become archive path components and file names (sources,
//! services, storage targets): plain ASCII, so a name can never climb out of a folder.

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
