//! Test helpers for the redis source: a minimal RESP client (binary-safe, for filling and
//! comparing databases), the realistic content, a comparison of every key's DUMP and TTL,
//! a private `redis-server`, and a fake server that serves a damaged snapshot.

use std::collections::BTreeMap;
use std::io::{BufRead, BufReader, Read, Write};
use std::net::{TcpListener, TcpStream};
use std::process::{Child, Command, Stdio};
use std::time::Duration;

pub const PORT: u16 = 6379;

#[derive(Debug, Clone, PartialEq)]
pub enum Value {
    Nil,
    Int(i64),
    Data(Vec<u8>),
    Status(String),
    Error(String),
    Array(Vec<Value>),
}

pub struct Redis {
    stream: BufReader<TcpStream>,
}

impl Redis {
    pub fn connect(port: u16, db: u32, password: Option<&str>) -> Redis {
        let stream = TcpStream::connect(("127.0.0.1", port)).expect("redis is running");
        stream
            .set_read_timeout(Some(Duration::from_secs(30)))
            .unwrap();
        let mut redis = Redis {
            stream: BufReader::new(stream),
        };
        if let Some(password) = password {
            redis.ok(&[b"AUTH", password.as_bytes()]);
        }
        redis.ok(&[b"SELECT", db.to_string().as_bytes()]);
        redis
    }

    /// The server's database `db`, emptied.
    pub fn fresh(db: u32) -> Redis {
        let mut redis = Redis::connect(PORT, db, None);
        redis.ok(&[b"FLUSHDB"]);
        redis
    }

    pub fn cmd(&mut self, args: &[&[u8]]) -> Value {
        let mut out = format!("*{}\r\n", args.len()).into_bytes();
        for arg in args {
            out.extend_from_slice(format!("${}\r\n", arg.len()).as_bytes());
            out.extend_from_slice(arg);
            out.extend_from_slice(b"\r\n");
        }
        self.stream.get_mut().write_all(&out).unwrap();
        self.read()
    }

    /// A command that must not fail.
    pub fn ok(&mut self, args: &[&[u8]]) -> Value {
        let value = self.cmd(args);
        assert!(!matches!(value, Value::Error(_)), "{args:?}: {value:?}");
        value
    }

    /// A text command split on spaces.
    pub fn run(&mut self, text: &str) -> Value {
        let args: Vec<&[u8]> = text.split(' ').map(str::as_bytes).collect();
        self.ok(&args)
    }

    fn read(&mut self) -> Value {
        let mut line = Vec::new();
        self.stream.read_until(b'\n', &mut line).unwrap();
        let text = String::from_utf8_lossy(&line[1..line.len() - 2]).into_owned();
        match line[0] {
            b'+' => Value::Status(text),
            b'-' => Value::Error(text),
            b':' => Value::Int(text.parse().unwrap()),
            b'$' if text == "-1" => Value::Nil,
            b'$' => {
                let mut data = vec![0u8; text.parse::<usize>().unwrap() + 2];
                self.stream.read_exact(&mut data).unwrap();
                data.truncate(data.len() - 2);
                Value::Data(data)
            }
            b'*' => Value::Array(
                (0..text.parse::<i64>().unwrap().max(0))
                    .map(|_| self.read())
                    .collect(),
            ),
            other => panic!("not RESP: {other}"),
        }
    }

    pub fn keys(&mut self, pattern: &str) -> Vec<Vec<u8>> {
        match self.ok(&[b"KEYS", pattern.as_bytes()]) {
            Value::Array(keys) => keys
                .into_iter()
                .map(|k| match k {
                    Value::Data(k) => k,
                    other => panic!("{other:?}"),
                })
                .collect(),
            other => panic!("{other:?}"),
        }
    }

    /// Every key matching `pattern` with its DUMP and PTTL.
    pub fn state(&mut self, pattern: &str) -> State {
        self.state_without(pattern, b"\xff\xff-none")
    }

