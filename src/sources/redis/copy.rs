//! Moving keys between servers with `DUMP` + `PTTL` and `RESTORE key ttl payload REPLACE`:
//! the keys are found with `SCAN` in batches and each batch is one pipelined round trip, so
//! memory holds one batch (`BATCH` keys; a single huge key is held whole, as DUMP needs).
//! The same serialised form is kept in an undo journal on disk: what the target held before
//! the restore changed it.

use std::fs::File;
use std::io::{BufReader, BufWriter, Read, Write};
use std::path::Path;

use super::conn::{Conn, Reply};
use crate::error::{Error, IoContext, Result};

/// Keys per round trip.
pub const BATCH: usize = 100;

/// One key in serialised form.
pub struct KeyDump {
    pub key: Vec<u8>,
    /// Milliseconds to live; 0 = no expiry (as `RESTORE` takes it).
    pub ttl_ms: i64,
    pub payload: Vec<u8>,
}

/// Walks the keys matching a pattern (all when `None`) with `SCAN`, a batch at a time.
/// Keys that exist the whole time are seen at least once (SCAN may repeat some).
pub struct Scanner {
    cursor: Vec<u8>,
    pattern: Option<String>,
    done: bool,
}

impl Scanner {
    pub fn new(pattern: Option<&str>) -> Scanner {
        Scanner {
            cursor: b"0".to_vec(),
            pattern: pattern.map(str::to_string),
            done: false,
        }
    }

    /// The next non-empty batch of keys, or `None` at the end.
    pub fn next(&mut self, conn: &mut Conn) -> Result<Option<Vec<Vec<u8>>>> {
        let count = BATCH.to_string();
        while !self.done {
            let mut args: Vec<&[u8]> = vec![b"SCAN", &self.cursor];
            if let Some(pattern) = &self.pattern {
                args.extend([b"MATCH".as_slice(), pattern.as_bytes()]);
            }
            args.extend([b"COUNT".as_slice(), count.as_bytes()]);
            let reply = conn.ok(&args)?;
            let Reply::Array(Some(mut parts)) = reply else {
                return Err(unexpected(conn, "SCAN"));
            };
            let (Some(Reply::Array(Some(keys))), Some(Reply::Bulk(Some(next)))) =
                (parts.pop(), parts.pop())
            else {
                return Err(unexpected(conn, "SCAN"));
            };
            self.done = next == b"0";
            self.cursor = next;
            let keys: Vec<Vec<u8>> = keys.into_iter().filter_map(Reply::into_bytes).collect();
            if !keys.is_empty() {
                return Ok(Some(keys));
            }
        }
        Ok(None)
    }
}

/// `DUMP` and `PTTL` of `keys`; keys that are gone (or expired) meanwhile are left out.
pub fn dump_keys(conn: &mut Conn, keys: Vec<Vec<u8>>) -> Result<Vec<KeyDump>> {
    let commands: Vec<Vec<&[u8]>> = keys
        .iter()
        .flat_map(|k| [vec![b"DUMP".as_slice(), k], vec![b"PTTL".as_slice(), k]])
        .collect();
    let replies = conn.pipeline(&commands)?;
    let mut out = Vec::with_capacity(keys.len());
    let mut replies = replies.into_iter();
    for key in keys {
        let (Some(dump), Some(ttl)) = (replies.next(), replies.next()) else {
            return Err(unexpected(conn, "DUMP"));
        };
        let ttl_ms = match ttl {
            Reply::Int(-1) => 0,
            Reply::Int(n) if n >= 0 => n.max(1),
            Reply::Int(_) => continue,
            Reply::Error(e) => return Err(conn.refused(&[b"PTTL"], &e)),
            _ => return Err(unexpected(conn, "PTTL")),
        };
        match dump {
            Reply::Bulk(Some(payload)) => out.push(KeyDump {
                key,
                ttl_ms,
                payload,
            }),
            Reply::Bulk(None) => {}
            Reply::Error(e) => return Err(conn.refused(&[b"DUMP"], &e)),
            _ => return Err(unexpected(conn, "DUMP")),
        }
    }
    Ok(out)
}

