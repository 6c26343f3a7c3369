//! The restore form means what it shows: the ticked sources are what is restored (an old
//! "scope" field cannot widen it), and each ticked source's target is checked for its kind
//! before anything is queued — a directory for folders, a number for Redis — with the
//! message beside the field and the form shown again.

use coffer::config::{SourceConfig, SourceSpec};
use coffer::db::Task;
use coffer::domain::{Role, TaskKind};
use coffer::jobs::params::{self, RestoreParams};

use super::harness::{location, TestConsole};
use super::tasks::make_backup;
use crate::helpers::{Backend, BOTH};

/// Form fields as posted.
type Fields<'a> = &'a [(&'a str, &'a str)];

/// Only read (backed up), never written: no other test's keys are touched.
const REDIS_URL: &str = "redis://127.0.0.1:6379/12";

fn restore_tasks(console: &TestConsole, backup_id: &str) -> Vec<Task> {
    let mut conn = console.app.conn().unwrap();
    Task::list_for_backup(&mut conn, backup_id)
        .unwrap()
        .into_iter()
        .filter(|t| t.kind().unwrap() == TaskKind::Restore)
        .collect()
}

/// The console with a second folder `uploads` beside `files`.
fn console_with_uploads(backend: &Backend) -> TestConsole {
    TestConsole::start_with(backend, |settings| {
        let mut uploads = settings.sources[0].clone();
        let files = settings.sources[0].path().unwrap().to_path_buf();
        let path = files.with_file_name("uploads");
        std::fs::create_dir_all(&path).unwrap();
        std::fs::write(path.join("logo.png"), b"a logo").unwrap();
        uploads.name = "uploads".into();
        if let SourceSpec::Directory { path: p, .. } = &mut uploads.spec {
            *p = path;
        }
        settings.sources.push(uploads);
    })
}

#[test]
fn ticking_one_source_restores_that_source_only() {
    for backend in &BOTH {
        let console = console_with_uploads(backend);
        let backup_id = make_backup(&console);
        let path = format!("/backups/{backup_id}/restore");
        let admin = console.login_as(Role::Admin);

        // What the reporter's browser sent: the old form's preselected scope "all" and its
        // target switch, with only `uploads` ticked.
        let target = console.env.path("elsewhere");
        let response = admin.post(
            &path,
            &[
                ("scope", "all"),
                ("sources", "uploads"),
                ("target", "directory"),
                ("target_dir", target.to_str().unwrap()),
                ("confirm", "yes"),
            ],
        );
        assert_eq!(response.status(), 303, "{}", response.text().unwrap());
        assert!(location(&response).starts_with("/tasks/"));
        let tasks = restore_tasks(&console, &backup_id);
        let params: RestoreParams = params::read(&tasks[0]).unwrap();
        assert_eq!(
            params.sources,
            ["uploads"],
            "only the ticked source is queued"
        );
        console.run_pending_jobs();
        assert_eq!(
            std::fs::read(target.join("uploads/logo.png")).unwrap(),
            b"a logo"
        );
        assert!(
            !target.join("files").exists(),
            "an unticked source was restored too"
        );
        let page = admin.page(&path);
        assert!(!page.contains("name=\"scope\""), "no scope switch: {page}");
        assert_eq!(
            page.matches(" checked>").count(),
            2,
            "every source ticked first"
        );
    }
}

/// The console with a Redis source `cache` beside `files`.
fn console_with_redis() -> TestConsole {
    TestConsole::start_with(&Backend::Sqlite, |settings| {
        let cache = SourceConfig::from_toml(&format!(
            "name = 'cache'\nservice = 'shop'\nkind = 'redis'\nurl = '{REDIS_URL}'\nconnect_timeout_seconds = 3"
        ))
        .unwrap();
        settings.sources.push(cache);
    })
}

