//! Image decoding and preprocessing: decode JPEG, PNG, WebP or GIF with a pixel limit, apply the
//! EXIF orientation, convert to 8-bit RGB, crop faces, resize and turn images into tensors of
//! RGB values divided by 255.

use std::io::Cursor;

use burn::prelude::*;
use image::imageops::FilterType;
use image::{DynamicImage, ImageDecoder, ImageReader, Limits, RgbImage, RgbaImage};

use crate::boxes::FaceBox;
use crate::{Result, SepfaceError};

/// Largest image accepted by [`decode_image`], in pixels: 64 megapixels, above the largest
/// CelebA in-the-wild photo (5,616 px wide) and the 12 to 50 megapixels phones save by default.
/// Full-resolution photos of 108 or 200 megapixel sensors are rejected and must be scaled down:
/// their RGB pixels alone take 0.3 to 0.6 GB of the browser tab's memory.
pub const MAX_PIXELS: u64 = 64_000_000;

/// Resampling used to fit an image to a network's input.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Resize {
    /// Bilinear (triangle filter), used for the detector.
    Bilinear,
    /// Bicubic (Catmull-Rom), used for the embedder.
    Bicubic,
}

impl Resize {
    fn filter(self) -> FilterType {
        match self {
            Resize::Bilinear => FilterType::Triangle,
            Resize::Bicubic => FilterType::CatmullRom,
        }
    }
}

/// Decodes an image file's bytes into 8-bit RGB, upright.
///
/// Grayscale, 16-bit and RGBA images are converted to 8-bit RGB; transparent pixels are blended
/// over white. Animated GIFs give their first frame. `source_name` labels the input in errors.
///
/// # Errors
/// The errors of [`check_image`], and [`SepfaceError::Decode`] for damaged pixel data.
pub fn decode_image(bytes: &[u8], source_name: &str) -> Result<RgbImage> {
    let mut decoder = checked_decoder(bytes, source_name)?;
    let orientation = decoder.orientation().ok();
    let mut image = decode_pixels(decoder).map_err(|reason| decode_error(source_name, reason))?;
    if let Some(orientation) = orientation {
        image.apply_orientation(orientation);
    }
    Ok(to_rgb(image))
}

/// Checks an image file's header without decoding its pixels, and returns its stored width
/// and height (before any EXIF orientation).
///
/// # Errors
/// [`SepfaceError::EmptyImage`] for no bytes, [`SepfaceError::ImageTooLarge`] when the header
/// claims more than [`MAX_PIXELS`], and [`SepfaceError::Decode`] for an unknown format, a
/// damaged header or a JPEG that is truncated or whose scans do not match its frame.
pub fn check_image(bytes: &[u8], source_name: &str) -> Result<(u32, u32)> {
    Ok(checked_decoder(bytes, source_name)?.dimensions())
}

/// Reads and checks the header, and returns a decoder limited to [`MAX_PIXELS`].
fn checked_decoder<'a>(bytes: &'a [u8], source_name: &str) -> Result<impl ImageDecoder + 'a> {
    if bytes.is_empty() {
        return Err(SepfaceError::EmptyImage {
            source_name: source_name.to_string(),
        });
    }
    let failed = |reason: String| decode_error(source_name, reason);
    let mut reader = ImageReader::new(Cursor::new(bytes)).with_guessed_format().map_err(|error| failed(error.to_string()))?;
    match reader.format() {
        None => return Err(failed("the data is not a JPEG, PNG, WebP or GIF image".into())),
        Some(image::ImageFormat::Jpeg) => check_jpeg(bytes).map_err(failed)?,
        Some(_) => {}
    }
    let mut limits = Limits::default();
    limits.max_alloc = Some(MAX_PIXELS * 8);
    reader.limits(limits);
    let decoder = reader.into_decoder().map_err(|error| failed(error.to_string()))?;
    let (mut width, mut height) = decoder.dimensions();
    // A GIF's first frame may reach past its logical screen, and a decoder may grow the image
    // to the frame.
    if let Some((right, bottom)) = bytes.starts_with(b"GIF").then(|| gif_first_frame(bytes)).flatten() {
        (width, height) = (width.max(right), height.max(bottom));
    }
    if width as u64 * height as u64 > MAX_PIXELS {
        return Err(SepfaceError::ImageTooLarge {
            source_name: source_name.to_string(),
            width,
            height,
            max_pixels: MAX_PIXELS,
        });
    }
    Ok(decoder)
}

