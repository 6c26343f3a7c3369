//! The base backup of a PITR source (`pitr = true`): `pg_basebackup -D - -Ft -X fetch
//! --checkpoint=fast`, its tar read entry by entry from the pipe and each entry handed to
//! the archive writer as it arrives (under `<source>/pgdata/`), so the copy is never
//! spooled whole to disk and every file gets its SHA-256 in the manifest.
//!
//! `-X fetch`: the WAL from the backup's start to its end is fetched at the end of the copy
//! into its own `pg_wal/`, so the base backup restores alone to its end point (`coffer
//! restore --to-backup`), whether or not any WAL was captured. `-X stream` cannot write to
//! standard output, and `-X none` would make every restore depend on the WAL archive even
//! for the backup's own consistency. The price: the server must still hold that WAL when
//! the copy ends (a replication slot or `archive_mode` keeps it; `wal_keep_size` helps).
//!
//! What a restore needs to know is recorded in the manifest's source entry
//! (`BaseBackupFacts`): the start from `backup_label` (and the tool's report), the end from
//! the tool's report (`--verbose`), the major version from `PG_VERSION`, the segment size
//! asked of the server. The password travels in `PGPASSWORD` as for every client tool.

use std::io::{BufReader, Read};
use std::process::{Child, Stdio};

use chrono::Utc;

use super::check::{client_major, require_fit};
use super::lsn::{parse_lsn, segment_name};
use super::sql::{Pg, MAINTENANCE_DB};
use crate::config::SourceConfig;
use crate::engine::manifest::{BaseBackupFacts, EntryKind, SourceEntry};
use crate::engine::planned::{mtime_ns, EntrySink, StreamedEntry};
use crate::error::{Error, Result};
use crate::sources::server::ServerAddress;
use crate::sources::tool;
use crate::sources::EntryStream;

/// Where the data directory goes inside the source's part of the archive.
pub const PGDATA: &str = "pgdata";
/// The tool's error output kept for a message.
const STDERR_KEPT: usize = 64 * 1024;

/// A base backup ready to stream: the server answered, the tool fits it.
pub struct BaseBackup {
    pg: Pg,
    source: String,
    wal_segment_size: u64,
    estimate: u64,
}

impl BaseBackup {
    pub fn prepare(source: &SourceConfig, server: &ServerAddress) -> Result<BaseBackup> {
        let pg = Pg {
            server: server.clone(),
        };
        let client = client_major("pg_basebackup")?;
        let server_major = pg.server_major(MAINTENANCE_DB)?;
        require_fit("pg_basebackup", client, server_major)?;
        let row = pg.query(
            MAINTENANCE_DB,
            "SELECT (SELECT setting FROM pg_settings WHERE name = 'wal_segment_size'), \
             (SELECT sum(pg_database_size(oid)) FROM pg_database)",
        )?;
        let (size, total) = row.trim().split_once('|').unwrap_or((row.trim(), "0"));
        let wal_segment_size = size.parse::<u64>().ok().filter(|s| s.is_power_of_two());
        let wal_segment_size = wal_segment_size.ok_or_else(|| {
            Error::Source(format!(
                "source `{}`: unexpected wal_segment_size `{size}`",
                source.name
            ))
        })?;
        Ok(BaseBackup {
            pg,
            source: source.name.clone(),
            wal_segment_size,
            estimate: total.parse().unwrap_or(0),
        })
    }
}

impl EntryStream for BaseBackup {
    fn estimate(&self) -> u64 {
        self.estimate
    }

    fn stream(&mut self, entry: &mut SourceEntry, sink: &mut EntrySink<'_>) -> Result<()> {
        let start_time = Utc::now();
        let mut command = self.pg.command("pg_basebackup", MAINTENANCE_DB);
        command
            .args(["--pgdata=-", "--format=tar", "--wal-method=fetch"])
            .args(["--checkpoint=fast", "--no-password", "--verbose"])
            .arg(format!("--label=coffer {}", self.source))
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped());
        let mut child = tool::spawn("pg_basebackup", &mut command)?;
        let stderr = child.stderr.take().expect("stderr is piped");
        let errors = std::thread::spawn(move || {
            let mut kept = Vec::new();
            let _ = stderr.take(STDERR_KEPT as u64).read_to_end(&mut kept);
            String::from_utf8_lossy(&kept).into_owned()
        });
        let stdout = child.stdout.take().expect("stdout is piped");
        let mut seen = Seen::default();
        let read = read_tar(stdout, sink, &mut seen);
        if read.is_err() {
            stop(&mut child);
        }
        let status = child.wait();
        let errors = errors.join().unwrap_or_default();
        read?;
        let status =
            status.map_err(|e| Error::Source(format!("waiting for pg_basebackup: {e}")))?;
        if !status.success() {
            return Err(Error::Source(format!(
                "source `{}`: pg_basebackup failed ({status}): {}",
                self.source,
                tail(&errors)
            )));
        }
        let stop_time = Utc::now();
        let facts = self.facts(&seen, &errors, start_time, stop_time)?;
        entry.snapshot_at = Some(stop_time);
        entry.base_backup = Some(facts);
        Ok(())
    }
}

