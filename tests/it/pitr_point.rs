//! PostgreSQL point-in-time recovery on a private, WAL-archiving cluster: a PITR source's
//! full backup is a base backup streamed into a Coffer archive; `--to-backup --data-dir`
//! gives a data directory that starts; `--to-time` stops between two commits; `--to-latest`
//! replays everything archived; targets outside the window, a missing or broken WAL file,
//! and a temporary server killed mid-way fail clearly and leave nothing behind (no scratch
//! folder, no postgres process), the original databases as they were.

use std::os::unix::fs::chown;
use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::Duration;

use crate::helpers::*;
use crate::private_postgres::{postgres_user, PrivatePostgres};

/// A private archiving cluster with database `shop`, an install whose source `shop_db`
/// (pitr = true) is it, and a scratch folder the postgres user can use, which Coffer's
/// temporary files go to (`TMPDIR`).
struct Pitr {
    pg: PrivatePostgres,
    env: TestEnv,
    scratch: tempfile::TempDir,
}

impl Pitr {
    fn new() -> Pitr {
        let pg = PrivatePostgres::start_archiving();
        pg.psql("postgres", "CREATE DATABASE shop");
        pg.psql(
            "shop",
            "CREATE TABLE items (id int PRIMARY KEY, note text NOT NULL)",
        );
        let env = TestEnv::new(
            &Backend::Sqlite,
            &format!(
                "[[sources]]\nname = \"shop_db\"\nservice = \"app\"\nkind = \"postgres\"\n\
                 url = \"postgres://postgres@127.0.0.1:{}/shop\"\nconnect_timeout_seconds = 5\n\
                 pitr = true\n",
                pg.port
            ),
        );
        let scratch = tempfile::tempdir().unwrap();
        let (uid, gid) = postgres_user();
        chown(scratch.path(), Some(uid), Some(gid)).unwrap();
        std::fs::create_dir(scratch.path().join("tmp")).unwrap();
        chown(scratch.path().join("tmp"), Some(uid), Some(gid)).unwrap();
        Pitr { pg, env, scratch }
    }

    fn tmp(&self) -> PathBuf {
        self.scratch.path().join("tmp")
    }

    fn coffer(&self, args: &[&str]) -> std::process::Output {
        let mut command = self.env.command(args);
        command.env("TMPDIR", self.tmp());
        command.output().unwrap()
    }

    fn ok(&self, args: &[&str]) -> String {
        let out = self.coffer(args);
        assert!(
            out.status.success(),
            "coffer {args:?} failed:\n{}{}",
            String::from_utf8_lossy(&out.stdout),
            String::from_utf8_lossy(&out.stderr)
        );
        String::from_utf8(out.stdout).unwrap()
    }

    fn fails(&self, args: &[&str]) -> String {
        let out = self.coffer(args);
        assert!(
            !out.status.success(),
            "coffer {args:?} should fail:\n{}",
            String::from_utf8_lossy(&out.stdout)
        );
        String::from_utf8(out.stderr).unwrap()
    }

    fn base_backup(&self) -> String {
        let out = self.ok(&["backup", "--sources", "shop_db", "--json"]);
        let value: serde_json::Value = serde_json::from_str(&out).unwrap();
        assert_eq!(value["status"], "success", "{value}");
        value["id"].as_str().unwrap().to_string()
    }

    fn insert(&self, id: u32, note: &str) {
        self.pg.psql(
            "shop",
            &format!("INSERT INTO items VALUES ({id}, '{note}')"),
        );
    }

    /// The server's clock now, as `--to-time` takes it.
    fn server_now(&self) -> String {
        self.pg.psql(
            "postgres",
            "SELECT to_char(clock_timestamp() AT TIME ZONE 'UTC', \
             'YYYY-MM-DD HH24:MI:SS.US') || '+00'",
        )
    }

    fn wal(&self) -> String {
        self.pg.wal_archive().display().to_string()
    }

    /// A `coffer worker` streaming this source's WAL, once its slot is active.
    fn stream(&self) -> KillOnDrop {
        let worker = self
            .env
            .command(&["worker"])
            .env("TMPDIR", self.tmp())
            .stdout(std::process::Stdio::null())
            .stderr(std::process::Stdio::null())
            .spawn()
            .expect("coffer worker starts");
        let worker = KillOnDrop(worker);
        let streaming = || {
            self.pg.psql(
                "postgres",
                "SELECT count(*) FROM pg_replication_slots \
                 WHERE slot_name = 'coffer_shop_db' AND active",
            ) == "1"
        };
        assert!(within(Duration::from_secs(30), streaming), "never streamed");
        worker
    }

