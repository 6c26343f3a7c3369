//! How far a running `pg_dump` has got, asked from the server rather than measured on its
//! output: the dump is compressed as it is written, so its size says little about the
//! database's. `pg_stat_progress_copy` (PostgreSQL 14+) names the table the dump's session
//! is copying and how many rows it has sent; a plain `pg_dump` copies its tables one after
//! the other in (schema, name) order (bytewise), so every table sorting before the current
//! one is done. Each table counts with its size on disk (heap and TOAST).
//!
//! This is progress, not bookkeeping: a table created after the list was read, or a dump
//! order that differs, only makes the figure move less smoothly; it never goes backwards.

use std::cell::Cell;
use std::time::{Duration, Instant};

use super::sql::{literal, Pg};

/// The first server version with `pg_stat_progress_copy`.
const FIRST_VERSION: u32 = 14;
/// Asking the server costs a `psql` (and a backend): every 2 s is plenty for a progress bar.
const ASK_EVERY: Duration = Duration::from_secs(2);

struct Table {
    oid: u32,
    bytes: u64,
    /// `pg_class.reltuples`: rows as of the last VACUUM/ANALYZE, -1 when never counted.
    rows: f64,
}

/// A database's tables in dump order.
struct Tables(Vec<Table>);

pub struct CopyProgress {
    pg: Pg,
    database: String,
    /// The `application_name` of the dump's session (set through `PGAPPNAME`).
    application: String,
    tables: Tables,
    /// (when asked, bytes done then).
    last: Cell<(Option<Instant>, u64)>,
}

impl CopyProgress {
    /// Reads the tables of `database`; `None` when the server cannot tell (older than 14)
    /// or the list cannot be read (the dump then reports no progress until it ends).
    pub fn start(pg: &Pg, database: &str, server_major: u32, application: &str) -> Option<Self> {
        if server_major < FIRST_VERSION {
            return None;
        }
        let rows = pg
            .query(
                database,
                "SELECT c.oid, pg_table_size(c.oid), c.reltuples FROM pg_class c \
                 JOIN pg_namespace n ON n.oid = c.relnamespace \
                 WHERE c.relkind = 'r' AND n.nspname <> 'information_schema' \
                   AND n.nspname NOT LIKE 'pg\\_%' \
                 ORDER BY n.nspname COLLATE \"C\", c.relname COLLATE \"C\"",
            )
            .ok()?;
        Some(CopyProgress {
            pg: pg.clone(),
            database: database.to_string(),
            application: application.to_string(),
            tables: parse_tables(&rows),
            last: Cell::new((None, 0)),
        })
    }

    /// What the dump is measured against: the tables' size on disk.
    pub fn total(&self) -> u64 {
        self.tables.total()
    }

    /// Bytes of the tables done so far (asks the server at most once per [`ASK_EVERY`]).
    pub fn done(&self) -> u64 {
        let (asked, done) = self.last.get();
        if asked.is_some_and(|at| at.elapsed() < ASK_EVERY) {
            return done;
        }
        let now = self
            .ask()
            .map_or(done, |(oid, rows)| done.max(self.tables.done_at(oid, rows)));
        self.last.set((Some(Instant::now()), now));
        now
    }

    /// The table the dump's session copies now and the rows sent so far; `None` between
    /// tables or when the question fails.
    fn ask(&self) -> Option<(u32, u64)> {
        let row = self
            .pg
            .query(
                &self.database,
                &format!(
                    "SELECT p.relid, p.tuples_processed FROM pg_stat_progress_copy p \
                     JOIN pg_stat_activity a ON a.pid = p.pid \
                     WHERE a.application_name = {} LIMIT 1",
                    literal(&self.application)
                ),
            )
            .ok()?;
        let (oid, rows) = row.trim().split_once('|')?;
        Some((oid.parse().ok()?, rows.parse().ok()?))
    }
}

impl Tables {
    fn total(&self) -> u64 {
        self.0.iter().map(|t| t.bytes).sum()
    }

    /// Every table before `oid` in dump order, and the part of `oid` its rows say.
    fn done_at(&self, oid: u32, rows: u64) -> u64 {
        let Some(at) = self.0.iter().position(|t| t.oid == oid) else {
            return 0;
        };
        let before: u64 = self.0[..at].iter().map(|t| t.bytes).sum();
        let current = &self.0[at];
        let part = if current.rows > 0.0 {
            (rows as f64 / current.rows).min(1.0)
        } else {
            0.0
        };
        before + (current.bytes as f64 * part) as u64
    }
}

