//! Continuous WAL archiving of a PITR source, against a private PostgreSQL cluster per test
//! (wal_level=replica, replication allowed from 127.0.0.1) and the real `coffer worker`
//! process: segments land in storage byte for byte, a partial segment is flushed on time,
//! nothing is lost while Coffer is down, one process streams at a time, and tampered
//! storage is caught.

use std::fs;
use std::path::{Path, PathBuf};
use std::process::{Child, Stdio};
use std::time::Duration;

use coffer::db::{WalSegment, WalStreamer};
use coffer::jobs::pitr::wal::fetch_wal;

use crate::helpers::*;
use crate::private_postgres::PrivatePostgres;

/// Lease time 3 s (`[workers] heartbeat_timeout_seconds`), partial flush every second.
fn pitr_env(backend: &Backend, server: &PrivatePostgres, replica: bool) -> TestEnv {
    let replica = if replica {
        "[[storage.replicas]]\nname = \"second\"\npath = \"{root}/replica\"\n\n"
    } else {
        ""
    };
    TestEnv::new(
        backend,
        &format!(
            "{replica}[workers]\nheartbeat_timeout_seconds = 3\n\n[[sources]]\nname = \"shop\"\n\
             service = \"app\"\nkind = \"postgres\"\nurl = \"{}\"\npitr = true\n\
             wal_flush_seconds = 1\n",
            server.url()
        ),
    )
}

/// A `coffer worker` process, killed if the test ends (or fails) without stopping it.
fn start_worker(env: &TestEnv) -> KillOnDrop {
    KillOnDrop(
        env.command(&["worker"])
            .env("COFFER_LOG", "info")
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .expect("coffer worker starts"),
    )
}

/// Waits until `pg_receivewal` streams from the slot: WAL written before the slot existed
/// is not the archive's.
fn wait_streaming(server: &PrivatePostgres) {
    let active = || {
        server.psql(
            "postgres",
            "SELECT count(*) FROM pg_replication_slots WHERE slot_name = 'coffer_shop' AND active",
        ) == "1"
    };
    assert!(
        within(Duration::from_secs(30), active),
        "pg_receivewal never streamed"
    );
}

fn kill_hard(child: &mut Child) {
    child.kill().unwrap();
    child.wait().unwrap();
}

fn stop_cleanly(child: &mut Child) {
    // SAFETY: kill(2) on the pid of a child this test started and has not reaped.
    assert_eq!(
        unsafe { libc::kill(child.id() as libc::pid_t, libc::SIGINT) },
        0
    );
    let exited = within(Duration::from_secs(30), || {
        child.try_wait().unwrap().is_some()
    });
    assert!(exited, "coffer worker did not stop on SIGINT");
    assert!(child.wait().unwrap().success());
}

/// Writes some WAL and switches to a new segment; returns the segment just finished.
fn write_and_switch(server: &PrivatePostgres, round: u32) -> String {
    server.psql(
        "postgres",
        &format!(
            "CREATE TABLE IF NOT EXISTS t (n int, note text); \
             INSERT INTO t SELECT g, 'round {round}' FROM generate_series(1, 2000) g"
        ),
    );
    server.psql("postgres", "SELECT pg_walfile_name(pg_switch_wal())")
}

fn stored(env: &TestEnv, name: &str) -> bool {
    let app = env.app();
    let found = WalSegment::find(&mut app.conn().unwrap(), "shop", name, false).unwrap();
    found.is_some()
}

fn wait_stored(env: &TestEnv, name: &str) {
    assert!(
        within(Duration::from_secs(60), || stored(env, name)),
        "segment {name} was not stored"
    );
}

/// Every finished segment fetched into `dir` up to `last` is the server's file byte for byte.
fn assert_identical_to_server(server: &PrivatePostgres, dir: &Path, last: &str) -> usize {
    let mut compared = 0;
    let mut names: Vec<String> = fs::read_dir(dir)
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().to_string())
        .filter(|n| n.len() == 24 && n.as_str() <= last)
        .collect();
    names.sort();
    for name in &names {
        let ours = fs::read(dir.join(name)).unwrap();
        let theirs = fs::read(server.data().join("pg_wal").join(name)).unwrap();
        assert!(ours == theirs, "segment {name} differs from the server's");
        compared += 1;
    }
    compared
}

/// The value of `metric{source="shop"}` in `/metrics` as rendered now.
fn shop_metric(app: &coffer::app::App, metric: &str) -> Option<f64> {
    let text = coffer::web::metrics::render(app).unwrap();
    let prefix = format!("{metric}{{source=\"shop\"}} ");
    text.lines()
        .find_map(|line| line.strip_prefix(&prefix))
        .map(|value| value.parse().unwrap())
}

