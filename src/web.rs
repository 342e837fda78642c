//! The browser API, exported with wasm-bindgen: start-up on WebGPU with a CPU fallback,
//! enrollment, live verification and in-browser fine-tuning, all on the core crate's
//! [`Verifier`] and [`FineTuner`].
//!
//! Every export that can fail returns `Result<_, JsError>` so the page can show the message;
//! structured results cross as plain JS objects (serde-wasm-bindgen).

use std::cell::RefCell;

use burn::prelude::*;
use image::RgbImage;
use serde::Serialize;
use wasm_bindgen::prelude::*;

use crate::faces::{FaceSample, stored_crop};
use crate::finetune::{FineTuneConfig, FineTuner};
use crate::metrics::{DistanceHistogram, fit_threshold};
use crate::model::{Detector, Embedder};
use crate::preprocess::{check_image, decode_error, rgb_from_rgba};
use crate::verify::{Enrollment, Verifier, VerifySettings};
use crate::weights::{self, Precision, Weights, WeightsInfo};
use crate::SepfaceError;

unsafe extern "C" {
    /// Calls every static constructor. The wasm linker synthesises it, and cubecl registers
    /// its kernels through such constructors (the `inventory` crate).
    fn __wasm_call_ctors();
}

/// Runs the static constructors once. While no export calls `__wasm_call_ctors`, the linker
/// wraps every export in a call to it, and each call from JS into wasm (thousands per
/// serialised array) runs all constructors again.
pub fn run_constructors() {
    static ONCE: std::sync::Once = std::sync::Once::new();
    // SAFETY: the linker-made function runs the dependencies' static constructors, which
    // expect to run once at start-up, before other code; `Once` keeps it to one call.
    ONCE.call_once(|| unsafe { __wasm_call_ctors() });
}

/// Runs the static constructors, installs the panic hook and the console logger when the
/// module loads.
#[wasm_bindgen(start)]
pub fn start() {
    run_constructors();
    console_error_panic_hook::set_once();
    let _ = console_log::init_with_level(log::Level::Info);
}

thread_local! {
    /// The WebGPU device: one runtime per device per wasm instance, so it is created once.
    static WEBGPU: RefCell<Option<Device>> = const { RefCell::new(None) };
    /// The reason the browser gave for losing the WebGPU device, once it reports the loss.
    static WEBGPU_LOST: RefCell<Option<String>> = const { RefCell::new(None) };
}

/// Returns why the WebGPU device was lost, or `None` while it works (or was never made).
fn webgpu_lost() -> Option<String> {
    WEBGPU_LOST.with(|cell| cell.borrow().clone())
}

/// Checks that a distance threshold is a positive, finite number.
fn check_threshold(threshold: f32) -> Result<(), JsError> {
    if threshold.is_finite() && threshold > 0.0 {
        Ok(())
    } else {
        Err(js_error(format!("invalid threshold {threshold}: use a positive number")))
    }
}

/// Maximum length, in pixels, of a photo's longer side as decoded in the page: longer photos
/// are scaled to it. A face needs far fewer pixels, and browsers limit the size of a canvas.
/// The wasm heap then contains at most 64 MiB of RGBA and 48 MiB of RGB values for a photo.
pub const MAX_BROWSER_SIDE: u32 = 4096;

/// Decodes a photo file into 8-bit RGB, upright, with the browser's own image decoder, and
/// scales it down to at most [`MAX_BROWSER_SIDE`] pixels a side.
///
/// [`check_image`] reads the header in wasm first, so the header faults get the same errors as
/// with [`decode_image`](crate::preprocess::decode_image). These are an unknown format, a
/// truncated JPEG or one whose scans do not match its frame, and more than
/// [`MAX_PIXELS`](crate::preprocess::MAX_PIXELS) pixels. They are rejected before the browser
/// allocates any pixels. The browser then decodes the pixels, because a decoder panic in wasm could not be
/// caught and would stop this module until the page reloads. The browser's decoder either
/// fails with an error or decodes what it can of damaged data. Embedded color profiles are
/// ignored, as natively.
///
/// # Errors
/// The errors of [`check_image`], and [`SepfaceError::Decode`] when the browser cannot decode
/// the pixels or draw them on a canvas.
pub async fn decode_file(bytes: &[u8], source_name: &str) -> crate::Result<RgbImage> {
    check_image(bytes, source_name)?;
    let bitmap = browser_bitmap(bytes).await.map_err(|error| {
        let reason = format!("the browser could not decode the pixels ({}). The file is damaged, or this browser does not support its variant of the format", js_detail(&error));
        decode_error(source_name, reason)
    })?;
    let (width, height) = (bitmap.width(), bitmap.height());
    let pixels = bitmap_rgba(&bitmap, scaled_size(width, height));
    bitmap.close();
    let (size, rgba) = pixels.map_err(|error| {
        let reason = format!("the browser could not draw the {width}x{height} image on an offscreen canvas ({}). Use a current browser", js_detail(&error));
        decode_error(source_name, reason)
    })?;
    if size != (width, height) {
        log::info!("{source_name}: {width}x{height} pixels scaled down to {}x{}", size.0, size.1);
    }
    rgb_from_rgba(rgba, size.0, size.1)
}

