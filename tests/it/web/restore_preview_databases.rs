//! The confirmation page's database part, against the real servers: rows per table now and
//! in the backup for PostgreSQL, MariaDB and a SQLite file, keys now and in the backup for
//! Redis, "new database" for a target that does not exist yet — and a restore over the
//! originals then leaves exactly the backup's numbers.

use coffer::config::SourceConfig;
use coffer::domain::Role;

use super::harness::TestConsole;
use super::tasks::make_backup;
use crate::helpers::Backend;
use crate::redis_client::Redis;
use crate::servers::{maria, psql, unique_name, DropDatabases};

/// A database of the shared Redis server no other test uses.
const REDIS_DB: u32 = 4;

struct Flush;

impl Drop for Flush {
    fn drop(&mut self) {
        Redis::fresh(REDIS_DB);
    }
}

/// `(rows now, rows in backup)` of `table` in the section of `database`.
fn rows_on(page: &str, database: &str, table: &str) -> (String, String) {
    let at = page
        .find(&format!("data-database=\"{database}\""))
        .unwrap_or_else(|| panic!("no database {database}: {page}"));
    let rest = &page[at..];
    let row = &rest[rest
        .find(&format!("data-table=\"{table}\""))
        .unwrap_or_else(|| panic!("no table {table} in {database}: {page}"))..];
    let cell = |class: &str| {
        let marker = format!("{class}\">");
        let start = row.find(&marker).unwrap() + marker.len();
        row[start..start + row[start..].find('<').unwrap()].to_string()
    };
    (cell("rows-now"), cell("rows-backup"))
}

fn text_of(page: &str, class: &str) -> String {
    let marker = format!("class=\"{class}\">");
    let start = page
        .find(&marker)
        .unwrap_or_else(|| panic!("no {class}: {page}"))
        + marker.len();
    page[start..start + page[start..].find('<').unwrap()].to_string()
}