fn first_segment(env: &TestEnv) -> String {
    let app = env.app();
    let rows = WalSegment::list(&mut app.conn().unwrap(), "shop").unwrap();
    rows.into_iter()
        .filter(|r| r.name.len() == 24)
        .map(|r| r.name)
        .min()
        .expect("a stored segment")
}

#[test]
fn streaming_stores_finished_segments_byte_for_byte() {
    let server = PrivatePostgres::start_for_replication();
    let env = pitr_env(&Backend::Sqlite, &server, false);
    let mut worker = start_worker(&env);
    wait_streaming(&server);
    let mut last = String::new();
    for round in 0..2 {
        last = write_and_switch(&server, round);
        wait_stored(&env, &last);
    }
    let key = env.path(&format!("backups/pitr/shop/wal/{last}.gz.enc"));
    assert!(key.is_file(), "{} is not in storage", key.display());
    let spool = env.path(&format!("data/pitr/shop/spool/{last}"));
    assert!(!spool.exists(), "a stored segment stays in the spool");

    let app = env.app();
    let out = tempfile::tempdir().unwrap();
    let fetched = fetch_wal(&app, "shop", &first_segment(&env), None, out.path()).unwrap();
    assert!(fetched.gaps.is_empty(), "{:?}", fetched.gaps);
    assert!(fetched.segments >= 2, "{fetched:?}");
    assert!(assert_identical_to_server(&server, out.path(), &last) >= 2);
    assert_eq!(shop_metric(&app, "coffer_wal_streaming"), Some(1.0));
    let lag = shop_metric(&app, "coffer_wal_archive_lag_seconds").expect("a lag");
    assert!((0.0..30.0).contains(&lag), "{lag}");
    stop_cleanly(&mut worker);
    let lease = WalStreamer::find(&mut app.conn().unwrap(), "shop").unwrap();
    assert!(
        lease.is_none(),
        "a clean stop gives the lease up: {lease:?}"
    );
    assert_eq!(shop_metric(&app, "coffer_wal_streaming"), Some(0.0));
}

#[test]
fn a_commit_reaches_storage_within_the_flush_interval_without_a_segment_switch() {
    let server = PrivatePostgres::start_for_replication();
    let env = pitr_env(&Backend::Sqlite, &server, false);
    let mut worker = start_worker(&env);
    wait_streaming(&server);
    // Streaming runs once a first segment went through.
    let first = write_and_switch(&server, 0);
    wait_stored(&env, &first);

    let marker = "coffer-partial-marker-31415";
    server.psql(
        "postgres",
        &format!("CREATE TABLE p (note text); INSERT INTO p VALUES ('{marker}')"),
    );
    let committed = std::time::Instant::now();
    let app = env.app();
    let out = tempfile::tempdir().unwrap();
    let holds_marker = |dir: &PathBuf| {
        let fetched = fetch_wal(&app, "shop", &first, None, dir).unwrap();
        let newest = fetched.newest.expect("a newest segment");
        let bytes = fs::read(dir.join(newest)).unwrap();
        bytes.windows(marker.len()).any(|w| w == marker.as_bytes())
    };
    let dir = out.path().to_path_buf();
    assert!(
        within(Duration::from_secs(10), || holds_marker(&dir)),
        "the commit never reached the stored partial segment"
    );
    // Flushed every second, looked at every quarter: well within 3 s on a busy machine.
    assert!(
        committed.elapsed() < Duration::from_secs(5),
        "took {:?}",
        committed.elapsed()
    );
    let partials = WalSegment::partials(&mut app.conn().unwrap(), "shop").unwrap();
    assert_eq!(partials.len(), 1, "{partials:?}");
    stop_cleanly(&mut worker);
}

#[test]
fn wal_written_while_coffer_is_down_is_archived_without_a_gap() {
    let server = PrivatePostgres::start_for_replication();
    let env = pitr_env(&Backend::Sqlite, &server, false);
    let mut worker = start_worker(&env);
    wait_streaming(&server);
    let first = write_and_switch(&server, 0);
    wait_stored(&env, &first);
    kill_hard(&mut worker);
    let spool = env.path("data/pitr/shop/spool").display().to_string();
    assert!(
        within(Duration::from_secs(10), || processes_with(&spool)
            .is_empty()),
        "pg_receivewal outlived the killed coffer"
    );

    let mut last = String::new();
    for round in 1..4 {
        last = write_and_switch(&server, round);
    }
    let mut worker = start_worker(&env);
    wait_stored(&env, &last);
    let app = env.app();
    let out = tempfile::tempdir().unwrap();
    let fetched = fetch_wal(&app, "shop", &first, None, out.path()).unwrap();
    assert!(fetched.gaps.is_empty(), "{:?}", fetched.gaps);
    assert!(assert_identical_to_server(&server, out.path(), &last) >= 4);
    stop_cleanly(&mut worker);
}