/// Returns how far a GIF's first frame reaches, right and down (its offset plus its size), or
/// `None` when the file ends before the first frame's position and size.
fn gif_first_frame(bytes: &[u8]) -> Option<(u32, u32)> {
    let packed = *bytes.get(10)?;
    let global_colors = if packed & 0x80 != 0 { 3 << ((packed & 7) + 1) } else { 0 };
    let mut at = 13 + global_colors;
    loop {
        match *bytes.get(at)? {
            // An extension: a label, then data sub-blocks, each led by its length, until length 0.
            0x21 => {
                at += 2;
                while *bytes.get(at)? != 0 {
                    at += 1 + usize::from(bytes[at]);
                }
                at += 1;
            }
            0x2C => {
                let field = |k: usize| bytes.get(at + 1 + 2 * k..at + 3 + 2 * k).map(|b| u32::from(u16::from_le_bytes([b[0], b[1]])));
                return Some((field(0)? + field(2)?, field(1)? + field(3)?));
            }
            _ => return None,
        }
    }
}

/// Builds the error for an input named `source_name` that cannot be decoded, and why.
pub(crate) fn decode_error(source_name: &str, reason: String) -> SepfaceError {
    SepfaceError::Decode {
        source_name: source_name.to_string(),
        reason,
    }
}

/// Decodes the pixels, turning a panic inside the decoder into an error natively.
///
/// zune-jpeg 0.5.15, image's JPEG decoder, panics on some malformed JPEGs, in its AVX2 and in
/// its portable inverse DCT. [`check_jpeg`] rejects the faults of every such file that
/// fuzzing found, before decoding. A panic from any other fault becomes an error here.
///
/// wasm32 builds abort on a panic and cannot catch one, so the web app decodes pixels with the
/// browser's decoder instead (`web::decode_file`), after [`check_image`].
fn decode_pixels(decoder: impl ImageDecoder) -> std::result::Result<DynamicImage, String> {
    #[cfg(not(target_arch = "wasm32"))]
    {
        let decoded = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| DynamicImage::from_decoder(decoder)));
        let message = |panic: Box<dyn std::any::Any + Send>| {
            let detail = panic.downcast_ref::<&str>().map(|s| s.to_string()).or_else(|| panic.downcast_ref::<String>().cloned());
            format!("the decoder failed on malformed data ({}); the file is damaged", detail.unwrap_or_else(|| "no message".into()))
        };
        decoded.map_err(message)?.map_err(|error| error.to_string())
    }
    #[cfg(target_arch = "wasm32")]
    {
        DynamicImage::from_decoder(decoder).map_err(|error| error.to_string())
    }
}

/// Checks a JPEG's structure before it is decoded: that it is complete, and that its scans
/// code each component of its frame (once, in a sequential file) and no other.
///
/// The decoder fills a truncated JPEG's missing rows with grey instead of failing, which would
/// give a wrong embedding without any error. And zune-jpeg 0.5.15 panics on some files whose
/// scans do not match the frame, in its portable code too. That code runs in wasm, where a
/// panic cannot be caught. A valid file has no such fault. The segments are walked by their
/// lengths, so that an EXIF thumbnail's markers are skipped, and the entropy-coded data after
/// each scan header up to its next marker. The walk ends at the first end-of-image marker
/// (data after it, such as a motion photo's video, is not read), at a second frame header (a
/// file has one) or where a segment runs past the end.
fn check_jpeg(bytes: &[u8]) -> std::result::Result<(), String> {
    let (mut frame, mut scanned) = (Vec::<u8>::new(), [0usize; 256]);
    let (mut sequential, mut scans, mut ended) = (false, 0, false);
    let mut at = 2;
    while at + 2 <= bytes.len() {
        let marker = bytes[at + 1];
        // Inside entropy-coded data: a data byte, a stuffed 0xFF 0x00, a restart marker or fill.
        if bytes[at] != 0xFF || matches!(marker, 0x00 | 0x01 | 0xD0..=0xD7 | 0xFF) {
            at += if bytes[at] == 0xFF && marker != 0xFF { 2 } else { 1 };
            continue;
        }
        if marker == 0xD9 {
            ended = true;
            break;
        }
        let Some(&[high, low]) = bytes.get(at + 2..at + 4) else { break };
        let length = usize::from(u16::from_be_bytes([high, low]));
        let Some(payload) = bytes.get(at + 4..at + 2 + length.max(2)) else { break };
        match marker {
            // Start of frame, of any coding process. 0xC4, 0xC8 and 0xCC are other segments.
            0xC0..=0xCF if !matches!(marker, 0xC4 | 0xC8 | 0xCC) => {
                if !frame.is_empty() {
                    ended = true;
                    break;
                }
                sequential = matches!(marker, 0xC0 | 0xC1 | 0xC9);
                let count = usize::from(payload.get(5).copied().unwrap_or(0));
                frame = (0..count).filter_map(|k| payload.get(6 + 3 * k).copied()).collect();
            }
            0xDA => {
                scans += 1;
                let count = usize::from(payload.first().copied().unwrap_or(0));
                for id in (0..count).filter_map(|k| payload.get(1 + 2 * k)) {
                    scanned[usize::from(*id)] += 1;
                }
            }
            _ => {}
        }
        at += 2 + length.max(2);
    }
    if scans > 0 && !ended {
        return Err("the JPEG file is truncated (it has no end-of-image marker after its last scan)".into());
    }
    scan_fault(&frame, &scanned, sequential).map_or(Ok(()), |fault| Err(format!("{fault}, so the file is damaged")))
}

