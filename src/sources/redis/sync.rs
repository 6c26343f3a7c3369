//! The backup: a point-in-time RDB snapshot of the whole server taken over the network with
//! the replication protocol, as `redis-cli --rdb` does — `REPLCONF rdb-only 1` (Redis 7+,
//! skipped when unknown), then `SYNC`. The server forks, and sends the snapshot either as
//! `$<length>` followed by that many bytes (disk-based) or as `$EOF:<40-byte mark>` followed
//! by the bytes and the mark again (diskless); while it prepares it sends `\n` keep-alives.
//! The payload is streamed into `dump.rdb` in chunks (bounded memory) and its `REDIS00xx`
//! magic is checked before it is accepted.

use std::fs::File;
use std::io::{BufWriter, Read, Write};
use std::path::Path;
use std::time::{Duration, Instant};

use super::conn::{info, info_field, Conn};
use crate::engine::progress::{Progress, ProgressSink};
use crate::error::{Error, IoContext, Result};

const CHUNK: usize = 256 * 1024;
const MARK_LEN: usize = 40;
const REPORT_EVERY: Duration = Duration::from_millis(200);

/// Streams the server's RDB snapshot into `path`; returns its size.
pub fn download_rdb(conn: &mut Conn, path: &Path, progress: &dyn ProgressSink) -> Result<u64> {
    // A guess for the diskless form, whose length is unknown up front: an RDB is usually
    // smaller than the dataset in memory, and progress never shows more than 100%.
    let estimate = info(conn, "memory")
        .ok()
        .and_then(|f| info_field(&f, "used_memory_dataset"))
        .and_then(|v| v.parse::<u64>().ok())
        .unwrap_or(0);
    // Asks for the snapshot only, without the command stream that follows it for replicas.
    // Older servers do not know it; SYNC works the same there.
    let _ = conn.call(&[b"REPLCONF", b"rdb-only", b"1"])?;
    let label = conn.label.clone();
    let report = |done: u64, total: u64| {
        progress.report(&Progress {
            phase: format!("RDB snapshot of {label}"),
            bytes_done: done,
            bytes_total: total.max(done),
            files_done: 0,
            files_total: 1,
        })
    };
    // The estimate is shown while the server forks and writes the snapshot.
    report(0, estimate);
    wait_for_running_snapshot(conn, progress)?;
    let header = sync_header(conn, progress)?;
    let file = File::create(path).ctx(|| format!("creating {}", path.display()))?;
    let mut out = BufWriter::with_capacity(CHUNK, file);
    let fail = |e: std::io::Error| conn_error(&label, e);
    let input = conn.reader();
    let written = match header {
        Header::Length(len) => {
            report(0, len);
            copy_exact(input, &mut out, len, progress, &report, &fail)?
        }
        Header::Eof(mark) => {
            report(0, estimate);
            copy_until_mark(input, &mut out, &mark, estimate, progress, &report, &fail)?
        }
    };
    out.flush().ctx(|| format!("writing {}", path.display()))?;
    out.get_ref()
        .sync_all()
        .ctx(|| format!("writing {}", path.display()))?;
    check_magic(path)?;
    report(written, written);
    Ok(written)
}

/// A `SYNC` that arrives while the server writes a snapshot for another replica is served
/// that snapshot, forked before the request: writes acknowledged just before the backup
/// started could be missing. Waiting until no snapshot is being written makes the one this
/// backup gets start after its request (one started meanwhile started after it too).
fn wait_for_running_snapshot(conn: &mut Conn, progress: &dyn ProgressSink) -> Result<()> {
    let started = Instant::now();
    loop {
        let fields = info(conn, "persistence")?;
        if info_field(&fields, "rdb_bgsave_in_progress").as_deref() != Some("1") {
            return Ok(());
        }
        if progress.should_stop() {
            return Err(Error::Cancelled);
        }
        if started.elapsed() > MAX_WAIT_FOR_OTHER_SNAPSHOT {
            return Err(Error::Source(format!(
                "{}: the server has been writing another snapshot for over an hour; try again later",
                conn.label
            )));
        }
        std::thread::sleep(Duration::from_millis(100));
    }
}

