//! What a dump file says about itself before it is loaded: whether it is complete (the
//! dump tool ends every finished dump with `-- Dump completed`) and which tables it
//! creates (the load is checked against that list).

use std::fs::File;
use std::io::{BufRead, BufReader, Read, Seek, SeekFrom};
use std::path::Path;

use super::admin::ident;
use crate::error::{Error, IoContext, Result};

/// The tables `path` creates, in dump order; an error when the dump is cut short.
pub fn tables_in(path: &Path) -> Result<Vec<String>> {
    let mut file = File::open(path).ctx(|| format!("opening {}", path.display()))?;
    let length = file
        .metadata()
        .ctx(|| format!("reading {}", path.display()))?
        .len();
    let mut end = Vec::new();
    file.seek(SeekFrom::Start(length.saturating_sub(512)))
        .and_then(|_| file.read_to_end(&mut end))
        .ctx(|| format!("reading {}", path.display()))?;
    let end = String::from_utf8_lossy(&end);
    if !end.contains("-- Dump completed") {
        return Err(Error::Archive(format!(
            "{} is not a complete mysqldump/mariadb-dump dump (its end is missing): nothing was loaded",
            path.file_name().unwrap_or_default().to_string_lossy()
        )));
    }
    file.seek(SeekFrom::Start(0))
        .ctx(|| format!("reading {}", path.display()))?;
    let mut tables = Vec::new();
    each_line(file, path, |line| {
        tables.extend(created_table(line));
        Ok(())
    })?;
    Ok(tables)
}

/// Calls `f` with every line of the dump `file` (read from `path`), its newline included.
/// Lines are read as bytes: table data is not necessarily UTF-8. Their length is bounded by
/// the dump tool's `net_buffer_length` (one extended INSERT per line).
pub fn each_line(file: File, path: &Path, mut f: impl FnMut(&[u8]) -> Result<()>) -> Result<()> {
    let mut reader = BufReader::with_capacity(1 << 20, file);
    let mut line = Vec::new();
    loop {
        line.clear();
        let n = reader
            .read_until(b'\n', &mut line)
            .ctx(|| format!("reading {}", path.display()))?;
        if n == 0 {
            return Ok(());
        }
        f(&line)?;
    }
}

/// `line` pointed at the database `into` when it is one of the `ALTER DATABASE `<dumped>`
/// CHARACTER SET … COLLATE …` lines the dump tool writes around a routine created under
/// other defaults than its database has now: they name the database as it was dumped, so
/// loaded elsewhere they would change the original (or fail where there is none) instead
/// of the database being loaded.
pub fn retarget_alter_database(line: &[u8], dumped: &str, into: &str) -> Option<Vec<u8>> {
    let prefix = format!("ALTER DATABASE {} CHARACTER SET ", ident(dumped));
    let rest = line.strip_prefix(prefix.as_bytes())?;
    let mut out = format!("ALTER DATABASE {} CHARACTER SET ", ident(into)).into_bytes();
    out.extend_from_slice(rest);
    Some(out)
}

/// The name in a ``CREATE TABLE `name` (`` line.
fn created_table(line: &[u8]) -> Option<String> {
    backquoted(line.strip_prefix(b"CREATE TABLE ")?).map(|(name, _)| name)
}

/// A backquoted name at the start of `text` (a doubled backquote stands for one) and what
/// follows it.
pub fn backquoted(text: &[u8]) -> Option<(String, &[u8])> {
    let rest = text.strip_prefix(b"`")?;
    let mut name = Vec::new();
    let mut i = 0;
    while i < rest.len() {
        if rest[i] == b'`' {
            if rest.get(i + 1) == Some(&b'`') {
                name.push(b'`');
                i += 2;
                continue;
            }
            return Some((String::from_utf8_lossy(&name).into_owned(), &rest[i + 1..]));
        }
        name.push(rest[i]);
        i += 1;
    }
    None
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tables_are_listed_and_a_cut_dump_is_refused() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("shop.sql");
        let dump = "-- MariaDB dump\nCREATE TABLE `orders` (\n  `id` int\n);\n\
                    INSERT INTO `orders` VALUES (1);\nCREATE TABLE `we``ird` (\n`x` int);\n\
                    /*!50001 CREATE VIEW `v` AS SELECT 1 */;\n";
        std::fs::write(&path, dump).unwrap();
        let err = tables_in(&path).unwrap_err();
        assert!(err.to_string().contains("not a complete"), "{err}");
        std::fs::write(&path, format!("{dump}-- Dump completed on 2026-01-01\n")).unwrap();
        assert_eq!(tables_in(&path).unwrap(), vec!["orders", "we`ird"]);
    }

    #[test]
    fn database_defaults_around_routines_are_pointed_at_the_loaded_database() {
        let line = b"ALTER DATABASE `sh``op` CHARACTER SET latin1 COLLATE latin1_swedish_ci ;\n";
        assert_eq!(
            retarget_alter_database(line, "sh`op", "staging").unwrap(),
            b"ALTER DATABASE `staging` CHARACTER SET latin1 COLLATE latin1_swedish_ci ;\n"
        );
        assert!(retarget_alter_database(line, "shop", "staging").is_none());
        assert!(retarget_alter_database(b"INSERT INTO `t` VALUES (1);\n", "shop", "s").is_none());
    }
}
