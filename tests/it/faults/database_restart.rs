//! The queue's PostgreSQL server (metadata and apalis queue in one database) is stopped for
//! ten seconds under `coffer serve`, then started again: work resumes by itself and no
//! queued task is lost or run twice. The server is the test's own, never the shared one.

use std::time::{Duration, Instant};

use super::*;
use crate::helpers::Backend;
use crate::private_postgres::PrivatePostgres;

#[test]
fn work_resumes_after_the_queue_database_restarted() {
    let postgres = PrivatePostgres::start();
    let hook = WebhookReceiver::start(200);
    let env = TestEnv::with_directory(&Backend::Sqlite);
    std::fs::write(env.path("files/a.txt"), "kept\n").unwrap();
    configure(
        &env,
        "database_url",
        &postgres.url(),
        &fault_settings(&hook),
    );
    let serve = ServeProcess::start(&env, ADMIN_PASSWORD);
    let browser = sign_in(&serve);
    assert_eq!(ready(&browser).0, 200);
    let (status, before) = create_backup(&browser);
    assert_eq!(status, 303, "{before}");
    wait_for_backups(&env, std::slice::from_ref(&before), Duration::from_secs(60));

    postgres.stop();
    let stopped = Instant::now();
    // Meanwhile a write is refused as unavailable (not a 500), and /ready says so.
    let refused = {
        let browser = Browser {
            client: browser.client.clone(),
            base: browser.base.clone(),
            csrf: browser.csrf.clone(),
        };
        std::thread::spawn(move || create_backup(&browser))
    };
    // Answered after the database pool's timeout, when the silent pool counts as stopped.
    let (status, body) = ready(&browser);
    assert_eq!(status, 503, "/ready without its database: {body}");
    assert_eq!(body["database"], "unreachable", "{body}");
    assert_eq!(body["workers"], "stopped", "{body}");
    let (status, said) = refused.join().unwrap();
    assert_eq!(status, 503, "{said}");
    assert!(said.contains("database cannot be reached"), "{said}");
    std::thread::sleep(Duration::from_secs(10).saturating_sub(stopped.elapsed()));
    postgres.start_again();

    wait_until(Duration::from_secs(90), "/ready answers 200 again", || {
        ready(&browser).0 == 200
    });
    let ids: Vec<String> = (0..3)
        .map(|_| {
            let (status, id) = create_backup(&browser);
            assert_eq!(status, 303, "{id}");
            id
        })
        .collect();
    let statuses = wait_for_backups(&env, &ids, Duration::from_secs(90));
    assert_eq!(statuses, ["success"; 3], "{}", serve_log(&env));

    // Every task ran once: one backup record each, nothing extra, nothing left pending.
    let listed = env.json(&["list"]);
    let all = listed.as_array().unwrap();
    assert_eq!(all.len(), 4, "{listed}");
    assert!(all.iter().all(|b| b["status"] == "success"), "{listed}");
    // (Its metrics could not be scraped meanwhile: signing in needs the database.)
    let log = serve_log(&env);
    assert_eq!(metric(&browser, "coffer_worker_pool_up"), 1.0);
    let alerts = worker_alerts(&hook);
    assert_eq!(alerts.len(), 1, "{alerts:?}\n{log}");
}
