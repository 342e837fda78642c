//! Data augmentation: crop jitter (zooming in and out), horizontal flips and colour jitter, and
//! face-free crops for training the detector's presence output.

use image::{Rgb, RgbImage};
use rand::{Rng, RngExt};
use serde::{Deserialize, Serialize};

use crate::boxes::FaceBox;

/// Strength of each augmentation; zero turns it off.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct AugmentConfig {
    /// Smallest crop window, as a fraction of the image side (below 1 zooms in).
    pub min_scale: f32,
    /// Largest crop window, as a fraction of the image side (above 1 zooms out, padding with
    /// the image's mean colour).
    pub max_scale: f32,
    /// Largest change of the window's aspect ratio, as a factor above 1.
    pub max_aspect: f32,
    /// Whether to flip half of the images horizontally.
    pub flip: bool,
    /// Largest relative change of brightness, contrast and saturation.
    pub color: f32,
}

impl AugmentConfig {
    /// No augmentation: the whole image, unchanged.
    pub fn none() -> Self {
        Self {
            min_scale: 1.0,
            max_scale: 1.0,
            max_aspect: 1.0,
            flip: false,
            color: 0.0,
        }
    }

    /// Defaults for the detector: windows from 0.75 to 2.5 times the image side, so faces appear
    /// from larger than in the dataset down to small, as in webcam frames and group photos.
    pub fn detector() -> Self {
        Self {
            min_scale: 0.75,
            max_scale: 2.5,
            max_aspect: 1.15,
            flip: true,
            color: 0.25,
        }
    }

    /// Defaults for the embedder's face crops: small shifts and zooms.
    pub fn embedder() -> Self {
        Self {
            min_scale: 0.85,
            max_scale: 1.05,
            max_aspect: 1.05,
            flip: true,
            color: 0.2,
        }
    }
}

/// Draws from `[low, high]`, or returns `low` for an empty range.
fn uniform<R: Rng>(rng: &mut R, low: f32, high: f32) -> f32 {
    if high > low { rng.random_range(low..=high) } else { low }
}

/// Picks a crop window (normalised coordinates, possibly beyond [0, 1]) that keeps the face
/// inside where the window is larger than the face.
pub fn jitter_window<R: Rng>(rng: &mut R, face: &FaceBox, config: &AugmentConfig) -> FaceBox {
    let scale = uniform(rng, config.min_scale.ln(), config.max_scale.ln()).exp();
    let aspect = uniform(rng, -config.max_aspect.ln(), config.max_aspect.ln()).exp();
    let (width, height) = (scale * aspect.sqrt(), scale / aspect.sqrt());
    let place = |rng: &mut R, low_edge: f32, high_edge: f32, size: f32| {
        let (a, b) = (high_edge - size, low_edge);
        if a <= b { uniform(rng, a, b) } else { uniform(rng, b, a) }
    };
    let left = place(rng, face.left, face.right, width);
    let top = place(rng, face.top, face.bottom, height);
    FaceBox::new(left, top, left + width, top + height)
}

/// Expresses `face` in the coordinates of `window`, clamped to [0, 1].
pub fn remap_box(face: &FaceBox, window: &FaceBox) -> FaceBox {
    let (width, height) = ((window.right - window.left).max(1e-6), (window.bottom - window.top).max(1e-6));
    let x = |value: f32| ((value - window.left) / width).clamp(0.0, 1.0);
    let y = |value: f32| ((value - window.top) / height).clamp(0.0, 1.0);
    FaceBox::new(x(face.left), y(face.top), x(face.right), y(face.bottom))
}

/// Mean colour of an image.
pub fn mean_color(image: &RgbImage) -> Rgb<u8> {
    let mut sums = [0u64; 3];
    for pixel in image.pixels() {
        for (sum, value) in sums.iter_mut().zip(pixel.0) {
            *sum += value as u64;
        }
    }
    let count = (image.width() as u64 * image.height() as u64).max(1);
    Rgb(sums.map(|sum| (sum / count) as u8))
}

