//! Select bodies: `wire::decode_keys` on any bytes. The same function runs
//! on random bytes in `wire::tests::garbage_bytes_never_panic`.
#![no_main]

use libfuzzer_sys::fuzz_target;
use stream::wire::{Limits, decode_keys};

fuzz_target!(|data: &[u8]| {
    let _ = decode_keys(data, &Limits::default());
});