/// Returns the message of a JS error, or the value itself when it is a string.
fn js_detail(error: &JsValue) -> String {
    let message = error.dyn_ref::<js_sys::Error>().map(|e| String::from(e.message())).or_else(|| error.as_string());
    message.unwrap_or_else(|| "no reason given".into())
}

/// Scales `width x height` down, keeping its shape, so that no side exceeds
/// [`MAX_BROWSER_SIDE`]. A side never drops below 1 pixel.
fn scaled_size(width: u32, height: u32) -> (u32, u32) {
    let longest = u64::from(width.max(height));
    if longest <= u64::from(MAX_BROWSER_SIDE) {
        return (width, height);
    }
    let scale = |side: u32| ((u64::from(side) * u64::from(MAX_BROWSER_SIDE) + longest / 2) / longest).max(1) as u32;
    (scale(width), scale(height))
}

/// Asks the browser to decode `bytes` into a bitmap, upright, with unpremultiplied alpha.
async fn browser_bitmap(bytes: &[u8]) -> Result<web_sys::ImageBitmap, JsValue> {
    use wasm_bindgen_futures::JsFuture;
    let parts = js_sys::Array::of1(&js_sys::Uint8Array::from(bytes));
    let blob = web_sys::Blob::new_with_u8_array_sequence(&parts)?;
    let window = web_sys::window().ok_or_else(|| JsValue::from_str("photo files can only be decoded on a page's main thread"))?;
    let decode = |upright: bool| window.create_image_bitmap_with_blob_and_image_bitmap_options(&blob, &bitmap_options(upright));
    // NOTE: browsers that predate the "from-image" value reject it with a TypeError. The bitmap
    // is then made with the browser's default orientation, which may ignore the EXIF one.
    let bitmap = match JsFuture::from(decode(true)?).await {
        Err(error) if error.is_instance_of::<js_sys::TypeError>() => JsFuture::from(decode(false)?).await?,
        decoded => decoded?,
    };
    bitmap.dyn_into()
}

/// Builds the options of `createImageBitmap`: no color profile conversion, unpremultiplied
/// alpha, and the EXIF orientation applied when `upright`.
fn bitmap_options(upright: bool) -> web_sys::ImageBitmapOptions {
    use web_sys::{ColorSpaceConversion, ImageBitmapOptions, ImageOrientation, PremultiplyAlpha};
    let options = ImageBitmapOptions::new();
    if upright {
        options.set_image_orientation(ImageOrientation::FromImage);
    }
    options.set_premultiply_alpha(PremultiplyAlpha::None);
    options.set_color_space_conversion(ColorSpaceConversion::None);
    options
}

/// Draws a bitmap at `size` on an offscreen canvas and reads back its RGBA pixels.
fn bitmap_rgba(bitmap: &web_sys::ImageBitmap, size: (u32, u32)) -> Result<((u32, u32), Vec<u8>), JsValue> {
    let (width, height) = (f64::from(size.0), f64::from(size.1));
    let canvas = web_sys::OffscreenCanvas::new(size.0, size.1)?;
    let context = canvas.get_context("2d")?.ok_or_else(|| JsValue::from_str("the browser gave no 2D canvas"))?;
    let context: web_sys::OffscreenCanvasRenderingContext2d = context.dyn_into()?;
    js_sys::Reflect::set(&context, &"imageSmoothingQuality".into(), &"high".into())?;
    context.draw_image_with_image_bitmap_and_dw_and_dh(bitmap, 0.0, 0.0, width, height)?;
    let pixels = context.get_image_data(0.0, 0.0, width, height)?.data().0;
    // Frees the canvas's pixels now instead of at the next garbage collection.
    canvas.set_width(0);
    Ok((size, pixels))
}

/// Converts any displayable error into a `JsError`.
fn js_error(error: impl std::fmt::Display) -> JsError {
    JsError::new(&error.to_string())
}

fn to_js<T: Serialize>(value: &T) -> Result<JsValue, JsError> {
    serde_wasm_bindgen::to_value(value).map_err(js_error)
}

