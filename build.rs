//! For wasm32 builds, copies a few real face photos into OUT_DIR so the browser tests can embed
//! them (a test page cannot read local files). The photos come from `$SEPFACE_DATA` or
//! `../shared/data`; without them the `sepface_test_images` cfg stays off and the tests that
//! need photos skip with a message.

use std::path::PathBuf;

/// Photos copied: three people, four photos each, from LFW.
const PHOTOS: [&str; 12] = [
    "George_W_Bush/George_W_Bush_0007.jpg",
    "George_W_Bush/George_W_Bush_0016.jpg",
    "George_W_Bush/George_W_Bush_0065.jpg",
    "George_W_Bush/George_W_Bush_0145.jpg",
    "Colin_Powell/Colin_Powell_0038.jpg",
    "Colin_Powell/Colin_Powell_0040.jpg",
    "Colin_Powell/Colin_Powell_0049.jpg",
    "Colin_Powell/Colin_Powell_0071.jpg",
    "Tony_Blair/Tony_Blair_0006.jpg",
    "Tony_Blair/Tony_Blair_0018.jpg",
    "Tony_Blair/Tony_Blair_0032.jpg",
    "Tony_Blair/Tony_Blair_0048.jpg",
];

fn main() {
    println!("cargo::rustc-check-cfg=cfg(sepface_test_images)");
    println!("cargo::rerun-if-env-changed=SEPFACE_DATA");
    if std::env::var("CARGO_CFG_TARGET_ARCH").as_deref() != Ok("wasm32") {
        return;
    }
    let manifest = PathBuf::from(std::env::var("CARGO_MANIFEST_DIR").unwrap_or_default());
    let data = std::env::var_os("SEPFACE_DATA").map(PathBuf::from).unwrap_or_else(|| manifest.join("../shared/data"));
    let source = data.join("lfw/lfw-deepfunneled");
    let Some(out) = std::env::var_os("OUT_DIR").map(PathBuf::from) else { return };
    let target = out.join("test-images");
    if std::fs::create_dir_all(&target).is_err() {
        return;
    }
    for photo in PHOTOS {
        let from = source.join(photo);
        println!("cargo::rerun-if-changed={}", from.display());
        let name = photo.rsplit('/').next().unwrap_or(photo);
        if std::fs::copy(&from, target.join(name)).is_err() {
            return;
        }
    }
    println!("cargo::rustc-cfg=sepface_test_images");
}
