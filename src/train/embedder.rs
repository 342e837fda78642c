//! Training the embedder with the triplet loss on P x K batches of face crops.

use std::collections::BTreeMap;
use std::sync::Arc;

use burn::prelude::*;
use rand::rngs::StdRng;
use rand::SeedableRng;

use super::derive_seed;
use super::runner::TrainTask;
use crate::augment::AugmentConfig;
use crate::faces::{EmbedderBatch, FaceSample, build_batch, labels_of};
use crate::loss::{TripletLoss, TripletStats};
use crate::metrics::{ConfusionMatrix, ScoredPair, fit_threshold};
use crate::model::{Embedder, EmbedderConfig};
use crate::sampler::PkSampler;
use crate::weights::WeightsInfo;
use crate::{Result, SepfaceError};

/// The embedder training task.
pub struct EmbedderTask {
    /// Architecture.
    pub config: EmbedderConfig,
    /// Training crops.
    pub train: Arc<Vec<FaceSample>>,
    /// Validation crops, of identities absent from `train`.
    pub validation: Arc<Vec<FaceSample>>,
    /// The loss, with its margin, distance and mining.
    pub loss: TripletLoss,
    /// Identities per batch (P).
    pub identities_per_batch: usize,
    /// Images per identity (K).
    pub images_per_identity: usize,
    /// Validation batches per epoch.
    pub validation_batches: usize,
    /// Augmentation of training crops.
    pub augment: AugmentConfig,
    /// Margin around the face box at inference, stored with the weights.
    pub crop_margin: f32,
    /// Weights to start from instead of random ones, such as a classification pre-training.
    pub initial: Option<Embedder>,
    /// Seed of the validation batches.
    pub seed: u64,
    train_sampler: PkSampler,
    validation_sampler: PkSampler,
}

/// The data and settings of an [`EmbedderTask`].
pub struct EmbedderData {
    /// Training crops.
    pub train: Vec<FaceSample>,
    /// Validation crops, of identities absent from `train`.
    pub validation: Vec<FaceSample>,
    /// Identities per batch (P).
    pub identities_per_batch: usize,
    /// Images per identity (K).
    pub images_per_identity: usize,
}

impl EmbedderTask {
    /// Builds the task, checking that both sets have enough identities for P x K batches.
    ///
    /// # Errors
    /// [`SepfaceError::InvalidArgument`] naming the set with too few identities of K images.
    #[allow(clippy::too_many_arguments)]
    pub fn new(config: EmbedderConfig, data: EmbedderData, loss: TripletLoss, validation_batches: usize, augment: AugmentConfig, crop_margin: f32, seed: u64) -> Result<Self> {
        let (p, k) = (data.identities_per_batch, data.images_per_identity);
        let sampler = |samples: &[FaceSample], set: &str| {
            PkSampler::new(&labels_of(samples), p, k).map_err(|error| SepfaceError::invalid(&format!("{set} set"), format!("{} crops", samples.len()), &error.to_string()))
        };
        let train_sampler = sampler(&data.train, "training")?;
        let validation_sampler = sampler(&data.validation, "validation")?;
        Ok(Self {
            config,
            train: Arc::new(data.train),
            validation: Arc::new(data.validation),
            loss,
            identities_per_batch: p,
            images_per_identity: k,
            validation_batches,
            augment,
            crop_margin,
            initial: None,
            seed,
            train_sampler,
            validation_sampler,
        })
    }

    /// Validation distances and labels of every fixed validation batch.
    fn validation_distances(&self, model: &Embedder, device: &Device) -> Result<Vec<(Vec<f32>, Vec<usize>, f64)>> {
        let sampler = &self.validation_sampler;
        let size = self.config.input_size();
        let mut results = Vec::with_capacity(self.validation_batches);
        for index in 0..self.validation_batches.max(1) {
            let mut rng = StdRng::seed_from_u64(derive_seed(self.seed, &[u64::MAX, index as u64]));
            let batch = build_batch(&self.validation, sampler, size, self.crop_margin, &AugmentConfig::none(), &mut rng);
            let output = self.loss.forward(batch_embeddings(model, &batch, size, device), &batch.labels)?;
            let loss = output.loss.into_scalar::<f32>() as f64;
            let distances = output.distances.into_data().try_to_vec::<f32>().map_err(|error| SepfaceError::Readback {
                what: "validation distances".into(),
                backend: "training".into(),
                reason: format!("{error:?}"),
            })?;
            results.push((distances, batch.labels, loss));
        }
        Ok(results)
    }
}