const MAX_WAIT_FOR_OTHER_SNAPSHOT: Duration = Duration::from_secs(3600);

enum Header {
    Length(u64),
    Eof([u8; MARK_LEN]),
}

/// Sends `SYNC` and reads up to the payload's header, past the keep-alive newlines.
fn sync_header(conn: &mut Conn, progress: &dyn ProgressSink) -> Result<Header> {
    conn.reader()
        .get_mut()
        .write_all(b"*1\r\n$4\r\nSYNC\r\n")
        .map_err(|e| conn.io_error("sending SYNC", e))?;
    loop {
        if progress.should_stop() {
            return Err(Error::Cancelled);
        }
        let line = conn.read_line()?;
        match line.first() {
            // A keep-alive while the server forks and writes its snapshot.
            None => continue,
            Some(b'-') => {
                let reply = String::from_utf8_lossy(&line[1..]).into_owned();
                let why = if reply.starts_with("NOPERM") {
                    format!(
                        "{reply} (the user needs permission for SYNC and REPLCONF to take a snapshot)"
                    )
                } else {
                    reply
                };
                return Err(conn.refused(&[b"SYNC"], &why));
            }
            Some(b'$') => return parse_header(&line[1..]).ok_or_else(|| bad_header(conn)),
            // `+FULLRESYNC …` answers PSYNC; SYNC may still send it on some servers.
            Some(b'+') => continue,
            Some(_) => return Err(bad_header(conn)),
        }
    }
}

fn parse_header(rest: &[u8]) -> Option<Header> {
    if let Some(mark) = rest.strip_prefix(b"EOF:") {
        return mark.try_into().ok().map(Header::Eof);
    }
    std::str::from_utf8(rest)
        .ok()?
        .parse()
        .ok()
        .map(Header::Length)
}

fn bad_header(conn: &Conn) -> Error {
    Error::Source(format!(
        "{}: SYNC did not answer with an RDB payload: is this a Redis server that allows replication?",
        conn.label
    ))
}

/// A failed read of the snapshot (`label`: the server).
fn conn_error(label: &str, e: std::io::Error) -> Error {
    let why = match e.kind() {
        std::io::ErrorKind::WouldBlock | std::io::ErrorKind::TimedOut => {
            "the server stopped sending (connect_timeout_seconds)".to_string()
        }
        std::io::ErrorKind::UnexpectedEof => "the server closed the connection".to_string(),
        _ => e.to_string(),
    };
    Error::Source(format!("{label}: reading the RDB snapshot: {why}"))
}

fn copy_exact(
    input: &mut impl Read,
    out: &mut impl Write,
    len: u64,
    progress: &dyn ProgressSink,
    report: &dyn Fn(u64, u64),
    fail: &dyn Fn(std::io::Error) -> Error,
) -> Result<u64> {
    let mut buffer = vec![0u8; CHUNK];
    let mut done = 0u64;
    let mut last = Instant::now();
    while done < len {
        if progress.should_stop() {
            return Err(Error::Cancelled);
        }
        let want = (len - done).min(CHUNK as u64) as usize;
        let n = read_some(input, fail, &mut buffer[..want])?;
        out.write_all(&buffer[..n])
            .ctx(|| "writing the RDB snapshot".to_string())?;
        done += n as u64;
        if last.elapsed() >= REPORT_EVERY {
            report(done, len);
            last = Instant::now();
        }
    }
    Ok(done)
}