    /// Ends the current WAL segment and waits until the streamer stored it.
    fn switch_and_wait_stored(&self) {
        let last = self
            .pg
            .psql("postgres", "SELECT pg_walfile_name(pg_switch_wal())");
        let app = self.env.app();
        let stored = || {
            coffer::db::WalSegment::find(&mut app.conn().unwrap(), "shop_db", &last, false)
                .unwrap()
                .is_some()
        };
        assert!(within(Duration::from_secs(60), stored), "{last} not stored");
    }

    /// Nothing of a recovery is left: no scratch folder, no temporary server.
    fn assert_nothing_left(&self) {
        let tmp: Vec<_> = std::fs::read_dir(self.tmp()).unwrap().flatten().collect();
        assert!(tmp.is_empty(), "left in TMPDIR: {tmp:?}");
        let data_tmp = self.env.path("data/tmp");
        if data_tmp.exists() {
            let left: Vec<_> = std::fs::read_dir(&data_tmp)
                .unwrap()
                .flatten()
                .map(|e| e.file_name())
                .filter(|n| n.to_string_lossy().contains("pitr"))
                .collect();
            assert!(left.is_empty(), "left in data/tmp: {left:?}");
        }
        let servers = processes_with(&self.tmp().display().to_string());
        assert!(servers.is_empty(), "temporary servers left: {servers:?}");
        let staging = self.pg.psql(
            "postgres",
            "SELECT count(*) FROM pg_database WHERE datname LIKE '%coffer_staging%'",
        );
        assert_eq!(staging, "0");
    }
}

fn rows(pg: &PrivatePostgres, db: &str) -> String {
    pg.psql(
        db,
        "SELECT string_agg(id::text, ',' ORDER BY id) FROM items",
    )
}

/// Starts a data directory as postgres on a free port, runs `sql` in `db`, stops it.
fn query_data_dir(data: &Path, db: &str, sql: &str) -> String {
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    let socket = data.parent().unwrap();
    let log = socket.join("check.log");
    let as_postgres = |args: &[&str]| {
        let out = Command::new("runuser")
            .args(["-u", "postgres", "--"])
            .args(args)
            .current_dir(socket)
            .output()
            .unwrap();
        assert!(
            out.status.success(),
            "{args:?}: {}{}{}",
            String::from_utf8_lossy(&out.stdout),
            String::from_utf8_lossy(&out.stderr),
            std::fs::read_to_string(&log).unwrap_or_default()
        );
        String::from_utf8(out.stdout).unwrap().trim().to_string()
    };
    let options = format!(
        "-p {port} -k {} -c listen_addresses=127.0.0.1",
        socket.display()
    );
    let data_text = data.display().to_string();
    let log_text = log.display().to_string();
    as_postgres(&[
        "pg_ctl", "-D", &data_text, "-w", "-o", &options, "-l", &log_text, "start",
    ]);
    let port_text = port.to_string();
    let rows = as_postgres(&[
        "psql",
        "-h",
        "127.0.0.1",
        "-p",
        &port_text,
        "-U",
        "postgres",
        "-X",
        "-A",
        "-t",
        "-d",
        db,
        "-c",
        sql,
    ]);
    as_postgres(&["pg_ctl", "-D", &data_text, "-w", "-m", "fast", "stop"]);
    rows
}

