//! S3-compatible storage against a real S3 server on loopback (moto_server): round trips,
//! an interrupted upload, replicas with a corrupt copy, catalog rebuild, Object Lock.

mod harness;

mod catalog_rebuild;
mod interrupted;
mod object_lock;
mod replicas;
mod round_trip;
