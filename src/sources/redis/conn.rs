//! A small Redis client over a plain `TcpStream` speaking RESP2: connect with a time-out,
//! authenticate, select a database, send one command or a pipelined batch. Coffer needs only
//! these few commands (and the raw stream, for `SYNC`), so no client crate is pulled in.
//! Every error names the server by its redacted address, never the password.

use std::io::{BufRead, BufReader, Read, Write};
use std::net::{TcpStream, ToSocketAddrs};
use std::time::Duration;

use crate::error::{Error, Result};
use crate::sources::server::ServerAddress;

/// One RESP2 reply.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Reply {
    Status(String),
    Error(String),
    Int(i64),
    /// `None` is the nil bulk string.
    Bulk(Option<Vec<u8>>),
    /// `None` is the nil array.
    Array(Option<Vec<Reply>>),
}

impl Reply {
    pub fn into_bytes(self) -> Option<Vec<u8>> {
        match self {
            Reply::Bulk(bytes) => bytes,
            Reply::Status(text) => Some(text.into_bytes()),
            _ => None,
        }
    }

    pub fn as_int(&self) -> Option<i64> {
        match self {
            Reply::Int(n) => Some(*n),
            _ => None,
        }
    }
}

/// A connection to one Redis server.
pub struct Conn {
    stream: BufReader<TcpStream>,
    /// `redis://host:port/N`, for messages.
    pub label: String,
}

/// Opens a connection to `server`, authenticated when it has a password, with `timeout` for
/// connecting and for each read or write (a server that stops answering fails, not hangs).
pub fn open(server: &ServerAddress, timeout: Duration) -> Result<Conn> {
    let user = server.user();
    open_at(
        Endpoint {
            label: server.redacted(),
            host: server.host(),
            port: server.port(),
            user: user.as_deref(),
            password: server.password(),
        },
        timeout,
    )
}

/// Where to connect and as whom; `label` is what messages show.
pub struct Endpoint<'a> {
    pub label: String,
    pub host: &'a str,
    pub port: u16,
    pub user: Option<&'a str>,
    pub password: Option<&'a str>,
}

pub fn open_at(endpoint: Endpoint<'_>, timeout: Duration) -> Result<Conn> {
    let mut conn = connect(&endpoint, timeout)?;
    if let Some(password) = endpoint.password {
        let mut auth: Vec<&[u8]> = vec![b"AUTH"];
        if let Some(user) = endpoint.user {
            auth.push(user.as_bytes());
        }
        auth.push(password.as_bytes());
        match conn.call(&auth)? {
            Reply::Error(e) if e.starts_with("WRONGPASS") || e.contains("invalid password") => {
                return Err(Error::Source(format!(
                    "{}: authentication failed: wrong user name or password (check the source's \
                     password_env, password_file or url)",
                    conn.label
                )));
            }
            Reply::Error(e) => {
                return Err(Error::Source(format!(
                    "{}: authentication failed: {e}",
                    conn.label
                )))
            }
            _ => {}
        }
    }
    Ok(conn)
}

fn connect(endpoint: &Endpoint<'_>, timeout: Duration) -> Result<Conn> {
    let label = endpoint.label.clone();
    let fail = |what: String| {
        Error::Source(format!(
            "cannot connect to Redis at {label}: {what} (is the server running and reachable? \
             the time-out is connect_timeout_seconds)"
        ))
    };
    let addresses: Vec<_> = (endpoint.host, endpoint.port)
        .to_socket_addrs()
        .map_err(|e| fail(e.to_string()))?
        .collect();
    let mut last = String::from("the host name resolves to no address");
    for address in addresses {
        match TcpStream::connect_timeout(&address, timeout) {
            Ok(stream) => {
                stream
                    .set_read_timeout(Some(timeout))
                    .and_then(|()| stream.set_write_timeout(Some(timeout)))
                    .and_then(|()| stream.set_nodelay(true))
                    .map_err(|e| fail(e.to_string()))?;
                return Ok(Conn {
                    stream: BufReader::with_capacity(256 * 1024, stream),
                    label: label.clone(),
                });
            }
            Err(e) => last = e.to_string(),
        }
    }
    Err(fail(last))
}

impl Conn {
    /// Sends one command and reads its reply (an error reply is returned, not raised).
    pub fn call(&mut self, args: &[&[u8]]) -> Result<Reply> {
        self.send(&[args])?;
        self.read_reply()
    }

    /// Like `call`, but an error reply becomes `Error::Source` naming the command.
    pub fn ok(&mut self, args: &[&[u8]]) -> Result<Reply> {
        match self.call(args)? {
            Reply::Error(e) => Err(self.refused(args, &e)),
            reply => Ok(reply),
        }
    }

    /// Sends several commands at once and reads their replies in order: one round trip.
    pub fn pipeline(&mut self, commands: &[Vec<&[u8]>]) -> Result<Vec<Reply>> {
        let refs: Vec<&[&[u8]]> = commands.iter().map(Vec::as_slice).collect();
        self.send(&refs)?;
        (0..commands.len()).map(|_| self.read_reply()).collect()
    }

