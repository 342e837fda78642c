//! Browser tests (`wasm-pack test --headless --chrome`): the wasm API on the CPU backend and on
//! WebGPU, with the shipped weights and real photos embedded by build.rs.

#![cfg(target_arch = "wasm32")]

mod common;

use burn::prelude::*;
use sepface::faces::{FaceSample, stored_crop};
use sepface::finetune::{FineTuneConfig, FineTuner};
use sepface::model::{Detector, Embedder};
use sepface::preprocess::decode_image;
use sepface::verify::Verifier;
use sepface::web::{App, MAX_BROWSER_SIDE, decode_file};
use sepface::weights::{self, Weights};
use wasm_bindgen_test::*;

wasm_bindgen_test_configure!(run_in_browser);

const DETECTOR: &[u8] = include_bytes!("../models/detector.bpk");
const EMBEDDER: &[u8] = include_bytes!("../models/embedder.bpk");

#[cfg(sepface_test_images)]
macro_rules! photo {
    ($name:literal) => {
        ($name, include_bytes!(concat!(env!("OUT_DIR"), "/test-images/", $name)).as_slice())
    };
}

/// Twelve LFW photos: four each of three people, as `(file name, bytes)`.
#[cfg(sepface_test_images)]
fn photos() -> Vec<(&'static str, &'static [u8])> {
    vec![
        photo!("George_W_Bush_0007.jpg"),
        photo!("George_W_Bush_0016.jpg"),
        photo!("George_W_Bush_0065.jpg"),
        photo!("George_W_Bush_0145.jpg"),
        photo!("Colin_Powell_0038.jpg"),
        photo!("Colin_Powell_0040.jpg"),
        photo!("Colin_Powell_0049.jpg"),
        photo!("Colin_Powell_0071.jpg"),
        photo!("Tony_Blair_0006.jpg"),
        photo!("Tony_Blair_0018.jpg"),
        photo!("Tony_Blair_0032.jpg"),
        photo!("Tony_Blair_0048.jpg"),
    ]
}

#[cfg(not(sepface_test_images))]
fn photos() -> Vec<(&'static str, &'static [u8])> {
    web_sys_log("no face photos were embedded (set SEPFACE_DATA to the data folder and rebuild); photo tests skip");
    Vec::new()
}

#[cfg(not(sepface_test_images))]
fn web_sys_log(message: &str) {
    wasm_bindgen_test::console_log!("{message}");
}

async fn verifier(device: &Device) -> Verifier {
    sepface::web::run_constructors();
    let detector: Weights<Detector> = weights::from_bytes(DETECTOR, "detector.bpk", device).expect("shipped detector");
    let embedder: Weights<Embedder> = weights::from_bytes(EMBEDDER, "embedder.bpk", device).expect("shipped embedder");
    Verifier::new(detector, embedder, device)
}

async fn webgpu() -> Device {
    match sepface::web::webgpu_device().await {
        Ok(device) => device,
        Err(reason) => panic!("WebGPU must be available in the test browser (start it with --enable-unsafe-webgpu): {reason}"),
    }
}

#[wasm_bindgen_test]
async fn cpu_and_webgpu_give_the_same_boxes_and_distances() {
    let photos = photos();
    if photos.is_empty() {
        return;
    }
    let cpu = verifier(&Device::flex()).await;
    let gpu = verifier(&webgpu().await).await;
    let images: Vec<_> = photos.iter().take(5).map(|(name, bytes)| decode_image(bytes, name).expect("photo")).collect();
    let mut embeddings = Vec::new();
    for (image, (name, _)) in images.iter().zip(&photos) {
        let on_cpu = cpu.locate(image).await.expect("detector on the CPU");
        let on_gpu = gpu.locate(image).await.expect("detector on WebGPU");
        for (a, b) in on_cpu.face_box.edges().iter().zip(on_gpu.face_box.edges()) {
            assert!((a - b).abs() < 2e-3, "{name}: box {:?} on the CPU, {:?} on WebGPU", on_cpu.face_box, on_gpu.face_box);
        }
        let (a, b) = (on_cpu.presence.unwrap_or(0.0), on_gpu.presence.unwrap_or(0.0));
        assert!((a - b).abs() < 2e-3, "{name}: face probability {a} on the CPU, {b} on WebGPU");
        let a = cpu.embed(image, &on_cpu.face_box).await.expect("CPU embedding");
        let b = gpu.embed(image, &on_cpu.face_box).await.expect("WebGPU embedding");
        embeddings.push((a, b));
    }
    let distance = cpu.settings().distance;
    for i in 0..embeddings.len() {
        for j in i + 1..embeddings.len() {
            let on_cpu = distance.between(&embeddings[i].0, &embeddings[j].0);
            let on_gpu = distance.between(&embeddings[i].1, &embeddings[j].1);
            assert!((on_cpu - on_gpu).abs() < 2e-3, "pair ({i}, {j}): {on_cpu} on the CPU, {on_gpu} on WebGPU");
        }
    }
}

