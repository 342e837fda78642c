//! The CUHK CNN_FacePoint list parser on arbitrary text.

#![no_main]

use std::path::Path;

use libfuzzer_sys::fuzz_target;
use sepface::datasets::cuhk::parse_list;

fuzz_target!(|data: &[u8]| {
    let Ok(text) = std::str::from_utf8(data) else { return };
    let _ = parse_list(text, Path::new("fuzz.txt"), Path::new("/data"));
});
