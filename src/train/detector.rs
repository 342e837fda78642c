//! Training the box detector: MSE on the four normalised edges (the paper's loss), plus, for
//! detectors with a presence output, binary cross-entropy on face-free images.

use std::collections::BTreeMap;
use std::path::PathBuf;
use std::sync::Arc;

use burn::prelude::*;
use image::RgbImage;
use rand::rngs::StdRng;
use rand::{RngExt, SeedableRng};
use rayon::prelude::*;

use crate::augment::{AugmentConfig, augment_face, face_free};
use super::derive_seed;
use super::runner::TrainTask;
use crate::boxes::FaceBox;
use crate::metrics::BoxMetricsAccumulator;
use crate::model::{Detector, DetectorConfig};
use crate::preprocess::{Resize, decode_image, push_chw};
use crate::weights::WeightsInfo;
use crate::{Result, SepfaceError};

/// An image in memory with its face box.
#[derive(Debug, Clone)]
pub struct BoxSample {
    /// The image, downscaled for training.
    pub image: RgbImage,
    /// The face box, normalised by the image size.
    pub face: FaceBox,
}

/// An image file with its face box in pixels `[left, top, right, bottom]`.
#[derive(Debug, Clone)]
pub struct BoxSource {
    /// Image path.
    pub path: PathBuf,
    /// Face box in the image's pixels.
    pub face: [f32; 4],
}

/// Decodes `sources` in parallel and downscales each so its longer side is at most
/// `max_side`. Unreadable images are skipped with one warning each and counted.
pub fn load_box_samples(sources: &[BoxSource], max_side: u32) -> (Vec<BoxSample>, usize) {
    let loaded: Vec<Option<BoxSample>> = sources
        .par_iter()
        .map(|source| {
            let bytes = std::fs::read(&source.path).map_err(|error| SepfaceError::read(&source.path, error));
            let decoded = bytes.and_then(|bytes| decode_image(&bytes, &source.path.display().to_string()));
            match decoded {
                Ok(image) => {
                    let [left, top, right, bottom] = source.face;
                    let face = FaceBox::from_pixels(left, top, right, bottom, image.width(), image.height());
                    Some(BoxSample {
                        image: downscale(image, max_side),
                        face,
                    })
                }
                Err(error) => {
                    log::warn!("skipping an unreadable image: {error}");
                    None
                }
            }
        })
        .collect();
    let skipped = loaded.iter().filter(|sample| sample.is_none()).count();
    (loaded.into_iter().flatten().collect(), skipped)
}

/// Shrinks `image` so its longer side is at most `max_side`, keeping the aspect ratio.
pub fn downscale(image: RgbImage, max_side: u32) -> RgbImage {
    let longer = image.width().max(image.height());
    if longer <= max_side {
        return image;
    }
    let scale = max_side as f32 / longer as f32;
    let width = ((image.width() as f32 * scale).round() as u32).max(1);
    let height = ((image.height() as f32 * scale).round() as u32).max(1);
    image::imageops::resize(&image, width, height, image::imageops::FilterType::Triangle)
}

/// A batch of network inputs and targets.
#[derive(Debug, Clone)]
pub struct DetectorBatch {
    /// `[n, 3, size, size]` values, channel-major.
    pub images: Vec<f32>,
    /// `[n, 4]` target edges (zero for face-free images).
    pub boxes: Vec<f32>,
    /// `[n]`: 1 for images with a face, 0 for face-free ones.
    pub presence: Vec<f32>,
    /// Number of images.
    pub count: usize,
}

