//! Hostile and odd image files, made at test time: each decodes correctly or fails with an
//! error that names the file and the problem, never a panic.

#![cfg(not(target_arch = "wasm32"))]

mod common;

use std::io::Cursor;

use common::{exif_orientation, with_exif_segment};
use image::{DynamicImage, ImageFormat, Rgb, RgbImage, Rgba, RgbaImage};
use sepface::SepfaceError;
use sepface::preprocess::{MAX_PIXELS, decode_image};

const REAL_PHOTO: &str = "lfw/lfw-deepfunneled/George_W_Bush/George_W_Bush_0007.jpg";

fn encode(image: DynamicImage, format: ImageFormat) -> Vec<u8> {
    let mut bytes = Vec::new();
    image.write_to(&mut Cursor::new(&mut bytes), format).expect("encode");
    bytes
}

/// Builds a PNG chunk: length, type, data and CRC-32 of type and data.
fn png_chunk(kind: &[u8; 4], data: &[u8]) -> Vec<u8> {
    let mut chunk = (data.len() as u32).to_be_bytes().to_vec();
    chunk.extend_from_slice(kind);
    chunk.extend_from_slice(data);
    let mut hasher = crc32fast::Hasher::new();
    hasher.update(kind);
    hasher.update(data);
    chunk.extend_from_slice(&hasher.finalize().to_be_bytes());
    chunk
}

/// Inserts a chunk right after a PNG's IHDR chunk (8-byte signature + 25-byte IHDR).
fn with_chunk(png: &[u8], chunk: &[u8]) -> Vec<u8> {
    [&png[..33], chunk, &png[33..]].concat()
}

#[test]
fn truncated_jpeg_is_a_decode_error() {
    let Some(data) = common::data_dir("truncated_jpeg_is_a_decode_error") else { return };
    let bytes = std::fs::read(data.join(REAL_PHOTO)).expect("photo");
    for length in [2, 100, bytes.len() / 2] {
        let error = decode_image(&bytes[..length], "cut.jpg").expect_err("truncated");
        assert!(matches!(error, SepfaceError::Decode { .. }), "{error}");
        assert!(error.to_string().contains("cut.jpg"), "{error}");
    }
}

#[test]
fn empty_and_text_files_are_rejected() {
    assert!(matches!(decode_image(&[], "zero.jpg"), Err(SepfaceError::EmptyImage { .. })));
    let error = decode_image(b"Dear visitor,\nthis is not a photo.\n", "letter.jpg").expect_err("text");
    assert!(error.to_string().contains("letter.jpg"), "{error}");
}

#[test]
fn one_pixel_image_decodes() {
    let png = encode(DynamicImage::ImageRgb8(RgbImage::from_pixel(1, 1, Rgb([9, 8, 7]))), ImageFormat::Png);
    let image = decode_image(&png, "dot.png").expect("a valid 1x1 image");
    assert_eq!(image.dimensions(), (1, 1));
}

#[test]
fn gif_frame_beyond_its_screen_is_rejected() {
    // A GIF89a with a 10x10 logical screen, a comment extension, and a first frame of
    // 60000x60000 pixels at offset (0, 0).
    let mut gif = b"GIF89a".to_vec();
    gif.extend_from_slice(&[10, 0, 10, 0, 0, 0, 0]);
    gif.extend_from_slice(&[0x21, 0xfe, 3, b'h', b'i', b'!', 0]);
    let side = 60000u16.to_le_bytes();
    gif.extend_from_slice(&[0x2c, 0, 0, 0, 0, side[0], side[1], side[0], side[1], 0]);
    gif.extend_from_slice(&[2, 2, 0x4c, 0x01, 0, 0x3b]);
    let error = decode_image(&gif, "frame.gif").expect_err("too large");
    assert!(matches!(error, SepfaceError::ImageTooLarge { width: 60000, height: 60000, .. }), "{error}");
    assert!(error.to_string().contains("frame.gif"), "{error}");
}

