//! Evaluation of trained weights: box metrics for the detector (the paper's Table 3), pair
//! distances and classification metrics for the embedder (Tables 6 and 7, Figs 19-20), and LFW
//! View 2 10-fold accuracy through the whole pipeline.

use std::collections::HashMap;
use std::path::{Path, PathBuf};
use std::time::Instant;

use burn::prelude::*;
use image::RgbImage;
use rand::rngs::StdRng;
use rand::{RngExt, SeedableRng};
use rayon::prelude::*;
use serde::Serialize;

use super::detector::{BoxSource, downscale};
use super::faces::BoxFinder;
use crate::boxes::FaceBox;
use crate::datasets::lfw::LfwPair;
use crate::loss::Distance;
use crate::metrics::{BoxMetrics, BoxMetricsAccumulator, ConfusionMatrix, DistanceHistogram, DistanceSummary, FoldedAccuracy, Roc, ScoredPair, fit_threshold, folded_accuracy, mean_std};
use crate::model::{Detector, DetectorConfig, Embedder, EmbedderConfig};
use crate::preprocess::{Resize, center_box, crop_face, decode_image, images_to_tensor};
use crate::{Result, SepfaceError};

/// Images decoded and processed at a time.
const CHUNK: usize = 64;

fn readback(what: &str, error: impl std::fmt::Debug) -> SepfaceError {
    SepfaceError::Readback {
        what: what.to_string(),
        backend: "evaluation".into(),
        reason: format!("{error:?}"),
    }
}

/// Decodes images in parallel, downscaled to at most 1024 pixels a side, with their original
/// width and height; unreadable ones are logged and `None`.
fn decode_all(paths: &[&Path]) -> Vec<Option<(RgbImage, u32, u32)>> {
    paths
        .par_iter()
        .map(|path| {
            let bytes = std::fs::read(path).map_err(|error| SepfaceError::read(path, error));
            match bytes.and_then(|bytes| decode_image(&bytes, &path.display().to_string())) {
                Ok(image) => {
                    let (width, height) = image.dimensions();
                    Some((downscale(image, 1024), width, height))
                }
                Err(error) => {
                    log::warn!("skipping an unreadable image: {error}");
                    None
                }
            }
        })
        .collect()
}

/// Box metrics of the detector on one dataset.
#[derive(Debug, Clone, Serialize)]
pub struct DetectorReport {
    /// Dataset name.
    pub dataset: String,
    /// Images evaluated.
    pub images: usize,
    /// Unreadable images skipped.
    pub skipped: usize,
    /// MSE, MAE and mean IoU.
    pub metrics: BoxMetrics,
    /// Fraction of images the presence output calls a face, for detectors that have one.
    pub face_rate: Option<f64>,
    /// Mean seconds per forward pass of `batch_size` images, preprocessing excluded.
    pub seconds_per_batch: f64,
    /// Images per forward pass.
    pub batch_size: usize,
}

/// Runs the detector over `sources` in batches of `batch_size` and compares with their boxes.
pub fn evaluate_detector(model: &Detector, config: &DetectorConfig, dataset: &str, sources: &[BoxSource], batch_size: usize, device: &Device) -> Result<DetectorReport> {
    let mut boxes = BoxMetricsAccumulator::default();
    let (mut faces, mut presence_seen, mut skipped, mut batches, mut seconds) = (0usize, 0usize, 0usize, 0usize, 0f64);
    for chunk in sources.chunks(batch_size.max(1)) {
        let paths: Vec<&Path> = chunk.iter().map(|s| s.path.as_path()).collect();
        let decoded = decode_all(&paths);
        let kept: Vec<(&BoxSource, (RgbImage, u32, u32))> = chunk.iter().zip(decoded).filter_map(|(s, image)| image.map(|i| (s, i))).collect();
        skipped += chunk.len() - kept.len();
        if kept.is_empty() {
            continue;
        }
        let images: Vec<&RgbImage> = kept.iter().map(|(_, (image, _, _))| image).collect();
        let input = images_to_tensor(&images, config.input_size(), Resize::Bilinear, device)?;
        let started = Instant::now();
        let output = model.forward(input);
        let predicted = output.boxes.into_data().try_to_vec::<f32>().map_err(|e| readback("boxes", e))?;
        seconds += started.elapsed().as_secs_f64();
        batches += 1;
        for (index, (source, (_, width, height))) in kept.iter().enumerate() {
            let [left, top, right, bottom] = source.face;
            let target = FaceBox::from_pixels(left, top, right, bottom, *width, *height);
            let p = &predicted[4 * index..4 * index + 4];
            boxes.add(&FaceBox::from_edges([p[0], p[1], p[2], p[3]]), &target);
        }
        if let Some(logits) = output.presence {
            let logits = logits.into_data().try_to_vec::<f32>().map_err(|e| readback("presence", e))?;
            faces += logits.iter().filter(|l| **l > 0.0).count();
            presence_seen += logits.len();
        }
    }
    let metrics = boxes.finish();
    Ok(DetectorReport {
        dataset: dataset.to_string(),
        images: metrics.count,
        skipped,
        metrics,
        face_rate: (presence_seen > 0).then(|| faces as f64 / presence_seen as f64),
        seconds_per_batch: seconds / batches.max(1) as f64,
        batch_size,
    })
}

