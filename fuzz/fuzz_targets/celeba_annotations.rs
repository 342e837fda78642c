//! The CelebA annotation parsers on arbitrary text.

#![no_main]

use std::path::Path;

use libfuzzer_sys::fuzz_target;
use sepface::datasets::celeba::{parse_boxes, parse_landmarks, parse_pairs};

fuzz_target!(|data: &[u8]| {
    let Ok(text) = std::str::from_utf8(data) else { return };
    let path = Path::new("fuzz.txt");
    let _ = parse_pairs(text, path);
    let _ = parse_boxes(text, path);
    let _ = parse_landmarks(text, path);
});