/// `RESTORE … REPLACE` of every key in one round trip.
pub fn restore_keys(conn: &mut Conn, keys: &[KeyDump]) -> Result<()> {
    if keys.is_empty() {
        return Ok(());
    }
    let ttls: Vec<String> = keys.iter().map(|k| k.ttl_ms.to_string()).collect();
    let commands: Vec<Vec<&[u8]>> = keys
        .iter()
        .zip(&ttls)
        .map(|(k, ttl)| {
            vec![
                b"RESTORE".as_slice(),
                &k.key,
                ttl.as_bytes(),
                &k.payload,
                b"REPLACE",
            ]
        })
        .collect();
    for (reply, key) in conn.pipeline(&commands)?.into_iter().zip(keys) {
        if let Reply::Error(e) = reply {
            let hint = if e.contains("payload version") {
                " (the target server is older than the local redis-server that loaded the \
                 snapshot: restore with a redis-server no newer than the target)"
            } else {
                ""
            };
            return Err(Error::Source(format!(
                "{}: RESTORE of key `{}` failed: {e}{hint}",
                conn.label,
                shown(&key.key)
            )));
        }
    }
    Ok(())
}

/// Removes `keys` (`UNLINK`: freed in the background).
pub fn unlink(conn: &mut Conn, keys: &[Vec<u8>]) -> Result<()> {
    if keys.is_empty() {
        return Ok(());
    }
    let mut args: Vec<&[u8]> = vec![b"UNLINK"];
    args.extend(keys.iter().map(Vec::as_slice));
    conn.ok(&args)?;
    Ok(())
}

/// Which of `keys` exist on `conn` (one `EXISTS` each, pipelined).
pub fn existing(conn: &mut Conn, keys: &[Vec<u8>]) -> Result<Vec<bool>> {
    let commands: Vec<Vec<&[u8]>> = keys.iter().map(|k| vec![b"EXISTS".as_slice(), k]).collect();
    conn.pipeline(&commands)?
        .into_iter()
        .map(|r| match r {
            Reply::Int(n) => Ok(n > 0),
            Reply::Error(e) => Err(conn.refused(&[b"EXISTS"], &e)),
            _ => Err(unexpected(conn, "EXISTS")),
        })
        .collect()
}

fn unexpected(conn: &Conn, command: &str) -> Error {
    Error::Source(format!(
        "{}: {command} gave an answer Coffer does not understand",
        conn.label
    ))
}

/// A key for a message: text as is (cut), anything else escaped.
pub fn shown(key: &[u8]) -> String {
    let text: String = key.escape_ascii().to_string();
    match text.char_indices().nth(80) {
        Some((cut, _)) => format!("{}…", &text[..cut]),
        None => text,
    }
}

/// What the target held before a restore changed it, one record per key:
/// `u32 key length, key, i64 ttl, u32 payload length, payload` (little-endian).
pub struct JournalWriter {
    out: BufWriter<File>,
    pub keys: u64,
}

impl JournalWriter {
    pub fn create(path: &Path) -> Result<JournalWriter> {
        let file = File::create(path).ctx(|| format!("creating {}", path.display()))?;
        Ok(JournalWriter {
            out: BufWriter::with_capacity(256 * 1024, file),
            keys: 0,
        })
    }

    pub fn append(&mut self, keys: &[KeyDump]) -> Result<()> {
        for k in keys {
            let write = |out: &mut BufWriter<File>| -> std::io::Result<()> {
                out.write_all(&len32(k.key.len())?.to_le_bytes())?;
                out.write_all(&k.key)?;
                out.write_all(&k.ttl_ms.to_le_bytes())?;
                out.write_all(&len32(k.payload.len())?.to_le_bytes())?;
                out.write_all(&k.payload)
            };
            write(&mut self.out).ctx(|| "writing the undo journal".into())?;
            self.keys += 1;
        }
        Ok(())
    }

    /// Marks `keys` as absent from the target (an empty payload, which no `DUMP` gives):
    /// putting back removes them.
    pub fn append_absent(&mut self, keys: &[Vec<u8>]) -> Result<()> {
        let marks: Vec<KeyDump> = keys
            .iter()
            .map(|key| KeyDump {
                key: key.clone(),
                ttl_ms: 0,
                payload: Vec::new(),
            })
            .collect();
        self.append(&marks)
    }

