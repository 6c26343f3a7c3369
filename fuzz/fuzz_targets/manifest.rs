//! The manifest parser and the restore's checks on arbitrary text. See `coffer_fuzz::manifest`.
#![no_main]

libfuzzer_sys::fuzz_target!(|data: &[u8]| coffer_fuzz::manifest(data));