/// Cuts `window` (normalised, possibly beyond the image) out of `image`; outside pixels take
/// the image's mean colour.
pub fn crop_window(image: &RgbImage, window: &FaceBox) -> RgbImage {
    let (image_width, image_height) = (image.width() as f32, image.height() as f32);
    let left = (window.left * image_width).round() as i64;
    let top = (window.top * image_height).round() as i64;
    let width = (((window.right - window.left) * image_width).round() as i64).max(1) as u32;
    let height = (((window.bottom - window.top) * image_height).round() as i64).max(1) as u32;
    let mut canvas = RgbImage::from_pixel(width, height, mean_color(image));
    for y in 0..height {
        let source_y = top + y as i64;
        if source_y < 0 || source_y >= image.height() as i64 {
            continue;
        }
        for x in 0..width {
            let source_x = left + x as i64;
            if source_x >= 0 && source_x < image.width() as i64 {
                canvas.put_pixel(x, y, *image.get_pixel(source_x as u32, source_y as u32));
            }
        }
    }
    canvas
}

/// Mirrors a box horizontally.
pub fn flip_box(face: &FaceBox) -> FaceBox {
    FaceBox::new(1.0 - face.right, face.top, 1.0 - face.left, face.bottom)
}

/// Scales brightness, contrast and saturation by random factors within `1 +- strength`.
pub fn color_jitter<R: Rng>(image: &mut RgbImage, rng: &mut R, strength: f32) {
    if strength <= 0.0 {
        return;
    }
    let brightness = uniform(rng, 1.0 - strength, 1.0 + strength);
    let contrast = uniform(rng, 1.0 - strength, 1.0 + strength);
    let saturation = uniform(rng, 1.0 - strength, 1.0 + strength);
    let mean = mean_color(image).0.iter().map(|&v| v as f32).sum::<f32>() / 3.0;
    for pixel in image.pixels_mut() {
        let [r, g, b] = pixel.0.map(|v| v as f32);
        let gray = 0.299 * r + 0.587 * g + 0.114 * b;
        pixel.0 = [r, g, b].map(|value| {
            let saturated = gray + (value - gray) * saturation;
            let contrasted = mean + (saturated - mean) * contrast;
            (contrasted * brightness).clamp(0.0, 255.0) as u8
        });
    }
}

/// Augments an image with a face: returns the new image and the face box in it.
pub fn augment_face<R: Rng>(image: &RgbImage, face: &FaceBox, config: &AugmentConfig, rng: &mut R) -> (RgbImage, FaceBox) {
    let window = jitter_window(rng, face, config);
    let mut output = crop_window(image, &window);
    let mut face = remap_box(face, &window);
    if config.flip && rng.random_bool(0.5) {
        output = image::imageops::flip_horizontal(&output);
        face = flip_box(&face);
    }
    color_jitter(&mut output, rng, config.color);
    (output, face)
}

/// Makes a face-free image from an image with a face: a background window that holds at most
/// 5% of the face, or, when the face leaves no room, the image cut into 4x4 tiles in random
/// order, which keeps its colours and sharpness but not the face's layout. Like zoomed-out
/// faces, some are padded with their mean colour, so padding alone does not signal a face.
pub fn face_free<R: Rng>(image: &RgbImage, face: &FaceBox, config: &AugmentConfig, rng: &mut R) -> RgbImage {
    let mut output = background_window(image, face, rng).unwrap_or_else(|| shuffle_tiles(image, 4, rng));
    if config.max_scale > 1.0 && rng.random_bool(0.3) {
        let side = uniform(rng, 1.0, config.max_scale);
        let (left, top) = (uniform(rng, 1.0 - side, 0.0), uniform(rng, 1.0 - side, 0.0));
        output = crop_window(&output, &FaceBox::new(left, top, left + side, top + side));
    }
    color_jitter(&mut output, rng, config.color);
    output
}