    /// Makes what was appended durable (before the target is changed): a restore killed or
    /// a host that loses power right after must find it.
    pub fn flush(&mut self) -> Result<()> {
        self.out
            .flush()
            .and_then(|()| self.out.get_ref().sync_data())
            .ctx(|| "writing the undo journal".into())
    }
}

fn len32(len: usize) -> std::io::Result<u32> {
    u32::try_from(len).map_err(|_| std::io::Error::other("a key over 4 GiB"))
}

/// Reads the journal back, `BATCH` keys at a time.
pub fn read_journal(path: &Path, mut each: impl FnMut(Vec<KeyDump>) -> Result<()>) -> Result<()> {
    let file = File::open(path).ctx(|| format!("opening {}", path.display()))?;
    let mut input = BufReader::with_capacity(256 * 1024, file);
    let mut batch = Vec::with_capacity(BATCH);
    loop {
        let mut len = [0u8; 4];
        match input.read_exact(&mut len) {
            Ok(()) => {}
            Err(e) if e.kind() == std::io::ErrorKind::UnexpectedEof => break,
            Err(e) => return Err(e).ctx(|| format!("reading {}", path.display())),
        }
        let record = (|| -> std::io::Result<KeyDump> {
            let key = read_bytes(&mut input, u32::from_le_bytes(len))?;
            let mut ttl = [0u8; 8];
            input.read_exact(&mut ttl)?;
            let mut len = [0u8; 4];
            input.read_exact(&mut len)?;
            let payload = read_bytes(&mut input, u32::from_le_bytes(len))?;
            Ok(KeyDump {
                key,
                ttl_ms: i64::from_le_bytes(ttl),
                payload,
            })
        })();
        let record = match record {
            Ok(record) => record,
            // A record cut short: written after the last sync by a process that died before
            // changing the target for it, so it describes no change.
            Err(e) if e.kind() == std::io::ErrorKind::UnexpectedEof => break,
            Err(e) => return Err(e).ctx(|| format!("reading {}", path.display())),
        };
        batch.push(record);
        if batch.len() == BATCH {
            each(std::mem::take(&mut batch))?;
        }
    }
    if !batch.is_empty() {
        each(batch)?;
    }
    Ok(())
}

fn read_bytes(input: &mut impl Read, len: u32) -> std::io::Result<Vec<u8>> {
    let mut bytes = Vec::new();
    input.take(u64::from(len)).read_to_end(&mut bytes)?;
    if bytes.len() != len as usize {
        return Err(std::io::ErrorKind::UnexpectedEof.into());
    }
    Ok(bytes)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_journal_reads_back_what_was_written() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("journal");
        let mut writer = JournalWriter::create(&path).unwrap();
        let keys: Vec<KeyDump> = (0..250u32)
            .map(|i| KeyDump {
                key: format!("k\0{i}").into_bytes(),
                ttl_ms: i64::from(i),
                payload: vec![i as u8; i as usize],
            })
            .collect();
        writer.append(&keys).unwrap();
        writer.flush().unwrap();
        let mut seen = Vec::new();
        read_journal(&path, |batch| {
            assert!(batch.len() <= BATCH);
            seen.extend(batch);
            Ok(())
        })
        .unwrap();
        assert_eq!(seen.len(), 250);
        assert!(seen
            .iter()
            .zip(&keys)
            .all(|(a, b)| a.key == b.key && a.ttl_ms == b.ttl_ms && a.payload == b.payload));
    }

    #[test]
    fn a_record_cut_short_by_a_kill_ends_the_journal() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("journal");
        let mut writer = JournalWriter::create(&path).unwrap();
        let key = |n: u8| KeyDump {
            key: vec![n],
            ttl_ms: 0,
            payload: vec![n; 10],
        };
        writer.append(&[key(1), key(2)]).unwrap();
        writer.flush().unwrap();
        let whole = std::fs::read(&path).unwrap();
        std::fs::write(&path, &whole[..whole.len() - 3]).unwrap();
        let mut seen = Vec::new();
        read_journal(&path, |keys| {
            seen.extend(keys.into_iter().map(|k| k.key));
            Ok(())
        })
        .unwrap();
        assert_eq!(seen, vec![vec![1u8]]);
    }

    #[test]
    fn keys_in_messages_are_escaped_and_cut() {
        assert_eq!(shown(b"user:\x001"), "user:\\x001");
        assert!(shown(&[b'a'; 200]).ends_with('…'));
    }
}