/// Returns what is wrong with the components that a JPEG's scans code, given the frame's
/// component ids and how many scans coded each id, if anything.
fn scan_fault(frame: &[u8], scanned: &[usize; 256], sequential: bool) -> Option<String> {
    if let Some(id) = frame.iter().find(|&&id| scanned[usize::from(id)] == 0) {
        return Some(format!("the JPEG frame declares component {id}, but no scan codes it"));
    }
    if let Some(id) = (0..=255u8).find(|&id| scanned[usize::from(id)] > 0 && !frame.contains(&id)) {
        return Some(format!("a JPEG scan codes component {id}, which the frame does not declare"));
    }
    if let Some(id) = frame.iter().find(|&&id| sequential && scanned[usize::from(id)] > 1) {
        return Some(format!("the sequential JPEG codes component {id} in {} scans instead of one", scanned[usize::from(*id)]));
    }
    None
}

/// Converts any decoded image to 8-bit RGB, blending transparency over white.
fn to_rgb(image: DynamicImage) -> RgbImage {
    if !image.color().has_alpha() {
        return image.to_rgb8();
    }
    let rgba: RgbaImage = image.to_rgba8();
    RgbImage::from_fn(rgba.width(), rgba.height(), |x, y| {
        let [r, g, b, a] = rgba.get_pixel(x, y).0;
        let alpha = a as u32;
        let blend = |channel: u8| ((channel as u32 * alpha + 255 * (255 - alpha) + 127) / 255) as u8;
        image::Rgb([blend(r), blend(g), blend(b)])
    })
}

/// Builds an RGB image from tightly packed RGBA bytes, such as a canvas's `ImageData`. Takes
/// the bytes by value, so that a large frame is not copied once more.
pub fn rgb_from_rgba(rgba: Vec<u8>, width: u32, height: u32) -> Result<RgbImage> {
    // In 64 bits, because the product can overflow a 32-bit usize on wasm32.
    let expected = u64::from(width) * u64::from(height) * 4;
    if rgba.len() as u64 != expected || expected == 0 {
        return Err(SepfaceError::ShapeMismatch {
            what: "RGBA frame".into(),
            expected: format!("{width}x{height}x4 = {expected} bytes, more than 0"),
            actual: format!("{} bytes", rgba.len()),
        });
    }
    let length = rgba.len();
    let buffer = RgbaImage::from_raw(width, height, rgba).ok_or_else(|| SepfaceError::ShapeMismatch {
        what: "RGBA frame".into(),
        expected: format!("{expected} bytes"),
        actual: format!("{length} bytes"),
    })?;
    Ok(to_rgb(DynamicImage::ImageRgba8(buffer)))
}

/// Crops `face` grown by `margin` (a fraction of the box's width and height on each side),
/// clamped to the image.
///
/// # Errors
/// [`SepfaceError::EmptyRegion`] when the clamped box has no pixels.
pub fn crop_face(image: &RgbImage, face: &FaceBox, margin: f32) -> Result<RgbImage> {
    let (x, y, width, height) = face.expand(margin).to_pixel_rect(image.width(), image.height());
    if width == 0 || height == 0 {
        return Err(SepfaceError::EmptyRegion {
            what: format!("face crop {face:?} of a {}x{} image", image.width(), image.height()),
            width,
            height,
            hint: "The box lies outside the image or has no area; check the detection or the annotation".into(),
        });
    }
    Ok(image::imageops::crop_imm(image, x, y, width, height).to_image())
}

