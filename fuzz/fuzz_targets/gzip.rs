//! The gzip member reader on arbitrary bytes. See `coffer_fuzz::gzip`.
#![no_main]

libfuzzer_sys::fuzz_target!(|data: &[u8]| coffer_fuzz::gzip(data));
