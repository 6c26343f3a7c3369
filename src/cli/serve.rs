//! `coffer serve [--bind ADDR:PORT] [--no-workers]`: the web console, a worker pool (started
//! again when it fails), the scheduler, the monitor and the heartbeat reaper in one process.
//! `--no-workers` leaves the jobs to `coffer worker` processes (a web tier behind a load
//! balancer).
//! SIGINT/SIGTERM stop taking new requests and jobs; running jobs finish first.

use std::sync::Arc;

use clap::Parser;

use crate::app::App;
use crate::application::{Application, Loops};
use crate::config::parse_bind;
use crate::error::{Error, Result};
use crate::jobs::first_admin::{ensure_first_admin, ADMIN_PASSWORD_ENV};

#[derive(Debug, Parser)]
pub struct Args {
    /// Address to listen on (else $COFFER_BIND, else `[web] bind`, else 127.0.0.1:8080).
    #[arg(long, value_name = "ADDR:PORT", value_parser = parse_bind)]
    pub bind: Option<std::net::SocketAddr>,
    /// Run no worker pool: queued jobs are left to `coffer worker` processes.
    #[arg(long)]
    pub no_workers: bool,
}

pub fn run(app: App, args: Args) -> Result<()> {
    let admin_password = std::env::var(ADMIN_PASSWORD_ENV)
        .ok()
        .filter(|p| !p.is_empty());
    ensure_first_admin(&app, admin_password)?;
    app.remind_key_export();
    let bind = args.bind.unwrap_or(app.settings.web.bind);
    let app = Arc::new(app);
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .map_err(|e| Error::Io {
            context: "starting the async runtime".into(),
            source: e,
        })?;
    runtime.block_on(async move {
        let application = Application::build(app, bind, Loops::serve(!args.no_workers)).await?;
        let address = application.address();
        tracing::info!("Coffer console on http://{address}/");
        println!("Coffer console on http://{address}/");
        application.run_until_stopped().await
    })
}