/// Crops the central square of `fraction` times the shorter side, for pipelines without a
/// detector (such as aligned datasets).
pub fn center_box(width: u32, height: u32, fraction: f32) -> FaceBox {
    let side = width.min(height) as f32 * fraction.clamp(0.0, 1.0);
    let (cx, cy) = (width as f32 / 2.0, height as f32 / 2.0);
    FaceBox::from_pixels(cx - side / 2.0, cy - side / 2.0, cx + side / 2.0, cy + side / 2.0, width, height)
}

/// Resizes `image` to `size x size` and appends its pixels, channel-major and divided by 255, to
/// `out`.
pub fn push_chw(image: &RgbImage, size: usize, resize: Resize, out: &mut Vec<f32>) {
    let resized = image::imageops::resize(image, size as u32, size as u32, resize.filter());
    let start = out.len();
    out.resize(start + 3 * size * size, 0.0);
    let plane = size * size;
    for (index, pixel) in resized.pixels().enumerate() {
        for channel in 0..3 {
            out[start + channel * plane + index] = pixel.0[channel] as f32 / 255.0;
        }
    }
}

/// Turns images into one `[batch, 3, size, size]` tensor of RGB values in [0, 1].
///
/// # Errors
/// [`SepfaceError::EmptyRegion`] for an image without pixels, or an empty batch.
pub fn images_to_tensor(images: &[&RgbImage], size: usize, resize: Resize, device: &Device) -> Result<Tensor<4>> {
    if images.is_empty() {
        return Err(SepfaceError::EmptyRegion {
            what: "image batch".into(),
            width: 0,
            height: 0,
            hint: "Pass at least one image".into(),
        });
    }
    let mut values = Vec::with_capacity(images.len() * 3 * size * size);
    for image in images {
        if image.width() == 0 || image.height() == 0 {
            return Err(SepfaceError::EmptyRegion {
                what: "image".into(),
                width: image.width(),
                height: image.height(),
                hint: "Use an image with at least one pixel".into(),
            });
        }
        push_chw(image, size, resize, &mut values);
    }
    let data = TensorData::new(values, [images.len(), 3, size, size]);
    Ok(Tensor::from_data(data, device))
}

/// Side of the square a crop is resized to before [`sharpness`] measures it, so the measure does
/// not depend on the crop's resolution.
const SHARPNESS_SIZE: u32 = 64;

/// Measures focus as the variance of the Laplacian of the grayscale image (Pech-Pacheco et al.,
/// ICPR 2000), after resizing to 64x64 pixels, with gray levels in [0, 255]. Sharp faces score in
/// the hundreds; heavily blurred ones under about 20.
pub fn sharpness(image: &RgbImage) -> f32 {
    let gray = image::imageops::grayscale(image);
    let gray = image::imageops::resize(&gray, SHARPNESS_SIZE, SHARPNESS_SIZE, FilterType::Triangle);
    let at = |x: u32, y: u32| gray.get_pixel(x, y).0[0] as f32;
    let mut responses = Vec::with_capacity((SHARPNESS_SIZE * SHARPNESS_SIZE) as usize);
    for y in 1..SHARPNESS_SIZE - 1 {
        for x in 1..SHARPNESS_SIZE - 1 {
            responses.push(at(x - 1, y) + at(x + 1, y) + at(x, y - 1) + at(x, y + 1) - 4.0 * at(x, y));
        }
    }
    let mean = responses.iter().sum::<f32>() / responses.len() as f32;
    responses.iter().map(|r| (r - mean).powi(2)).sum::<f32>() / responses.len() as f32
}

#[cfg(test)]
mod tests {
    use super::*;

    fn encode(image: DynamicImage, format: image::ImageFormat) -> Vec<u8> {
        let mut bytes = Vec::new();
        image.write_to(&mut Cursor::new(&mut bytes), format).expect("encode");
        bytes
    }

    #[test]
    fn empty_and_garbage_bytes_are_errors() {
        assert!(matches!(decode_image(&[], "empty.jpg"), Err(SepfaceError::EmptyImage { .. })));
        let error = decode_image(b"this is a text file", "notes.jpg").expect_err("not an image");
        assert!(matches!(error, SepfaceError::Decode { .. }));
        assert!(error.to_string().contains("notes.jpg"), "{error}");
    }

