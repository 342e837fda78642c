//! Writes one real photo, shrunk, in every image format and variant that sepface decodes, as
//! seed inputs for the `decode_image` fuzz target. Photos in the data folder are all baseline
//! JPEGs, so without these seeds the fuzzer would rarely reach the PNG, GIF and WebP decoders or
//! the progressive, CMYK and restart-marker paths of the JPEG one.
//!
//! ```text
//! cargo run --example make_image_seeds -- OUT_DIR PHOTO
//! ```

use std::io::Cursor;
use std::path::Path;

use anyhow::{Context, Result, bail};
use image::codecs::gif::GifEncoder;
use image::codecs::png::{CompressionType, FilterType, PngEncoder};
use image::codecs::webp::WebPEncoder;
use image::{DynamicImage, Frame, ImageEncoder, ImageFormat, RgbImage, RgbaImage};
use jpeg_encoder::{ColorType, Encoder, SamplingFactor};

/// Side of the shrunk photo, in pixels: small inputs keep the fuzzer fast.
const SIDE: u32 = 40;

/// Encodes `image` with the `image` crate's default encoder for `format`.
fn encode(image: &DynamicImage, format: ImageFormat) -> Result<Vec<u8>> {
    let mut bytes = Vec::new();
    image.write_to(&mut Cursor::new(&mut bytes), format)?;
    Ok(bytes)
}

/// Encodes an RGB image as JPEG with `configure` applied to the encoder.
fn jpeg(image: &RgbImage, configure: impl FnOnce(&mut Encoder<&mut Vec<u8>>) -> Result<()>) -> Result<Vec<u8>> {
    let mut bytes = Vec::new();
    let mut encoder = Encoder::new(&mut bytes, 85);
    configure(&mut encoder)?;
    encoder.encode(image.as_raw(), image.width() as u16, image.height() as u16, ColorType::Rgb)?;
    Ok(bytes)
}

/// Encodes `image` as CMYK JPEG, the layout print workflows produce.
fn cmyk_jpeg(image: &RgbImage) -> Result<Vec<u8>> {
    let cmyk: Vec<u8> = image
        .pixels()
        .flat_map(|pixel| {
            let [c, m, y] = pixel.0.map(|v| 255 - v);
            let black = c.min(m).min(y);
            [c - black, m - black, y - black, black]
        })
        .collect();
    let mut bytes = Vec::new();
    Encoder::new(&mut bytes, 85).encode(&cmyk, image.width() as u16, image.height() as u16, ColorType::Cmyk)?;
    Ok(bytes)
}

/// Encodes `image` as PNG with the given compression and row filter.
fn png(image: &DynamicImage, compression: CompressionType, filter: FilterType) -> Result<Vec<u8>> {
    let mut bytes = Vec::new();
    PngEncoder::new_with_quality(&mut bytes, compression, filter).write_image(image.as_bytes(), image.width(), image.height(), image.color().into())?;
    Ok(bytes)
}

/// Encodes two frames, the photo and its mirror image, as an animated GIF.
fn animated_gif(image: &RgbaImage) -> Result<Vec<u8>> {
    let mut bytes = Vec::new();
    {
        let mut encoder = GifEncoder::new(&mut bytes);
        let mirrored = image::imageops::flip_horizontal(image);
        encoder.encode_frames([Frame::new(image.clone()), Frame::new(mirrored)])?;
    }
    Ok(bytes)
}

/// Builds a big-endian EXIF block with one Orientation entry (tag 0x0112, value 6: turned 90°).
fn exif_rotated() -> Vec<u8> {
    let mut exif = b"Exif\0\0MM\0\x2a\0\0\0\x08".to_vec();
    exif.extend_from_slice(&[0, 1, 0x01, 0x12, 0, 3, 0, 0, 0, 1, 0, 6, 0, 0, 0, 0, 0, 0]);
    exif
}

/// Returns the seeds, each with its file name.
fn seeds(photo: &RgbImage) -> Result<Vec<(&'static str, Vec<u8>)>> {
    let rgb = DynamicImage::ImageRgb8(photo.clone());
    let mut rgba = rgb.to_rgba8();
    rgba.pixels_mut().enumerate().for_each(|(i, pixel)| pixel.0[3] = (i % 256) as u8);
    let rgba = DynamicImage::ImageRgba8(rgba);
    Ok(vec![
        ("baseline.jpg", jpeg(photo, |_| Ok(()))?),
        ("progressive.jpg", jpeg(photo, |e| {
            e.set_progressive(true);
            Ok(())
        })?),
        ("restart.jpg", jpeg(photo, |e| {
            e.set_restart_interval(2);
            Ok(())
        })?),
        ("full-chroma.jpg", jpeg(photo, |e| {
            e.set_sampling_factor(SamplingFactor::F_1_1);
            Ok(())
        })?),
        ("rotated.jpg", jpeg(photo, |e| Ok(e.add_app_segment(1, &exif_rotated())?))?),
        ("cmyk.jpg", cmyk_jpeg(photo)?),
        ("gray.jpg", encode(&DynamicImage::ImageLuma8(rgb.to_luma8()), ImageFormat::Jpeg)?),
        ("rgb.png", png(&rgb, CompressionType::Fast, FilterType::Adaptive)?),
        ("paeth.png", png(&rgb, CompressionType::Best, FilterType::Paeth)?),
        ("stored.png", png(&rgb, CompressionType::Uncompressed, FilterType::NoFilter)?),
        ("gray16.png", encode(&DynamicImage::ImageLuma16(rgb.to_luma16()), ImageFormat::Png)?),
        ("rgb16.png", encode(&DynamicImage::ImageRgb16(rgb.to_rgb16()), ImageFormat::Png)?),
        ("rgba.png", encode(&rgba, ImageFormat::Png)?),
        ("animated.gif", animated_gif(&rgba.to_rgba8())?),
        ("lossless.webp", webp(&rgba)?),
    ])
}

/// Encodes `image` as lossless WebP, the only WebP encoding the `image` crate writes.
fn webp(image: &DynamicImage) -> Result<Vec<u8>> {
    let mut bytes = Vec::new();
    WebPEncoder::new_lossless(&mut bytes).write_image(image.as_bytes(), image.width(), image.height(), image.color().into())?;
    Ok(bytes)
}

fn main() -> Result<()> {
    let arguments: Vec<String> = std::env::args().skip(1).collect();
    let [out_dir, photo_path] = arguments.as_slice() else {
        bail!("usage: make_image_seeds OUT_DIR PHOTO");
    };
    let photo = image::open(photo_path).with_context(|| format!("failed to read the photo {photo_path}"))?.to_rgb8();
    let photo = image::imageops::resize(&photo, SIDE, SIDE, image::imageops::FilterType::Triangle);
    let out_dir = Path::new(out_dir);
    std::fs::create_dir_all(out_dir).with_context(|| format!("failed to create {}", out_dir.display()))?;
    for (name, bytes) in seeds(&photo)? {
        let path = out_dir.join(format!("seed-{name}"));
        std::fs::write(&path, bytes).with_context(|| format!("failed to write {}", path.display()))?;
    }
    Ok(())
}