fn parse_tables(rows: &str) -> Tables {
    let tables = rows
        .lines()
        .filter_map(|line| {
            let mut fields = line.split('|');
            Some(Table {
                oid: fields.next()?.parse().ok()?,
                bytes: fields.next()?.parse().ok()?,
                rows: fields.next()?.parse().ok()?,
            })
        })
        .collect();
    Tables(tables)
}

#[cfg(test)]
mod tests {
    use std::process::Stdio;

    use super::*;
    use crate::config::SourceConfig;
    use crate::sources::server::ServerAddress;

    #[test]
    fn tables_before_the_current_one_are_done_and_it_counts_by_rows() {
        let p = parse_tables("10|100|10\n11|1000|-1\n12|400|4\nnot a row\n");
        assert_eq!(p.total(), 1500);
        assert_eq!(p.done_at(10, 5), 50);
        // never counted (reltuples -1): only the tables before it
        assert_eq!(p.done_at(11, 123), 100);
        assert_eq!(p.done_at(12, 1), 1200);
        // more rows than counted: the table, not more
        assert_eq!(p.done_at(12, 40), 1500);
        // a table not in the list says nothing
        assert_eq!(p.done_at(99, 1), 0);
    }

    fn local(database: &str) -> Pg {
        let server = ServerAddress::of(
            &SourceConfig::from_toml(&format!(
                "name = 'pg'\nkind = 'postgres'\nurl = 'postgres://postgres@127.0.0.1:5432/{database}'\n\
                 connect_timeout_seconds = 5"
            ))
            .unwrap(),
        )
        .unwrap();
        Pg { server }
    }

    /// Against the real server (127.0.0.1:5432): the session copying a table, held up by a
    /// reader that does not read, is found by its name and counted part-way, after the
    /// table that sorts before it.
    #[test]
    fn a_running_copy_is_found_by_its_session_and_counted() {
        let database = format!(
            "coffer_u_{}",
            &uuid::Uuid::new_v4().simple().to_string()[..10]
        );
        let admin = local("postgres");
        admin
            .query("postgres", &format!("CREATE DATABASE {database}"))
            .unwrap();
        let pg = local(&database);
        let result = std::panic::catch_unwind(|| {
            pg.query(
                &database,
                "CREATE TABLE a_small AS SELECT g FROM generate_series(1, 1000) g; \
                 CREATE TABLE b_big AS SELECT g, repeat('x', 300) AS pad \
                     FROM generate_series(1, 200000) g; \
                 ANALYZE",
            )
            .unwrap();
            let application = format!("coffer-dump-{}", uuid::Uuid::new_v4().simple());
            let server = pg.server_major(&database).unwrap();
            let Some(progress) = CopyProgress::start(&pg, &database, server, &application) else {
                panic!("server {server}: no COPY progress (needs 14+)");
            };
            let small = pg
                .query(&database, "SELECT pg_table_size('a_small')")
                .unwrap()
                .trim()
                .parse::<u64>()
                .unwrap();
            assert!(progress.total() > small * 10, "{}", progress.total());
            // Nothing copies yet.
            assert_eq!(progress.done(), 0);

            let mut copy = pg.command("psql", &database);
            copy.env("PGAPPNAME", &application)
                .args(["-X", "-q", "-c", "COPY b_big TO STDOUT"])
                .stdout(Stdio::piped())
                .stderr(Stdio::null());
            let mut child = copy.spawn().unwrap();
            // Its output is never read: the COPY stops once the pipe and socket are full.
            let mut done = 0;
            for _ in 0..15 {
                std::thread::sleep(ASK_EVERY);
                done = progress.done();
                if done > small {
                    break;
                }
            }
            let _ = child.kill();
            let _ = child.wait();
            assert!(
                done > small && done < progress.total(),
                "done {done} of {} (a_small {small})",
                progress.total()
            );
            // Another session's name finds nothing.
            let other = CopyProgress::start(&pg, &database, server, "someone-else").unwrap();
            assert_eq!(other.done(), 0);
        });
        admin
            .query(
                "postgres",
                &format!("DROP DATABASE IF EXISTS {database} WITH (FORCE)"),
            )
            .unwrap();
        if let Err(panic) = result {
            std::panic::resume_unwind(panic);
        }
    }
}
