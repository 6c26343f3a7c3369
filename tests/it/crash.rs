//! A backup killed part-way leaves no object under a final name and no `success` record,
//! and the next start marks its task failed.

use std::fs;
use std::time::{Duration, Instant};

use crate::helpers::*;

fn objects_in(dir: &std::path::Path) -> (Vec<String>, Vec<String>) {
    let mut finals = Vec::new();
    let mut partials = Vec::new();
    for entry in walkdir::WalkDir::new(dir)
        .into_iter()
        .flatten()
        .filter(|e| e.file_type().is_file())
    {
        let name = entry.file_name().to_string_lossy().to_string();
        if name.contains(".partial-") {
            partials.push(name);
        } else {
            finals.push(name);
        }
    }
    (finals, partials)
}

#[test]
fn killed_backup_leaves_nothing_that_looks_finished_on_both_backends() {
    for backend in BOTH {
        let env = TestEnv::with_directory(&backend);
        for i in 0..48 {
            fs::write(
                env.path(&format!("files/chunk-{i:02}.bin")),
                random_bytes(8 * 1024 * 1024, i),
            )
            .unwrap();
        }
        let mut child = env.command(&["backup"]).spawn().unwrap();
        let storage = env.path("backups");
        let started = Instant::now();
        // Wait until the archive is being written, then kill without warning.
        loop {
            let (_, partials) = objects_in(&storage);
            if !partials.is_empty() && fs::metadata(env.path("backups")).is_ok() {
                break;
            }
            assert!(
                child.try_wait().unwrap().is_none(),
                "backup finished before it could be killed"
            );
            assert!(
                started.elapsed() < Duration::from_secs(60),
                "backup never started writing"
            );
            std::thread::sleep(Duration::from_millis(10));
        }
        std::thread::sleep(Duration::from_millis(200));
        child.kill().unwrap();
        child.wait().unwrap();

        let (finals, _) = objects_in(&storage);
        assert!(
            finals.is_empty(),
            "no object under a final name: {finals:?}"
        );
        // The next start repairs the catalogue: the task and the record are failed.
        let listed = env.json(&["list"]);
        let record = &listed[0];
        assert_eq!(record["status"], "failed", "{record}");
        assert!(
            record["error"]
                .as_str()
                .unwrap()
                .contains("stopped before it finished"),
            "{record}"
        );
        let app = env.app();
        let tasks = coffer::db::Task::list_recent(&mut app.conn().unwrap(), 10).unwrap();
        assert_eq!(tasks[0].status, "failed");
        assert!(tasks.iter().all(|t| t.status != "running"));
    }
}
