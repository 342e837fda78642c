//! Helpers shared by the integration tests.

#![allow(dead_code)]

use std::path::PathBuf;

/// Returns the folder of real face data: `$SEPFACE_DATA`, or `../shared/data` beside the crate.
/// Prints why and returns `None` when it is absent, so the calling test can skip.
pub fn data_dir(test: &str) -> Option<PathBuf> {
    let dir = std::env::var_os("SEPFACE_DATA")
        .map(PathBuf::from)
        .unwrap_or_else(|| PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../shared/data"));
    if dir.is_dir() {
        Some(dir)
    } else {
        eprintln!("skipping {test}: no face data at {} (set SEPFACE_DATA to its folder)", dir.display());
        None
    }
}

/// Reads and decodes an image below the data folder.
pub fn load_image(data: &std::path::Path, relative: &str) -> image::RgbImage {
    let path = data.join(relative);
    let bytes = std::fs::read(&path).unwrap_or_else(|error| panic!("read {}: {error}", path.display()));
    sepface::preprocess::decode_image(&bytes, relative).expect("decodable test image")
}

/// Builds a minimal big-endian EXIF block with one Orientation (0x0112) entry.
pub fn exif_orientation(orientation: u16) -> Vec<u8> {
    let mut exif = b"MM\0\x2a\0\0\0\x08".to_vec();
    exif.extend_from_slice(&1u16.to_be_bytes());
    exif.extend_from_slice(&0x0112u16.to_be_bytes());
    exif.extend_from_slice(&3u16.to_be_bytes());
    exif.extend_from_slice(&1u32.to_be_bytes());
    exif.extend_from_slice(&orientation.to_be_bytes());
    exif.extend_from_slice(&[0, 0, 0, 0, 0, 0]);
    exif
}

/// Inserts an APP1 EXIF segment after a JPEG's SOI marker and its JFIF APP0 segment, if any.
pub fn with_exif_segment(jpeg: &[u8], exif: &[u8]) -> Vec<u8> {
    let after_app0 = if jpeg[2..4] == [0xff, 0xe0] { 4 + usize::from(u16::from_be_bytes([jpeg[4], jpeg[5]])) } else { 2 };
    let length = u16::try_from(2 + 6 + exif.len()).expect("a short segment");
    let segment = [&[0xff, 0xe1], length.to_be_bytes().as_slice(), b"Exif\0\0", exif].concat();
    [&jpeg[..after_app0], &segment, &jpeg[after_app0..]].concat()
}