#[test]
fn a_base_backup_is_an_archive_and_restores_alone_into_a_data_dir() {
    let t = Pitr::new();
    t.insert(1, "before");
    let id = t.base_backup();
    t.insert(2, "after");

    let verified = t.ok(&["verify", &id, "--deep"]);
    assert!(
        verified.contains("ok") || verified.contains("passed"),
        "{verified}"
    );
    let app = t.env.app();
    let manifest = coffer::jobs::archives::load_manifest(&mut app.conn().unwrap(), &id).unwrap();
    let paths: Vec<&str> = manifest.files.iter().map(|f| &*f.path).collect();
    for wanted in [
        "shop_db",
        "shop_db/pgdata",
        "shop_db/pgdata/PG_VERSION",
        "shop_db/pgdata/backup_label",
        "shop_db/pgdata/global/pg_control",
    ] {
        assert!(paths.contains(&wanted), "{wanted} not in {paths:?}");
    }
    assert!(manifest
        .files
        .iter()
        .filter(|f| f.kind == coffer::engine::manifest::EntryKind::File)
        .all(|f| f.sha256.is_some()));
    assert!(
        paths
            .iter()
            .any(|p| p.starts_with("shop_db/pgdata/pg_wal/0000000")),
        "-X fetch puts the backup's WAL in: {paths:?}"
    );
    let facts = manifest.sources[0].base_backup.clone().unwrap();
    assert_eq!((facts.server_major, facts.timeline), (15, 1));
    assert!(facts.start_time <= facts.stop_time);
    assert_eq!(facts.start_segment.len(), 24);

    // A plain restore of a base backup is refused with what to do instead.
    let refused = t.fails(&["restore", &id, "--yes", "--target", "elsewhere"]);
    assert!(refused.contains("--to-backup"), "{refused}");

    let out = t.scratch.path().join("out");
    std::fs::create_dir(&out).unwrap();
    let (uid, gid) = postgres_user();
    chown(&out, Some(uid), Some(gid)).unwrap();
    let data = out.join("restored");
    let said = t.ok(&[
        "restore",
        "--source",
        "shop_db",
        "--to-backup",
        &id,
        "--data-dir",
        data.to_str().unwrap(),
    ]);
    assert!(said.contains("data directory ready"), "{said}");
    assert!(!data.join("recovery.signal").exists());
    let auto = std::fs::read_to_string(data.join("postgresql.auto.conf")).unwrap();
    assert!(!auto.contains("Coffer"), "{auto}");
    assert_eq!(
        query_data_dir(&data, "shop", "SELECT string_agg(id::text, ',') FROM items"),
        "1"
    );
    t.assert_nothing_left();

    // A folder that is not empty is refused before anything is written.
    let refused = t.fails(&[
        "restore",
        "--source",
        "shop_db",
        "--to-backup",
        &id,
        "--data-dir",
        data.to_str().unwrap(),
    ]);
    assert!(refused.contains("is not empty"), "{refused}");
}

#[test]
fn a_time_between_two_commits_gives_the_first_and_not_the_second() {
    let t = Pitr::new();
    let id = t.base_backup();
    t.insert(1, "A");
    let between = t.server_now();
    std::thread::sleep(Duration::from_millis(1100));
    t.insert(2, "B");
    t.pg.switch_wal();
    let wal = t.wal();

    t.ok(&[
        "restore",
        "--source",
        "shop_db",
        "--to-time",
        &between,
        "--wal-dir",
        &wal,
        "--target",
        "shop_at_a",
        "--yes",
    ]);
    assert_eq!(rows(&t.pg, "shop_at_a"), "1");
    // The base backup is chosen by itself: the newest that ends before the target.
    t.ok(&[
        "restore",
        &id,
        "--source",
        "shop_db",
        "--to-latest",
        "--wal-dir",
        &wal,
        "--target",
        "shop_latest",
        "--yes",
    ]);
    assert_eq!(rows(&t.pg, "shop_latest"), "1,2");
    assert_eq!(rows(&t.pg, "shop"), "1,2", "the original is untouched");
    t.assert_nothing_left();
}

