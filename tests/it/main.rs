//! One integration-test binary: real files, the real `coffer` binary, both metadata backends.

mod helpers;

mod changing_sources;
mod cleanup;
mod config_errors;
mod crash;
mod export;
mod incremental;
mod keys;
mod lookup_errors;
mod postgres_source;
mod queue;
mod restore_safety;
mod round_trip;
mod sqlite_source;
mod tamper;
mod web;
mod worker;