/// Asks the browser for a WebGPU adapter; returns why not when there is none.
///
/// Uses `js_sys::Reflect` rather than web-sys's WebGPU bindings, which need the
/// `web_sys_unstable_apis` cfg flag.
async fn probe_webgpu() -> Result<(), String> {
    let global = js_sys::global();
    let navigator = js_sys::Reflect::get(&global, &"navigator".into()).map_err(|_| "no navigator object")?;
    let gpu = js_sys::Reflect::get(&navigator, &"gpu".into()).unwrap_or(JsValue::UNDEFINED);
    if gpu.is_undefined() || gpu.is_null() {
        return Err("this browser has no WebGPU (navigator.gpu is undefined; Chromium needs a secure context, \
                    and without a GPU the --enable-unsafe-webgpu flag)"
            .into());
    }
    let request = js_sys::Reflect::get(&gpu, &"requestAdapter".into())
        .ok()
        .and_then(|f| f.dyn_into::<js_sys::Function>().ok())
        .ok_or("navigator.gpu.requestAdapter is not a function")?;
    let promise = request
        .call0(&gpu)
        .ok()
        .and_then(|p| p.dyn_into::<js_sys::Promise>().ok())
        .ok_or("navigator.gpu.requestAdapter() did not return a promise")?;
    let adapter = wasm_bindgen_futures::JsFuture::from(promise)
        .await
        .map_err(|error| format!("navigator.gpu.requestAdapter() failed: {error:?}"))?;
    if adapter.is_null() || adapter.is_undefined() {
        return Err("navigator.gpu.requestAdapter() returned no adapter".into());
    }
    Ok(())
}

/// Returns the WebGPU device, initialising burn's runtime on first use (later calls return the
/// same device), or why WebGPU is unavailable.
pub async fn webgpu_device() -> Result<Device, String> {
    run_constructors();
    if let Some(device) = WEBGPU.with(|cell| cell.borrow().clone()) {
        return Ok(device);
    }
    probe_webgpu().await?;
    let (device, setup) = Device::wgpu_options()
        .init_with_setup_async()
        .await
        .map_err(|error| format!("WebGPU initialisation failed: {error}"))?;
    setup.device.set_device_lost_callback(|kind, message| {
        log::warn!("the WebGPU device was lost ({kind:?}): {message}");
        let reason = format!("{kind:?}: {}", message.trim_end_matches('.'));
        WEBGPU_LOST.with(|cell| *cell.borrow_mut() = Some(reason));
    });
    WEBGPU.with(|cell| *cell.borrow_mut() = Some(device.clone()));
    Ok(device)
}

/// Picks the backend: WebGPU unless `preference` is `"cpu"` or WebGPU is unavailable.
async fn choose_device(preference: &str) -> (Device, &'static str, String) {
    if preference == "cpu" {
        return (Device::flex(), "cpu", "the CPU backend was requested".into());
    }
    match webgpu_device().await {
        Ok(device) => (device, "webgpu", "WebGPU adapter found".into()),
        Err(reason) if preference == "webgpu" => (Device::flex(), "cpu", format!("WebGPU was requested but {reason}")),
        Err(reason) => (Device::flex(), "cpu", format!("falling back to the CPU: {reason}")),
    }
}

/// A face crop and where it was found, for showing enrollment photos.
#[derive(Serialize)]
struct EnrolledPhoto {
    name: String,
    face_box: crate::boxes::FaceBox,
    presence: Option<f32>,
    /// The crop as RGBA bytes, `crop_size x crop_size`, passed to JS as one `Uint8Array`.
    #[serde(with = "serde_bytes")]
    crop: Vec<u8>,
    crop_size: u32,
    photos: usize,
    /// Other faces in the photo; the largest was taken.
    others: usize,
}

/// A face found and embedded, for benchmarks.
#[derive(Serialize)]
struct EmbeddedFace {
    detection: crate::verify::FaceDetection,
    embedding: Vec<f32>,
}

/// Memory use of burn's allocator on a GPU, for long-run memory checks.
#[derive(Serialize)]
struct DeviceMemory {
    allocations: u64,
    bytes_in_use: u64,
    bytes_reserved: u64,
}

/// Statistics of a fine-tuning run for the page's plots.
#[derive(Serialize)]
struct FineTuneReport {
    before: DistanceHistogram,
    after: DistanceHistogram,
    threshold_before: f32,
    threshold_after: Option<f32>,
    accuracy_after: Option<f64>,
    pairs: usize,
}

/// The page's state: the verifier, the enrollment, and a fine-tuning run if one is going.
#[wasm_bindgen]
pub struct App {
    verifier: Verifier,
    /// The weights files the App started from, kept to rebuild the networks on the CPU when
    /// the GPU is lost.
    detector_bytes: Vec<u8>,
    embedder_bytes: Vec<u8>,
    /// The weights of the fine-tuned embedder in use, if one was applied, for the same purpose.
    applied_bytes: Option<Vec<u8>>,
    backend: &'static str,
    backend_reason: String,
    embedder_config: crate::model::EmbedderConfig,
    shipped_embedder: Weights<Embedder>,
    enrolled: Vec<Vec<f32>>,
    enrollment: Option<Enrollment>,
    tuning_photos: Vec<FaceSample>,
    tuner: Option<FineTuner>,
    tuned: Option<Embedder>,
}