#[test]
fn targets_outside_the_window_and_broken_wal_are_refused_leaving_nothing() {
    let t = Pitr::new();
    t.insert(1, "A");
    let id = t.base_backup();
    t.insert(2, "B");
    t.pg.switch_wal();
    t.insert(3, "C");
    t.pg.switch_wal();
    t.insert(4, "D");
    let at_d = t.pg.psql("postgres", "SELECT pg_current_wal_lsn()");
    t.pg.switch_wal();
    let wal = t.wal();
    let restore_to_time = |time: &str, wal: &str| {
        t.fails(&[
            "restore",
            "--source",
            "shop_db",
            "--to-time",
            time,
            "--wal-dir",
            wal,
            "--target",
            "shop_x",
            "--yes",
        ])
    };
    // Before every base backup: none to start from, and where the window starts.
    let refused = restore_to_time("2020-01-01 00:00:00+00", &wal);
    assert!(
        refused.contains("its recoverable window starts there"),
        "{refused}"
    );
    let refused = restore_to_time("2099-01-01 00:00:00+01", &wal);
    assert!(
        refused.contains("outside the recoverable window from"),
        "{refused}"
    );
    let refused = t.fails(&[
        "restore",
        &id,
        "--source",
        "shop_db",
        "--to-time",
        "2020-01-01 00:00:00+00",
        "--wal-dir",
        &wal,
        "--target",
        "shop_x",
        "--yes",
    ]);
    assert!(
        refused.contains("outside the recoverable window from"),
        "{refused}"
    );
    // Bad input says what is wrong.
    let refused = restore_to_time("2026-12-07 14:31:59", &wal);
    assert!(refused.contains("no UTC offset"), "{refused}");
    let refused = t.fails(&[
        "restore",
        "--source",
        "shop_db",
        "--to-lsn",
        "12",
        "--wal-dir",
        &wal,
    ]);
    assert!(refused.contains("is not a WAL position"), "{refused}");
    let refused = t.fails(&[
        "restore",
        "--source",
        "shop_db",
        "--to-latest",
        "--target",
        "x",
        "--yes",
    ]);
    // Nothing streamed this source's WAL into Coffer's archive (this test's server archives
    // it to a folder of its own): refused, saying how WAL gets there.
    assert!(refused.contains("has no WAL archived"), "{refused}");

    // The WAL files after the base backup, in order: take out the middle one.
    let mut names: Vec<String> = std::fs::read_dir(t.pg.wal_archive())
        .unwrap()
        .flatten()
        .map(|e| e.file_name().to_string_lossy().into_owned())
        .filter(|n| n.len() == 24)
        .collect();
    names.sort();
    let copy = |into: &Path| {
        std::fs::create_dir(into).unwrap();
        for name in &names {
            std::fs::copy(t.pg.wal_archive().join(name), into.join(name)).unwrap();
        }
        let (uid, gid) = postgres_user();
        chown(into, Some(uid), Some(gid)).unwrap();
    };
    let gap = t.scratch.path().join("gap");
    copy(&gap);
    let middle = &names[names.len() - 2];
    std::fs::remove_file(gap.join(middle)).unwrap();
    let refused = t.fails(&[
        "restore",
        "--source",
        "shop_db",
        "--to-latest",
        "--wal-dir",
        gap.to_str().unwrap(),
        "--target",
        "shop_x",
        "--yes",
    ]);
    assert!(
        refused.contains(&format!("WAL file {middle} is missing")),
        "{refused}"
    );
    t.assert_nothing_left();

    // A broken file (same name, other bytes): the temporary server runs, recovery stops
    // at it, and the restore fails saying so — with the server gone and its folder removed.
    let broken = t.scratch.path().join("broken");
    copy(&broken);
    std::fs::write(broken.join(middle), vec![0x5a; 16 * 1024 * 1024]).unwrap();
    let refused = t.fails(&[
        "restore",
        "--source",
        "shop_db",
        "--to-lsn",
        &at_d,
        "--wal-dir",
        broken.to_str().unwrap(),
        "--target",
        "shop_x",
        "--yes",
    ]);
    assert!(refused.contains("recovery failed"), "{refused}");
    assert!(
        refused.contains("before the target was reached"),
        "{refused}"
    );
    t.assert_nothing_left();
    // Without a target PostgreSQL would stop at the broken file and call it the end: the
    // restore checks that the replay reached the newest file.
    let refused = t.fails(&[
        "restore",
        "--source",
        "shop_db",
        "--to-latest",
        "--wal-dir",
        broken.to_str().unwrap(),
        "--target",
        "shop_x",
        "--yes",
    ]);
    assert!(refused.contains("stopped at"), "{refused}");
    t.assert_nothing_left();
    assert_eq!(
        t.pg.psql(
            "postgres",
            "SELECT count(*) FROM pg_database WHERE datname = 'shop_x'"
        ),
        "0"
    );
}

