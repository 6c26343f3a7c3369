//! Several processes on one PostgreSQL: two `coffer worker` processes and one
//! `coffer serve --no-workers` share the queue. One worker is killed (SIGKILL) while it runs
//! a backup: the heartbeat reaper fails that task within the bounded time, the web process's
//! live stream of it ends `failed`, its source lock is free again, every other queued task
//! ends exactly once, and every successful backup verifies.

use std::fs;
use std::io::{BufRead, BufReader};
use std::process::{Child, Stdio};
use std::time::{Duration, Instant};

use coffer::db::{Backup, LogEntry, LogFilter, NewUser, Task, User};
use coffer::domain::{BackupKind, Role, Scope, Status, VerifyDepth};
use coffer::jobs::backup::{run_backup, BackupRequest};
use coffer::jobs::queue::JobQueue;
use coffer::jobs::submit::{submit_backup, submit_verify};
use coffer::jobs::verify::VerifyRequest;
use reqwest::redirect::Policy;

use crate::helpers::*;
use crate::web::harness::{Browser, PASSWORD};
use crate::web::tasks::read_events;

/// Short, so the test does not wait a minute; the reaper looks every 1.5 s with it.
const HEARTBEAT_TIMEOUT: u64 = 6;
const SMALL_SOURCES: [&str; 3] = ["s1", "s2", "s3"];

/// A process this test started; killed (and reaped) if the test ends early.
struct Process {
    name: &'static str,
    child: Child,
}

impl Process {
    fn pid(&self) -> u32 {
        self.child.id()
    }

    /// SIGTERM, then waits for a clean exit.
    fn stop(mut self) {
        // SAFETY: kill(2) on the pid of a child this test started and has not reaped.
        let sent = unsafe { libc::kill(self.child.id() as libc::pid_t, libc::SIGTERM) };
        assert_eq!(sent, 0, "signalling {}", self.name);
        let started = Instant::now();
        while self.child.try_wait().unwrap().is_none() {
            assert!(
                started.elapsed() < Duration::from_secs(60),
                "{} did not stop on SIGTERM",
                self.name
            );
            std::thread::sleep(Duration::from_millis(50));
        }
    }
}

impl Drop for Process {
    fn drop(&mut self) {
        if self.child.try_wait().ok().flatten().is_none() {
            let _ = self.child.kill();
            let _ = self.child.wait();
        }
    }
}

fn sources_toml() -> String {
    let mut text = String::new();
    for name in ["big"].iter().chain(SMALL_SOURCES.iter()) {
        text.push_str(&format!(
            "[[sources]]\nname = \"{name}\"\nservice = \"app\"\nkind = \"directory\"\npath = \"{{root}}/{name}\"\n"
        ));
    }
    text
}

/// `coffer serve --no-workers` on a free port; returns it with its base URL.
fn start_console(env: &TestEnv) -> (Process, String) {
    let mut child = env
        .command(&["serve", "--no-workers", "--bind", "127.0.0.1:0"])
        .stdout(Stdio::piped())
        .stderr(fs::File::create(env.path("serve.log")).unwrap())
        .spawn()
        .expect("coffer serve starts");
    let mut stdout = BufReader::new(child.stdout.take().unwrap());
    let process = Process {
        name: "coffer serve",
        child,
    };
    let mut line = String::new();
    stdout.read_line(&mut line).unwrap();
    let base = line
        .trim()
        .strip_prefix("Coffer console on ")
        .unwrap_or_else(|| panic!("unexpected first line of coffer serve: {line:?}"))
        .trim_end_matches('/')
        .to_string();
    // Keep reading, so a later line never meets a closed pipe.
    std::thread::spawn(move || std::io::copy(&mut stdout, &mut std::io::sink()));
    (process, base)
}

fn start_worker(env: &TestEnv, name: &'static str) -> Process {
    let log = env.path(&format!("{}.log", name.replace(' ', "-")));
    let child = env
        .command(&["worker"])
        .stderr(fs::File::create(log).unwrap())
        .spawn()
        .expect("coffer worker starts");
    Process { name, child }
}

/// Signs `username` in on the web process at `base` (blocking: call off the async runtime).
fn signed_in(base: &str, username: &str) -> Browser {
    let mut browser = Browser {
        client: crate::helpers::http_client()
            .cookie_store(true)
            .redirect(Policy::none())
            .build()
            .unwrap(),
        base: base.to_string(),
        csrf: String::new(),
    };
    let response = browser.login(username, PASSWORD);
    assert_eq!(response.status(), 303, "sign-in on the web process");
    browser
}

fn task(app: &coffer::app::App, id: &str) -> Task {
    Task::find_by_id(&mut app.conn().unwrap(), id).unwrap()
}