async fn fine_tuning_lowers_the_loss(device: Device) {
    let photos = photos();
    if photos.is_empty() {
        return;
    }
    let verifier = verifier(&device).await;
    let margin = verifier.settings().crop_margin;
    let (embedder, config) = verifier.embedder();
    let mut samples = Vec::new();
    for (index, (name, bytes)) in photos.iter().enumerate() {
        let image = decode_image(bytes, name).expect("photo");
        let face = verifier.locate(&image).await.expect("detector").face_box;
        let crop = stored_crop(&image, &face, margin, (config.input_size() as f32 * 1.25) as u32).expect("crop");
        samples.push(FaceSample { crop, identity: index / 4 });
    }
    let settings = FineTuneConfig {
        learning_rate: 1e-3,
        identities_per_batch: 3,
        images_per_identity: 4,
        margin: 0.5,
        ..FineTuneConfig::default()
    };
    let mut tuner = FineTuner::new(embedder, config, samples, margin, settings, &device).expect("tuner");
    let before = tuner.evaluation_loss(embedder).await.expect("loss before");
    for _ in 0..8 {
        tuner.step().await.expect("step");
    }
    let after = tuner.evaluation_loss(&tuner.model()).await.expect("loss after");
    assert!(after < before, "loss before {before}, after {after}");
}

#[wasm_bindgen_test]
async fn fine_tuning_lowers_the_loss_on_the_cpu() {
    fine_tuning_lowers_the_loss(Device::flex()).await;
}

#[wasm_bindgen_test]
async fn fine_tuning_lowers_the_loss_on_webgpu() {
    fine_tuning_lowers_the_loss(webgpu().await).await;
}

#[wasm_bindgen_test]
async fn bad_inputs_are_errors_not_panics() {
    let truncated = error_message(App::create(DETECTOR[..DETECTOR.len() / 2].to_vec(), EMBEDDER.to_vec(), "cpu".into()).await, "truncated detector");
    assert!(truncated.contains("detector.bpk"), "{truncated}");
    assert!(truncated.contains("truncated"), "{truncated}");
    let swapped = error_message(App::create(EMBEDDER.to_vec(), DETECTOR.to_vec(), "cpu".into()).await, "swapped files");
    assert!(swapped.contains("holds embedder weights"), "{swapped}");
    let mut flipped = DETECTOR.to_vec();
    let last = flipped.len() - 5;
    flipped[last] ^= 0x40;
    let corrupted = error_message(App::create(flipped, EMBEDDER.to_vec(), "cpu".into()).await, "corrupted detector");
    assert!(corrupted.contains("checksum mismatch"), "{corrupted}");

    let mut app = App::create(DETECTOR.to_vec(), EMBEDDER.to_vec(), "cpu".into()).await.expect("app");
    assert!(app.enroll_file(b"not an image".to_vec(), "notes.jpg".into()).await.is_err());
    assert!(app.enroll_file(Vec::new(), "empty.jpg".into()).await.is_err());
    assert!(app.enroll_frame(vec![0; 10], 4, 4).await.is_err(), "frame of the wrong length");
    assert!(app.verify_frame(vec![0; 64], 4, 4).await.is_err(), "verification without an enrollment");
    assert!(app.set_threshold(f32::NAN).is_err());
    assert!(app.tuning_step().await.is_err(), "a step without a run");
}

/// Returns the message of a call that must fail.
fn error_message<T>(result: Result<T, wasm_bindgen::JsError>, case: &str) -> String {
    match result {
        Ok(_) => panic!("{case}: accepted"),
        Err(error) => String::from(js_sys::Error::from(wasm_bindgen::JsValue::from(error)).message()),
    }
}

/// Encodes an RGB image of `width x height` in `format`.
fn encoded(width: u32, height: u32, format: image::ImageFormat) -> Vec<u8> {
    let image = image::RgbImage::from_fn(width, height, |x, y| image::Rgb([(x * 7) as u8, (y * 5) as u8, 128]));
    let mut bytes = Vec::new();
    image.write_to(&mut std::io::Cursor::new(&mut bytes), format).expect("encode");
    bytes
}