#[test]
fn over_the_original_the_staged_switch_keeps_it_whole_when_recovery_is_killed() {
    let t = Pitr::new();
    // Enough rows that recovering and dumping take a moment to catch the server in.
    t.pg.psql(
        "shop",
        "CREATE TABLE bulk AS SELECT g AS id, md5(g::text) AS body FROM generate_series(1, 300000) g",
    );
    let id = t.base_backup();
    t.insert(1, "A");
    let between = t.server_now();
    std::thread::sleep(Duration::from_millis(1100));
    t.insert(2, "B");
    t.pg.switch_wal();
    let wal = t.wal();
    let args = [
        "restore",
        "--source",
        "shop_db",
        "--to-time",
        &between,
        "--wal-dir",
        &wal,
        "--yes",
    ];

    let mut running = t.env.command(&args);
    running.env("TMPDIR", t.tmp());
    // Files, not pipes: a full pipe nobody reads would stop Coffer.
    let said_to = t.scratch.path().join("said.txt");
    let mut child = running
        .stdout(std::fs::File::create(t.scratch.path().join("out.txt")).unwrap())
        .stderr(std::fs::File::create(&said_to).unwrap())
        .spawn()
        .unwrap();
    let tmp = t.tmp().display().to_string();
    let data = t.env.path("data").display().to_string();
    let mut killed = false;
    let mut ended = false;
    assert!(
        within(Duration::from_secs(120), || {
            if let Ok(Some(_)) = child.try_wait() {
                ended = true;
                return true;
            }
            // Its scratch folder is in TMPDIR or in Coffer's data folder.
            for (pid, line) in processes_with("coffer-pitr-") {
                let ours = line.contains(&tmp) || line.contains(&data);
                if ours && line.contains("postgres") && line.contains(" -D ") {
                    unsafe { libc::kill(pid as i32, libc::SIGKILL) };
                    killed = true;
                    return true;
                }
            }
            false
        }),
        "the temporary server never ran"
    );
    let status = child.wait().unwrap();
    let said = std::fs::read_to_string(&said_to).unwrap();
    assert!(
        killed && !ended,
        "the restore ended first ({status}): {said}"
    );
    assert!(!status.success(), "{said}");
    assert!(
        said.contains("recovery failed") || said.contains("pg_dump"),
        "{said}"
    );
    assert_eq!(rows(&t.pg, "shop"), "1,2", "the original is as it was");
    t.assert_nothing_left();

    // The same restore, not disturbed, goes through the switch with a safety backup.
    let said = t.ok(&args);
    assert!(said.contains("safety backup"), "{said}");
    assert_eq!(rows(&t.pg, "shop"), "1");
    assert_eq!(t.pg.psql("shop", "SELECT count(*) FROM bulk"), "300000");
    t.assert_nothing_left();
    // The safety backup is a base backup of the state before the restore.
    let list = t.ok(&["list", "--json"]);
    assert!(list.contains("safety"), "{list}");
    let _ = id;
}

#[test]
fn a_logical_backup_stays_available_and_an_incremental_is_a_whole_base_backup() {
    let t = Pitr::new();
    t.insert(1, "A");
    let out = t.ok(&["backup", "--sources", "shop_db", "--logical", "--json"]);
    let logical: serde_json::Value = serde_json::from_str(&out).unwrap();
    let logical_id = logical["id"].as_str().unwrap();
    let app = t.env.app();
    let manifest =
        coffer::jobs::archives::load_manifest(&mut app.conn().unwrap(), logical_id).unwrap();
    assert!(manifest.sources[0].base_backup.is_none());
    assert!(manifest
        .files
        .iter()
        .any(|f| &*f.path == "shop_db/shop.pgdump"));
    t.ok(&["restore", logical_id, "--target", "shop_logical", "--yes"]);
    assert_eq!(rows(&t.pg, "shop_logical"), "1");
    // A logical backup is no base backup to recover from.
    let refused = t.fails(&[
        "restore",
        "--source",
        "shop_db",
        "--to-backup",
        logical_id,
        "--data-dir",
        "/tmp/x",
    ]);
    assert!(refused.contains("logical dump"), "{refused}");

    let out = t.ok(&[
        "backup",
        "--sources",
        "shop_db",
        "--kind",
        "incremental",
        "--json",
    ]);
    let incremental: serde_json::Value = serde_json::from_str(&out).unwrap();
    let id = incremental["id"].as_str().unwrap();
    let manifest = coffer::jobs::archives::load_manifest(&mut app.conn().unwrap(), id).unwrap();
    assert!(manifest.sources[0].base_backup.is_some());
    assert!(manifest
        .files
        .iter()
        .filter(|f| f.path.starts_with("shop_db/pgdata/"))
        .all(|f| f.stored_in.is_none()));
    assert!(
        incremental.to_string().contains("base backup"),
        "{incremental}"
    );
}