#[test]
fn rows_and_keys_now_and_in_the_backup_are_the_restore_to_come() {
    let _flush = Flush;
    let name = unique_name("cofferpreview");
    let _drop = DropDatabases(name.clone());
    psql("postgres", &format!("CREATE DATABASE {name}"));
    psql(
        &name,
        "CREATE TABLE orders (id int); INSERT INTO orders SELECT generate_series(1, 10)",
    );
    maria(&format!(
        "CREATE DATABASE {name}; CREATE TABLE {name}.items (id int); \
         INSERT INTO {name}.items VALUES (1), (2), (3)"
    ));
    let mut redis = Redis::fresh(REDIS_DB);
    for key in ["a", "b", "c"] {
        redis.ok(&[b"SET", key.as_bytes(), b"1"]);
    }
    let console = TestConsole::start_with(&Backend::Sqlite, |settings| {
        let root = settings.data_dir.parent().unwrap().to_path_buf();
        let sqlite = root.join("settings.db");
        sqlite_with_one_setting(&sqlite);
        for toml in [
            format!("name = 'shop_db'\nservice = 'shop'\nkind = 'postgres'\nurl = 'postgres://postgres@127.0.0.1:5432/{name}'\nconnect_timeout_seconds = 3"),
            format!("name = 'items'\nservice = 'shop'\nkind = 'mysql'\nurl = 'mysql://root@127.0.0.1:3306/{name}'\nconnect_timeout_seconds = 3"),
            format!("name = 'cache'\nservice = 'shop'\nkind = 'redis'\nurl = 'redis://127.0.0.1:6379/{REDIS_DB}'\nconnect_timeout_seconds = 3"),
            format!("name = 'settings'\nservice = 'shop'\nkind = 'sqlite'\npath = '{}'", sqlite.display()),
        ] {
            settings.sources.push(SourceConfig::from_toml(&toml).unwrap());
        }
    });
    let backup_id = make_backup(&console);
    let admin = console.login_as(Role::Admin);

    // After the backup: 3 more orders and a new table; an item gone; 2 keys more (one
    // expiring); a setting more.
    psql(
        &name,
        "INSERT INTO orders VALUES (11), (12), (13); CREATE TABLE later (id int); \
         INSERT INTO later VALUES (1)",
    );
    maria(&format!("DELETE FROM {name}.items WHERE id = 3"));
    redis.ok(&[b"SET", b"d", b"1"]);
    redis.ok(&[b"SET", b"e", b"1", b"EX", b"600"]);
    let sqlite = console.env.path("settings.db");
    sqlite_exec(&sqlite, "INSERT INTO settings VALUES ('theme', 'dark')");
    let sqlite_before = std::fs::read(&sqlite).unwrap();

    let query = "sources=shop_db&sources=items&sources=cache&sources=settings";
    let page = admin.page(&format!("/backups/{backup_id}/restore/preview?{query}"));
    assert_eq!(
        rows_on(&page, &name, "public.orders"),
        ("13".into(), "10".into())
    );
    assert_eq!(
        rows_on(&page, &name, "public.later"),
        ("1".into(), "–".into())
    );
    assert_eq!(rows_on(&page, &name, "items"), ("2".into(), "3".into()));
    assert_eq!(rows_on(&page, "main", "settings"), ("2".into(), "1".into()));
    assert_eq!(text_of(&page, "keys-now"), "5 (4 without a time to live)");
    assert!(text_of(&page, "keys-backup").starts_with('3'), "{page}");
    assert!(!page.contains("new database"), "every target exists");
    assert_eq!(
        std::fs::read(&sqlite).unwrap(),
        sqlite_before,
        "the live SQLite file was only read"
    );
    assert_eq!(
        psql(&name, "SELECT count(*) FROM orders"),
        "13",
        "nothing restored yet"
    );

    // Into a database that does not exist yet.
    let fresh = format!("{name}_copy");
    let page = admin.page(&format!(
        "/backups/{backup_id}/restore/preview?sources=shop_db&target_database={fresh}"
    ));
    assert!(page.contains("new database"), "{page}");
    assert_eq!(
        rows_on(&page, &name, "public.orders"),
        ("–".into(), "10".into())
    );

    // The restore over the originals leaves the backup's numbers the preview showed.
    let fields: Vec<(&str, &str)> = query
        .split('&')
        .map(|pair| pair.split_once('=').unwrap())
        .chain([("confirm", "yes")])
        .collect();
    let response = admin.post(&format!("/backups/{backup_id}/restore"), &fields);
    assert_eq!(response.status(), 303, "{}", response.text().unwrap());
    console.run_pending_jobs();
    assert_eq!(psql(&name, "SELECT count(*) FROM orders"), "10");
    assert_eq!(
        psql(
            &name,
            "SELECT count(*) FROM pg_tables WHERE tablename = 'later'"
        ),
        "0"
    );
    assert_eq!(maria(&format!("SELECT count(*) FROM {name}.items")), "3");
    let crate::redis_client::Value::Int(keys) = redis.cmd(&[b"DBSIZE"]) else {
        panic!("DBSIZE")
    };
    assert_eq!(keys, 3);
    let page = admin.page(&format!("/backups/{backup_id}/restore/preview?{query}"));
    assert_eq!(
        rows_on(&page, &name, "public.orders"),
        ("10".into(), "10".into())
    );
    assert_eq!(rows_on(&page, "main", "settings"), ("1".into(), "1".into()));
}

/// A SQLite file with table `settings` holding one row (through the `sqlite3` tool).
fn sqlite_with_one_setting(path: &std::path::Path) {
    sqlite_exec(
        path,
        "CREATE TABLE settings (key TEXT, value TEXT); INSERT INTO settings VALUES ('lang', 'en')",
    );
}

fn sqlite_exec(path: &std::path::Path, sql: &str) {
    let out = std::process::Command::new("sqlite3")
        .arg(path)
        .arg(sql)
        .output()
        .expect("sqlite3 runs");
    assert!(
        out.status.success(),
        "sqlite3: {}",
        String::from_utf8_lossy(&out.stderr)
    );
}
