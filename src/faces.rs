//! Face crops for training the embedder, natively and in the browser: each crop is stored with
//! extra margin so that crop jitter moves into real pixels, and batches are drawn P x K.

use image::RgbImage;
use rand::Rng;
use rand::RngExt;

use crate::Result;
use crate::augment::{AugmentConfig, color_jitter, crop_window};
use crate::boxes::FaceBox;
use crate::preprocess::{Resize, crop_face, push_chw};
use crate::sampler::PkSampler;

/// Extra margin stored around each crop beyond the inference margin, as a fraction of the face
/// box's width and height.
pub const STORED_EXTRA_MARGIN: f32 = 0.15;

/// A face crop in memory, cut with the inference margin plus [`STORED_EXTRA_MARGIN`] around the
/// face box.
#[derive(Debug, Clone)]
pub struct FaceSample {
    /// The crop.
    pub crop: RgbImage,
    /// Identity label.
    pub identity: usize,
}

/// Crops a face with the stored margin and resizes it to `size x size` (bicubic).
pub fn stored_crop(image: &RgbImage, face: &FaceBox, crop_margin: f32, size: u32) -> Result<RgbImage> {
    let crop = crop_face(image, face, crop_margin + STORED_EXTRA_MARGIN)?;
    Ok(image::imageops::resize(&crop, size, size, image::imageops::FilterType::CatmullRom))
}

/// The window of a stored crop that corresponds to the inference crop (margin `crop_margin`).
pub fn inference_window(crop_margin: f32) -> FaceBox {
    let side = 1.0 + 2.0 * (crop_margin + STORED_EXTRA_MARGIN);
    let low = STORED_EXTRA_MARGIN / side;
    FaceBox::new(low, low, 1.0 - low, 1.0 - low)
}

/// Cuts the inference window out of a stored crop, jittered by `augment`.
pub fn augment_crop<R: Rng>(sample: &FaceSample, crop_margin: f32, augment: &AugmentConfig, rng: &mut R) -> RgbImage {
    let base = inference_window(crop_margin);
    let scale = if augment.max_scale > augment.min_scale { rng.random_range(augment.min_scale..=augment.max_scale) } else { augment.min_scale };
    let side = (base.right - base.left) * scale;
    let shift = (1.0 - augment.min_scale).max(0.0) * (base.right - base.left) / 2.0;
    let mut jitter = || if shift > 0.0 { rng.random_range(-shift..=shift) } else { 0.0 };
    let (cx, cy) = (0.5 + jitter(), 0.5 + jitter());
    let window = FaceBox::new(cx - side / 2.0, cy - side / 2.0, cx + side / 2.0, cy + side / 2.0);
    let mut crop = crop_window(&sample.crop, &window);
    if augment.flip && rng.random_bool(0.5) {
        crop = image::imageops::flip_horizontal(&crop);
    }
    color_jitter(&mut crop, rng, augment.color);
    crop
}

/// A batch of crops and identity labels.
#[derive(Debug, Clone)]
pub struct EmbedderBatch {
    /// `[n, 3, size, size]` values, channel-major.
    pub images: Vec<f32>,
    /// Identity of each crop.
    pub labels: Vec<usize>,
}

/// Identity labels of `samples`, in order.
pub fn labels_of(samples: &[FaceSample]) -> Vec<usize> {
    samples.iter().map(|sample| sample.identity).collect()
}

/// Draws a P x K batch with `sampler` and augments its crops to `size x size`.
pub fn build_batch<R: Rng>(samples: &[FaceSample], sampler: &PkSampler, size: usize, crop_margin: f32, augment: &AugmentConfig, rng: &mut R) -> EmbedderBatch {
    let drawn = sampler.sample_shuffled(rng);
    let mut images = Vec::with_capacity(drawn.indices.len() * 3 * size * size);
    for &index in &drawn.indices {
        push_chw(&augment_crop(&samples[index], crop_margin, augment, rng), size, Resize::Bicubic, &mut images);
    }
    EmbedderBatch {
        images,
        labels: drawn.labels,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn inference_window_recovers_the_margin() {
        // Stored with margin 0.1 + 0.15: the crop side is 1.5 face widths, and the inference
        // window (margin 0.1, 1.2 face widths) starts 0.15 / 1.5 = 0.1 in.
        let window = inference_window(0.1);
        assert!((window.left - 0.1).abs() < 1e-6, "{window:?}");
        assert!(((window.right - window.left) - 1.2 / 1.5).abs() < 1e-6, "{window:?}");
    }
}
