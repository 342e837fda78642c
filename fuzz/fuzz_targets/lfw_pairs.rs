//! The LFW pair-list parser on arbitrary text.

#![no_main]

use std::path::Path;

use libfuzzer_sys::fuzz_target;
use sepface::datasets::lfw::parse_pairs;

fuzz_target!(|data: &[u8]| {
    let Ok(text) = std::str::from_utf8(data) else { return };
    let _ = parse_pairs(text, Path::new("pairs.txt"), Path::new("/lfw"));
});