/// Size of the crops returned to the page.
const PREVIEW_SIZE: u32 = 96;

/// Loads the detector and embedder weights files onto `device`.
fn load_networks(detector: &[u8], embedder: &[u8], device: &Device) -> Result<(Weights<Detector>, Weights<Embedder>), JsError> {
    let detector = weights::from_bytes(detector, "models/detector.bpk", device).map_err(js_error)?;
    let embedder = weights::from_bytes(embedder, "models/embedder.bpk", device).map_err(js_error)?;
    Ok((detector, embedder))
}

/// Detects and embeds the face of `frame` without judging the detection; a box without pixels
/// falls back to the centre of the frame.
async fn embed_any_face(verifier: &Verifier, frame: &RgbImage) -> crate::Result<EmbeddedFace> {
    let detection = verifier.locate(frame).await?;
    let embedding = match verifier.embed(frame, &detection.face_box).await {
        Ok(embedding) => embedding,
        Err(SepfaceError::DeviceLost { backend, reason }) => return Err(SepfaceError::DeviceLost { backend, reason }),
        Err(_) => {
            let centre = crate::preprocess::center_box(frame.width(), frame.height(), 0.5);
            verifier.embed(frame, &centre).await?
        }
    };
    Ok(EmbeddedFace { detection, embedding })
}

fn rgba_bytes(image: &RgbImage) -> Vec<u8> {
    image.pixels().flat_map(|p| [p.0[0], p.0[1], p.0[2], 255]).collect()
}

#[wasm_bindgen]
impl App {
    /// Loads the weights and starts the backend (`preference`: `"auto"`, `"webgpu"` or
    /// `"cpu"`), then runs one warm-up pass.
    pub async fn create(detector: Vec<u8>, embedder: Vec<u8>, preference: String) -> Result<App, JsError> {
        run_constructors();
        let (device, backend, backend_reason) = choose_device(&preference).await;
        log::info!("sepface backend: {backend} ({backend_reason})");
        let (detector_bytes, embedder_bytes) = (detector, embedder);
        let (detector, embedder) = load_networks(&detector_bytes, &embedder_bytes, &device)?;
        let embedder_config = embedder.config.clone();
        let verifier = Verifier::new(detector, embedder.clone(), &device);
        let app = App {
            verifier,
            detector_bytes,
            embedder_bytes,
            applied_bytes: None,
            backend,
            backend_reason,
            embedder_config,
            shipped_embedder: embedder,
            enrolled: Vec::new(),
            enrollment: None,
            tuning_photos: Vec::new(),
            tuner: None,
            tuned: None,
        };
        app.warm_up().await?;
        Ok(app)
    }

    async fn warm_up(&self) -> Result<(), JsError> {
        let blank = RgbImage::from_pixel(64, 64, image::Rgb([128, 128, 128]));
        let _ = self.verifier.detect(&blank, "warm-up").await;
        self.verifier.embed_crop(&blank).await.map_err(js_error)?;
        Ok(())
    }

    /// Rebuilds the networks on the CPU after the WebGPU device was lost. The settings, the
    /// enrollment and a fine-tuned embedder in use stay. A fine-tuning run in progress, or one
    /// finished but not applied, is lost.
    fn fall_back_to_cpu(&mut self, reason: &str) -> Result<(), JsError> {
        log::warn!("carrying on on the CPU after losing the WebGPU device: {reason}");
        let device = Device::flex();
        let (detector, shipped) = load_networks(&self.detector_bytes, &self.embedder_bytes, &device)?;
        let in_use = match &self.applied_bytes {
            Some(bytes) => weights::from_bytes::<Embedder>(bytes, "the fine-tuned embedder", &device).map_err(js_error)?.model,
            None => shipped.model.clone(),
        };
        let settings = *self.verifier.settings();
        let embedder_id = self.verifier.embedder_id().to_string();
        let mut verifier = Verifier::new(detector, shipped.clone(), &device);
        verifier.set_embedder(in_use, embedder_id);
        verifier.set_settings(settings);
        self.verifier = verifier;
        self.shipped_embedder = shipped;
        self.tuner = None;
        self.tuned = None;
        self.backend = "cpu";
        self.backend_reason = format!("the WebGPU device was lost ({reason}), so sepface carries on on the CPU");
        Ok(())
    }