/// Builds a batch from `samples[indices]`; each image is face-free with probability
/// `negative_fraction`.
pub fn build_batch(samples: &[BoxSample], indices: &[usize], size: usize, augment: &AugmentConfig, negative_fraction: f32, rng: &mut StdRng) -> DetectorBatch {
    let mut batch = DetectorBatch {
        images: Vec::with_capacity(indices.len() * 3 * size * size),
        boxes: Vec::with_capacity(indices.len() * 4),
        presence: Vec::with_capacity(indices.len()),
        count: indices.len(),
    };
    for &index in indices {
        let sample = &samples[index];
        if negative_fraction > 0.0 && rng.random::<f32>() < negative_fraction {
            push_chw(&face_free(&sample.image, &sample.face, augment, rng), size, Resize::Bilinear, &mut batch.images);
            batch.boxes.extend([0.0; 4]);
            batch.presence.push(0.0);
        } else {
            let (image, face) = augment_face(&sample.image, &sample.face, augment, rng);
            push_chw(&image, size, Resize::Bilinear, &mut batch.images);
            batch.boxes.extend(face.edges());
            batch.presence.push(1.0);
        }
    }
    batch
}

/// The detector training task.
pub struct DetectorTask {
    /// Architecture.
    pub config: DetectorConfig,
    /// Training images.
    pub train: Arc<Vec<BoxSample>>,
    /// Validation images.
    pub validation: Arc<Vec<BoxSample>>,
    /// Augmentation of training images.
    pub augment: AugmentConfig,
    /// Images per batch.
    pub batch_size: usize,
    /// Validation batches per epoch.
    pub validation_batches: usize,
    /// Fraction of face-free images, for detectors with a presence output.
    pub negative_fraction: f32,
    /// Weight of the presence loss against the box MSE.
    pub presence_weight: f64,
    /// Seed of the validation batches.
    pub seed: u64,
}

impl DetectorTask {
    fn negative_fraction(&self) -> f32 {
        if self.config.presence { self.negative_fraction } else { 0.0 }
    }

    /// Validation batch `index`: fixed images without augmentation, and fixed face-free ones.
    fn validation_batch(&self, index: usize) -> DetectorBatch {
        let mut rng = StdRng::seed_from_u64(derive_seed(self.seed, &[u64::MAX, index as u64]));
        let count = self.validation.len();
        let indices: Vec<usize> = (0..self.batch_size).map(|i| (index * self.batch_size + i) % count).collect();
        let plain = AugmentConfig::none();
        build_batch(&self.validation, &indices, self.config.input_size(), &plain, self.negative_fraction(), &mut rng)
    }
}

/// Tensors of a batch on `device`.
fn batch_tensors(batch: &DetectorBatch, size: usize, device: &Device) -> (Tensor<4>, Tensor<2>, Tensor<2>) {
    let images = Tensor::from_data(TensorData::new(batch.images.clone(), [batch.count, 3, size, size]), device);
    let boxes = Tensor::from_data(TensorData::new(batch.boxes.clone(), [batch.count, 4]), device);
    let presence = Tensor::from_data(TensorData::new(batch.presence.clone(), [batch.count, 1]), device);
    (images, boxes, presence)
}

/// Losses of a batch, with the predictions they came from.
struct Losses {
    /// Box MSE over the images with a face.
    mse: Tensor<1>,
    /// Binary cross-entropy of the presence logits, if the detector has them.
    bce: Option<Tensor<1>>,
    /// Predicted boxes `[n, 4]`.
    boxes: Tensor<2>,
    /// Presence logits `[n, 1]`, if any.
    logits: Option<Tensor<2>>,
}

fn losses(model: &Detector, batch: &DetectorBatch, size: usize, device: &Device) -> Losses {
    let (images, target_boxes, presence) = batch_tensors(batch, size, device);
    let output = model.forward(images);
    let logits = output.presence.clone();
    let squared = (output.boxes.clone() - target_boxes).square() * presence.clone(); // [n, 4]
    let faces = presence.clone().sum().clamp_min(1.0);
    let mse = squared.sum() / faces.mul_scalar(4.0);
    let bce = output.presence.map(|logits| {
        // max(x, 0) - x * y + log(1 + exp(-|x|)), the stable form of BCE with logits.
        let stable = logits.clone().clamp_min(0.0) - logits.clone() * presence + logits.abs().neg().exp().log1p();
        stable.mean()
    });
    Losses {
        mse,
        bce,
        boxes: output.boxes,
        logits,
    }
}