/// Diskless form: everything up to the closing 40-byte mark. The last 40 bytes read are
/// held back until more arrive, so the mark itself never reaches the file. Nothing follows
/// the mark until the replica acknowledges (which Coffer never does), so the mark is the
/// end of what was read.
fn copy_until_mark(
    input: &mut impl Read,
    out: &mut impl Write,
    mark: &[u8; MARK_LEN],
    estimate: u64,
    progress: &dyn ProgressSink,
    report: &dyn Fn(u64, u64),
    fail: &dyn Fn(std::io::Error) -> Error,
) -> Result<u64> {
    let mut buffer = vec![0u8; CHUNK + MARK_LEN];
    let mut held = 0usize;
    let mut done = 0u64;
    let mut last = Instant::now();
    loop {
        if progress.should_stop() {
            return Err(Error::Cancelled);
        }
        let n = read_some(input, fail, &mut buffer[held..])?;
        held += n;
        if held >= MARK_LEN && buffer[held - MARK_LEN..held] == mark[..] {
            let body = held - MARK_LEN;
            out.write_all(&buffer[..body])
                .ctx(|| "writing the RDB snapshot".to_string())?;
            return Ok(done + body as u64);
        }
        if held > MARK_LEN {
            let body = held - MARK_LEN;
            out.write_all(&buffer[..body])
                .ctx(|| "writing the RDB snapshot".to_string())?;
            buffer.copy_within(body..held, 0);
            held = MARK_LEN;
            done += body as u64;
        }
        if last.elapsed() >= REPORT_EVERY {
            report(done, estimate);
            last = Instant::now();
        }
    }
}

fn read_some(
    input: &mut impl Read,
    fail: &dyn Fn(std::io::Error) -> Error,
    buffer: &mut [u8],
) -> Result<usize> {
    match input.read(buffer) {
        Ok(0) => Err(fail(std::io::ErrorKind::UnexpectedEof.into())),
        Ok(n) => Ok(n),
        Err(e) => Err(fail(e)),
    }
}

/// An RDB file starts with `REDIS` and a four-digit format version.
pub fn check_magic(path: &Path) -> Result<()> {
    let mut head = [0u8; 9];
    let read = File::open(path)
        .and_then(|mut f| f.read_exact(&mut head))
        .map(|()| head);
    match read {
        Ok(head) if is_rdb_magic(&head) => Ok(()),
        _ => Err(Error::Source(format!(
            "{} is not an RDB snapshot (it does not start with REDIS and a format version)",
            path.display()
        ))),
    }
}

fn is_rdb_magic(head: &[u8; 9]) -> bool {
    head.starts_with(b"REDIS") && head[5..].iter().all(u8::is_ascii_digit)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn headers_of_both_forms_are_read() {
        assert!(matches!(parse_header(b"1234"), Some(Header::Length(1234))));
        let mark = [b'a'; 40];
        let mut line = b"EOF:".to_vec();
        line.extend_from_slice(&mark);
        assert!(matches!(parse_header(&line), Some(Header::Eof(m)) if m == mark));
        assert!(parse_header(b"EOF:short").is_none());
        assert!(parse_header(b"x").is_none());
    }

    /// A payload that ends in a mark, read in pieces that split the mark: the file gets
    /// exactly the payload.
    #[test]
    fn the_diskless_form_stops_at_its_mark() {
        struct Trickle(std::io::Cursor<Vec<u8>>);
        impl Read for Trickle {
            fn read(&mut self, buf: &mut [u8]) -> std::io::Result<usize> {
                let n = buf.len().min(7919);
                self.0.read(&mut buf[..n])
            }
        }
        let mark = *b"0123456789abcdef0123456789abcdef01234567";
        let payload: Vec<u8> = (0..600_000u32).map(|i| (i % 253) as u8).collect();
        let mut wire = payload.clone();
        wire.extend_from_slice(&mark);
        let mut out = Vec::new();
        let progress = crate::engine::progress::Silent;
        let fail = |e: std::io::Error| conn_error("test", e);
        let mut input = Trickle(std::io::Cursor::new(wire));
        let n =
            copy_until_mark(&mut input, &mut out, &mark, 0, &progress, &|_, _| {}, &fail).unwrap();
        assert_eq!(n, payload.len() as u64);
        assert!(out == payload);

        let mut cut = Trickle(std::io::Cursor::new(payload[..1000].to_vec()));
        let err = copy_until_mark(
            &mut cut,
            &mut Vec::new(),
            &mark,
            0,
            &progress,
            &|_, _| {},
            &fail,
        )
        .unwrap_err();
        assert!(err.to_string().contains("closed the connection"), "{err}");
    }

    #[test]
    fn only_rdb_magic_is_accepted() {
        assert!(is_rdb_magic(b"REDIS0010"));
        assert!(!is_rdb_magic(b"REDIS00x0"));
        assert!(!is_rdb_magic(b"HELLOWORL"));
    }
}