#[test]
fn each_ticked_source_needs_a_target_of_its_kind_before_anything_is_queued() {
    let console = console_with_redis();
    let backup_id = make_backup(&console);
    let path = format!("/backups/{backup_id}/restore");
    let admin = console.login_as(Role::Admin);
    let target = console.env.path("elsewhere").display().to_string();

    // The reported case: a folder and Redis ticked with another directory. It used to be
    // queued and fail on Redis with a command-line hint.
    let response = admin.post(
        &path,
        &[
            ("scope", "sources"),
            ("sources", "files"),
            ("sources", "cache"),
            ("target", "directory"),
            ("target_dir", &target),
            ("confirm", "yes"),
        ],
    );
    assert_eq!(response.status(), 400);
    let body = response.text().unwrap();
    assert!(
        body.contains("id=\"restore-form\""),
        "the form is shown again"
    );
    assert!(body.contains("id=\"target-redis-error\""), "{body}");
    assert!(body.contains("id=\"sources-error\""), "{body}");
    assert!(!body.contains("--target"), "no command-line hint: {body}");
    let page = admin.page(&path);
    assert!(page.contains("name=\"target_dir\"") && page.contains("name=\"target_redis\""));
    assert!(
        !page.contains("name=\"target_database\""),
        "no PostgreSQL/MySQL field for a backup without such sources"
    );

    let cases: [(Fields, &str, &str); 3] = [
        // Redis into a database name: it takes a number.
        (
            &[("sources", "cache"), ("target_redis", "shop_check")],
            "target-redis-error",
            "not a Redis database number",
        ),
        // A Redis target while no Redis source is ticked would be silently ignored.
        (
            &[("sources", "files"), ("target_redis", "3")],
            "target-redis-error",
            "No Redis source is ticked",
        ),
        // Nothing ticked.
        (
            &[("target_dir", &target)],
            "sources-error",
            "Tick at least one",
        ),
    ];
    for (fields, error_id, words) in cases {
        let mut fields = fields.to_vec();
        fields.push(("confirm", "yes"));
        let response = admin.post(&path, &fields);
        assert_eq!(response.status(), 400, "{fields:?}");
        let body = response.text().unwrap();
        let at = body
            .find(&format!("id=\"{error_id}\""))
            .unwrap_or_else(|| panic!("{fields:?}: no {error_id} in {body}"));
        assert!(body[at..].contains(words), "{fields:?}: {body}");
    }
    assert!(
        restore_tasks(&console, &backup_id).is_empty(),
        "nothing queued"
    );
    assert!(
        !console.env.path("elsewhere").exists(),
        "no folder left behind"
    );

    // A number is a Redis target: queued (not run: the test's Redis database stays as is).
    let response = admin.post(
        &path,
        &[
            ("sources", "cache"),
            ("target_redis", "13"),
            ("confirm", "yes"),
        ],
    );
    assert_eq!(response.status(), 303, "{}", response.text().unwrap());
    let params: RestoreParams = params::read(&restore_tasks(&console, &backup_id)[0]).unwrap();
    assert_eq!(params.sources, ["cache"]);
    assert_eq!(params.target.unwrap().to_str(), Some("13"));
}

#[test]
fn a_failed_restore_into_another_directory_leaves_no_folder_behind() {
    let console = TestConsole::start(&Backend::Sqlite);
    let backup_id = make_backup(&console);
    let admin = console.login_as(Role::Admin);
    // Damaged in storage after the backup: the restore fails while extracting.
    let key = {
        let mut conn = console.app.conn().unwrap();
        coffer::db::Backup::find_by_id(&mut conn, &backup_id)
            .unwrap()
            .storage_key
            .unwrap()
    };
    let archive = console.env.path("backups").join(key);
    let mut bytes = std::fs::read(&archive).unwrap();
    let middle = bytes.len() / 2;
    bytes[middle] ^= 0xff;
    std::fs::write(&archive, bytes).unwrap();

    let target = console.env.path("elsewhere/deeper");
    let response = admin.post(
        &format!("/backups/{backup_id}/restore"),
        &[
            ("sources", "files"),
            ("target_dir", target.to_str().unwrap()),
            ("confirm", "yes"),
            // The earlier form's switches (ignored now).
            ("scope", "sources"),
            ("target", "directory"),
        ],
    );
    assert_eq!(response.status(), 303, "{}", response.text().unwrap());
    console.run_pending_jobs();
    assert_eq!(restore_tasks(&console, &backup_id)[0].status, "failed");
    assert!(
        !console.env.path("elsewhere").exists(),
        "the folders made for the restore are gone again"
    );
}
