//! Short fine-tuning runs of the embedder on a few people's photos, with the same triplet loss,
//! mining and Adamax as full training. Written for the browser: every step is an async call
//! that reads back only with the async API, so the page can draw between steps.

use burn::optim::{GradientsParams, ModuleOptimizer};
use burn::prelude::*;
use rand::SeedableRng;
use rand::rngs::StdRng;
use serde::{Deserialize, Serialize};

use crate::augment::AugmentConfig;
use crate::faces::{EmbedderBatch, FaceSample, build_batch, inference_window, labels_of};
use crate::loss::{Distance, TripletLoss, TripletLossConfig, TripletStats};
use crate::metrics::ScoredPair;
use crate::model::{Embedder, EmbedderConfig};
use crate::optim::AdamaxConfig;
use crate::preprocess::{Resize, push_chw};
use crate::sampler::PkSampler;
use crate::verify::read_floats;
use crate::{Result, SepfaceError};

/// Settings of a fine-tuning run.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct FineTuneConfig {
    /// Adamax learning rate; lower than in training, so the embedder moves only a little.
    pub learning_rate: f64,
    /// Identities per batch (P); capped at the number of people given.
    pub identities_per_batch: usize,
    /// Images per identity (K).
    pub images_per_identity: usize,
    /// Triplet loss margin.
    pub margin: f64,
    /// Distance between embeddings.
    pub distance: Distance,
    /// A loss above this multiple of the first step's loss (or of the margin, if larger) counts
    /// as diverging.
    pub divergence_factor: f64,
    /// Seed of batch sampling and augmentation.
    pub seed: u64,
}

impl Default for FineTuneConfig {
    fn default() -> Self {
        Self {
            learning_rate: 2e-4,
            identities_per_batch: 4,
            images_per_identity: 3,
            margin: 0.2,
            distance: Distance::SquaredEuclidean,
            divergence_factor: 10.0,
            seed: 7,
        }
    }
}

/// What one step did.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct FineTuneStep {
    /// Step number, from 1.
    pub step: usize,
    /// The batch's triplet loss before the update.
    pub loss: f64,
    /// Triplet kinds and mean distances of the batch.
    pub stats: TripletStats,
}

/// A fine-tuning run in progress.
pub struct FineTuner {
    samples: Vec<FaceSample>,
    sampler: PkSampler,
    config: FineTuneConfig,
    model: Embedder,
    input_size: usize,
    crop_margin: f32,
    optimizer: ModuleOptimizer,
    loss: TripletLoss,
    rng: StdRng,
    device: Device,
    first_loss: Option<f64>,
    steps: Vec<FineTuneStep>,
}

impl FineTuner {
    /// Starts a run from `embedder` on `samples` (crops from [`crate::faces::stored_crop`]).
    ///
    /// # Errors
    /// [`SepfaceError::InvalidArgument`] when fewer than two people have
    /// `images_per_identity` photos each.
    pub fn new(embedder: &Embedder, embedder_config: &EmbedderConfig, samples: Vec<FaceSample>, crop_margin: f32, config: FineTuneConfig, device: &Device) -> Result<Self> {
        let labels = labels_of(&samples);
        let (people, ready) = people_with_enough_photos(&labels, config.images_per_identity);
        // People with too few photos are left out, so a batch takes as many as have enough.
        let per_batch = config.identities_per_batch.min(ready).max(2);
        let sampler = PkSampler::new(&labels, per_batch, config.images_per_identity).map_err(|_| {
            SepfaceError::invalid(
                "fine-tuning photos",
                format!("{} photos of {people} people, of whom {ready} have {} or more", samples.len(), config.images_per_identity),
                &format!("photos of at least 2 people, with {} or more photos each; add photos", config.images_per_identity),
            )
        })?;
        let device = device.clone().autodiff();
        let loss = TripletLossConfig::new()
            .with_margin(config.margin)
            .with_distance(config.distance)
            .init();
        Ok(Self {
            model: embedder.clone().train().fork(&device),
            rng: StdRng::seed_from_u64(config.seed),
            input_size: embedder_config.input_size(),
            optimizer: AdamaxConfig::new().init(),
            samples,
            sampler,
            crop_margin,
            loss,
            config,
            device,
            first_loss: None,
            steps: Vec::new(),
        })
    }

