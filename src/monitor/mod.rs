//! The monitor inside `coffer serve`: once a minute it checks recovery point objectives,
//! stalled tasks and storage space, raising each alert once per occurrence (remembered in
//! `monitor_alerts`), and queues the scheduled verifications.

pub mod rpo;
pub mod storage;
