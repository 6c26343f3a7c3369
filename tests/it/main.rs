//! One integration-test binary: real files, the real `coffer` binary, both metadata backends.

mod helpers;

mod changing_sources;
mod cleanup;
mod config_errors;
mod crash;
mod deploy_files;
mod export;
mod health_cli;
mod incremental;
mod keys;
mod lookup_errors;
mod mixed_sources;
mod multi_worker;
mod mysql_source;
mod nginx_proxy;
mod notify;
mod postgres_creation;
mod postgres_kills;
mod postgres_source;
mod queue;
mod redis_client;
mod redis_source;
mod restore_safety;
mod retention;
mod round_trip;
mod s3;
mod schedule_cli;
mod scheduler;
mod serve_process;
mod sources_cli;
mod sqlite_source;
mod tamper;
mod web;
mod worker;