#[test]
fn decompression_bomb_is_rejected_before_allocation() {
    // A 70-byte PNG whose header claims 60000x60000 RGB pixels, with an empty zlib stream as
    // its only pixel data.
    let mut header = 60000u32.to_be_bytes().to_vec();
    header.extend_from_slice(&60000u32.to_be_bytes());
    header.extend_from_slice(&[8, 2, 0, 0, 0]);
    let empty_zlib = [0x78, 0x9c, 0x03, 0x00, 0x00, 0x00, 0x00, 0x01];
    let png = [b"\x89PNG\r\n\x1a\n".as_slice(), &png_chunk(b"IHDR", &header), &png_chunk(b"IDAT", &empty_zlib), &png_chunk(b"IEND", &[])].concat();
    let error = decode_image(&png, "bomb.png").expect_err("too large");
    match &error {
        SepfaceError::ImageTooLarge { width, height, max_pixels, .. } => {
            assert_eq!((*width, *height), (60000, 60000));
            assert_eq!(*max_pixels, MAX_PIXELS);
        }
        other => panic!("expected ImageTooLarge, got {other}"),
    }
    assert!(error.to_string().contains("bomb.png"), "{error}");
}

#[test]
fn sixteen_bit_grayscale_and_transparent_images_become_rgb() {
    let sixteen = DynamicImage::ImageRgb16(image::ImageBuffer::from_pixel(4, 3, image::Rgb([65535u16, 0, 32768])));
    let rgb = decode_image(&encode(sixteen, ImageFormat::Png), "deep.png").expect("16-bit png");
    assert_eq!(rgb.get_pixel(0, 0).0, [255, 0, 128]);

    let gray = DynamicImage::ImageLuma8(image::GrayImage::from_pixel(4, 3, image::Luma([77])));
    let rgb = decode_image(&encode(gray, ImageFormat::Jpeg), "gray.jpg").expect("grayscale jpeg");
    let [r, g, b] = rgb.get_pixel(1, 1).0;
    assert_eq!(r, g, "gray has equal channels");
    assert_eq!(g, b, "gray has equal channels");
    assert!((70..=84).contains(&r), "gray level 77 expected, got {r}");

    let half = RgbaImage::from_pixel(2, 2, Rgba([0, 0, 0, 128]));
    let rgb = decode_image(&encode(DynamicImage::ImageRgba8(half), ImageFormat::Png), "glass.png").expect("rgba png");
    assert_eq!(rgb.get_pixel(0, 0).0, [127, 127, 127]);
}

#[test]
fn cmyk_jpeg_decodes_to_rgb() {
    // Pure cyan in CMYK: full cyan ink, no magenta, yellow or black.
    let mut pixels = Vec::new();
    for _ in 0..16 * 16 {
        pixels.extend_from_slice(&[255u8, 0, 0, 0]);
    }
    let mut bytes = Vec::new();
    jpeg_encoder::Encoder::new(&mut bytes, 95)
        .encode(&pixels, 16, 16, jpeg_encoder::ColorType::Cmyk)
        .expect("CMYK JPEG");
    let rgb = decode_image(&bytes, "print.jpg").expect("CMYK JPEG decodes");
    assert_eq!(rgb.dimensions(), (16, 16));
    let [r, g, b] = rgb.get_pixel(8, 8).0;
    assert!(r < 60, "cyan has little red, got {:?}", [r, g, b]);
    assert!(g > 190, "cyan has full green, got {:?}", [r, g, b]);
    assert!(b > 190, "cyan has full blue, got {:?}", [r, g, b]);
}

#[test]
fn animated_gif_gives_its_first_frame() {
    let mut bytes = Vec::new();
    {
        let mut encoder = image::codecs::gif::GifEncoder::new(&mut bytes);
        let frames = [Rgba([255, 0, 0, 255]), Rgba([0, 0, 255, 255])]
            .map(|color| image::Frame::new(RgbaImage::from_pixel(6, 4, color)));
        encoder.encode_frames(frames).expect("animated GIF");
    }
    let rgb = decode_image(&bytes, "wave.gif").expect("GIF decodes");
    assert_eq!(rgb.dimensions(), (6, 4));
    let [r, _, b] = rgb.get_pixel(2, 2).0;
    assert!(r > 200, "the first (red) frame expected, got {:?}", rgb.get_pixel(2, 2));
    assert!(b < 50, "the first (red) frame expected, got {:?}", rgb.get_pixel(2, 2));
}

#[test]
fn every_exif_orientation_is_applied() {
    // A 2x1 image: red on the left, blue on the right. Orientation values 1-8 (EXIF 2.32) map the
    // red pixel to these positions of the upright image.
    let image = RgbImage::from_fn(2, 1, |x, _| if x == 0 { Rgb([255, 0, 0]) } else { Rgb([0, 0, 255]) });
    let png = encode(DynamicImage::ImageRgb8(image), ImageFormat::Png);
    let red_position = [(0, 0), (1, 0), (1, 0), (0, 0), (0, 0), (0, 0), (0, 1), (0, 1)];
    for orientation in 1..=8u16 {
        let tagged = with_chunk(&png, &png_chunk(b"eXIf", &exif_orientation(orientation)));
        let upright = decode_image(&tagged, "turned.png").expect("PNG with EXIF");
        let size = if orientation <= 4 { (2, 1) } else { (1, 2) };
        assert_eq!(upright.dimensions(), size, "orientation {orientation}");
        let (x, y) = red_position[orientation as usize - 1];
        assert_eq!(upright.get_pixel(x, y).0, [255, 0, 0], "orientation {orientation}: red pixel at ({x}, {y})");
    }
}