/// Builds a 35-byte GIF whose only frame claims 60000x60000 pixels, on a logical screen of
/// `screen` pixels a side.
fn gif_bomb(screen: u16) -> Vec<u8> {
    let side = 60000u16.to_le_bytes();
    let screen = screen.to_le_bytes();
    let mut gif = b"GIF89a".to_vec();
    gif.extend_from_slice(&[screen[0], screen[1], screen[0], screen[1], 0, 0, 0]);
    gif.extend_from_slice(&[0x2c, 0, 0, 0, 0, side[0], side[1], side[0], side[1], 0]);
    gif.extend_from_slice(&[2, 2, 0x4c, 0x01, 0, 0x3b]);
    gif
}

/// Encodes a PNG whose header is valid and whose compressed pixel data is overwritten, so
/// that only decoding the pixels fails.
fn broken_pixels_png() -> Vec<u8> {
    let mut png = encoded(64, 48, image::ImageFormat::Png);
    let data = png.windows(4).position(|window| window == b"IDAT").expect("a data chunk") + 4;
    png[data..data + 8].fill(0xff);
    png
}

/// Changes a 40x40 baseline JPEG's frame header to four components, the fourth sampled 2x2,
/// while its scan still codes three. Natively, zune-jpeg's AVX2 code panics on this file.
fn mixed_sampling_jpeg() -> Vec<u8> {
    let jpeg = encoded(40, 40, image::ImageFormat::Jpeg);
    let mut at = 2;
    while jpeg[at + 1] != 0xc0 {
        at += 2 + usize::from(u16::from_be_bytes([jpeg[at + 2], jpeg[at + 3]]));
    }
    let end = at + 2 + usize::from(u16::from_be_bytes([jpeg[at + 2], jpeg[at + 3]]));
    let frame = [0xff, 0xc0, 0, 20, 8, 0, 40, 0, 40, 4, 0, 0x11, 1, 1, 0x11, 1, 2, 0x11, 1, 3, 0x22, 0];
    [&jpeg[..at], frame.as_slice(), &jpeg[end..]].concat()
}

#[wasm_bindgen_test]
async fn hostile_images_name_the_file() {
    let mut app = App::create(DETECTOR.to_vec(), EMBEDDER.to_vec(), "cpu".into()).await.expect("app");
    let jpeg = encoded(64, 48, image::ImageFormat::Jpeg);
    let cases: [(&str, Vec<u8>, &str); 8] = [
        ("notes.jpg", b"not an image".to_vec(), "not a JPEG, PNG, WebP or GIF"),
        ("empty.jpg", Vec::new(), "empty"),
        ("cut.jpg", jpeg[..jpeg.len() / 2].to_vec(), "truncated"),
        ("bomb.gif", gif_bomb(60000), "60000"),
        ("frame.gif", gif_bomb(10), "60000"),
        ("mixed.jpg", mixed_sampling_jpeg(), "no scan codes it"),
        ("dot.png", encoded(1, 1, image::ImageFormat::Png), "no face"),
        ("broken.png", broken_pixels_png(), "browser could not decode"),
    ];
    for (name, bytes, problem) in cases {
        let message = error_message(app.enroll_file(bytes, name.into()).await, name);
        assert!(message.contains(name), "{name}: {message}");
        assert!(message.contains(problem), "{name}: {message}");
    }
}

/// Decodes `bytes` with the browser and with the image crate, checks that both give the same
/// size, and returns the mean absolute difference of their RGB values.
async fn decoder_difference(bytes: &[u8], name: &str) -> f64 {
    let browser = decode_file(bytes, name).await.unwrap_or_else(|error| panic!("{name} in the browser: {error}"));
    let native = decode_image(bytes, name).unwrap_or_else(|error| panic!("{name} with the image crate: {error}"));
    assert_eq!(browser.dimensions(), native.dimensions(), "{name}: upright size");
    let total: u64 = browser.as_raw().iter().zip(native.as_raw()).map(|(a, b)| u64::from(a.abs_diff(*b))).sum();
    total as f64 / browser.as_raw().len() as f64
}