/// A random window holding at most 5% of the face, or `None` after 20 tries.
fn background_window<R: Rng>(image: &RgbImage, face: &FaceBox, rng: &mut R) -> Option<RgbImage> {
    for _ in 0..20 {
        let side = uniform(rng, 0.25, 0.6);
        let (left, top) = (uniform(rng, 0.0, 1.0 - side), uniform(rng, 0.0, 1.0 - side));
        let window = FaceBox::new(left, top, left + side, top + side);
        let overlap = FaceBox::new(face.left.max(left), face.top.max(top), face.right.min(left + side), face.bottom.min(top + side)).area();
        if overlap <= 0.05 * face.area() && rng.random_bool(0.5) {
            return Some(crop_window(image, &window));
        }
    }
    None
}

/// Cuts the image into `tiles x tiles` blocks and puts them back in random order.
pub fn shuffle_tiles<R: Rng>(image: &RgbImage, tiles: u32, rng: &mut R) -> RgbImage {
    use rand::seq::SliceRandom;
    let (tile_width, tile_height) = ((image.width() / tiles).max(1), (image.height() / tiles).max(1));
    let mut order: Vec<u32> = (0..tiles * tiles).collect();
    order.shuffle(rng);
    let mut output = RgbImage::new(tile_width * tiles, tile_height * tiles);
    for (target, &source) in order.iter().enumerate() {
        let (sx, sy) = ((source % tiles) * tile_width, (source / tiles) * tile_height);
        let (tx, ty) = ((target as u32 % tiles) * tile_width, (target as u32 / tiles) * tile_height);
        let tile = image::imageops::crop_imm(image, sx, sy, tile_width, tile_height).to_image();
        image::imageops::replace(&mut output, &tile, tx as i64, ty as i64);
    }
    output
}

#[cfg(test)]
mod tests {
    use super::*;
    use rand::SeedableRng;
    use rand::rngs::StdRng;

    #[test]
    fn remap_and_flip_hand_computed() {
        let face = FaceBox::new(0.4, 0.4, 0.6, 0.8);
        let window = FaceBox::new(0.2, 0.0, 0.8, 1.0);
        let remapped = remap_box(&face, &window);
        for (edge, expected) in remapped.edges().iter().zip([1.0 / 3.0, 0.4, 2.0 / 3.0, 0.8]) {
            assert!((edge - expected).abs() < 1e-6, "{remapped:?}");
        }
        assert_eq!(flip_box(&FaceBox::new(0.1, 0.2, 0.3, 0.4)).edges(), [0.7, 0.2, 0.9, 0.4]);
    }

    #[test]
    fn jittered_windows_keep_small_faces_inside() {
        let mut rng = StdRng::seed_from_u64(7);
        let face = FaceBox::new(0.35, 0.3, 0.65, 0.7);
        for _ in 0..200 {
            let window = jitter_window(&mut rng, &face, &AugmentConfig::detector());
            let inside = remap_box(&face, &window);
            let kept = inside.area() * (window.right - window.left) * (window.bottom - window.top) / face.area();
            assert!(kept > 0.5, "window {window:?} keeps {kept} of the face");
        }
    }

    #[test]
    fn zoomed_out_crop_pads_with_mean_color() {
        let image = RgbImage::from_pixel(10, 10, Rgb([200, 100, 50]));
        let crop = crop_window(&image, &FaceBox::new(-0.5, -0.5, 1.5, 1.5));
        assert_eq!(crop.dimensions(), (20, 20));
        assert_eq!(crop.get_pixel(0, 0).0, [200, 100, 50]);
    }

    #[test]
    fn shuffled_tiles_keep_pixels() {
        let image = RgbImage::from_fn(8, 8, |x, y| Rgb([(x * 30) as u8, (y * 30) as u8, 0]));
        let shuffled = shuffle_tiles(&image, 4, &mut StdRng::seed_from_u64(3));
        let mut before: Vec<[u8; 3]> = image.pixels().map(|p| p.0).collect();
        let mut after: Vec<[u8; 3]> = shuffled.pixels().map(|p| p.0).collect();
        before.sort_unstable();
        after.sort_unstable();
        assert_eq!(before, after);
        assert_ne!(image, shuffled);
    }
}