    #[cfg(not(target_arch = "wasm32"))]
    #[test]
    fn valid_jpegs_code_every_component() {
        let pixels: Vec<u8> = (0..24 * 16 * 4).map(|i| (i * 7 % 251) as u8).collect();
        let encode_with = |progressive: bool, color: jpeg_encoder::ColorType, sampling: jpeg_encoder::SamplingFactor| {
            let mut bytes = Vec::new();
            let mut encoder = jpeg_encoder::Encoder::new(&mut bytes, 90);
            encoder.set_progressive(progressive);
            encoder.set_sampling_factor(sampling);
            let channels = if color == jpeg_encoder::ColorType::Cmyk { 4 } else { 3 };
            encoder.encode(&pixels[..24 * 16 * channels], 24, 16, color).expect("encode");
            bytes
        };
        for progressive in [false, true] {
            for sampling in [jpeg_encoder::SamplingFactor::R_4_4_4, jpeg_encoder::SamplingFactor::R_4_2_0] {
                let jpeg = encode_with(progressive, jpeg_encoder::ColorType::Rgb, sampling);
                assert_eq!(check_jpeg(&jpeg), Ok(()), "progressive {progressive}, {sampling:?}");
                assert!(decode_image(&jpeg, "valid.jpg").is_ok());
            }
        }
        let cmyk = encode_with(false, jpeg_encoder::ColorType::Cmyk, jpeg_encoder::SamplingFactor::R_4_4_4);
        assert_eq!(check_jpeg(&cmyk), Ok(()));
    }

    /// Replaces the frame header of `jpeg` with `frame`, a whole segment.
    fn with_frame(jpeg: &[u8], frame: &[u8]) -> Vec<u8> {
        let mut at = 2;
        while jpeg[at + 1] != 0xC0 {
            at += 2 + usize::from(u16::from_be_bytes([jpeg[at + 2], jpeg[at + 3]]));
        }
        let end = at + 2 + usize::from(u16::from_be_bytes([jpeg[at + 2], jpeg[at + 3]]));
        [&jpeg[..at], frame, &jpeg[end..]].concat()
    }

    #[test]
    fn jpeg_scan_faults_are_found() {
        let jpeg = encode(DynamicImage::ImageRgb8(RgbImage::from_pixel(16, 16, image::Rgb([90, 120, 200]))), image::ImageFormat::Jpeg);
        assert_eq!(check_jpeg(&jpeg), Ok(()));
        // A fourth component, 0, that no scan codes.
        let four = with_frame(&jpeg, &[0xFF, 0xC0, 0, 20, 8, 0, 16, 0, 16, 4, 0, 0x11, 1, 1, 0x11, 1, 2, 0x11, 1, 3, 0x22, 0]);
        assert!(check_jpeg(&four).is_err_and(|fault| fault.contains("component 0")), "{:?}", check_jpeg(&four));
        let error = decode_image(&four, "four.jpg").expect_err("a component without data");
        assert!(error.to_string().contains("no scan codes it"), "{error}");
        // Two components declared while the scan codes three.
        let two = with_frame(&jpeg, &[0xFF, 0xC0, 0, 14, 8, 0, 16, 0, 16, 2, 1, 0x11, 0, 2, 0x11, 1]);
        assert!(check_jpeg(&two).is_err_and(|fault| fault.contains("does not declare")), "{:?}", check_jpeg(&two));
        // A second scan header of the same three components before the end of the image.
        let end = jpeg.len() - 2;
        let again = [&jpeg[..end], &[0xFF, 0xDA, 0, 12, 3, 1, 0, 2, 0x11, 3, 0x11, 0, 0x3F, 0], &jpeg[end..]].concat();
        assert!(check_jpeg(&again).is_err_and(|fault| fault.contains("in 2 scans")), "{:?}", check_jpeg(&again));
    }

    #[test]
    fn transparent_pixels_become_white() {
        let rgba = RgbaImage::from_pixel(2, 1, image::Rgba([0, 0, 0, 0]));
        let png = encode(DynamicImage::ImageRgba8(rgba), image::ImageFormat::Png);
        let rgb = decode_image(&png, "clear.png").expect("valid png");
        assert_eq!(rgb.get_pixel(0, 0).0, [255, 255, 255]);
    }

    #[test]
    fn sixteen_bit_gray_becomes_rgb() {
        let gray = image::ImageBuffer::<image::Luma<u16>, Vec<u16>>::from_pixel(3, 2, image::Luma([65535]));
        let png = encode(DynamicImage::ImageLuma16(gray), image::ImageFormat::Png);
        let rgb = decode_image(&png, "gray16.png").expect("valid png");
        assert_eq!(rgb.dimensions(), (3, 2));
        assert_eq!(rgb.get_pixel(2, 1).0, [255, 255, 255]);
    }