impl BaseBackup {
    fn facts(
        &self,
        seen: &Seen,
        report: &str,
        start_time: chrono::DateTime<Utc>,
        stop_time: chrono::DateTime<Utc>,
    ) -> Result<BaseBackupFacts> {
        let missing = |what: &str| {
            Error::Source(format!(
                "source `{}`: the base backup ended without {what}; it cannot be used for \
                 point-in-time recovery",
                self.source
            ))
        };
        let label = seen
            .label
            .as_deref()
            .ok_or_else(|| missing("a backup_label"))?;
        let start_lsn = label_value(label, "START WAL LOCATION")
            .and_then(|v| v.split_whitespace().next().map(str::to_string))
            .ok_or_else(|| missing("a start point in its backup_label"))?;
        let timeline: u32 = label_value(label, "START TIMELINE")
            .and_then(|v| v.trim().parse().ok())
            .ok_or_else(|| missing("a timeline in its backup_label"))?;
        let stop_lsn = report
            .lines()
            .find_map(|line| line.split_once("write-ahead log end point:"))
            .map(|(_, lsn)| lsn.trim().to_string())
            .filter(|lsn| parse_lsn(lsn).is_some())
            .ok_or_else(|| missing("an end point in pg_basebackup's report"))?;
        let server_major = seen
            .version
            .as_deref()
            .and_then(|v| v.trim().split('.').next()?.parse().ok())
            .ok_or_else(|| missing("a PG_VERSION file"))?;
        let start = parse_lsn(&start_lsn).ok_or_else(|| missing("a readable start point"))?;
        Ok(BaseBackupFacts {
            start_segment: segment_name(timeline, start, self.wal_segment_size),
            start_lsn,
            timeline,
            stop_lsn,
            start_time,
            stop_time,
            server_major,
            wal_segment_size: self.wal_segment_size,
            wal_method: "fetch".into(),
        })
    }
}

/// Small files of the data directory kept while they pass, for the facts.
#[derive(Default)]
struct Seen {
    label: Option<String>,
    version: Option<String>,
}

/// Hands every entry of the tar on `stdout` to `sink` under `pgdata/`, then reads the pipe
/// to its end.
fn read_tar(stdout: impl Read, sink: &mut EntrySink<'_>, seen: &mut Seen) -> Result<()> {
    let broken = |e: std::io::Error| Error::Source(format!("reading pg_basebackup's tar: {e}"));
    let now = mtime_ns(Utc::now().timestamp(), 0);
    sink(StreamedEntry {
        relative: PGDATA.into(),
        kind: EntryKind::Dir,
        size: 0,
        mode: 0o700,
        mtime_ns: now,
        link_target: None,
        reader: &mut std::io::empty(),
    })?;
    let mut archive = tar::Archive::new(BufReader::with_capacity(1 << 20, stdout));
    for item in archive.entries().map_err(broken)? {
        let mut item = item.map_err(broken)?;
        let header = item.header();
        let raw = String::from_utf8(item.path_bytes().into_owned()).map_err(|_| {
            Error::Source("pg_basebackup's tar holds a name that is not UTF-8".into())
        })?;
        let path = raw
            .trim_start_matches("./")
            .trim_end_matches('/')
            .to_string();
        if path.is_empty() || path == "." {
            continue;
        }
        let kind = match header.entry_type() {
            tar::EntryType::Regular | tar::EntryType::Continuous => EntryKind::File,
            tar::EntryType::Directory => EntryKind::Dir,
            tar::EntryType::Symlink => {
                return Err(Error::Source(format!(
                    "the data directory holds the link `{path}` (a tablespace or a linked \
                     folder): Coffer's base backups cover servers without tablespaces"
                )))
            }
            other => {
                return Err(Error::Source(format!(
                    "pg_basebackup's tar holds `{path}` of an unexpected type ({other:?})"
                )))
            }
        };
        let size = header.size().map_err(broken)?;
        let mode = header.mode().map_err(broken)? & 0o7777;
        let mtime = mtime_ns(header.mtime().map_err(broken)? as i64, 0);
        let relative = format!("{PGDATA}/{path}");
        // The two small files the facts come from are read whole, then passed on.
        if kind == EntryKind::File && (path == "backup_label" || path == "PG_VERSION") {
            let mut text = Vec::with_capacity(size as usize);
            (&mut item)
                .take(64 * 1024)
                .read_to_end(&mut text)
                .map_err(broken)?;
            let keep = String::from_utf8_lossy(&text).into_owned();
            if path == "backup_label" {
                seen.label = Some(keep);
            } else {
                seen.version = Some(keep);
            }
            sink(StreamedEntry {
                relative,
                kind,
                size,
                mode,
                mtime_ns: mtime,
                link_target: None,
                reader: &mut text.as_slice(),
            })?;
            continue;
        }
        sink(StreamedEntry {
            relative,
            kind,
            size: if kind == EntryKind::File { size } else { 0 },
            mode,
            mtime_ns: mtime,
            link_target: None,
            reader: &mut item,
        })?;
    }
    // What follows the end-of-archive blocks (padding) is read, so the tool never blocks.
    std::io::copy(&mut archive.into_inner(), &mut std::io::sink()).map_err(broken)?;
    Ok(())
}

/// `KEY: value` of a `backup_label`.
fn label_value<'a>(label: &'a str, key: &str) -> Option<&'a str> {
    label
        .lines()
        .find_map(|line| line.strip_prefix(key)?.strip_prefix(':'))
        .map(str::trim)
}

fn stop(child: &mut Child) {
    let _ = child.kill();
}

fn tail(text: &str) -> String {
    let lines: Vec<&str> = text.lines().filter(|l| !l.trim().is_empty()).collect();
    lines[lines.len().saturating_sub(5)..].join("; ")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn label_values_are_read() {
        let label = "START WAL LOCATION: 0/2000028 (file 000000010000000000000002)\n\
                     CHECKPOINT LOCATION: 0/2000060\nSTART TIMELINE: 1\n";
        assert_eq!(
            label_value(label, "START WAL LOCATION"),
            Some("0/2000028 (file 000000010000000000000002)")
        );
        assert_eq!(label_value(label, "START TIMELINE"), Some("1"));
        assert_eq!(label_value(label, "LABEL"), None);
    }
}
