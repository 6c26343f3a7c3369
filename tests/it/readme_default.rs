//! The README's default configuration (`data_dir = "./data"`, `[storage] path = "./backups"`,
//! sources given by relative paths), run as the README runs it: the real `coffer serve`
//! started in the install's folder, signed in and driven through the console's forms. Every
//! source kind is backed up and restored over its original; each restore must succeed.
//!
//! Relative paths once reached a temporary `redis-server` as they were written, and every
//! Redis restore of such an install failed ("could not be loaded into a temporary
//! redis-server … no reason in its log"); settings now hold absolute paths only.

use std::fs;
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use reqwest::redirect::Policy;

use crate::helpers::*;
use crate::serve_process::ServeProcess;
use crate::servers::{maria, psql, unique_name, DropDatabases};
use crate::web::harness::{location, Browser};

/// A Redis database number no other test uses (redis_source 8–13, mixed_sources 14,
/// restore_kills_databases 15).
const REDIS_DB: &str = "7";
const ADMIN_PASSWORD: &str = "readme default admin password";

fn redis(args: &[&str]) -> String {
    let out = Command::new("redis-cli")
        .args(["-h", "127.0.0.1", "-p", "6379", "-n", REDIS_DB])
        .args(args)
        .output()
        .unwrap();
    assert!(out.status.success());
    String::from_utf8(out.stdout).unwrap().trim().to_string()
}

struct FlushRedis;

impl Drop for FlushRedis {
    fn drop(&mut self) {
        redis(&["FLUSHDB"]);
    }
}

/// Follows `/tasks/{id}` until the task has ended; its status and the page.
fn wait_for_task(browser: &Browser, task_id: &str) -> (String, String) {
    let started = Instant::now();
    loop {
        let page = browser.page(&format!("/tasks/{task_id}"));
        let marker = "data-status=\"";
        let at = page.find(marker).expect("the task page shows its status") + marker.len();
        let status = page[at..at + page[at..].find('"').unwrap()].to_string();
        if matches!(status.as_str(), "success" | "failed" | "cancelled") {
            return (status, page);
        }
        assert!(
            started.elapsed() < Duration::from_secs(300),
            "task {task_id} still {status}"
        );
        std::thread::sleep(Duration::from_millis(300));
    }
}

/// The id in the first `href="/tasks/<id>"` of a page.
fn first_task_link(page: &str) -> String {
    let marker = "href=\"/tasks/";
    let start = page.find(marker).expect("the page links its task") + marker.len();
    page[start..start + page[start..].find('"').unwrap()].to_string()
}