    /// Moves to the CPU if the browser has reported the WebGPU device lost since the last call.
    fn recover(&mut self) -> Result<(), JsError> {
        match webgpu_lost() {
            Some(reason) if self.backend == "webgpu" => self.fall_back_to_cpu(&reason),
            _ => Ok(()),
        }
    }

    /// Converts a pipeline result for JS. A lost device first moves the App to the CPU, and the
    /// returned error requests a retry.
    fn settle<T>(&mut self, result: crate::Result<T>) -> Result<T, JsError> {
        let lost = match &result {
            Err(SepfaceError::DeviceLost { reason, .. }) => Some(reason.clone()),
            Err(_) => webgpu_lost(),
            Ok(_) => None,
        };
        match (result, lost) {
            (Err(error), Some(reason)) if self.backend == "webgpu" => {
                self.fall_back_to_cpu(&reason)?;
                Err(js_error(format!("{error}. sepface has moved to the CPU: try again")))
            }
            (result, _) => result.map_err(js_error),
        }
    }

    /// Returns `"webgpu"` or `"cpu"`.
    pub fn backend(&self) -> String {
        self.backend.to_string()
    }

    /// Returns why this backend runs.
    #[wasm_bindgen(js_name = backendReason)]
    pub fn backend_reason(&self) -> String {
        self.backend_reason.clone()
    }

    /// Returns what burn's allocator holds on the device as
    /// `{ allocations, bytes_in_use, bytes_reserved }`, or `undefined` where the backend does
    /// not report it (the CPU backend, whose tensors live in the wasm memory).
    #[wasm_bindgen(js_name = deviceMemory)]
    pub fn device_memory(&self) -> Result<JsValue, JsError> {
        let usage = self.verifier.device().memory_pool_usage().map(|usage| DeviceMemory {
            allocations: usage.number_allocs,
            bytes_in_use: usage.bytes_in_use,
            bytes_reserved: usage.bytes_reserved,
        });
        to_js(&usage)
    }

    /// Returns the bytes in use in the wasm heap: allocated and not yet freed. Unlike the size
    /// of the wasm memory, it falls with every free, so a leak shows as a rising count.
    #[wasm_bindgen(js_name = heapBytesInUse)]
    pub fn heap_bytes_in_use(&self) -> f64 {
        crate::heap::bytes_in_use() as f64
    }

    /// Returns the current settings (threshold, distance, margins) as a JS object.
    pub fn settings(&self) -> Result<JsValue, JsError> {
        to_js(self.verifier.settings())
    }

    /// Sets the distance threshold.
    #[wasm_bindgen(js_name = setThreshold)]
    pub fn set_threshold(&mut self, threshold: f32) -> Result<(), JsError> {
        check_threshold(threshold)?;
        let settings = VerifySettings {
            threshold,
            ..*self.verifier.settings()
        };
        self.verifier.set_settings(settings);
        Ok(())
    }

    /// Detects the face in an RGBA frame (a canvas's `ImageData.data`).
    #[wasm_bindgen(js_name = detectFrame)]
    pub async fn detect_frame(&mut self, rgba: Vec<u8>, width: u32, height: u32) -> Result<JsValue, JsError> {
        self.recover()?;
        let frame = rgb_from_rgba(rgba, width, height).map_err(js_error)?;
        let detection = self.verifier.detect(&frame, "camera frame").await;
        to_js(&self.settle(detection)?)
    }

    /// Detects and embeds the face in an RGBA frame without the presence, size and sharpness
    /// checks, for benchmarks: returns `{ detection: { face_box, presence, others }, embedding }`.
    /// A box without pixels falls back to the centre of the frame.
    #[wasm_bindgen(js_name = embedFrame)]
    pub async fn embed_frame(&mut self, rgba: Vec<u8>, width: u32, height: u32) -> Result<JsValue, JsError> {
        self.recover()?;
        let frame = rgb_from_rgba(rgba, width, height).map_err(js_error)?;
        let face = embed_any_face(&self.verifier, &frame).await;
        to_js(&self.settle(face)?)
    }

    /// Adds a photo file (JPEG, PNG, WebP or GIF bytes) to the enrollment.
    #[wasm_bindgen(js_name = enrollFile)]
    pub async fn enroll_file(&mut self, bytes: Vec<u8>, name: String) -> Result<JsValue, JsError> {
        let image = decode_file(&bytes, &name).await.map_err(js_error)?;
        self.enroll_image(image, name).await
    }

    /// Adds an RGBA camera frame to the enrollment.
    #[wasm_bindgen(js_name = enrollFrame)]
    pub async fn enroll_frame(&mut self, rgba: Vec<u8>, width: u32, height: u32) -> Result<JsValue, JsError> {
        let image = rgb_from_rgba(rgba, width, height).map_err(js_error)?;
        self.enroll_image(image, "camera capture".into()).await
    }