impl TrainTask for DetectorTask {
    type Net = Detector;
    type Batch = DetectorBatch;

    fn config(&self) -> &DetectorConfig {
        &self.config
    }

    fn batch_maker(&self, _epoch: usize, seed: u64) -> Box<dyn Fn(usize) -> DetectorBatch + Send + Sync> {
        let (samples, augment, size) = (Arc::clone(&self.train), self.augment, self.config.input_size());
        let (batch_size, negative_fraction) = (self.batch_size, self.negative_fraction());
        Box::new(move |index| {
            let mut rng = StdRng::seed_from_u64(derive_seed(seed, &[index as u64]));
            let indices: Vec<usize> = (0..batch_size).map(|_| rng.random_range(0..samples.len())).collect();
            build_batch(&samples, &indices, size, &augment, negative_fraction, &mut rng)
        })
    }

    fn images_per_batch(&self) -> usize {
        self.batch_size
    }

    fn loss(&self, model: &Detector, batch: DetectorBatch, device: &Device) -> Result<Tensor<1>> {
        let Losses { mse, bce, .. } = losses(model, &batch, self.config.input_size(), device);
        Ok(match bce {
            Some(bce) => mse + bce.mul_scalar(self.presence_weight),
            None => mse,
        })
    }

    fn validate(&self, model: &Detector, device: &Device) -> Result<(f64, BTreeMap<String, f64>)> {
        let size = self.config.input_size();
        let (mut mse_sum, mut bce_sum, mut correct, mut total) = (0.0, 0.0, 0usize, 0usize);
        let mut boxes = BoxMetricsAccumulator::default();
        for index in 0..self.validation_batches.max(1) {
            let batch = self.validation_batch(index);
            let Losses { mse, bce, boxes: predicted, logits } = losses(model, &batch, size, device);
            mse_sum += mse.into_scalar::<f32>() as f64;
            let predicted = predicted.into_data().try_to_vec::<f32>().map_err(readback)?;
            for (i, &present) in batch.presence.iter().enumerate() {
                if present > 0.5 {
                    let edges = |v: &[f32]| FaceBox::from_edges([v[4 * i], v[4 * i + 1], v[4 * i + 2], v[4 * i + 3]]);
                    boxes.add(&edges(&predicted), &edges(&batch.boxes));
                }
            }
            if let Some(bce) = bce {
                bce_sum += bce.into_scalar::<f32>() as f64;
            }
            if let Some(logits) = logits {
                let logits = logits.into_data().try_to_vec::<f32>().map_err(readback)?;
                correct += logits.iter().zip(&batch.presence).filter(|(l, t)| (**l > 0.0) == (**t > 0.5)).count();
                total += logits.len();
            }
        }
        let batches = self.validation_batches.max(1) as f64;
        let summary = boxes.finish();
        let mut metrics = BTreeMap::from([
            ("mse".to_string(), summary.mse),
            ("mae".to_string(), summary.mae),
            ("mean_iou".to_string(), summary.mean_iou),
        ]);
        if self.config.presence {
            metrics.insert("presence_bce".into(), bce_sum / batches);
            metrics.insert("presence_accuracy".into(), correct as f64 / total.max(1) as f64);
        }
        Ok((mse_sum / batches, metrics))
    }

    fn weights_info(&self, _model: &Detector, _device: &Device) -> Result<WeightsInfo> {
        Ok(WeightsInfo::default())
    }
}

fn readback(error: impl std::fmt::Debug) -> SepfaceError {
    SepfaceError::Readback {
        what: "validation output".into(),
        backend: "training".into(),
        reason: format!("{error:?}"),
    }
}
