//! The decrypting reader on arbitrary stored bytes. See `coffer_fuzz::decrypt`.
#![no_main]

libfuzzer_sys::fuzz_target!(|data: &[u8]| coffer_fuzz::decrypt(data));
