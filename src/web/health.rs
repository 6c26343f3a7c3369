//! `GET /health` (the process answers) and `GET /ready` (it can do its work: the metadata
//! database answers, the archive storage is reachable, no filesystem Coffer writes to is
//! full, and this process's worker pool, when it runs one, is running). No sign-in: load balancers and
//! container health checks call them. Neither says more than ok / what is wrong.

use actix_web::{web, HttpResponse};
use serde_json::json;

use crate::full_disk;
use crate::web::state::WebState;

pub async fn health() -> HttpResponse {
    HttpResponse::Ok().json(json!({ "status": "ok" }))
}

pub async fn ready(state: web::Data<WebState>) -> HttpResponse {
    let app = state.app.clone();
    let checked = web::block(move || {
        let database = app.conn().map_err(|e| e.to_string()).and_then(|mut conn| {
            use diesel::RunQueryDsl;
            diesel::sql_query("SELECT 1")
                .execute(&mut *conn)
                .map(|_| ())
                .map_err(|e| e.to_string())
        });
        let storage = app.storage.check().map_err(|e| e.to_string());
        let full = full_disk::full_filesystems(&full_disk::places_of(&app.settings));
        let disk = match full.as_slice() {
            [] => Ok(()),
            full => Err(full
                .iter()
                .map(|(mount, _)| format!("the filesystem at {} is full", mount.display()))
                .collect::<Vec<_>>()
                .join(", ")),
        };
        (database, storage, disk)
    })
    .await;
    let (database, storage, disk) = match checked {
        Ok(checks) => checks,
        Err(e) => {
            return HttpResponse::ServiceUnavailable()
                .json(json!({ "status": "unavailable", "error": e.to_string() }))
        }
    };
    // Without a running worker pool nothing queued would run (see `supervise_workers`).
    let workers = state.workers.as_ref().map(|health| {
        let status = health.status();
        match status.error {
            None => Ok(()),
            Some(e) => Err(format!(
                "the worker pool stopped {}s ago ({e}); restarted {} time(s)",
                status.down_for.unwrap_or_default().as_secs(),
                status.restarts
            )),
        }
    });
    let describe = |r: &Result<(), String>, failed: &str| match r {
        Ok(()) => "ok".to_string(),
        Err(e) => {
            tracing::warn!("readiness check failed: {e}");
            failed.to_string()
        }
    };
    let ready = database.is_ok()
        && storage.is_ok()
        && disk.is_ok()
        && workers.as_ref().is_none_or(|w| w.is_ok());
    let mut body = json!({
        "status": if ready { "ready" } else { "unavailable" },
        "database": describe(&database, "unreachable"),
        "storage": describe(&storage, "unreachable"),
        "disk": describe(&disk, "full"),
    });
    if let Some(workers) = &workers {
        body["workers"] = describe(workers, "stopped").into();
    }
    if ready {
        HttpResponse::Ok().json(body)
    } else {
        HttpResponse::ServiceUnavailable().json(body)
    }
}