    /// Like `state`, leaving out the keys starting with `skip`. Sets and hashes big enough
    /// for a hash table serialise in table order, which depends on the order of insertion:
    /// for those the sorted members stand in for the DUMP.
    pub fn state_without(&mut self, pattern: &str, skip: &[u8]) -> State {
        let mut state = BTreeMap::new();
        for key in self.keys(pattern) {
            if key.starts_with(skip) {
                continue;
            }
            let Value::Data(mut dump) = self.ok(&[b"DUMP", &key]) else {
                continue;
            };
            let Value::Int(ttl) = self.ok(&[b"PTTL", &key]) else {
                panic!("PTTL")
            };
            // Kept as the absolute expiry (ms since the epoch), so states read at different
            // moments compare by when their keys expire, however long the restore took.
            let ttl = if ttl < 0 {
                ttl
            } else {
                chrono::Utc::now().timestamp_millis() + ttl
            };
            let kind = self.ok(&[b"TYPE", &key]);
            let (members, per_item) = match &kind {
                Value::Status(t) if t == "set" => (self.ok(&[b"SMEMBERS", &key]), 1),
                // HGETALL: field, value, field, value …
                Value::Status(t) if t == "hash" => (self.ok(&[b"HGETALL", &key]), 2),
                _ => (Value::Nil, 1),
            };
            if let Value::Array(items) = members {
                let mut items: Vec<Vec<u8>> = items
                    .chunks(per_item)
                    .map(|item| format!("{item:?}").into_bytes())
                    .collect();
                items.sort();
                dump = items.join(&b'\n');
            }
            state.insert(key, (dump, ttl));
        }
        state
    }
}

/// Key → (DUMP, absolute expiry in ms since the epoch, or PTTL's -1 / -2).
pub type State = BTreeMap<Vec<u8>, (Vec<u8>, i64)>;

/// Same keys, same DUMP of each, expiry times within a second of each other.
pub fn assert_same(restored: &State, expected: &State, what: &str) {
    let names = |s: &State| {
        s.keys()
            .map(|k| k.escape_ascii().to_string())
            .collect::<Vec<_>>()
    };
    assert_eq!(names(restored), names(expected), "{what}: the same keys");
    for (key, (dump, ttl)) in expected {
        let (got_dump, got_ttl) = &restored[key];
        assert!(
            got_dump == dump,
            "{what}: key {} has another value",
            key.escape_ascii()
        );
        let close = (*ttl < 0 && got_ttl == ttl) || (*ttl >= 0 && (got_ttl - ttl).abs() <= 1000);
        assert!(
            close,
            "{what}: key {} has TTL {got_ttl} ms, expected {ttl}",
            key.escape_ascii()
        );
    }
}

/// Strings, hashes, lists, sets, sorted sets, a stream, binary keys and values, keys with
/// and without TTL, and enough keys to span many SCAN batches; every key starts `prefix`.
pub fn fill(redis: &mut Redis, prefix: &str) {
    let k = |name: &str| format!("{prefix}{name}").into_bytes();
    redis.ok(&[b"SET", &k("string"), "héllo wörld ✓".as_bytes()]);
    redis.ok(&[b"SET", &k("counter"), b"41"]);
    redis.ok(&[b"INCR", &k("counter")]);
    redis.ok(&[b"HSET", &k("hash"), b"name", b"Ada", b"lang", b"en"]);
    redis.ok(&[b"RPUSH", &k("list"), b"a", b"b", b"c"]);
    redis.ok(&[b"SADD", &k("set"), b"x", b"y", b"1"]);
    redis.ok(&[b"SADD", &k("intset"), b"1", b"2", b"3"]);
    redis.ok(&[b"ZADD", &k("zset"), b"1.5", b"one", b"2", b"two"]);
    redis.ok(&[b"XADD", &k("stream"), b"*", b"event", b"signup"]);
    redis.ok(&[b"XADD", &k("stream"), b"*", b"event", b"login"]);
    let mut binary_key = k("bin");
    binary_key.extend_from_slice(b"\x00\xff\r\n");
    let binary_value: Vec<u8> = (0..=255u8).cycle().take(5000).collect();
    redis.ok(&[b"SET", &binary_key, &binary_value]);
    redis.ok(&[b"SET", &k("ttl"), b"short-lived", b"PX", b"3600000"]);
    redis.ok(&[b"HSET", &k("ttlhash"), b"f", b"v"]);
    redis.ok(&[b"PEXPIRE", &k("ttlhash"), b"7200000"]);
    let big: Vec<Vec<u8>> = (0..2000)
        .map(|i| format!("item-{i}").into_bytes())
        .collect();
    let mut push: Vec<&[u8]> = vec![b"RPUSH"];
    let big_key = k("biglist");
    push.push(&big_key);
    push.extend(big.iter().map(Vec::as_slice));
    redis.ok(&push);
    for i in 0..250 {
        redis.ok(&[b"SET", &k(&format!("many:{i}")), format!("v{i}").as_bytes()]);
    }
}

