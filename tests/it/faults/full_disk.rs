//! The filesystem holding the data folder and the SQLite metadata fills up for about five
//! seconds under `coffer serve`. Before: the worker pool died for good (`HeartBeat failed ->
//! Dead`), every task queued afterwards stayed pending while `/ready` answered 200, and a
//! form posted meanwhile answered 500 "Something went wrong".

use std::time::{Duration, Instant};

use super::tmpfs::Tmpfs;
use super::*;
use crate::helpers::Backend;

#[test]
fn a_full_disk_refuses_writes_clearly_and_work_resumes_once_it_has_room() {
    let scratch = tempfile::tempdir().unwrap();
    let disk = Tmpfs::mount(&scratch.path().join("disk"), "8m");
    let mount = disk.path.canonicalize().unwrap().display().to_string();
    let hook = WebhookReceiver::start(200);
    let env = TestEnv::with_directory(&Backend::Sqlite);
    std::fs::write(env.path("files/a.txt"), "kept\n").unwrap();
    configure(&env, "data_dir", &format!("{mount}/data"), "");
    let database = format!("{mount}/coffer.db");
    configure(&env, "database_url", &database, &fault_settings(&hook));
    let serve = ServeProcess::start(&env, ADMIN_PASSWORD);
    let browser = sign_in(&serve);
    let (status, body) = ready(&browser);
    assert_eq!(status, 200, "{body}");
    assert_eq!(body["workers"], "ok", "{body}");

    let fill = disk.fill("filler");
    let full_since = Instant::now();
    // A write is refused with 507 and a message naming the full filesystem…
    let (status, said) = create_backup(&browser);
    assert_eq!(status, 507, "{said}\n{}", serve_log(&env));
    assert!(said.contains(&format!("mounted at {mount}")), "{said}");
    assert!(!said.contains("Something went wrong"), "{said}");
    // …while pages are still read.
    assert_eq!(browser.get("/backups").status(), 200);
    assert_eq!(browser.get("/").status(), 200);
    let mut answers = Vec::new();
    while full_since.elapsed() < Duration::from_secs(5) {
        answers.push(ready(&browser));
        std::thread::sleep(Duration::from_millis(250));
    }
    for (status, body) in &answers {
        assert_eq!(*status, 503, "/ready while the disk is full: {body}");
        assert_eq!(body["disk"], "full", "{body}");
    }
    std::fs::remove_file(fill).unwrap();

    wait_until(Duration::from_secs(60), "/ready answers 200 again", || {
        ready(&browser).0 == 200
    });
    let (status, id) = create_backup(&browser);
    assert_eq!(status, 303, "{}", serve_log(&env));
    let statuses = wait_for_backups(&env, std::slice::from_ref(&id), Duration::from_secs(60));
    assert_eq!(statuses, ["success"], "{}", serve_log(&env));

    // The pool that died on the full disk was started again, and said so once.
    let log = serve_log(&env);
    assert!(
        metric(&browser, "coffer_worker_pool_restarts_total") >= 1.0,
        "the worker pool never stopped while the disk was full:\n{log}"
    );
    assert_eq!(metric(&browser, "coffer_worker_pool_up"), 1.0);
    let alerts = worker_alerts(&hook);
    assert_eq!(alerts.len(), 1, "{alerts:?}\n{log}");
    assert!(
        alerts[0].body["summary"]
            .as_str()
            .unwrap()
            .contains("The worker pool stopped"),
        "{alerts:?}"
    );
}