    #[test]
    fn crop_outside_image_is_an_error() {
        let image = RgbImage::new(10, 10);
        let outside = FaceBox::new(1.2, 1.2, 1.5, 1.5);
        assert!(matches!(crop_face(&image, &outside, 0.0), Err(SepfaceError::EmptyRegion { .. })));
        let crop = crop_face(&image, &FaceBox::new(0.8, 0.8, 1.4, 1.4), 0.0).expect("clamped crop");
        assert_eq!(crop.dimensions(), (2, 2));
    }

    #[test]
    fn tensor_is_channel_major_in_unit_range() {
        let image = RgbImage::from_pixel(4, 4, image::Rgb([255, 0, 51]));
        let tensor = images_to_tensor(&[&image], 2, Resize::Bilinear, &Device::flex()).expect("one image");
        assert_eq!(tensor.dims(), [1, 3, 2, 2]);
        let values = tensor.into_data().try_to_vec::<f32>().expect("f32");
        assert_eq!(&values[0..4], &[1.0; 4]);
        assert_eq!(&values[4..8], &[0.0; 4]);
        assert!((values[8] - 0.2).abs() < 1e-6);
    }

    #[test]
    fn blur_lowers_sharpness() {
        let checkerboard = RgbImage::from_fn(64, 64, |x, y| {
            let value = if (x / 4 + y / 4) % 2 == 0 { 255 } else { 0 };
            image::Rgb([value; 3])
        });
        let blurred = image::imageops::blur(&checkerboard, 6.0);
        let flat = RgbImage::from_pixel(64, 64, image::Rgb([128; 3]));
        assert!(sharpness(&checkerboard) > 1000.0, "{}", sharpness(&checkerboard));
        assert!(sharpness(&blurred) < sharpness(&checkerboard) / 10.0);
        assert_eq!(sharpness(&flat), 0.0);
    }

    #[test]
    fn gif_frame_extent_is_read_from_any_prefix() {
        let mut gif = b"GIF89a\x0a\x00\x0a\x00\x80\x00\x00".to_vec();
        gif.extend_from_slice(&[0; 6]);
        gif.extend_from_slice(&[0x21, 0xf9, 4, 0, 0, 0, 0, 0]);
        gif.extend_from_slice(&[0x2c, 1, 0, 2, 0, 30, 0, 40, 0, 0]);
        assert_eq!(gif_first_frame(&gif), Some((31, 42)), "offset plus size");
        // The frame's position and size end before the descriptor's last byte, its flags.
        for length in 0..gif.len() - 1 {
            assert_eq!(gif_first_frame(&gif[..length]), None, "{length}-byte prefix");
        }
    }

    #[cfg(not(target_arch = "wasm32"))]
    #[test]
    fn decoder_panic_becomes_an_error() {
        /// A decoder that panics while reading pixels, as zune-jpeg 0.5.15 does on some malformed
        /// JPEGs. The files that fuzzing found no longer get this far, because `check_jpeg`
        /// rejects them first.
        struct PanickingDecoder;

        impl ImageDecoder for PanickingDecoder {
            fn dimensions(&self) -> (u32, u32) {
                (2, 2)
            }

            fn color_type(&self) -> image::ColorType {
                image::ColorType::Rgb8
            }

            fn read_image(self, _buffer: &mut [u8]) -> image::ImageResult<()> {
                panic!("index out of bounds in the inverse DCT")
            }

            fn read_image_boxed(self: Box<Self>, buffer: &mut [u8]) -> image::ImageResult<()> {
                (*self).read_image(buffer)
            }
        }

        let reason = decode_pixels(PanickingDecoder).expect_err("the panic is caught");
        assert!(reason.contains("index out of bounds in the inverse DCT"), "{reason}");
        assert!(reason.contains("the file is damaged"), "{reason}");
    }

    #[test]
    fn rgba_frame_length_is_checked() {
        assert!(rgb_from_rgba(vec![0; 15], 2, 2).is_err());
        assert!(rgb_from_rgba(vec![0; 16], 65536, 65536).is_err(), "a size whose byte count overflows 32 bits");
        let frame = rgb_from_rgba([10, 20, 30, 255].repeat(4), 2, 2).expect("2x2 frame");
        assert_eq!(frame.get_pixel(1, 1).0, [10, 20, 30]);
    }
}