#[test]
fn every_exif_orientation_is_applied_to_jpeg() {
    // As in the PNG test, at 16x8 so that each colour survives JPEG compression: red on the
    // left half, blue on the right.
    let image = RgbImage::from_fn(16, 8, |x, _| if x < 8 { Rgb([255, 0, 0]) } else { Rgb([0, 0, 255]) });
    let jpeg = encode(DynamicImage::ImageRgb8(image), ImageFormat::Jpeg);
    let red_half = [(0, 0), (1, 0), (1, 0), (0, 0), (0, 0), (0, 0), (0, 1), (0, 1)];
    for orientation in 1..=8u16 {
        let upright = decode_image(&with_exif_segment(&jpeg, &exif_orientation(orientation)), "turned.jpg").expect("JPEG with EXIF");
        let size = if orientation <= 4 { (16, 8) } else { (8, 16) };
        assert_eq!(upright.dimensions(), size, "orientation {orientation}");
        let (x, y) = red_half[orientation as usize - 1];
        let [r, _, b] = upright.get_pixel(x * 8 + 4, y * 8 + 4).0;
        assert!(r > 200, "orientation {orientation}: red expected in half ({x}, {y}), got {r}, {b}");
        assert!(b < 60, "orientation {orientation}: red expected in half ({x}, {y}), got {r}, {b}");
    }
}

/// Replaces the payload of the first `marker` segment of a JPEG with `payload`.
fn with_segment(jpeg: &[u8], marker: u8, payload: &[u8]) -> Vec<u8> {
    let mut at = 2;
    while jpeg[at + 1] != marker {
        at += 2 + usize::from(u16::from_be_bytes([jpeg[at + 2], jpeg[at + 3]]));
    }
    let end = at + 2 + usize::from(u16::from_be_bytes([jpeg[at + 2], jpeg[at + 3]]));
    let length = u16::try_from(payload.len() + 2).expect("a short segment");
    [&jpeg[..at], &[0xff, marker], length.to_be_bytes().as_slice(), payload, &jpeg[end..]].concat()
}

#[test]
fn jpeg_with_data_after_its_end_decodes() {
    // A motion photo appends a video after the JPEG's end-of-image marker. Its bytes may hold
    // a start-of-scan marker with no end-of-image marker after it.
    let image = RgbImage::from_fn(16, 16, |x, y| Rgb([(x * 15) as u8, (y * 15) as u8, 90]));
    let jpeg = encode(DynamicImage::ImageRgb8(image), ImageFormat::Jpeg);
    let motion = [jpeg.as_slice(), b"\0\0\0\x18ftypmp42", &[0xFF, 0xDA, 0x12, 0x34]].concat();
    let decoded = decode_image(&motion, "motion.jpg").expect("the photo before the video");
    assert_eq!(decoded.dimensions(), (16, 16));
}

#[test]
fn decoder_panic_is_a_decode_error() {
    // A 40x40 baseline JPEG whose frame header is changed to four components, the fourth
    // sampled 2x2, while the scan still codes three. zune-jpeg 0.5.15's AVX2 inverse DCT panics
    // on it. decode_image rejects it before decoding, because no scan codes the first
    // component, and would turn a panic into a decode error too.
    let image = RgbImage::from_fn(40, 40, |x, y| Rgb([(x * 6) as u8, (y * 6) as u8, ((x + y) * 3) as u8]));
    let jpeg = encode(DynamicImage::ImageRgb8(image), ImageFormat::Jpeg);
    let frame = [8, 0, 40, 0, 40, 4, 0, 0x11, 1, 1, 0x11, 1, 2, 0x11, 1, 3, 0x22, 0];
    let error = decode_image(&with_segment(&jpeg, 0xc0, &frame), "mixed.jpg").expect_err("a malformed frame");
    assert!(matches!(error, SepfaceError::Decode { .. }), "{error}");
    assert!(error.to_string().contains("mixed.jpg"), "{error}");
    assert!(error.to_string().contains("no scan codes it"), "{error}");
}
