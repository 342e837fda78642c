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
