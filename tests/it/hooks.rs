//! A source's `before` and `after` hooks run around the backup's snapshots: every `before`
//! first, then the snapshots, then the `after` hooks — also when a hook or a snapshot
//! failed — with their output in the task's audit entries.

use crate::helpers::*;

fn env_with_hooks(before_b: &str) -> TestEnv {
    let env = TestEnv::new(
        &Backend::Sqlite,
        &format!(
            "[[sources]]\nname = \"a\"\nservice = \"shop\"\nkind = \"directory\"\npath = \"{{root}}/a\"\n\
             before = \"echo before-$COFFER_SOURCE >> {{root}}/order\"\nafter = \"echo after-$COFFER_SOURCE >> {{root}}/order\"\n\
             [[sources]]\nname = \"b\"\nservice = \"shop\"\nkind = \"directory\"\npath = \"{{root}}/b\"\n\
             before = \"{before_b}\"\nafter = \"echo after-$COFFER_SOURCE >> {{root}}/order\"\nhook_timeout_seconds = 2\n"
        ),
    );
    for dir in ["a", "b"] {
        std::fs::create_dir_all(env.path(dir)).unwrap();
        std::fs::write(env.path(&format!("{dir}/x.txt")), dir).unwrap();
    }
    env
}

fn hook_entries(env: &TestEnv) -> Vec<String> {
    let app = env.app();
    let mut entries = coffer::db::LogEntry::list(
        &mut app.conn().unwrap(),
        &coffer::db::LogFilter {
            operation: Some("hook".into()),
            ..Default::default()
        },
    )
    .unwrap();
    entries.reverse();
    entries.into_iter().map(|e| e.message).collect()
}

#[test]
fn hooks_run_in_order_around_the_snapshots_and_their_output_is_logged() {
    let env = env_with_hooks("echo before-$COFFER_SOURCE >> {root}/order; echo paused writers");
    let backup = env.backup(&[]);
    let order = std::fs::read_to_string(env.path("order")).unwrap();
    assert_eq!(order, "before-a\nbefore-b\nafter-b\nafter-a\n");
    let entries = hook_entries(&env);
    assert_eq!(entries.len(), 4, "{entries:?}");
    assert!(
        entries.iter().any(
            |e| e.contains("source `b`: before hook ran in") && e.ends_with(": paused writers")
        ),
        "{entries:?}"
    );
    // Each source's snapshot time is in the manifest, and close together.
    let app = env.app();
    let manifest =
        coffer::db::Manifest::load(&mut app.conn().unwrap(), backup["id"].as_str().unwrap())
            .unwrap()
            .unwrap();
    let manifest = coffer::engine::manifest::Manifest::from_json(&manifest).unwrap();
    let times: Vec<_> = manifest
        .sources
        .iter()
        .map(|s| s.snapshot_at.unwrap())
        .collect();
    assert_eq!(times.len(), 2);
    assert!((times[1] - times[0]).num_seconds().abs() < 5);
}

#[test]
fn a_failing_before_hook_fails_the_backup_and_still_resumes_what_was_paused() {
    let env =
        env_with_hooks("echo before-$COFFER_SOURCE >> {root}/order; echo cannot pause >&2; exit 4");
    let error = env.fails(&["backup"]);
    assert!(
        error.contains("source `b`: its before hook failed (exit status: 4): cannot pause"),
        "{error}"
    );
    let order = std::fs::read_to_string(env.path("order")).unwrap();
    assert_eq!(
        order, "before-a\nbefore-b\nafter-b\nafter-a\n",
        "every after ran"
    );
    let listed = env.json(&["list"]);
    assert_eq!(listed[0]["status"], "failed", "{listed}");
}

#[test]
fn a_hook_that_runs_too_long_is_stopped_and_fails_the_backup() {
    let env = env_with_hooks("sleep 30");
    let started = std::time::Instant::now();
    let error = env.fails(&["backup"]);
    assert!(
        error.contains("did not finish within 2 s and was stopped"),
        "{error}"
    );
    assert!(started.elapsed() < std::time::Duration::from_secs(20));
    let order = std::fs::read_to_string(env.path("order")).unwrap();
    assert_eq!(order, "before-a\nafter-b\nafter-a\n");
}

#[test]
fn a_hook_key_with_nothing_in_it_is_refused_by_name() {
    let env = TestEnv::new(
        &Backend::Sqlite,
        "[[sources]]\nname = \"a\"\nkind = \"directory\"\npath = \"{root}/a\"\nbefore = \" \"\n",
    );
    let error = env.fails(&["list"]);
    assert!(error.contains("sources[0].before"), "{error}");
    assert!(error.contains("is empty: give a shell command"), "{error}");
}