/// A free loopback port (nothing listens on it once this returns).
pub fn free_port() -> u16 {
    TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}

/// A private `redis-server` requiring `password`, stopped when dropped.
pub struct OwnServer {
    child: Child,
    pub port: u16,
    _dir: tempfile::TempDir,
}

impl OwnServer {
    pub fn start(password: &str) -> OwnServer {
        let dir = tempfile::tempdir().unwrap();
        let port = free_port();
        let child = Command::new("redis-server")
            .args(["--port", &port.to_string(), "--bind", "127.0.0.1"])
            .args([
                "--save",
                "",
                "--appendonly",
                "no",
                "--requirepass",
                password,
            ])
            .arg("--dir")
            .arg(dir.path())
            .stdout(Stdio::null())
            .spawn()
            .expect("redis-server is installed");
        // Owned at once, so the server is stopped however the test ends.
        let server = OwnServer {
            child,
            port,
            _dir: dir,
        };
        for _ in 0..200 {
            if TcpStream::connect(("127.0.0.1", port)).is_ok() {
                return server;
            }
            std::thread::sleep(Duration::from_millis(25));
        }
        panic!("redis-server did not start");
    }
}

impl Drop for OwnServer {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// A fake server answering SYNC with keep-alives and a damaged snapshot (the right magic,
/// then garbage) in the `$<length>` form; returns its port.
pub fn damaged_snapshot_server() -> u16 {
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let port = listener.local_addr().unwrap().port();
    std::thread::spawn(move || {
        for stream in listener.incoming() {
            let Ok(stream) = stream else { return };
            let mut reader = BufReader::new(stream);
            while let Some(command) = read_command(&mut reader) {
                let out = reader.get_mut();
                let reply: Vec<u8> = match command.as_str() {
                    "INFO" => b"$21\r\nused_memory_dataset:9\r\n".to_vec(),
                    "SYNC" => {
                        let mut payload = b"REDIS0010".to_vec();
                        payload.extend((0..4000u32).map(|i| (i * 7 % 251) as u8));
                        let mut reply = b"\n\n".to_vec();
                        reply.extend(format!("${}\r\n", payload.len()).as_bytes());
                        reply.extend(payload);
                        reply
                    }
                    _ => b"+OK\r\n".to_vec(),
                };
                if out.write_all(&reply).is_err() {
                    break;
                }
            }
        }
    });
    port
}

/// The name of the next command a client sends (its arguments are read and dropped).
fn read_command(reader: &mut BufReader<TcpStream>) -> Option<String> {
    let mut line = String::new();
    reader.read_line(&mut line).ok().filter(|n| *n > 0)?;
    let count: usize = line.trim().strip_prefix('*')?.parse().ok()?;
    let mut name = None;
    for _ in 0..count {
        line.clear();
        reader.read_line(&mut line).ok()?;
        let len: usize = line.trim().strip_prefix('$')?.parse().ok()?;
        let mut arg = vec![0u8; len + 2];
        reader.read_exact(&mut arg).ok()?;
        name.get_or_insert_with(|| String::from_utf8_lossy(&arg[..len]).to_uppercase());
    }
    name
}