/// Embeds images through the pipeline: the detector's box (or the centre of the image), a crop
/// with `crop_margin`, and the embedder.
pub struct PipelineEmbedder<'a> {
    /// Finds the faces; `None` crops the centre of each image instead.
    pub finder: Option<BoxFinder<'a>>,
    /// The embedder, in inference mode.
    pub embedder: &'a Embedder,
    /// Its architecture.
    pub config: &'a EmbedderConfig,
    /// Margin around the box.
    pub crop_margin: f32,
    /// Device.
    pub device: &'a Device,
}

/// Embeddings by image path, and how many images fell back to the centre crop.
pub struct Embeddings {
    /// Embedding of each readable image.
    pub vectors: HashMap<PathBuf, Vec<f32>>,
    /// Images whose detected box was unusable, embedded from the centre crop.
    pub fallbacks: usize,
}

/// Fraction of the shorter side taken by the centre crop.
pub const CENTER_FRACTION: f32 = 0.5;

impl PipelineEmbedder<'_> {
    /// Embeds each distinct path once.
    pub fn embed_paths(&self, paths: &[&Path]) -> Result<Embeddings> {
        let mut unique: Vec<&Path> = paths.to_vec();
        unique.sort();
        unique.dedup();
        let mut result = Embeddings {
            vectors: HashMap::with_capacity(unique.len()),
            fallbacks: 0,
        };
        for chunk in unique.chunks(CHUNK) {
            let decoded = decode_all(chunk);
            let kept: Vec<(&Path, RgbImage)> = chunk.iter().zip(decoded).filter_map(|(p, i)| i.map(|(i, _, _)| (*p, i))).collect();
            let images: Vec<&RgbImage> = kept.iter().map(|(_, image)| image).collect();
            let boxes = match &self.finder {
                Some(finder) if !images.is_empty() => finder.find(&images)?,
                _ => images.iter().map(|i| center_box(i.width(), i.height(), CENTER_FRACTION)).collect(),
            };
            let mut crops = Vec::with_capacity(kept.len());
            for ((_, image), face) in kept.iter().zip(&boxes) {
                let crop = match face.is_valid().then(|| crop_face(image, face, self.crop_margin)) {
                    Some(Ok(crop)) => crop,
                    _ => {
                        result.fallbacks += 1;
                        crop_face(image, &center_box(image.width(), image.height(), CENTER_FRACTION), self.crop_margin)?
                    }
                };
                crops.push(crop);
            }
            let vectors = self.embed_crops(&crops)?;
            for ((path, _), vector) in kept.iter().zip(vectors) {
                result.vectors.insert(path.to_path_buf(), vector);
            }
        }
        Ok(result)
    }

    fn embed_crops(&self, crops: &[RgbImage]) -> Result<Vec<Vec<f32>>> {
        if crops.is_empty() {
            return Ok(Vec::new());
        }
        let references: Vec<&RgbImage> = crops.iter().collect();
        let input = images_to_tensor(&references, self.config.input_size(), Resize::Bicubic, self.device)?;
        let values = self.embedder.forward(input).into_data().try_to_vec::<f32>().map_err(|e| readback("embeddings", e))?;
        Ok(values.chunks(self.config.output_dim()).map(<[f32]>::to_vec).collect())
    }
}