/// Waits until `done` says so, failing with `what` after `limit`.
async fn wait_for(limit: Duration, what: &str, mut done: impl FnMut() -> bool) {
    let started = Instant::now();
    while !done() {
        assert!(started.elapsed() < limit, "timed out waiting: {what}");
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn two_workers_and_a_console_on_postgres_survive_a_killed_worker() {
    let env = TestEnv::new(&Backend::Postgres, &sources_toml());
    // Slow compression keeps the big backup running long enough to be killed part-way.
    let config = fs::read_to_string(&env.config).unwrap().replacen(
        "[archive]\n",
        &format!(
            "[workers]\nconcurrency = 2\nheartbeat_timeout_seconds = {HEARTBEAT_TIMEOUT}\n[archive]\ncompression_level = 12\n"
        ),
        1,
    );
    fs::write(&env.config, config).unwrap();
    fs::create_dir_all(env.path("big")).unwrap();
    for i in 0..32 {
        fs::write(
            env.path(&format!("big/chunk-{i:02}.bin")),
            random_bytes(4 << 20, i),
        )
        .unwrap();
    }
    for (n, name) in SMALL_SOURCES.iter().enumerate() {
        fs::create_dir_all(env.path(name)).unwrap();
        for i in 0..3u64 {
            let seed = n as u64 * 10 + i;
            fs::write(
                env.path(&format!("{name}/f{i}.txt")),
                text_bytes(20_000, seed),
            )
            .unwrap();
        }
    }
    let app = std::sync::Arc::new(env.app());
    // One finished backup per small source, for incrementals to build on and to verify.
    let mut seeded = Vec::new();
    for name in SMALL_SOURCES {
        let request = BackupRequest::new(Scope::Sources(vec![name.into()]), BackupKind::Full);
        seeded.push(run_backup(&app, &request, &tester(), None).unwrap().id);
    }

    // Queue the work: the big backup first, then 12 small backups and 3 deep verifies.
    let queue = JobQueue::open(&app).await.unwrap();
    let big_request = BackupRequest::new(Scope::Sources(vec!["big".into()]), BackupKind::Full);
    let (big_backup, big_task) = submit_backup(app.clone(), queue.clone(), big_request, tester())
        .await
        .unwrap();
    let mut queued = vec![big_task.id.clone()];
    for round in 0..4 {
        for name in SMALL_SOURCES {
            let kind = if round % 2 == 0 {
                BackupKind::Incremental
            } else {
                BackupKind::Full
            };
            let request = BackupRequest::new(Scope::Sources(vec![name.into()]), kind);
            let (_, task) = submit_backup(app.clone(), queue.clone(), request, tester())
                .await
                .unwrap();
            queued.push(task.id);
        }
    }
    for id in &seeded {
        let request = VerifyRequest::new(id, VerifyDepth::Deep);
        let task = submit_verify(app.clone(), queue.clone(), request, tester())
            .await
            .unwrap();
        queued.push(task.id);
    }

    let (console, base) = start_console(&env);
    let mut workers = vec![
        start_worker(&env, "worker A"),
        start_worker(&env, "worker B"),
    ];

    // The web process runs no job: it follows the big task's row and streams it.
    let hash = coffer::auth::hash_password(PASSWORD).unwrap();
    User::insert(
        &mut app.conn().unwrap(),
        &NewUser::new("watcher", &hash, Role::Viewer),
    )
    .unwrap();
    let stream = {
        let id = big_task.id.clone();
        std::thread::spawn(move || read_events(&signed_in(&base, "watcher"), &id))
    };

    // Kill the worker running the big backup once it is part-way through.
    wait_for(
        Duration::from_secs(120),
        "the big backup to make progress",
        || {
            let row = task(&app, &big_task.id);
            assert!(
                !row.status().is_finished(),
                "the big backup ended before it could be killed: {row:?}"
            );
            row.status() == Status::Running && row.bytes_done > 0
        },
    )
    .await;
    let running = task(&app, &big_task.id);
    let worker_name = running.worker.clone().unwrap();
    let pid: u32 = worker_name.rsplit_once(':').unwrap().1.parse().unwrap();
    let victim = workers
        .iter()
        .position(|w| w.pid() == pid)
        .unwrap_or_else(|| panic!("the big backup runs on {worker_name}, not on a worker"));
    let mut killed = workers.remove(victim);
    killed.child.kill().unwrap();
    killed.child.wait().unwrap();
    let killed_at = coffer::db::now();
    let survivor = workers.pop().unwrap();

    // The reaper (of the surviving worker or the console) fails it within the bound.
    wait_for(
        Duration::from_secs(HEARTBEAT_TIMEOUT + 30),
        "the reaper to fail the killed task",
        || task(&app, &big_task.id).status().is_finished(),
    )
    .await;
    let reaped = task(&app, &big_task.id);
    assert_eq!(reaped.status(), Status::Failed, "{reaped:?}");
    let reason = reaped.error.clone().unwrap_or_default();
    assert_eq!(
        reason,
        format!("no heartbeat for {HEARTBEAT_TIMEOUT} s: its worker ({worker_name}) is gone")
    );
    let took = (reaped.finished_at.unwrap() - killed_at).num_milliseconds();
    // At most: the timeout, one heartbeat period missed, one reaper round, and slack.
    assert!(
        took <= (HEARTBEAT_TIMEOUT as i64 + 1 + 2 + 5) * 1000,
        "failed {took} ms after the kill"
    );
    let record = Backup::find_by_id(&mut app.conn().unwrap(), &big_backup.id).unwrap();
    assert_eq!(record.status(), Status::Failed);
    assert_eq!(record.error_message.as_deref(), Some(reason.as_str()));
    // Nothing of it stays in storage: no temporary object, no archive.
    let leftovers: Vec<String> = walkdir::WalkDir::new(env.path("backups"))
        .into_iter()
        .flatten()
        .filter(|e| e.file_type().is_file())
        .map(|e| e.file_name().to_string_lossy().to_string())
        .filter(|name| name.contains(&big_backup.id))
        .collect();
    assert!(leftovers.is_empty(), "{leftovers:?}");

    // The web process saw it end, though it ran in another (now dead) process.
    let events = stream.join().expect("the stream ends");
    let done = events.last().expect("events");
    assert_eq!(done.name, "done", "{events:?}");
    let done: serde_json::Value = serde_json::from_str(&done.data).unwrap();
    assert_eq!(done["outcome"], "failed", "{done}");

    // Every queued task ends, exactly once; only the killed worker's tasks failed.
    wait_for(Duration::from_secs(240), "every queued task to end", || {
        queued
            .iter()
            .all(|id| task(&app, id).status().is_finished())
    })
    .await;
    let mut conn = app.conn().unwrap();
    let log = LogEntry::list(
        &mut conn,
        &LogFilter {
            limit: Some(10_000),
            ..LogFilter::default()
        },
    )
    .unwrap();
    let mut failed = Vec::new();
    let mut successful = seeded.clone();
    for id in &queued {
        let row = Task::find_by_id(&mut conn, id).unwrap();
        match row.status() {
            Status::Succeeded => {}
            Status::Failed => {
                assert_eq!(
                    row.worker.as_deref(),
                    Some(worker_name.as_str()),
                    "only tasks of the killed worker fail: {row:?}"
                );
                assert!(
                    row.error
                        .as_deref()
                        .unwrap_or("")
                        .starts_with("no heartbeat for"),
                    "{row:?}"
                );
                failed.push(row.id.clone());
            }
            other => panic!("task {id} ended {other}: {row:?}"),
        }
        let outcomes: Vec<&LogEntry> = if row.kind == "backup" {
            let backup_id = row.backup_id.clone().unwrap();
            let backup = Backup::find_by_id(&mut conn, &backup_id).unwrap();
            assert_eq!(
                backup.status(),
                row.status(),
                "a backup record ends as its task did: {row:?}"
            );
            if backup.status() == Status::Succeeded {
                successful.push(backup_id.clone());
            }
            log.iter()
                .filter(|e| e.operation == "backup" && e.backup_id.as_deref() == Some(&backup_id))
                .filter(|e| !is_request(e))
                .collect()
        } else {
            log.iter()
                .filter(|e| e.operation == "verify" && e.task_id.as_deref() == Some(id))
                .filter(|e| !is_request(e))
                .collect()
        };
        assert_eq!(
            outcomes.len(),
            1,
            "one outcome in the audit log for {row:?}: {outcomes:?}"
        );
    }
    assert!(failed.contains(&big_task.id));
    assert!(
        failed.len() <= 2,
        "at most the killed worker's two jobs: {failed:?}"
    );

    // The source lock of the killed backup is free: a new backup of it runs and succeeds.
    for i in 1..32 {
        fs::remove_file(env.path(&format!("big/chunk-{i:02}.bin"))).unwrap();
    }
    let request = BackupRequest::new(Scope::Sources(vec!["big".into()]), BackupKind::Full);
    let (again, again_task) = submit_backup(app.clone(), queue.clone(), request, tester())
        .await
        .unwrap();
    wait_for(Duration::from_secs(120), "the next backup of `big`", || {
        task(&app, &again_task.id).status().is_finished()
    })
    .await;
    let again_task = task(&app, &again_task.id);
    assert_eq!(again_task.status(), Status::Succeeded, "{again_task:?}");
    let survivor_name = again_task.worker.clone().unwrap();
    assert!(survivor_name.ends_with(&format!(":{}", survivor.pid())));
    let again = Backup::find_by_id(&mut conn, &again.id).unwrap();
    assert_eq!(again.status(), Status::Succeeded);
    successful.push(again.id.clone());
    drop(conn);

    survivor.stop();
    console.stop();
    // Every successful backup verifies, deep: the seeds, the queued ones, the last one.
    let verified = env.json(&["verify", "--all", "--deep"]);
    let mut checked: Vec<String> = verified
        .as_array()
        .expect("a list of results")
        .iter()
        .map(|result| {
            assert_eq!(result["passed"], true, "{result}");
            result["backup_id"].as_str().unwrap().to_string()
        })
        .collect();
    checked.sort();
    successful.sort();
    assert_eq!(checked, successful);
}

#[test]
fn reapers_fail_a_silent_backup_once_and_remove_its_partial_object_on_both_backends() {
    use coffer::jobs::backup::record_backup;
    use coffer::jobs::run::reaper::reap_silent_tasks;
    use std::io::Write;

    for backend in BOTH {
        let env = TestEnv::with_directory(&backend);
        let config = fs::read_to_string(&env.config).unwrap().replacen(
            "[archive]\n",
            "[workers]\nheartbeat_timeout_seconds = 3\n[archive]\n",
            1,
        );
        fs::write(&env.config, config).unwrap();
        fs::write(env.path("files/a.txt"), "a").unwrap();
        let app = env.app();
        let request = BackupRequest::new(Scope::All, BackupKind::Full);
        let (backup, task) = record_backup(&app, &request, &tester()).unwrap();
        // As a worker on another host would leave it: claimed, running, half an archive.
        let mut conn = app.conn().unwrap();
        Task::claim(&mut conn, &task.id, "elsewhere:4242")
            .unwrap()
            .unwrap();
        Backup::mark_running(&mut conn, &backup.id).unwrap();
        drop(conn);
        let key = coffer::jobs::archives::archive_key(&backup.id, backup.created_at, true);
        let mut partial = app.storage.create(&key).unwrap();
        partial.write_all(b"half an archive").unwrap();
        partial.flush().unwrap();
        std::mem::forget(partial); // the writer died: nobody drops (removes) it
        let partials = || {
            walkdir::WalkDir::new(env.path("backups"))
                .into_iter()
                .flatten()
                .filter(|e| e.file_name().to_string_lossy().contains(".partial-"))
                .count()
        };
        assert_eq!(partials(), 1);

        // Opened now: opening also fails silent tasks (the start-up repair).
        let other = env.app();
        // Still within the timeout: nothing happens.
        assert_eq!(reap_silent_tasks(&app).unwrap(), 0);
        std::thread::sleep(Duration::from_millis(3_500));
        // Two processes reaping at once: one of them fails it.
        let (a, b) = std::thread::scope(|s| {
            let a = s.spawn(|| reap_silent_tasks(&app).unwrap());
            let b = s.spawn(|| reap_silent_tasks(&other).unwrap());
            (a.join().unwrap(), b.join().unwrap())
        });
        assert_eq!(a + b, 1, "failed once");
        let reason = "no heartbeat for 3 s: its worker (elsewhere:4242) is gone";
        let mut conn = app.conn().unwrap();
        let row = Task::find_by_id(&mut conn, &task.id).unwrap();
        assert_eq!(
            (row.status(), row.error.as_deref()),
            (Status::Failed, Some(reason))
        );
        let record = Backup::find_by_id(&mut conn, &backup.id).unwrap();
        assert_eq!(record.status(), Status::Failed);
        assert_eq!(record.error_message.as_deref(), Some(reason));
        assert_eq!(partials(), 0, "the dead worker's partial object is removed");
        let entries = LogEntry::list(
            &mut conn,
            &LogFilter {
                backup_id: Some(backup.id.clone()),
                ..LogFilter::default()
            },
        )
        .unwrap();
        let outcomes: Vec<_> = entries
            .iter()
            .filter(|e| e.operation == "backup" && !is_request(e))
            .collect();
        assert_eq!(outcomes.len(), 1, "{entries:?}");
        assert!(outcomes[0].message.contains(reason), "{entries:?}");
        assert_eq!(outcomes[0].task_id.as_deref(), Some(task.id.as_str()));
        // Raised like any failed backup (no channel is configured: the event is logged).
        assert!(
            entries
                .iter()
                .any(|e| e.operation == "notify" && e.message.contains(reason)),
            "{entries:?}"
        );
    }
}

/// The entry recording who asked for the work (written with the task), not its outcome.
fn is_request(entry: &LogEntry) -> bool {
    entry.message.ends_with(" queued")
}