/// The pid in a lease owner `host:pid:random`.
fn owner_pid(app: &coffer::app::App) -> Option<u32> {
    let lease = WalStreamer::find(&mut app.conn().unwrap(), "shop").ok()??;
    if !lease.streaming {
        return None;
    }
    lease.owner.split(':').nth(1)?.parse().ok()
}

#[test]
fn one_process_streams_and_another_takes_over_when_it_dies() {
    let server = PrivatePostgres::start_for_replication();
    let env = pitr_env(&Backend::Postgres, &server, false);
    let mut one = start_worker(&env);
    let mut two = start_worker(&env);
    let app = env.app();
    assert!(within(Duration::from_secs(30), || owner_pid(&app).is_some()));
    let spool = env.path("data/pitr/shop/spool").display().to_string();
    // Both have had several lease rounds: still one pg_receivewal.
    std::thread::sleep(Duration::from_secs(4));
    assert_eq!(
        processes_with(&spool).len(),
        1,
        "{:?}",
        processes_with(&spool)
    );
    let owner = owner_pid(&app).unwrap();
    let (dead, survivor) = if owner == one.id() {
        (&mut one, &mut two)
    } else {
        (&mut two, &mut one)
    };
    assert_eq!(owner, dead.id(), "the owner is one of the two workers");

    kill_hard(dead);
    let killed = std::time::Instant::now();
    let survivor_pid = survivor.id();
    assert!(
        within(Duration::from_secs(20), || owner_pid(&app)
            == Some(survivor_pid)),
        "the other worker did not take over"
    );
    // Lease 3 s, tried every second, then the slot and pg_receivewal.
    assert!(
        killed.elapsed() < Duration::from_secs(12),
        "took {:?}",
        killed.elapsed()
    );
    let name = write_and_switch(&server, 1);
    wait_stored(&env, &name);
    assert_eq!(processes_with(&spool).len(), 1);
    stop_cleanly(survivor);
}

#[test]
fn a_tampered_segment_is_read_from_a_good_replica_or_refused_by_name() {
    let server = PrivatePostgres::start_for_replication();
    let env = pitr_env(&Backend::Sqlite, &server, true);
    let mut worker = start_worker(&env);
    wait_streaming(&server);
    let name = write_and_switch(&server, 0);
    wait_stored(&env, &name);
    stop_cleanly(&mut worker);
    let key = format!("pitr/shop/wal/{name}.gz.enc");
    let flip = |root: &str| {
        let path = env.path(root).join(&key);
        let mut bytes = fs::read(&path).unwrap();
        let middle = bytes.len() / 2;
        bytes[middle] ^= 0x01;
        fs::write(&path, bytes).unwrap();
    };
    let app = env.app();

    flip("backups");
    let out = tempfile::tempdir().unwrap();
    fetch_wal(&app, "shop", &name, None, out.path()).expect("the replica's copy is good");
    assert_identical_to_server(&server, out.path(), &name);

    flip("replica");
    let out = tempfile::tempdir().unwrap();
    let err = fetch_wal(&app, "shop", &name, None, out.path())
        .unwrap_err()
        .to_string();
    assert!(err.contains(&name), "{err}");
    assert!(
        !out.path().join(&name).exists(),
        "a bad segment was written"
    );
}

#[test]
fn sources_check_names_what_the_server_lacks_for_wal_streaming() {
    let server = PrivatePostgres::start_with(&["wal_level=minimal", "max_wal_senders=0"]);
    let env = pitr_env(&Backend::Sqlite, &server, false);
    let out = env.run(&["sources", "check", "shop"]);
    assert!(!out.status.success());
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(
        text.contains("ALTER SYSTEM SET wal_level = replica;"),
        "{text}"
    );
    assert!(
        text.contains("ALTER SYSTEM SET max_wal_senders = 10;"),
        "{text}"
    );
    assert!(text.contains("restart"), "{text}");

    // A server that streams, and a role that may not.
    let ready = PrivatePostgres::start_for_replication();
    ready.psql("postgres", "CREATE ROLE clerk LOGIN");
    let url = format!("postgres://clerk@127.0.0.1:{}/postgres", ready.port);
    let env = TestEnv::new(
        &Backend::Sqlite,
        &format!(
            "[[sources]]\nname = \"shop\"\nservice = \"app\"\nkind = \"postgres\"\n\
             url = \"{url}\"\npitr = true\n"
        ),
    );
    let out = env.run(&["sources", "check", "shop"]);
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(!out.status.success(), "{text}");
    assert!(text.contains("ALTER ROLE \"clerk\" REPLICATION;"), "{text}");
    assert!(!text.contains("wal_level is"), "{text}");

    ready.psql("postgres", "ALTER ROLE clerk REPLICATION");
    let text = env.ok(&["sources", "check", "shop"]);
    assert!(
        text.contains("a replication connection is accepted"),
        "{text}"
    );
    assert!(text.contains("replication slot coffer_shop"), "{text}");
}