/// Scores pairs of embedded images; pairs with an unreadable image are left out.
pub fn score_pairs(pairs: &[(PathBuf, PathBuf, bool)], embeddings: &Embeddings, distance: Distance) -> Vec<ScoredPair> {
    pairs
        .iter()
        .filter_map(|(a, b, same)| {
            let (a, b) = (embeddings.vectors.get(a)?, embeddings.vectors.get(b)?);
            Some(ScoredPair {
                distance: distance.between(a, b),
                same: *same,
            })
        })
        .collect()
}

/// Classification metrics of pairs at a threshold, with the ROC curve.
#[derive(Debug, Clone, Serialize)]
pub struct PairReport {
    /// Pairs scored.
    pub pairs: usize,
    /// Distance statistics (Table 6).
    pub summary: DistanceSummary,
    /// The threshold the confusion matrix uses.
    pub threshold: f32,
    /// Where that threshold came from.
    pub threshold_source: String,
    /// Counts at the threshold (Table 7).
    pub confusion: ConfusionMatrix,
    /// Accuracy at the threshold.
    pub accuracy: f64,
    /// Precision at the threshold.
    pub precision: f64,
    /// Recall at the threshold.
    pub recall: f64,
    /// The ROC curve with AUC, EER and TAR at FAR = 1e-3.
    pub roc: Roc,
    /// Distance histograms (Figs 19-20).
    pub histogram: DistanceHistogram,
}

impl PairReport {
    /// Summarises `pairs` at `threshold`.
    pub fn new(pairs: &[ScoredPair], threshold: f32, threshold_source: &str, max_distance: f32) -> Self {
        let confusion = ConfusionMatrix::at_threshold(pairs, threshold);
        Self {
            pairs: pairs.len(),
            summary: DistanceSummary::new(pairs),
            threshold,
            threshold_source: threshold_source.to_string(),
            accuracy: confusion.accuracy(),
            precision: confusion.precision(),
            recall: confusion.recall(),
            confusion,
            roc: Roc::new(pairs),
            histogram: DistanceHistogram::new(pairs, 40, 0.0, max_distance),
        }
    }
}

/// Random triplet losses `max(0, d(a, p) - d(a, n) + margin)`: mean and standard deviation
/// (Table 6), over `count` triplets drawn from `identities` (lists of embeddings).
pub fn triplet_loss_stats(identities: &[Vec<&Vec<f32>>], distance: Distance, margin: f32, count: usize, seed: u64) -> (f64, f64) {
    let eligible: Vec<usize> = (0..identities.len()).filter(|&i| identities[i].len() >= 2).collect();
    if eligible.is_empty() || identities.len() < 2 {
        return (0.0, 0.0);
    }
    let mut rng = StdRng::seed_from_u64(seed);
    let mut losses = Vec::with_capacity(count);
    for _ in 0..count {
        let identity = eligible[rng.random_range(0..eligible.len())];
        let images = &identities[identity];
        let (a, p) = (rng.random_range(0..images.len()), rng.random_range(0..images.len() - 1));
        let p = if p >= a { p + 1 } else { p };
        let mut other = rng.random_range(0..identities.len() - 1);
        if other >= identity {
            other += 1;
        }
        let negatives = &identities[other];
        let n = negatives[rng.random_range(0..negatives.len())];
        let loss = distance.between(images[a], images[p]) - distance.between(images[a], n) + margin;
        losses.push(loss.max(0.0) as f64);
    }
    mean_std(&losses)
}

/// Draws `count` same-identity and `count` different-identity pairs of `items` (path, identity).
pub fn random_pairs(items: &[(PathBuf, usize)], count: usize, seed: u64) -> Vec<(PathBuf, PathBuf, bool)> {
    let mut by_identity: HashMap<usize, Vec<&PathBuf>> = HashMap::new();
    for (path, identity) in items {
        by_identity.entry(*identity).or_default().push(path);
    }
    let mut identities: Vec<(usize, Vec<&PathBuf>)> = by_identity.into_iter().collect();
    identities.sort_by_key(|(identity, _)| *identity);
    let multi: Vec<&Vec<&PathBuf>> = identities.iter().map(|(_, paths)| paths).filter(|p| p.len() >= 2).collect();
    if multi.is_empty() || identities.len() < 2 {
        return Vec::new();
    }
    let mut rng = StdRng::seed_from_u64(seed);
    let mut pairs = Vec::with_capacity(2 * count);
    for _ in 0..count {
        let paths = multi[rng.random_range(0..multi.len())];
        let a = rng.random_range(0..paths.len());
        let b = (a + 1 + rng.random_range(0..paths.len() - 1)) % paths.len();
        pairs.push((paths[a].clone(), paths[b].clone(), true));
        let first = rng.random_range(0..identities.len());
        let second = (first + 1 + rng.random_range(0..identities.len() - 1)) % identities.len();
        let pick = |rng: &mut StdRng, paths: &Vec<&PathBuf>| paths[rng.random_range(0..paths.len())].clone();
        let (x, y) = (pick(&mut rng, &identities[first].1), pick(&mut rng, &identities[second].1));
        pairs.push((x, y, false));
    }
    pairs
}