    async fn enroll_image(&mut self, image: RgbImage, name: String) -> Result<JsValue, JsError> {
        self.recover()?;
        let enrolled = self.verifier.enroll_photo(&image, &name).await;
        let (detection, embedding) = self.settle(enrolled)?;
        self.enrolled.push(embedding);
        self.enrollment = Some(self.verifier.enrollment_from(&self.enrolled));
        let margin = self.verifier.settings().crop_margin;
        let crop = crate::preprocess::crop_face(&image, &detection.face_box, margin).map_err(js_error)?;
        let preview = image::imageops::resize(&crop, PREVIEW_SIZE, PREVIEW_SIZE, image::imageops::FilterType::Triangle);
        to_js(&EnrolledPhoto {
            name,
            face_box: detection.face_box,
            presence: detection.presence,
            crop: rgba_bytes(&preview),
            crop_size: PREVIEW_SIZE,
            photos: self.enrolled.len(),
            others: detection.others,
        })
    }

    /// Forgets the enrollment.
    #[wasm_bindgen(js_name = clearEnrollment)]
    pub fn clear_enrollment(&mut self) {
        self.enrolled.clear();
        self.enrollment = None;
    }

    /// Returns the enrollment as JSON, for saving in IndexedDB, or `undefined` when there is
    /// none.
    #[wasm_bindgen(js_name = enrollmentJson)]
    pub fn enrollment_json(&self) -> Result<Option<String>, JsError> {
        self.enrollment.as_ref().map(|e| serde_json::to_string(e).map_err(js_error)).transpose()
    }

    /// Restores an enrollment saved with [`enrollment_json`](Self::enrollment_json).
    #[wasm_bindgen(js_name = loadEnrollment)]
    pub fn load_enrollment(&mut self, json: String) -> Result<usize, JsError> {
        let enrollment: Enrollment = serde_json::from_str(&json).map_err(|error| js_error(format!("the saved enrollment is damaged ({error}); delete it and enroll again")))?;
        self.verifier.check_enrollment(&enrollment).map_err(js_error)?;
        let photos = enrollment.photos;
        self.enrolled = vec![enrollment.embedding.clone()];
        self.enrollment = Some(enrollment);
        Ok(photos)
    }

    /// Compares the face in an RGBA frame with the enrollment.
    #[wasm_bindgen(js_name = verifyFrame)]
    pub async fn verify_frame(&mut self, rgba: Vec<u8>, width: u32, height: u32) -> Result<JsValue, JsError> {
        self.recover()?;
        let enrollment = self.enrollment.as_ref().ok_or_else(|| js_error("nobody is enrolled yet: add a photo first"))?;
        let frame = rgb_from_rgba(rgba, width, height).map_err(js_error)?;
        let verification = self.verifier.verify(enrollment, &frame, "camera frame").await;
        to_js(&self.settle(verification)?)
    }
}

#[wasm_bindgen]
impl App {
    /// Adds a photo file of person `person` (0, 1, ...) to the fine-tuning set.
    #[wasm_bindgen(js_name = addTuningFile)]
    pub async fn add_tuning_file(&mut self, bytes: Vec<u8>, name: String, person: u32) -> Result<JsValue, JsError> {
        let image = decode_file(&bytes, &name).await.map_err(js_error)?;
        self.add_tuning_image(image, name, person).await
    }

    /// Adds an RGBA camera frame of person `person` to the fine-tuning set.
    #[wasm_bindgen(js_name = addTuningFrame)]
    pub async fn add_tuning_frame(&mut self, rgba: Vec<u8>, width: u32, height: u32, person: u32) -> Result<JsValue, JsError> {
        let image = rgb_from_rgba(rgba, width, height).map_err(js_error)?;
        self.add_tuning_image(image, "camera capture".into(), person).await
    }

    async fn add_tuning_image(&mut self, image: RgbImage, name: String, person: u32) -> Result<JsValue, JsError> {
        self.recover()?;
        let detection = self.verifier.detect(&image, &name).await;
        let detection = self.settle(detection)?;
        let settings = *self.verifier.settings();
        let stored = (self.embedder_config.input_size() as f32 * 1.25) as u32;
        let crop = stored_crop(&image, &detection.face_box, settings.crop_margin, stored).map_err(js_error)?;
        let preview = image::imageops::resize(&crop, PREVIEW_SIZE, PREVIEW_SIZE, image::imageops::FilterType::Triangle);
        self.tuning_photos.push(FaceSample {
            crop,
            identity: person as usize,
        });
        let count = self.tuning_photos.iter().filter(|s| s.identity == person as usize).count();
        to_js(&EnrolledPhoto {
            name,
            face_box: detection.face_box,
            presence: detection.presence,
            crop: rgba_bytes(&preview),
            crop_size: PREVIEW_SIZE,
            photos: count,
            others: detection.others,
        })
    }

