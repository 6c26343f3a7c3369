//! `coffer sources check` for a redis source: reachable, authenticated, the server's version,
//! whether this user may take a snapshot (`SYNC`), and a local `redis-server` able to read the
//! server's snapshots (restores load them into one).

use std::time::Duration;

use super::conn::{info, info_field, open, Reply};
use super::stage::local_version;
use crate::error::{Error, Result};
use crate::sources::server::ServerAddress;

pub fn check(server: &ServerAddress, timeout: Duration) -> Result<Vec<String>> {
    let mut conn = open(server, timeout)?;
    let mut found = vec![format!(
        "reachable at {}{}",
        conn.label,
        if server.password().is_some() {
            ", authenticated"
        } else {
            ""
        }
    )];
    let fields = info(&mut conn, "server")?;
    let version = info_field(&fields, "redis_version").unwrap_or_default();
    found.push(format!(
        "server: Redis {version} ({})",
        info_field(&fields, "redis_mode").unwrap_or_else(|| "standalone".into())
    ));
    conn.select(server.redis_db())?;
    let keys = conn.ok(&[b"DBSIZE"])?.as_int().unwrap_or(0);
    found.push(format!("database {}: {keys} keys", server.redis_db()));
    found.push(sync_allowed(&mut conn)?);
    let local = local_version()?;
    if older(&local, &version) {
        return Err(Error::Source(format!(
            "the local redis-server is {local}, older than the server ({version}): restores load \
             the snapshot into a local redis-server, which cannot read a newer snapshot format; \
             install redis-server {version} or newer beside Coffer"
        )));
    }
    found.push(format!("redis-server {local} here (for restores)"));
    Ok(found)
}

/// Asks the server whether this user may run `SYNC` (`ACL DRYRUN`, Redis 7+), when it can.
fn sync_allowed(conn: &mut super::conn::Conn) -> Result<String> {
    let user = match conn.call(&[b"ACL", b"WHOAMI"])? {
        Reply::Bulk(Some(user)) => user,
        Reply::Status(user) => user.into_bytes(),
        _ => return Ok("snapshot permission (SYNC) not checked: ACL WHOAMI refused".into()),
    };
    match conn.call(&[b"ACL", b"DRYRUN", &user, b"SYNC"])? {
        Reply::Status(ok) if ok == "OK" => Ok("this user may take snapshots (SYNC)".into()),
        Reply::Bulk(Some(why)) => Err(Error::Source(format!(
            "{}: this user may not take snapshots: {} (grant +sync and +replconf)",
            conn.label,
            String::from_utf8_lossy(&why)
        ))),
        _ => Ok("snapshot permission (SYNC) not checked: ACL DRYRUN is not available".into()),
    }
}

/// Whether version `a` is older than `b` in major.minor (what decides the RDB format).
fn older(a: &str, b: &str) -> bool {
    let parts = |v: &str| -> (u32, u32) {
        let mut it = v.split('.').map(|p| p.parse().unwrap_or(0));
        (it.next().unwrap_or(0), it.next().unwrap_or(0))
    };
    parts(a) < parts(b)
}

#[cfg(test)]
mod tests {
    use super::older;

    #[test]
    fn versions_compare_by_major_and_minor() {
        assert!(older("7.0.15", "7.2.4"));
        assert!(!older("7.0.15", "7.0.2"));
        assert!(!older("7.2.0", "6.2.14"));
        assert!(older("6.2.0", "10.0.0"));
    }
}
