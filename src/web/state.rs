//! What every request handler can reach: the application (settings, metadata pool, storage,
//! keyring) and a bridge that runs blocking work (diesel queries, argon2, archive reads) on
//! actix's blocking thread pool instead of the async workers.

use std::sync::Arc;

use actix_web::web;

use crate::app::App;
use crate::db::DbConnection;
use crate::web::error::{WebError, WebResult};

#[derive(Clone)]
pub struct WebState {
    pub app: Arc<App>,
}

impl WebState {
    pub fn new(app: Arc<App>) -> WebState {
        WebState { app }
    }

    /// Runs `work` with a pooled connection on the blocking pool.
    pub async fn db<T, E, F>(&self, work: F) -> WebResult<T>
    where
        F: FnOnce(&mut DbConnection) -> Result<T, E> + Send + 'static,
        T: Send + 'static,
        E: Into<WebError> + Send + 'static,
    {
        let app = self.app.clone();
        web::block(move || {
            let mut conn = app.conn().map_err(WebError::from)?;
            work(&mut conn).map_err(Into::into)
        })
        .await?
    }

    /// Runs `work` with the application on the blocking pool.
    pub async fn blocking<T, E, F>(&self, work: F) -> WebResult<T>
    where
        F: FnOnce(&App) -> Result<T, E> + Send + 'static,
        T: Send + 'static,
        E: Into<WebError> + Send + 'static,
    {
        let app = self.app.clone();
        web::block(move || work(&app).map_err(Into::into)).await?
    }
}