#[test]
fn a_restore_killed_after_switching_the_original_is_rolled_back_whole() {
    let t = Pitr::new();
    t.base_backup();
    t.insert(1, "A");
    let between = t.server_now();
    std::thread::sleep(Duration::from_millis(1100));
    t.insert(2, "B");
    t.pg.switch_wal();
    let wal = t.wal();
    let mut command = t.env.command(&[
        "restore",
        "--source",
        "shop_db",
        "--to-time",
        &between,
        "--wal-dir",
        &wal,
        "--yes",
    ]);
    command.env("TMPDIR", t.tmp());
    // Killed with the recovered database already in place of the original.
    run_killed_at(command, "restore:database-switched");
    t.ok(&["recover"]);
    assert_eq!(rows(&t.pg, "shop"), "1,2", "rolled back to the original");
    t.assert_nothing_left();
}

/// The whole of PITR through Coffer: `coffer worker` streams the WAL into storage, and a
/// restore to a time or to the latest point fetches it from there (no `--wal-dir`), every
/// segment checked before the temporary server replays it.
#[test]
fn a_restore_replays_the_wal_coffer_streamed_into_its_storage() {
    let t = Pitr::new();
    let mut worker = t.stream();
    t.base_backup();
    t.insert(1, "A");
    let between = t.server_now();
    std::thread::sleep(Duration::from_millis(1100));
    t.insert(2, "B");
    t.switch_and_wait_stored();
    worker.kill().unwrap();
    worker.wait().unwrap();

    t.ok(&[
        "restore",
        "--source",
        "shop_db",
        "--to-time",
        &between,
        "--target",
        "shop_at_a",
        "--yes",
    ]);
    assert_eq!(rows(&t.pg, "shop_at_a"), "1");
    t.ok(&[
        "restore",
        "--source",
        "shop_db",
        "--to-latest",
        "--target",
        "shop_latest",
        "--yes",
    ]);
    assert_eq!(rows(&t.pg, "shop_latest"), "1,2");
    assert_eq!(rows(&t.pg, "shop"), "1,2", "the original is untouched");
    t.assert_nothing_left();
}

/// WAL retention: deleting the oldest base backup prunes the archived WAL only it needed
/// (catalogue rows and storage objects), keeps everything from the next base backup's start
/// on, and that one still recovers to the latest point.
#[test]
fn deleting_the_oldest_base_backup_prunes_only_the_wal_it_alone_needed() {
    let t = Pitr::new();
    let mut worker = t.stream();
    t.base_backup();
    t.insert(1, "A");
    t.switch_and_wait_stored();
    let second = t.base_backup();
    t.insert(2, "B");
    t.switch_and_wait_stored();
    worker.kill().unwrap();
    worker.wait().unwrap();

    let app = t.env.app();
    let start = coffer::jobs::pitr::base::base_backup(&app, &second, "shop_db")
        .unwrap()
        .facts
        .start_segment;
    let segments = || -> Vec<String> {
        coffer::db::WalSegment::list(&mut app.conn().unwrap(), "shop_db")
            .unwrap()
            .into_iter()
            .filter(|s| !s.partial && !s.name.ends_with(".history"))
            .map(|s| s.name)
            .collect()
    };
    let before = segments();
    let older: Vec<String> = before.iter().filter(|n| **n < start).cloned().collect();
    assert!(
        !older.is_empty(),
        "WAL before {start} was archived: {before:?}"
    );

    t.ok(&[
        "cleanup",
        "--scope",
        "sources:shop_db",
        "--keep-last",
        "1",
        "--confirm",
    ]);
    let kept: Vec<String> = before.iter().filter(|n| **n >= start).cloned().collect();
    assert_eq!(
        segments(),
        kept,
        "only what the second base backup needs stays"
    );
    for name in &older {
        let key = coffer::jobs::pitr::wal::object_key("shop_db", name, false, true);
        assert!(!t.env.path("backups").join(&key).exists(), "{key} left");
    }
    for name in &kept {
        let key = coffer::jobs::pitr::wal::object_key("shop_db", name, false, true);
        assert!(t.env.path("backups").join(&key).exists(), "{key} gone");
    }

    t.ok(&[
        "restore",
        "--source",
        "shop_db",
        "--to-latest",
        "--target",
        "shop_latest",
        "--yes",
    ]);
    assert_eq!(rows(&t.pg, "shop_latest"), "1,2");
    t.assert_nothing_left();
}