    /// Removes every fine-tuning photo and any run in progress.
    #[wasm_bindgen(js_name = clearTuning)]
    pub fn clear_tuning(&mut self) {
        self.tuning_photos.clear();
        self.tuner = None;
        self.tuned = None;
    }

    /// Starts a fine-tuning run on the photos added so far, from the embedder in use.
    #[wasm_bindgen(js_name = startTuning)]
    pub fn start_tuning(&mut self, learning_rate: f64) -> Result<(), JsError> {
        self.recover()?;
        let config = FineTuneConfig {
            learning_rate,
            distance: self.verifier.settings().distance,
            ..FineTuneConfig::default()
        };
        let (embedder, embedder_config) = self.verifier.embedder();
        let margin = self.verifier.settings().crop_margin;
        let tuner = FineTuner::new(embedder, embedder_config, self.tuning_photos.clone(), margin, config, self.verifier.device()).map_err(js_error)?;
        self.tuner = Some(tuner);
        self.tuned = None;
        Ok(())
    }

    /// Takes one fine-tuning step; on divergence the run is dropped and the embedder in use is
    /// unchanged.
    #[wasm_bindgen(js_name = tuningStep)]
    pub async fn tuning_step(&mut self) -> Result<JsValue, JsError> {
        self.recover()?;
        let tuner = self.tuner.as_mut().ok_or_else(|| js_error("no fine-tuning run: start one first (a lost GPU ends a run)"))?;
        let step = tuner.step().await;
        if step.is_err() {
            self.tuner = None;
        }
        to_js(&self.settle(step)?)
    }

    /// Ends the run: measures the photos' pair distances before and after, refits the
    /// threshold on them, and keeps the tuned embedder aside until `applyTuning` or
    /// `revertTuning`.
    #[wasm_bindgen(js_name = finishTuning)]
    pub async fn finish_tuning(&mut self) -> Result<JsValue, JsError> {
        self.recover()?;
        let tuner = self.tuner.take().ok_or_else(|| js_error("no fine-tuning run: start one first (a lost GPU ends a run)"))?;
        let (current, _) = self.verifier.embedder();
        let before = tuner.pair_distances(current).await;
        let before = self.settle(before)?;
        let tuned = tuner.model();
        let after = tuner.pair_distances(&tuned).await;
        let after = self.settle(after)?;
        let max = self.verifier.settings().distance.max_value();
        let fitted = fit_threshold(&after);
        self.tuned = Some(tuned);
        to_js(&FineTuneReport {
            before: DistanceHistogram::new(&before, 20, 0.0, max),
            after: DistanceHistogram::new(&after, 20, 0.0, max),
            threshold_before: self.verifier.settings().threshold,
            threshold_after: fitted.map(|(threshold, _)| threshold),
            accuracy_after: fitted.map(|(_, accuracy)| accuracy),
            pairs: after.len(),
        })
    }

    /// Puts the tuned embedder in use with `threshold` and returns its weights file; the
    /// enrollment must be redone.
    ///
    /// The embedder in use is the one read back from that file and is named by the file's
    /// checksum. So when the page saves exactly these bytes, a reload that loads them gives it
    /// the same name, and enrollments made now still verify. On an error nothing changes, and
    /// the run can be applied again unless the GPU was lost.
    #[wasm_bindgen(js_name = applyTuning)]
    pub async fn apply_tuning(&mut self, threshold: f32) -> Result<Vec<u8>, JsError> {
        self.recover()?;
        let tuned = self.tuned.clone().ok_or_else(|| js_error("no finished fine-tuning run to apply (a lost GPU drops it)"))?;
        check_threshold(threshold)?;
        let info = WeightsInfo {
            threshold: Some(threshold),
            ..self.weights_info()
        };
        let bytes = weights::to_bytes(&tuned, &self.embedder_config, &info, Precision::F32).await;
        let bytes = self.settle(bytes)?;
        let applied = weights::from_bytes::<Embedder>(&bytes, "the fine-tuned embedder", self.verifier.device()).map_err(js_error)?;
        self.verifier.set_embedder(applied.model, applied.checksum);
        self.set_threshold(threshold)?;
        self.tuned = None;
        self.applied_bytes = Some(bytes.clone());
        self.clear_enrollment();
        Ok(bytes)
    }

    /// Returns the verification settings in use, for storing in a weights file.
    fn weights_info(&self) -> WeightsInfo {
        let settings = self.verifier.settings();
        WeightsInfo {
            threshold: Some(settings.threshold),
            distance: Some(settings.distance),
            crop_margin: Some(settings.crop_margin),
            provenance: Some("fine-tuned in the sepface web app".into()),
        }
    }

