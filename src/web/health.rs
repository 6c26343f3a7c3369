//! `GET /health` (the process answers) and `GET /ready` (it can do its work: the metadata
//! database answers and the archive storage is reachable). No sign-in: load balancers and
//! container health checks call them. Neither says more than ok / what is wrong.

use actix_web::{web, HttpResponse};
use serde_json::json;

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
        (database, storage)
    })
    .await;
    let (database, storage) = match checked {
        Ok(pair) => pair,
        Err(e) => {
            return HttpResponse::ServiceUnavailable()
                .json(json!({ "status": "unavailable", "error": e.to_string() }))
        }
    };
    let describe = |r: &Result<(), String>| match r {
        Ok(()) => "ok".to_string(),
        Err(e) => {
            tracing::warn!("readiness check failed: {e}");
            "unreachable".to_string()
        }
    };
    let body = json!({
        "status": if database.is_ok() && storage.is_ok() { "ready" } else { "unavailable" },
        "database": describe(&database),
        "storage": describe(&storage),
    });
    if database.is_ok() && storage.is_ok() {
        HttpResponse::Ok().json(body)
    } else {
        HttpResponse::ServiceUnavailable().json(body)
    }
}