fn batch_embeddings(model: &Embedder, batch: &EmbedderBatch, size: usize, device: &Device) -> Tensor<2> {
    let count = batch.labels.len();
    let images = Tensor::from_data(TensorData::new(batch.images.clone(), [count, 3, size, size]), device);
    model.forward(images)
}

/// Every pair of distinct images in the batches, scored by distance.
pub fn batch_pairs(batches: &[(Vec<f32>, Vec<usize>, f64)]) -> Vec<ScoredPair> {
    let mut pairs = Vec::new();
    for (distances, labels, _) in batches {
        let n = labels.len();
        for a in 0..n {
            for b in a + 1..n {
                pairs.push(ScoredPair {
                    distance: distances[a * n + b],
                    same: labels[a] == labels[b],
                });
            }
        }
    }
    pairs
}

impl TrainTask for EmbedderTask {
    type Net = Embedder;
    type Batch = EmbedderBatch;

    fn config(&self) -> &EmbedderConfig {
        &self.config
    }

    fn batch_maker(&self, _epoch: usize, seed: u64) -> Box<dyn Fn(usize) -> EmbedderBatch + Send + Sync> {
        let (samples, sampler) = (Arc::clone(&self.train), self.train_sampler.clone());
        let (size, crop_margin, augment) = (self.config.input_size(), self.crop_margin, self.augment);
        Box::new(move |index| {
            let mut rng = StdRng::seed_from_u64(derive_seed(seed, &[index as u64]));
            build_batch(&samples, &sampler, size, crop_margin, &augment, &mut rng)
        })
    }

    fn images_per_batch(&self) -> usize {
        self.identities_per_batch * self.images_per_identity
    }

    fn loss(&self, model: &Embedder, batch: EmbedderBatch, device: &Device) -> Result<Tensor<1>> {
        let embeddings = batch_embeddings(model, &batch, self.config.input_size(), device);
        Ok(self.loss.forward(embeddings, &batch.labels)?.loss)
    }

    fn validate(&self, model: &Embedder, device: &Device) -> Result<(f64, BTreeMap<String, f64>)> {
        let batches = self.validation_distances(model, device)?;
        let mut stats_sum = [0f64; 5];
        for (distances, labels, _) in &batches {
            let stats = TripletStats::from_distances(distances, labels, self.loss.margin)?;
            for (sum, value) in stats_sum.iter_mut().zip([stats.easy, stats.semi_hard, stats.hard, stats.mean_positive, stats.mean_negative]) {
                *sum += value;
            }
        }
        let count = batches.len().max(1) as f64;
        let loss = batches.iter().map(|(_, _, loss)| loss).sum::<f64>() / count;
        let pairs = batch_pairs(&batches);
        let accuracy = fit_threshold(&pairs).map_or(0.0, |(_, accuracy)| accuracy);
        let names = ["easy", "semi_hard", "hard", "mean_positive_distance", "mean_negative_distance"];
        let mut metrics: BTreeMap<String, f64> = names.iter().zip(stats_sum).map(|(name, sum)| (name.to_string(), sum / count)).collect();
        metrics.insert("pair_accuracy".into(), accuracy);
        Ok((loss, metrics))
    }

    fn initial_model(&self, device: &Device) -> Option<Embedder> {
        self.initial.clone().map(|model| model.train().fork(device))
    }

    fn weights_info(&self, model: &Embedder, device: &Device) -> Result<WeightsInfo> {
        let pairs = batch_pairs(&self.validation_distances(model, device)?);
        let threshold = fit_threshold(&pairs).map(|(threshold, _)| threshold);
        if let Some(threshold) = threshold {
            let accuracy = ConfusionMatrix::at_threshold(&pairs, threshold).accuracy();
            log::debug!("validation threshold {threshold:.4} with pair accuracy {accuracy:.4}");
        }
        Ok(WeightsInfo {
            threshold,
            distance: Some(self.loss.distance),
            crop_margin: Some(self.crop_margin),
            provenance: None,
        })
    }
}
