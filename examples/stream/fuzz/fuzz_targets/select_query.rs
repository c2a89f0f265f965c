//! Select query strings: `wire::parse_select_query` on any text. The same
//! function runs on random input in `wire::tests::garbage_bytes_never_panic`.
#![no_main]

use libfuzzer_sys::fuzz_target;
use stream::wire::{Limits, parse_select_query};

fuzz_target!(|data: &[u8]| {
    let _ = parse_select_query(&String::from_utf8_lossy(data), &Limits::default());
});