    /// Goes back to the embedder and threshold the page started with: the shipped embedder, or
    /// the fine-tuned one saved on this device when the page loaded it. The enrollment must be
    /// redone.
    #[wasm_bindgen(js_name = revertTuning)]
    pub fn revert_tuning(&mut self) -> Result<(), JsError> {
        let shipped = self.shipped_embedder.clone();
        self.verifier.set_embedder(shipped.model, shipped.checksum);
        self.set_threshold(shipped.info.threshold.unwrap_or(VerifySettings::default().threshold))?;
        self.tuned = None;
        self.applied_bytes = None;
        self.clear_enrollment();
        Ok(())
    }

    /// Serialises the embedder in use as a weights file the native command line can load.
    #[wasm_bindgen(js_name = exportEmbedder)]
    pub async fn export_embedder(&mut self) -> Result<Vec<u8>, JsError> {
        self.recover()?;
        let (embedder, config) = self.verifier.embedder();
        let bytes = weights::to_bytes(embedder, config, &self.weights_info(), Precision::F32).await;
        self.settle(bytes)
    }
}

/// A network of `NetworkBench`, without gradients.
enum BenchNetwork {
    Detector(Detector),
    Embedder(Embedder),
}

impl BenchNetwork {
    /// Builds network `name` at random weights; returns it with its input size, its
    /// multiply-accumulates per image and its number of parameters.
    fn build(name: &str, device: &Device) -> Option<(Self, usize, u64, usize)> {
        use crate::model::{DetectorConfig, EmbedderConfig};
        let (kind, variant) = name.split_once(' ')?;
        match kind {
            "detector" => {
                let config = DetectorConfig::named(variant).ok()?;
                let model = config.init(device).valid();
                let params = model.num_params();
                Some((Self::Detector(model), config.input_size(), config.macs(), params))
            }
            "embedder" => {
                let config = EmbedderConfig::named(variant).ok()?;
                let model = config.init(device).valid();
                let params = model.num_params();
                Some((Self::Embedder(model), config.input_size(), config.macs(), params))
            }
            _ => None,
        }
    }
}

/// A network of de Souza's paper (its Tables 1, 2, 4 and 5) or a web network, at random
/// weights, with one fixed random batch. `bench/networks.mjs` times `run` in the browser, as
/// `cargo bench --bench speed` does natively.
#[wasm_bindgen]
pub struct NetworkBench {
    network: BenchNetwork,
    input: Tensor<4>,
    backend: &'static str,
    macs: u64,
    params: usize,
}

#[wasm_bindgen]
impl NetworkBench {
    /// Builds network `name` (`"detector paper_regular"`, `"detector paper_separable"`,
    /// `"detector web"`, or the same three for `"embedder"`) on backend `preference` (`"cpu"`
    /// or `"webgpu"`), with a random batch of `batch` images.
    pub async fn create(name: String, preference: String, batch: u32) -> Result<NetworkBench, JsError> {
        run_constructors();
        let (device, backend, reason) = choose_device(&preference).await;
        if backend != preference {
            return Err(JsError::new(&format!("backend {preference:?} was requested but {backend} is in use ({reason}): request \"cpu\", or use a browser with WebGPU")));
        }
        if batch == 0 {
            return Err(JsError::new("invalid batch size 0: use 1 or more images"));
        }
        let unknown = || JsError::new(&format!("unknown network {name:?}: use \"detector\" or \"embedder\", a space, then paper_regular, paper_separable or web"));
        let (network, size, macs, params) = BenchNetwork::build(&name, &device).ok_or_else(unknown)?;
        let shape = [batch as usize, 3, size, size];
        let input = Tensor::<4>::random(shape, burn::tensor::Distribution::Default, &device);
        Ok(NetworkBench { network, input, backend, macs, params })
    }

    /// Runs the network once on the batch and waits for the output to be read back.
    pub async fn run(&self) -> Result<(), JsError> {
        let output = match &self.network {
            BenchNetwork::Detector(model) => model.forward(self.input.clone()).boxes,
            BenchNetwork::Embedder(model) => model.forward(self.input.clone()),
        };
        crate::verify::read_floats(output, "the bench output").await.map_err(js_error)?;
        Ok(())
    }

    /// Returns the backend the network runs on: `"webgpu"` or `"cpu"`.
    pub fn backend(&self) -> String {
        self.backend.into()
    }

    /// Returns the multiply-accumulates per image.
    pub fn macs(&self) -> f64 {
        self.macs as f64
    }

    /// Returns the number of parameters.
    pub fn params(&self) -> usize {
        self.params
    }
}
