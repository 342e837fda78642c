//! Writes a Y4M video (the format Chromium's fake camera plays) from photos, for the end-to-end
//! browser test: each photo is centred on a grey 640x480 frame and held for a while.
//!
//! ```text
//! cargo run --example make_y4m -- OUT.y4m PHOTO...
//! ```

use std::io::Write;

use anyhow::{Context, Result, bail};
use image::RgbImage;

const WIDTH: u32 = 640;
const HEIGHT: u32 = 480;
const FPS: u32 = 10;
/// Frames each photo is shown for.
const FRAMES_PER_PHOTO: u32 = 20;

/// Places `photo`, scaled to fit, on a grey frame.
fn frame_of(photo: &RgbImage) -> RgbImage {
    let scale = (WIDTH as f32 / photo.width() as f32).min(HEIGHT as f32 / photo.height() as f32);
    let (width, height) = ((photo.width() as f32 * scale) as u32, (photo.height() as f32 * scale) as u32);
    let resized = image::imageops::resize(photo, width, height, image::imageops::FilterType::Triangle);
    let mut frame = RgbImage::from_pixel(WIDTH, HEIGHT, image::Rgb([120, 120, 120]));
    image::imageops::replace(&mut frame, &resized, ((WIDTH - width) / 2) as i64, ((HEIGHT - height) / 2) as i64);
    frame
}

/// Converts RGB to planar YUV 4:2:0 with full-range BT.601 coefficients (JPEG's).
fn to_yuv420(frame: &RgbImage) -> Vec<u8> {
    let (width, height) = (frame.width() as usize, frame.height() as usize);
    let mut y_plane = Vec::with_capacity(width * height);
    let (mut u_plane, mut v_plane) = (Vec::new(), Vec::new());
    for pixel in frame.pixels() {
        let [r, g, b] = pixel.0.map(|v| v as f32);
        y_plane.push((0.299 * r + 0.587 * g + 0.114 * b).round().clamp(0.0, 255.0) as u8);
    }
    for y in (0..height).step_by(2) {
        for x in (0..width).step_by(2) {
            let [r, g, b] = frame.get_pixel(x as u32, y as u32).0.map(|v| v as f32);
            u_plane.push((-0.168736 * r - 0.331264 * g + 0.5 * b + 128.0).round().clamp(0.0, 255.0) as u8);
            v_plane.push((0.5 * r - 0.418688 * g - 0.081312 * b + 128.0).round().clamp(0.0, 255.0) as u8);
        }
    }
    [y_plane, u_plane, v_plane].concat()
}

fn main() -> Result<()> {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let Some((out, photos)) = args.split_first() else {
        bail!("usage: make_y4m OUT.y4m PHOTO...");
    };
    if photos.is_empty() {
        bail!("give at least one photo after the output file");
    }
    let mut file = std::io::BufWriter::new(std::fs::File::create(out).with_context(|| format!("could not create {out}"))?);
    write!(file, "YUV4MPEG2 W{WIDTH} H{HEIGHT} F{FPS}:1 Ip A1:1 C420jpeg\n")?;
    for path in photos {
        let bytes = std::fs::read(path).with_context(|| format!("could not read {path}"))?;
        let photo = sepface::preprocess::decode_image(&bytes, path)?;
        let yuv = to_yuv420(&frame_of(&photo));
        for _ in 0..FRAMES_PER_PHOTO {
            file.write_all(b"FRAME\n")?;
            file.write_all(&yuv)?;
        }
    }
    file.flush()?;
    Ok(())
}