/// LFW View 2 results of one cropping method.
#[derive(Debug, Clone, Serialize)]
pub struct LfwReport {
    /// How faces were cropped.
    pub cropping: String,
    /// 10-fold accuracy (mean and std), threshold fitted on the other nine folds.
    pub folded: FoldedAccuracy,
    /// Accuracy on all View 2 pairs at the threshold fitted on View 1 (`pairsDevTrain.txt`).
    pub view1_threshold: Option<f32>,
    /// Accuracy at that threshold.
    pub accuracy_at_view1_threshold: Option<f64>,
    /// All View 2 pairs at the View 1 threshold, with the ROC curve.
    pub pairs: Option<PairReport>,
    /// Images whose detected box was unusable and were embedded from the centre crop.
    pub fallbacks: usize,
}

fn as_tuples(pairs: &[LfwPair]) -> Vec<(PathBuf, PathBuf, bool)> {
    pairs.iter().map(|p| (p.first.clone(), p.second.clone(), p.same)).collect()
}

/// Runs LFW View 2 (and fits the threshold on View 1 `tuning` pairs when given).
pub fn evaluate_lfw(pipeline: &PipelineEmbedder, cropping: &str, view2: &[LfwPair], tuning: &[LfwPair], distance: Distance) -> Result<LfwReport> {
    let paths: Vec<&Path> = view2.iter().chain(tuning).flat_map(|p| [p.first.as_path(), p.second.as_path()]).collect();
    let embeddings = pipeline.embed_paths(&paths)?;
    let mut report = score_lfw(&embeddings, cropping, view2, distance)?;
    let view1 = fit_threshold(&score_pairs(&as_tuples(tuning), &embeddings, distance)).map(|(threshold, _)| threshold);
    if let Some(threshold) = view1 {
        let scored = score_pairs(&as_tuples(view2), &embeddings, distance);
        let pairs = PairReport::new(&scored, threshold, "LFW View 1 (pairsDevTrain.txt)", distance.max_value());
        report.view1_threshold = Some(threshold);
        report.accuracy_at_view1_threshold = Some(pairs.accuracy);
        report.pairs = Some(pairs);
    }
    report.fallbacks = embeddings.fallbacks;
    Ok(report)
}

/// Scores LFW View 2 with ready embeddings: 10-fold accuracy, and the ROC curve of all pairs
/// (whose confusion matrix uses the threshold fitted on all of them, as no View 1 threshold is
/// given). Pairs with an image missing from `embeddings` are left out.
pub fn score_lfw(embeddings: &Embeddings, name: &str, view2: &[LfwPair], distance: Distance) -> Result<LfwReport> {
    let view2_pairs = as_tuples(view2);
    let folds: Vec<usize> = view2.iter().map(|p| p.fold.unwrap_or(0)).collect();
    let kept: Vec<(ScoredPair, usize)> = view2_pairs
        .iter()
        .zip(&folds)
        .filter_map(|((a, b, same), fold)| {
            let (a, b) = (embeddings.vectors.get(a)?, embeddings.vectors.get(b)?);
            Some((
                ScoredPair {
                    distance: distance.between(a, b),
                    same: *same,
                },
                *fold,
            ))
        })
        .collect();
    let scored: Vec<ScoredPair> = kept.iter().map(|(pair, _)| *pair).collect();
    let fold_of: Vec<usize> = kept.iter().map(|(_, fold)| *fold).collect();
    let folded = folded_accuracy(&scored, &fold_of)?;
    let max = scored.iter().map(|p| p.distance).fold(distance.max_value(), f32::max);
    let pairs = fit_threshold(&scored).map(|(threshold, _)| PairReport::new(&scored, threshold, "fitted on all View 2 pairs", max));
    Ok(LfwReport {
        cropping: name.to_string(),
        folded,
        view1_threshold: None,
        accuracy_at_view1_threshold: None,
        pairs,
        fallbacks: 0,
    })
}