    /// Steps taken so far.
    pub fn steps(&self) -> &[FineTuneStep] {
        &self.steps
    }

    /// The fine-tuned embedder, in inference mode.
    pub fn model(&self) -> Embedder {
        self.model.valid()
    }

    /// Takes one optimisation step on a fresh augmented batch.
    ///
    /// # Errors
    /// [`SepfaceError::Training`] when the loss is not finite or exceeds the divergence limit;
    /// the model is then left as it was before this step.
    pub async fn step(&mut self) -> Result<FineTuneStep> {
        let batch = build_batch(&self.samples, &self.sampler, self.input_size, self.crop_margin, &AugmentConfig::embedder(), &mut self.rng);
        let labels = batch.labels.clone();
        let output = self.loss.forward(self.forward(&batch), &labels)?;
        let loss_value = read_floats(output.loss.clone(), "fine-tuning loss").await?[0] as f64;
        let first = *self.first_loss.get_or_insert(loss_value);
        let limit = self.config.divergence_factor * first.max(self.config.margin);
        if !loss_value.is_finite() || loss_value > limit {
            return Err(SepfaceError::Training {
                reason: format!(
                    "the fine-tuning loss reached {loss_value:.4} at step {} (limit {limit:.4}); \
                     the previous weights are kept. Try a lower learning rate or clearer photos",
                    self.steps.len() + 1
                ),
            });
        }
        let distances = read_floats(output.distances, "fine-tuning distances").await?;
        let stats = TripletStats::from_distances(&distances, &labels, self.loss.margin)?;
        let gradients = GradientsParams::from_grads(output.loss.backward(), &self.model);
        self.model = self.optimizer.step(self.config.learning_rate, self.model.clone(), gradients);
        let step = FineTuneStep {
            step: self.steps.len() + 1,
            loss: loss_value,
            stats,
        };
        self.steps.push(step);
        Ok(step)
    }

    fn forward(&self, batch: &EmbedderBatch) -> Tensor<2> {
        let count = batch.labels.len();
        let size = self.input_size;
        let images = Tensor::from_data(TensorData::new(batch.images.clone(), [count, 3, size, size]), &self.device);
        self.model.forward(images)
    }

    /// Embeds every photo of the run, without augmentation, with an inference copy of `model`.
    fn embed_all(&self, model: &Embedder) -> Tensor<2> {
        let device = self.device.clone().inner();
        let window = inference_window(self.crop_margin);
        let mut images = Vec::with_capacity(self.samples.len() * 3 * self.input_size * self.input_size);
        for sample in &self.samples {
            let crop = crate::augment::crop_window(&sample.crop, &window);
            push_chw(&crop, self.input_size, Resize::Bicubic, &mut images);
        }
        let count = self.samples.len();
        let input = Tensor::from_data(TensorData::new(images, [count, 3, self.input_size, self.input_size]), &device);
        model.valid().to_device(&device).forward(input)
    }

    /// The triplet loss over all the run's photos at once, without augmentation: a fixed
    /// measure of progress, unlike the loss of the random training batches.
    pub async fn evaluation_loss(&self, model: &Embedder) -> Result<f64> {
        let output = self.loss.forward(self.embed_all(model), &labels_of(&self.samples))?;
        Ok(read_floats(output.loss, "evaluation loss").await?[0] as f64)
    }

    /// Distances of every pair of the run's photos (without augmentation) under `model`.
    pub async fn pair_distances(&self, model: &Embedder) -> Result<Vec<ScoredPair>> {
        let count = self.samples.len();
        let distances = read_floats(self.loss.distance.pairwise(self.embed_all(model)), "pair distances").await?;
        let mut pairs = Vec::with_capacity(count * (count - 1) / 2);
        for a in 0..count {
            for b in a + 1..count {
                pairs.push(ScoredPair {
                    distance: distances[a * count + b],
                    same: self.samples[a].identity == self.samples[b].identity,
                });
            }
        }
        Ok(pairs)
    }
}

/// Counts the people in `labels` and those of them with at least `per_person` photos.
fn people_with_enough_photos(labels: &[usize], per_person: usize) -> (usize, usize) {
    let mut counts = std::collections::BTreeMap::new();
    for &label in labels {
        *counts.entry(label).or_insert(0usize) += 1;
    }
    let ready = counts.values().filter(|&&count| count >= per_person).count();
    (counts.len(), ready)
}