#[test]
fn the_readme_default_config_restores_every_kind_through_the_console() {
    let install = tempfile::tempdir().unwrap();
    let root = install.path();
    let db = unique_name("coffer_readme");
    let _drop = DropDatabases(db.clone());
    let _flush = FlushRedis;
    redis(&["FLUSHDB"]);

    // One source of every kind, as the application left it at backup time.
    fs::create_dir_all(root.join("uploads")).unwrap();
    fs::write(root.join("uploads/logo.txt"), "backed up").unwrap();
    let notes = root.join("notes.db");
    let sqlite = |sql: &str| {
        let out = tool("sqlite3", &[notes.to_str().unwrap(), sql]);
        assert!(
            out.status.success(),
            "{}",
            String::from_utf8_lossy(&out.stderr)
        );
        String::from_utf8(out.stdout).unwrap().trim().to_string()
    };
    sqlite(
        "CREATE TABLE t (id INTEGER PRIMARY KEY, v TEXT); INSERT INTO t VALUES (1, 'backed up');",
    );
    psql("postgres", &format!("CREATE DATABASE {db}"));
    psql(
        &db,
        "CREATE TABLE t (id int PRIMARY KEY, v text); INSERT INTO t VALUES (1, 'backed up')",
    );
    maria(&format!(
        "CREATE DATABASE {db}; CREATE TABLE {db}.t (id int PRIMARY KEY, v text); \
         INSERT INTO {db}.t VALUES (1, 'backed up')"
    ));
    redis(&["SET", "greeting", "backed up"]);

    // The README's shape: coffer.example.toml's relative paths, found as ./coffer.toml.
    fs::write(
        root.join("coffer.toml"),
        format!(
            "data_dir = \"./data\"\n\n[storage]\npath = \"./backups\"\n\n[archive]\nthreads = 2\n\n\
             [[sources]]\nname = \"uploads\"\nkind = \"directory\"\npath = \"./uploads\"\n\n\
             [[sources]]\nname = \"notes\"\nkind = \"sqlite\"\npath = \"./notes.db\"\n\n\
             [[sources]]\nname = \"shop_pg\"\nkind = \"postgres\"\nurl = \"postgres://postgres@127.0.0.1:5432/{db}\"\n\n\
             [[sources]]\nname = \"shop_maria\"\nkind = \"mysql\"\nurl = \"mysql://root@127.0.0.1:3306/{db}\"\n\n\
             [[sources]]\nname = \"cache\"\nkind = \"redis\"\nurl = \"redis://127.0.0.1:6379/{REDIS_DB}\"\n"
        ),
    )
    .unwrap();
    let mut command = Command::new(env!("CARGO_BIN_EXE_coffer"));
    command
        .args(["serve", "--bind", "127.0.0.1:0"])
        .current_dir(root)
        .stdin(Stdio::null())
        .env("COFFER_ADMIN_PASSWORD", ADMIN_PASSWORD)
        .env("COFFER_LOG", "warn,coffer=info");
    for name in [
        "COFFER_CONFIG",
        "COFFER_DATA_DIR",
        "COFFER_DATABASE_URL",
        "COFFER_STORAGE_PATH",
        "COFFER_BIND",
    ] {
        command.env_remove(name);
    }
    let log_path = root.join("serve.log");
    let serve = ServeProcess::start_command(command, &log_path);
    let log = || fs::read_to_string(&log_path).unwrap_or_default();

    let mut browser = Browser {
        client: http_client()
            .cookie_store(true)
            .redirect(Policy::none())
            .build()
            .unwrap(),
        base: format!("http://{}", serve.address),
        csrf: String::new(),
    };
    assert_eq!(browser.login("admin", ADMIN_PASSWORD).status(), 303);
    browser.refresh_csrf("/");

    let created = browser.post("/backups", &[("scope", "all"), ("kind", "full")]);
    assert_eq!(created.status(), 303, "{}", created.text().unwrap());
    let backup_path = location(&created);
    let task = first_task_link(&browser.page(&backup_path));
    let (status, page) = wait_for_task(&browser, &task);
    assert_eq!(status, "success", "backup: {page}\n{}", log());

    // The application moves on.
    fs::write(root.join("uploads/logo.txt"), "changed").unwrap();
    fs::write(root.join("uploads/new.txt"), "added").unwrap();
    sqlite("UPDATE t SET v = 'changed';");
    psql(
        &db,
        "UPDATE t SET v = 'changed'; INSERT INTO t VALUES (2, 'added')",
    );
    maria(&format!(
        "UPDATE {db}.t SET v = 'changed'; INSERT INTO {db}.t VALUES (2, 'added')"
    ));
    redis(&["SET", "greeting", "changed"]);
    redis(&["SET", "added", "1"]);

    // Each source restored over its original through the restore form, one at a time.
    for source in ["uploads", "notes", "shop_pg", "shop_maria", "cache"] {
        let response = browser.post(
            &format!("{backup_path}/restore"),
            &[
                ("scope", "sources"),
                ("sources", source),
                ("target", "original"),
                ("confirm", "yes"),
            ],
        );
        let queued = response.status();
        let task = location(&response);
        assert_eq!(
            queued,
            303,
            "restore of {source}: {}",
            response.text().unwrap()
        );
        let task = task.trim_start_matches("/tasks/").to_string();
        let (status, page) = wait_for_task(&browser, &task);
        assert_eq!(status, "success", "restore of {source}: {page}\n{}", log());
    }

    assert_eq!(
        fs::read_to_string(root.join("uploads/logo.txt")).unwrap(),
        "backed up"
    );
    assert!(!root.join("uploads/new.txt").exists());
    assert_eq!(sqlite("SELECT v FROM t"), "backed up");
    assert_eq!(
        psql(&db, "SELECT string_agg(id || ':' || v, ',') FROM t"),
        "1:backed up"
    );
    assert_eq!(
        maria(&format!("SELECT GROUP_CONCAT(id, ':', v) FROM {db}.t")),
        "1:backed up"
    );
    assert_eq!(redis(&["GET", "greeting"]), "backed up");
    assert_eq!(redis(&["EXISTS", "added"]), "0");

    // Everything landed in the install's folder, as the README says.
    assert!(root.join("data/coffer.db").is_file());
    assert!(root.join("data/keys/active").is_file());
    assert!(walkdir::WalkDir::new(root.join("backups"))
        .into_iter()
        .flatten()
        .any(|e| e.file_name().to_string_lossy().ends_with(".tar.gz.enc")));
}