#[wasm_bindgen_test]
async fn browser_decoder_matches_the_image_crate() {
    for format in [image::ImageFormat::Png, image::ImageFormat::Gif, image::ImageFormat::WebP] {
        let name = format!("gradient.{}", format.extensions_str()[0]);
        assert_eq!(decoder_difference(&encoded(64, 48, format), &name).await, 0.0, "{name}: lossless");
    }
    // Transparent pixels become white in both; a half-transparent edge would round differently.
    let see_through = image::RgbaImage::from_fn(32, 32, |x, y| image::Rgba([(x * 8) as u8, (y * 8) as u8, 90, if x < 16 { 0 } else { 255 }]));
    let mut png = Vec::new();
    see_through.write_to(&mut std::io::Cursor::new(&mut png), image::ImageFormat::Png).expect("encode");
    assert_eq!(decoder_difference(&png, "transparent.png").await, 0.0, "transparent.png");
    // The two JPEG decoders may round their inverse DCT and chroma upsampling differently.
    let jpeg = encoded(64, 48, image::ImageFormat::Jpeg);
    for orientation in 1..=8u16 {
        let turned = common::with_exif_segment(&jpeg, &common::exif_orientation(orientation));
        let difference = decoder_difference(&turned, &format!("turned-{orientation}.jpg")).await;
        assert!(difference < 2.0, "EXIF orientation {orientation}: mean difference {difference}");
    }
    for (name, bytes) in photos() {
        let difference = decoder_difference(bytes, name).await;
        wasm_bindgen_test::console_log!("{name}: mean absolute difference {difference:.3} of 255");
        assert!(difference < 2.0, "{name}: mean difference {difference}");
    }
}

#[wasm_bindgen_test]
async fn browser_scales_long_photos_down() {
    // A smooth gradient, 6000x300 as stored, turned upright to 300x6000 by its EXIF orientation.
    let stored = image::RgbImage::from_fn(6000, 300, |x, y| image::Rgb([(x * 255 / 5999) as u8, (y * 255 / 299) as u8, 128]));
    let mut jpeg = Vec::new();
    stored.write_to(&mut std::io::Cursor::new(&mut jpeg), image::ImageFormat::Jpeg).expect("encode");
    let turned = common::with_exif_segment(&jpeg, &common::exif_orientation(6));
    let scaled = decode_file(&turned, "long.jpg").await.expect("a long photo");
    assert_eq!(scaled.dimensions(), (205, MAX_BROWSER_SIDE), "upright, longest side scaled to {MAX_BROWSER_SIDE}");
    let native = decode_image(&turned, "long.jpg").expect("a long photo");
    let expected = image::imageops::resize(&native, 205, MAX_BROWSER_SIDE, image::imageops::FilterType::Triangle);
    let total: u64 = scaled.as_raw().iter().zip(expected.as_raw()).map(|(a, b)| u64::from(a.abs_diff(*b))).sum();
    let difference = total as f64 / scaled.as_raw().len() as f64;
    assert!(difference < 3.0, "the scaled photo differs from the native one resized by {difference} on average");
}

#[wasm_bindgen_test]
async fn network_bench_runs_web_networks() {
    use sepface::model::{DetectorConfig, EmbedderConfig};
    use sepface::web::NetworkBench;
    for (name, macs) in [("detector web", DetectorConfig::web().macs()), ("embedder web", EmbedderConfig::web().macs())] {
        for backend in ["cpu", "webgpu"] {
            let bench = NetworkBench::create(name.into(), backend.into(), 2).await.unwrap_or_else(|_| panic!("{name} on {backend}"));
            assert_eq!(bench.backend(), backend);
            assert_eq!(bench.macs(), macs as f64, "{name}: multiply-accumulates per image");
            assert!(bench.params() > 100_000, "{name}: {} parameters", bench.params());
            assert!(bench.run().await.is_ok(), "{name} on {backend} runs");
        }
    }
    let unknown = NetworkBench::create("detector tiny".into(), "cpu".into(), 2).await;
    assert!(unknown.is_err(), "an unknown network name must be rejected");
    let empty = NetworkBench::create("detector web".into(), "cpu".into(), 0).await;
    assert!(empty.is_err(), "a batch of 0 images must be rejected");
}

#[wasm_bindgen_test]
async fn enroll_and_verify_through_the_app() {
    let photos = photos();
    if photos.is_empty() {
        return;
    }
    let mut app = App::create(DETECTOR.to_vec(), EMBEDDER.to_vec(), "auto".into()).await.expect("app");
    app.enroll_file(photos[0].1.to_vec(), photos[0].0.into()).await.expect("enrollment");
    let json = app.enrollment_json().expect("serialisable").expect("an enrollment");
    app.clear_enrollment();
    assert_eq!(app.load_enrollment(json).expect("reload"), 1);
    let image = decode_image(photos[0].1, photos[0].0).expect("photo");
    let rgba: Vec<u8> = image.pixels().flat_map(|p| [p.0[0], p.0[1], p.0[2], 255]).collect();
    let result = app.verify_frame(rgba, image.width(), image.height()).await.expect("verification");
    let distance = js_sys::Reflect::get(&result, &"distance".into()).expect("distance").as_f64().expect("number");
    assert!(distance < 1e-3, "a photo against its own enrollment: distance {distance}");
}
