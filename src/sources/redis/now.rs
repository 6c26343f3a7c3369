//! What a restore's target holds now (`sources/target_now.rs`): the keys of the database a
//! restore writes into (those matching the selection's pattern, when one is given).

use super::conn::{info, info_field, open};
use super::copy::Scanner;
use super::{target_address, timeout};
use crate::error::Result;
use crate::sources::database::DatabaseTarget;
use crate::sources::target_now::{KeysNow, NowRequest, TargetNow};

pub fn now(request: &NowRequest) -> Result<Vec<TargetNow>> {
    let target = target_address(request.source, request.server, request.target)?;
    let mut conn = open(&target, timeout(request.server))?;
    let db = target.redis_db();
    conn.select(db)?;
    let keys = match request.selection.keys.as_deref() {
        Some(pattern) => {
            let mut scanner = Scanner::new(Some(pattern));
            let mut all = 0u64;
            while let Some(batch) = scanner.next(&mut conn)? {
                all += batch.len() as u64;
            }
            KeysNow {
                all,
                without_ttl: None,
            }
        }
        None => {
            let fields = info(&mut conn, "keyspace")?;
            let number = |line: &str, name: &str| {
                line.split(',')
                    .find_map(|part| part.strip_prefix(name)?.strip_prefix('='))
                    .and_then(|n| n.parse::<u64>().ok())
            };
            // An empty database is not listed.
            let line = info_field(&fields, &format!("db{db}")).unwrap_or_default();
            let all = number(&line, "keys").unwrap_or(0);
            let expiring = number(&line, "expires").unwrap_or(0);
            KeysNow {
                all,
                without_ttl: Some(all.saturating_sub(expiring)),
            }
        }
    };
    // The snapshot holds every database of the source's server; a restore takes the source's.
    let database = format!("db{}", request.server.redis_db());
    let mut now = TargetNow::new_database(&database, target.redacted());
    now.exists = true;
    if matches!(request.target, DatabaseTarget::Named(_)) && !request.merge && keys.all > 0 {
        now.note = Some(
            "the target holds keys already: the restore refuses to replace them unless it \
             merges into them"
                .into(),
        );
    }
    now.keys = Some(keys);
    Ok(vec![now])
}