    /// A longer wait for reads (a snapshot being prepared) than for connecting.
    pub fn set_read_timeout(&mut self, timeout: Duration) -> Result<()> {
        self.stream
            .get_ref()
            .set_read_timeout(Some(timeout))
            .map_err(|e| self.io_error("setting a time-out", e))
    }

    pub fn select(&mut self, db: u32) -> Result<()> {
        self.ok(&[b"SELECT", db.to_string().as_bytes()])?;
        Ok(())
    }

    /// The error for an error reply to `args`.
    pub fn refused(&self, args: &[&[u8]], reply: &str) -> Error {
        let command = String::from_utf8_lossy(args.first().copied().unwrap_or_default());
        if reply.starts_with("NOAUTH") {
            return Error::Source(format!(
                "{}: the server requires a password: set password_env or password_file on the source",
                self.label
            ));
        }
        Error::Source(format!("{}: {command} failed: {reply}", self.label))
    }

    fn send(&mut self, commands: &[&[&[u8]]]) -> Result<()> {
        let mut out = Vec::new();
        for args in commands {
            out.extend_from_slice(format!("*{}\r\n", args.len()).as_bytes());
            for arg in *args {
                out.extend_from_slice(format!("${}\r\n", arg.len()).as_bytes());
                out.extend_from_slice(arg);
                out.extend_from_slice(b"\r\n");
            }
        }
        self.stream
            .get_mut()
            .write_all(&out)
            .map_err(|e| self.io_error("sending a command", e))
    }

    /// The buffered stream, for reading a replication payload after `SYNC`.
    pub fn reader(&mut self) -> &mut BufReader<TcpStream> {
        &mut self.stream
    }

    pub fn io_error(&self, doing: &str, e: std::io::Error) -> Error {
        let why = match e.kind() {
            std::io::ErrorKind::WouldBlock | std::io::ErrorKind::TimedOut => {
                "the server did not answer in time (connect_timeout_seconds)".to_string()
            }
            std::io::ErrorKind::UnexpectedEof => "the server closed the connection".to_string(),
            _ => e.to_string(),
        };
        Error::Source(format!("{}: {doing}: {why}", self.label))
    }

    /// One CRLF-terminated line, without its ending.
    pub fn read_line(&mut self) -> Result<Vec<u8>> {
        let mut line = Vec::new();
        let n = self
            .stream
            .read_until(b'\n', &mut line)
            .map_err(|e| self.io_error("reading a reply", e))?;
        if n == 0 {
            return Err(self.io_error("reading a reply", eof()));
        }
        while matches!(line.last(), Some(b'\n' | b'\r')) {
            line.pop();
        }
        Ok(line)
    }

    fn read_reply(&mut self) -> Result<Reply> {
        let line = self.read_line()?;
        let (kind, rest) = line
            .split_first()
            .ok_or_else(|| self.protocol("an empty reply line"))?;
        let text = String::from_utf8_lossy(rest).into_owned();
        let number = || {
            text.parse::<i64>()
                .map_err(|_| self.protocol("a malformed length"))
        };
        Ok(match kind {
            b'+' => Reply::Status(text.clone()),
            b'-' => Reply::Error(text.clone()),
            b':' => Reply::Int(number()?),
            b'$' => {
                let len = number()?;
                if len < 0 {
                    return Ok(Reply::Bulk(None));
                }
                let mut bytes = vec![0u8; len as usize + 2];
                self.stream
                    .read_exact(&mut bytes)
                    .map_err(|e| self.io_error("reading a reply", e))?;
                bytes.truncate(len as usize);
                Reply::Bulk(Some(bytes))
            }
            b'*' => {
                let len = number()?;
                if len < 0 {
                    return Ok(Reply::Array(None));
                }
                let items = (0..len)
                    .map(|_| self.read_reply())
                    .collect::<Result<Vec<_>>>()?;
                Reply::Array(Some(items))
            }
            _ => return Err(self.protocol("a reply that is not RESP")),
        })
    }

    fn protocol(&self, what: &str) -> Error {
        Error::Source(format!(
            "{}: the server sent {what}: is this a Redis server?",
            self.label
        ))
    }
}

fn eof() -> std::io::Error {
    std::io::Error::from(std::io::ErrorKind::UnexpectedEof)
}

/// `INFO <section>` as `field → value` pairs.
pub fn info(conn: &mut Conn, section: &str) -> Result<Vec<(String, String)>> {
    let reply = conn.ok(&[b"INFO", section.as_bytes()])?;
    let text = String::from_utf8_lossy(&reply.into_bytes().unwrap_or_default()).into_owned();
    Ok(text
        .lines()
        .filter_map(|l| l.split_once(':'))
        .map(|(k, v)| (k.to_string(), v.trim().to_string()))
        .collect())
}

/// One field of `INFO`.
pub fn info_field(fields: &[(String, String)], name: &str) -> Option<String> {
    fields
        .iter()
        .find(|(k, _)| k == name)
        .map(|(_, v)| v.clone())
}
