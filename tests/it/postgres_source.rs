//! The `postgres` source against the real server on 127.0.0.1:5432 (user postgres): backup
//! while another thread writes, exact restores (per-table checksums and the schema dump),
//! over the original with a safety backup, failing restores that leave the original as it
//! was, selective restores, and bad servers / old clients that fail clearly.

use std::os::unix::fs::PermissionsExt;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use crate::helpers::*;

/// Runs SQL as postgres in `db`; returns the rows (`-At`).
pub fn psql(db: &str, sql: &str) -> String {
    let out = std::process::Command::new("psql")
        .args(["-h", "127.0.0.1", "-U", "postgres", "-X", "-q", "-A", "-t"])
        .args(["-v", "ON_ERROR_STOP=1", "-d", db, "-c", sql])
        .output()
        .expect("psql must be installed for this test");
    assert!(
        out.status.success(),
        "psql {sql}: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8(out.stdout).unwrap().trim().to_string()
}

/// A uniquely named database, dropped at the end with everything a restore made beside it
/// (`<name>_…`), also when the test fails.
pub struct TempDb {
    pub name: String,
    pub roles: Vec<String>,
}

impl TempDb {
    pub fn new() -> TempDb {
        TempDb::created_with("")
    }

    /// A database created with `options` (`ENCODING 'LATIN1' …`).
    pub fn created_with(options: &str) -> TempDb {
        let name = format!(
            "coffer_t_{}",
            &uuid::Uuid::new_v4().simple().to_string()[..10]
        );
        psql("postgres", &format!("CREATE DATABASE {name} {options}"));
        TempDb {
            name,
            roles: vec![],
        }
    }

    pub fn url(&self) -> String {
        format!("postgres://postgres@127.0.0.1:5432/{}", self.name)
    }

    pub fn sql(&self, sql: &str) -> String {
        psql(&self.name, sql)
    }

    /// Every database whose name starts with this one's (copies, staging, previous).
    pub fn family(&self) -> Vec<String> {
        let rows = psql(
            "postgres",
            &format!(
                "SELECT datname FROM pg_database WHERE starts_with(datname, '{}') ORDER BY 1",
                self.name
            ),
        );
        rows.lines().map(str::to_string).collect()
    }
}

impl Drop for TempDb {
    fn drop(&mut self) {
        for db in self.family() {
            psql(
                "postgres",
                &format!("DROP DATABASE IF EXISTS \"{db}\" WITH (FORCE)"),
            );
        }
        for role in &self.roles {
            psql("postgres", &format!("DROP ROLE IF EXISTS {role}"));
        }
    }
}

pub fn source(url: &str, extra: &str) -> String {
    format!(
        "[[sources]]\nname = \"pg\"\nservice = \"app\"\nkind = \"postgres\"\nurl = \"{url}\"\nconnect_timeout_seconds = 3\n{extra}\n"
    )
}

const FIXTURE: &str = "
CREATE SCHEMA app; CREATE SCHEMA audit;
CREATE TABLE app.customers (id bigserial PRIMARY KEY, name text NOT NULL, photo bytea,
    created timestamptz NOT NULL DEFAULT '2026-01-01 00:00:00+00');
INSERT INTO app.customers(name, photo)
    SELECT 'Kunde ' || g || ' — Zoë ☕ 東京', decode(md5(g::text), 'hex') || '\\x00ff'::bytea
    FROM generate_series(1, 110000) g;
CREATE INDEX customers_name ON app.customers(name);
CREATE TABLE app.orders (id serial PRIMARY KEY, customer bigint REFERENCES app.customers(id),
    total numeric(10,2) NOT NULL);
INSERT INTO app.orders(customer, total) SELECT (g % 1000) + 1, g / 100.0 FROM generate_series(1, 20000) g;
CREATE TABLE app.notes (id int PRIMARY KEY, body text NOT NULL);
INSERT INTO app.notes SELECT g, 'note ' || g FROM generate_series(1, 100) g;
CREATE SEQUENCE app.invoice_no START 1000; SELECT setval('app.invoice_no', 4242);
CREATE VIEW app.big_orders AS SELECT * FROM app.orders WHERE total > 100;
CREATE FUNCTION app.order_count(c bigint) RETURNS bigint LANGUAGE sql STABLE
    AS 'SELECT count(*) FROM app.orders WHERE customer = c';
CREATE TABLE audit.events (id bigserial PRIMARY KEY, body text NOT NULL);
";

/// Per-table content checksums and sequence values of a database.
pub fn contents(db: &str) -> Vec<(String, String)> {
    let tables = psql(
        db,
        "SELECT schemaname || '.' || tablename FROM pg_tables \
         WHERE schemaname NOT IN ('pg_catalog', 'information_schema') ORDER BY 1",
    );
    let mut out: Vec<(String, String)> = tables
        .lines()
        .map(|t| {
            let sum = psql(
                db,
                &format!("SELECT md5(coalesce(string_agg(t::text, E'\\n' ORDER BY t::text), '')) FROM {t} t"),
            );
            (t.to_string(), sum)
        })
        .collect();
    let sequences = psql(
        db,
        "SELECT schemaname || '.' || sequencename || '=' || coalesce(last_value, 0) FROM pg_sequences ORDER BY 1",
    );
    out.push(("sequences".into(), sequences));
    out
}

/// `pg_dump --schema-only`, without the per-run `\restrict` key lines.
fn schema(db: &str) -> String {
    let out = tool(
        "pg_dump",
        &[
            "-h",
            "127.0.0.1",
            "-U",
            "postgres",
            "--schema-only",
            "-d",
            db,
        ],
    );
    assert!(out.status.success());
    String::from_utf8(out.stdout)
        .unwrap()
        .lines()
        .filter(|l| !l.starts_with("\\restrict") && !l.starts_with("\\unrestrict"))
        .collect::<Vec<_>>()
        .join("\n")
}

/// The status of the latest restore task (a safety backup's task may come after it).
fn last_restore_status(env: &TestEnv) -> String {
    let app = env.app();
    let tasks = coffer::db::Task::list_recent(&mut app.conn().unwrap(), 10).unwrap();
    let restore = tasks
        .iter()
        .find(|t| t.kind == "restore")
        .expect("a restore task");
    format!(
        "{} {}",
        restore.status,
        restore.error.clone().unwrap_or_default()
    )
}

#[test]
fn a_backup_under_writes_restores_exactly_into_a_new_database() {
    let db = TempDb::new();
    db.sql(FIXTURE);
    let env = TestEnv::new(&Backend::Sqlite, &source(&db.url(), ""));
    let stop = Arc::new(AtomicBool::new(false));
    let writer = {
        let (stop, name) = (stop.clone(), db.name.clone());
        std::thread::spawn(move || {
            while !stop.load(Ordering::Relaxed) {
                psql(
                    &name,
                    "INSERT INTO audit.events(body) VALUES ('written ✓ during backup')",
                );
            }
        })
    };
    std::thread::sleep(Duration::from_millis(500));
    let before: i64 = db.sql("SELECT count(*) FROM audit.events").parse().unwrap();
    assert!(before > 0, "the writer is running");
    let backup = env.backup(&[]);
    stop.store(true, Ordering::Relaxed);
    writer.join().unwrap();
    let id = backup["id"].as_str().unwrap();

    let copy = format!("{}_copy", db.name);
    let out = env.ok(&["restore", id, "--sources", "pg", "--target", &copy, "--yes"]);
    assert!(out.contains(&copy), "{out}");

    // The written table holds a prefix of the writes: every one committed before the backup,
    // no gaps, each row as the source has it.
    let count: i64 = psql(&copy, "SELECT count(*) FROM audit.events")
        .parse()
        .unwrap();
    let max: i64 = psql(&copy, "SELECT max(id) FROM audit.events")
        .parse()
        .unwrap();
    assert!(count >= before, "{count} < {before}");
    assert_eq!(count, max, "a consistent snapshot has no gaps");
    let sum = "SELECT md5(string_agg(t::text, ',' ORDER BY id)) FROM audit.events t WHERE id <= ";
    assert_eq!(
        psql(&copy, &format!("{sum}{max}")),
        db.sql(&format!("{sum}{max}"))
    );
    // Everything else is exactly the source, and so is the schema.
    let without_events = |db: &str| {
        contents(db)
            .into_iter()
            .filter(|(t, _)| t != "audit.events" && t != "sequences")
            .collect::<Vec<_>>()
    };
    assert_eq!(without_events(&copy), without_events(&db.name));
    assert_eq!(schema(&copy), schema(&db.name));
    assert_eq!(psql(&copy, "SELECT last_value FROM app.invoice_no"), "4242");
    assert_eq!(psql(&copy, "SELECT app.order_count(5)"), "20");
    assert_eq!(
        db.family(),
        vec![db.name.clone(), copy.clone()],
        "no staging left"
    );

    // A named target that exists is refused, and nothing is created.
    let err = env.fails(&["restore", id, "--sources", "pg", "--target", &copy, "--yes"]);
    assert!(err.contains("already exists"), "{err}");
    assert_eq!(db.family().len(), 2);
}

#[test]
fn over_the_original_safely_and_failed_restores_leave_it_as_it_was() {
    let mut db = TempDb::new();
    db.sql(
        "CREATE TABLE notes (id int PRIMARY KEY, body text); \
            INSERT INTO notes SELECT g, 'n' || g FROM generate_series(1, 500) g;",
    );
    let env = TestEnv::new(&Backend::Sqlite, &source(&db.url(), ""));
    let good = env.backup(&[]);
    let good_contents = contents(&db.name);
    // A second backup holds a table owned by a role that is gone by restore time:
    // pg_restore fails part-way through loading it.
    let role = format!("{}_owner", db.name);
    db.roles.push(role.clone());
    db.sql(&format!(
        "CREATE ROLE {role}; CREATE TABLE owned (x int); ALTER TABLE owned OWNER TO {role}"
    ));
    let doomed = env.backup(&[]);
    db.sql(&format!("DROP TABLE owned; DROP ROLE {role}"));

    db.sql("DELETE FROM notes WHERE id > 100; CREATE TABLE later (y int)");
    let out = env.ok(&[
        "restore",
        good["id"].as_str().unwrap(),
        "--sources",
        "pg",
        "--yes",
    ]);
    assert!(out.contains("safety backup"), "{out}");
    assert_eq!(contents(&db.name), good_contents);
    assert_eq!(db.family(), vec![db.name.clone()], "previous copy dropped");
    // The safety backup holds the state just before: restore it beside to see.
    let listed = env.json(&["list"]);
    let safety = listed
        .as_array()
        .unwrap()
        .iter()
        .find(|b| b["automatic"] == true)
        .expect("a safety backup is listed");
    let beside = format!("{}_before", db.name);
    env.ok(&[
        "restore",
        safety["id"].as_str().unwrap(),
        "--sources",
        "pg",
        "--target",
        &beside,
        "--yes",
    ]);
    assert_eq!(psql(&beside, "SELECT count(*) FROM notes"), "100");

    db.sql("UPDATE notes SET body = 'changed since' WHERE id = 7");
    let now = contents(&db.name);
    let now_schema = schema(&db.name);
    let err = env.fails(&[
        "restore",
        doomed["id"].as_str().unwrap(),
        "--sources",
        "pg",
        "--yes",
    ]);
    assert!(
        err.contains("pg_restore") && err.contains("does not exist"),
        "{err}"
    );
    assert!(
        last_restore_status(&env).starts_with("failed "),
        "{}",
        last_restore_status(&env)
    );
    assert_eq!(contents(&db.name), now, "the original is exactly as it was");
    assert_eq!(schema(&db.name), now_schema);
    assert_eq!(
        db.family(),
        vec![db.name.clone(), beside.clone()],
        "staging dropped"
    );

    // A corrupt archive fails before anything live is touched.
    let archive = env.archive_path(&good);
    let mut bytes = std::fs::read(&archive).unwrap();
    let middle = bytes.len() / 2;
    bytes[middle] ^= 0x55;
    std::fs::write(&archive, bytes).unwrap();
    env.fails(&[
        "restore",
        good["id"].as_str().unwrap(),
        "--sources",
        "pg",
        "--yes",
    ]);
    assert!(
        last_restore_status(&env).starts_with("failed "),
        "{}",
        last_restore_status(&env)
    );
    assert_eq!(contents(&db.name), now);
    assert_eq!(db.family().len(), 2);
}

#[test]
fn a_selective_restore_touches_nothing_else() {
    let db = TempDb::new();
    db.sql(FIXTURE);
    let env = TestEnv::new(&Backend::Sqlite, &source(&db.url(), ""));
    let backup = env.backup(&[]);
    let id = backup["id"].as_str().unwrap();
    let at_backup = contents(&db.name);
    let schema_before = schema(&db.name);

    db.sql(
        "DELETE FROM app.notes WHERE id > 10; UPDATE app.orders SET total = 0 WHERE id = 1; \
            INSERT INTO audit.events(body) VALUES ('after')",
    );
    let changed = contents(&db.name);
    env.ok(&[
        "restore",
        id,
        "--sources",
        "pg",
        "--table",
        "app.notes",
        "--yes",
    ]);
    let after = contents(&db.name);
    for ((table, sum), ((_, was), (_, then))) in after.iter().zip(at_backup.iter().zip(&changed)) {
        if table == "app.notes" {
            assert_eq!(sum, was, "app.notes is back as backed up");
        } else {
            assert_eq!(sum, then, "{table} is untouched");
        }
    }
    assert_eq!(
        schema(&db.name),
        schema_before,
        "definitions and indexes kept"
    );
    assert_eq!(db.family(), vec![db.name.clone()]);

    // A table others reference cannot be replaced alone: refused, nothing changed.
    let err = env.fails(&[
        "restore",
        id,
        "--sources",
        "pg",
        "--table",
        "app.customers",
        "--yes",
    ]);
    assert!(err.contains("foreign key"), "{err}");
    assert_eq!(contents(&db.name), after);

    // One schema into a new database: that schema only.
    let copy = format!("{}_audit", db.name);
    env.ok(&[
        "restore",
        id,
        "--sources",
        "pg",
        "--schema",
        "audit",
        "--target",
        &copy,
        "--yes",
    ]);
    assert_eq!(
        psql(&copy, "SELECT string_agg(schemaname || '.' || tablename, ',') FROM pg_tables WHERE schemaname NOT IN ('pg_catalog', 'information_schema')"),
        "audit.events"
    );
    // One table into a new database brings its indexes and sequence.
    let one = format!("{}_one", db.name);
    env.ok(&[
        "restore",
        id,
        "--sources",
        "pg",
        "--table",
        "app.customers",
        "--target",
        &one,
        "--yes",
    ]);
    assert_eq!(
        psql(&one, "SELECT string_agg(indexname, ',' ORDER BY indexname) FROM pg_indexes WHERE schemaname = 'app'"),
        "customers_name,customers_pkey"
    );
    assert_eq!(psql(&one, "SELECT count(*) FROM app.customers"), "110000");
    let err = env.fails(&[
        "restore",
        id,
        "--sources",
        "pg",
        "--table",
        "app.nope",
        "--target",
        &format!("{}_x", db.name),
        "--yes",
    ]);
    assert!(err.contains("no table `app.nope`"), "{err}");
}

#[test]
fn bad_servers_fail_clearly_and_passwords_stay_hidden() {
    let db = TempDb::new();
    db.sql("CREATE TABLE t (x int); INSERT INTO t VALUES (1)");
    let cases = [
        ("postgres://postgres@127.0.0.1:1/x", "127.0.0.1"),
        (
            "postgres://coffer_no_such_role@127.0.0.1:5432/postgres",
            "coffer_no_such_role",
        ),
        (
            &format!("postgres://postgres@127.0.0.1:5432/{}_missing", db.name),
            "does not exist",
        ),
    ];
    for (url, says) in cases {
        let env = TestEnv::new(&Backend::Sqlite, &source(url, ""));
        let started = Instant::now();
        let err = env.fails(&["backup"]);
        assert!(err.contains(says), "{url}: {err}");
        assert!(started.elapsed() < Duration::from_secs(30), "no hang");
        assert_eq!(env.json(&["list"])[0]["status"], "failed");
        let out = env.run(&["sources", "check"]);
        assert!(!out.status.success());
        let shown = String::from_utf8_lossy(&out.stdout);
        assert!(shown.contains("FAILED") && shown.contains(says), "{shown}");
    }

    // Trust authentication on 127.0.0.1 accepts any password (pg_hba here), so a wrong
    // password cannot fail: the wrong user and the missing database above stand in for it.
    // The password still must never show.
    let secret = "s3cret-Coffer-pw";
    let env = TestEnv::new(
        &Backend::Sqlite,
        &source(&db.url(), "password_env = \"COFFER_T_PG_PW\""),
    );
    let run = |args: &[&str]| {
        let out = env
            .command(args)
            .env("COFFER_T_PG_PW", secret)
            .output()
            .unwrap();
        let text = format!(
            "{}{}",
            String::from_utf8_lossy(&out.stdout),
            String::from_utf8_lossy(&out.stderr)
        );
        assert!(!text.contains(secret), "{args:?} shows the password");
        assert!(out.status.success(), "{args:?}: {text}");
        String::from_utf8(out.stdout).unwrap()
    };
    let backup: serde_json::Value = serde_json::from_str(&run(&["backup", "--json"])).unwrap();
    let id = backup["id"].as_str().unwrap();
    run(&["show", id, "--json"]);
    run(&["sources", "check"]);
    run(&["sources", "list"]);
    let copy = format!("{}_copy", db.name);
    run(&["restore", id, "--sources", "pg", "--target", &copy, "--yes"]);
    let app = env.app();
    for task in coffer::db::Task::list_recent(&mut app.conn().unwrap(), 20).unwrap() {
        let params = format!("{:?}", task.params());
        assert!(!params.contains(secret), "task params: {params}");
    }
    for file in walkdir::WalkDir::new(env.dir.path())
        .into_iter()
        .filter_map(|e| e.ok())
    {
        if file.file_type().is_file() {
            let bytes = std::fs::read(file.path()).unwrap();
            assert!(
                !bytes.windows(secret.len()).any(|w| w == secret.as_bytes()),
                "{} holds the password",
                file.path().display()
            );
        }
    }
}

#[test]
fn a_client_older_than_the_server_is_a_clear_error() {
    let db = TempDb::new();
    let env = TestEnv::new(&Backend::Sqlite, &source(&db.url(), ""));
    let fake = env.path("old-bin");
    std::fs::create_dir_all(&fake).unwrap();
    let script = fake.join("pg_dump");
    std::fs::write(&script, "#!/bin/sh\necho 'pg_dump (PostgreSQL) 9.6.24'\n").unwrap();
    std::fs::set_permissions(&script, std::fs::Permissions::from_mode(0o755)).unwrap();
    let path = format!("{}:{}", fake.display(), std::env::var("PATH").unwrap());
    let server = psql(
        "postgres",
        "SELECT current_setting('server_version_num')::int / 10000",
    );
    let expected = format!(
        "pg_dump 9 is older than the server ({server}): install PostgreSQL {server} client tools"
    );
    for args in [&["backup"][..], &["sources", "check"][..]] {
        let out = env.command(args).env("PATH", &path).output().unwrap();
        assert!(!out.status.success());
        let text = format!(
            "{}{}",
            String::from_utf8_lossy(&out.stdout),
            String::from_utf8_lossy(&out.stderr)
        );
        assert!(text.contains(&expected), "{args:?}: {text}");
    }
    assert_eq!(env.json(&["list"])[0]["status"], "failed");
}

/// The database's own settings as the server has them: connection limit, grants (the
/// owner's own entry aside), comment, and every `ALTER DATABASE/ROLE … SET` in it.
fn database_properties(db: &str) -> String {
    psql(
        "postgres",
        &format!(
            "SELECT d.datconnlimit || ' | ' || coalesce(( \
                 SELECT string_agg(a::text, ',' ORDER BY a::text) FROM unnest(d.datacl) a \
                 WHERE a::text NOT LIKE 'postgres=%'), '-') \
             || ' | ' || coalesce(shobj_description(d.oid, 'pg_database'), '-') \
             || ' | ' || coalesce(( \
                 SELECT string_agg(coalesce(r.rolname, '*') || ':' || array_to_string(s.setconfig, ','), \
                     ';' ORDER BY r.rolname NULLS FIRST) \
                 FROM pg_db_role_setting s LEFT JOIN pg_roles r ON r.oid = s.setrole \
                 WHERE s.setdatabase = d.oid), '-') \
             FROM pg_database d WHERE d.datname = '{db}'"
        ),
    )
}

#[test]
fn database_settings_grants_and_comment_come_back_with_a_restore() {
    let mut db = TempDb::new();
    let name = db.name.clone();
    let reader = format!("{name}_reader");
    db.roles.push(reader.clone());
    psql("postgres", &format!("CREATE ROLE {reader}"));
    db.sql("CREATE TABLE t (x int); INSERT INTO t VALUES (1), (2)");
    db.sql(&format!(
        "ALTER DATABASE {name} SET search_path TO app, public; \
         ALTER DATABASE {name} SET work_mem = '7MB'; \
         ALTER ROLE {reader} IN DATABASE {name} SET statement_timeout = '5s'; \
         ALTER DATABASE {name} CONNECTION LIMIT 42; \
         REVOKE CONNECT, TEMPORARY ON DATABASE {name} FROM PUBLIC; \
         GRANT CONNECT ON DATABASE {name} TO {reader}; \
         COMMENT ON DATABASE {name} IS 'the shop''s data'"
    ));
    let at_backup = database_properties(&name);
    assert!(
        at_backup.starts_with("42 | ") && at_backup.contains(&format!("{reader}=c/postgres")),
        "{at_backup}"
    );
    let env = TestEnv::new(&Backend::Sqlite, &source(&db.url(), ""));
    let backup = env.backup(&[]);
    let id = backup["id"].as_str().unwrap();

    // Into a new database: the same settings, grants and comment.
    let copy = format!("{name}_copy");
    let out = env.run(&["restore", id, "--sources", "pg", "--target", &copy, "--yes"]);
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(out.status.success(), "{stderr}");
    assert!(!stderr.contains("not applied"), "{stderr}");
    assert_eq!(database_properties(&copy), at_backup);
    assert_eq!(psql(&copy, "SELECT count(*) FROM t"), "2");
    // The original is untouched by the copy's statements.
    assert_eq!(database_properties(&name), at_backup);

    // Over the original, after its settings changed: back as they were at the backup.
    db.sql(&format!(
        "ALTER DATABASE {name} SET work_mem = '1MB'; ALTER DATABASE {name} RESET search_path; \
         ALTER DATABASE {name} CONNECTION LIMIT -1; \
         REVOKE CONNECT ON DATABASE {name} FROM {reader}; \
         COMMENT ON DATABASE {name} IS 'changed'"
    ));
    assert_ne!(database_properties(&name), at_backup);
    let out = env.run(&["restore", id, "--sources", "pg", "--yes"]);
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(out.status.success(), "{stderr}");
    assert!(!stderr.contains("not applied"), "{stderr}");
    assert_eq!(database_properties(&name), at_backup);

    // A role the settings name is gone: the data comes back, the settings do not (all or
    // nothing), and the restore says so.
    psql(
        "postgres",
        &format!(
            "REVOKE CONNECT ON DATABASE {name} FROM {reader}; \
             ALTER ROLE {reader} IN DATABASE {name} RESET ALL; \
             ALTER ROLE {reader} IN DATABASE {copy} RESET ALL; \
             REVOKE CONNECT ON DATABASE {copy} FROM {reader}; DROP ROLE {reader}"
        ),
    );
    let lost = format!("{name}_lost");
    let out = env.run(&["restore", id, "--sources", "pg", "--target", &lost, "--yes"]);
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(out.status.success(), "{stderr}");
    assert!(
        stderr.contains("were not applied") && stderr.contains(&reader),
        "{stderr}"
    );
    assert_eq!(psql(&lost, "SELECT count(*) FROM t"), "2");
    assert!(database_properties(&lost).starts_with("-1 | - | - | -"));
}

/// `pg_restore --list` of the dump of `database` in backup `id` (exported as a .tar.gz).
fn dump_listing(env: &TestEnv, id: &str, database: &str) -> String {
    let exported = env.path(&format!("{id}.tar.gz"));
    env.ok(&["export", id, "-o", exported.to_str().unwrap()]);
    let unpacked = env.path(&format!("{id}-unpacked"));
    std::fs::create_dir_all(&unpacked).unwrap();
    let tar = tool(
        "tar",
        &[
            "-xzf",
            exported.to_str().unwrap(),
            "-C",
            unpacked.to_str().unwrap(),
        ],
    );
    assert!(tar.status.success());
    let dump = unpacked.join(format!("pg/{database}.pgdump"));
    let listing = tool("pg_restore", &["--list", dump.to_str().unwrap()]);
    assert!(listing.status.success());
    String::from_utf8(listing.stdout).unwrap()
}

/// A `pg_dump` put first on `PATH` for one test: the shell script `body`, in which `$REAL` is
/// the `pg_dump` found on `PATH` before. Returns the `PATH` to run Coffer with.
fn path_with_pg_dump(env: &TestEnv, body: &str) -> String {
    let bin = env.path("wrapped-bin");
    std::fs::create_dir_all(&bin).unwrap();
    let real = String::from_utf8(tool("sh", &["-c", "command -v pg_dump"]).stdout).unwrap();
    let script = bin.join("pg_dump");
    std::fs::write(
        &script,
        format!("#!/bin/sh\nREAL='{}'\n{body}\n", real.trim()),
    )
    .unwrap();
    std::fs::set_permissions(&script, std::fs::Permissions::from_mode(0o755)).unwrap();
    format!("{}:{}", bin.display(), std::env::var("PATH").unwrap())
}

/// Dumps are compressed by `pg_dump` (level 1) now; backups made before, with uncompressed
/// (`-Z0`) dumps, still restore.
#[test]
fn dumps_are_compressed_and_uncompressed_ones_of_earlier_versions_restore() {
    let db = TempDb::new();
    db.sql(FIXTURE);
    let env = TestEnv::new(&Backend::Sqlite, &source(&db.url(), ""));
    let now = env.backup(&[]);
    let listing = dump_listing(&env, now["id"].as_str().unwrap(), &db.name);
    assert!(listing.contains("Compression: 1"), "{listing}");

    // A pg_dump that dumps as earlier versions did: `-Z0` last wins over Coffer's level.
    let path = path_with_pg_dump(
        &env,
        "for a; do [ \"$a\" = --version ] && exec \"$REAL\" --version; done\nexec \"$REAL\" \"$@\" --compress=0",
    );
    let out = env
        .command(&["backup", "--json"])
        .env("PATH", &path)
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let old: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    let id = old["id"].as_str().unwrap();
    let listing = dump_listing(&env, id, &db.name);
    assert!(listing.contains("Compression: 0"), "{listing}");

    let copy = format!("{}_copy", db.name);
    env.ok(&["restore", id, "--sources", "pg", "--target", &copy, "--yes"]);
    assert_eq!(contents(&copy), contents(&db.name));
    assert_eq!(schema(&copy), schema(&db.name));
}

/// Every child tool inherits Coffer's environment: the key export's passphrase, given to
/// Coffer as a variable for automation, must not be part of it (`/proc/PID/environ` of a
/// long `pg_dump` is readable by the same user, and a tool may log its environment).
#[test]
fn the_key_passphrase_variable_never_reaches_a_child_tool() {
    let db = TempDb::new();
    db.sql("CREATE TABLE t (x int); INSERT INTO t VALUES (1)");
    let env = TestEnv::new(&Backend::Sqlite, &source(&db.url(), ""));
    // A pg_dump that writes down its environment, then runs the real one.
    let seen = env.path("pg_dump.environment");
    let path = path_with_pg_dump(
        &env,
        &format!("env > '{}'\nexec \"$REAL\" \"$@\"", seen.display()),
    );
    let out = env
        .command(&["backup", "--json"])
        .env("PATH", path)
        .env("COFFER_KEY_PASSPHRASE", "never-for-pg-dump")
        .env("COFFER_CANARY", "inherited")
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let environment = std::fs::read_to_string(&seen).expect("the wrapper ran");
    assert!(
        environment.contains("COFFER_CANARY=inherited"),
        "{environment}"
    );
    assert!(!environment.contains("never-for-pg-dump"), "{environment}");
    assert!(
        !environment.contains("COFFER_KEY_PASSPHRASE"),
        "{environment}"
    );
}
