//! The tar walk of verify and restore on an arbitrary plain tar stream. See `coffer_fuzz::tar_walk`.
#![no_main]

libfuzzer_sys::fuzz_target!(|data: &[u8]| coffer_fuzz::tar_walk(data));
