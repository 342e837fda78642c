//! Pre-training the embedder as a face classifier with the large-margin cosine loss, before
//! triplet training. The classification head is dropped at the end: the best weights file
//! holds the embedder alone, validated and thresholded as the triplet task does it.

use std::collections::{BTreeMap, BTreeSet};
use std::sync::Arc;

use burn::prelude::*;
use rand::SeedableRng;
use rand::rngs::StdRng;

use super::derive_seed;
use super::embedder::EmbedderTask;
use super::runner::TrainTask;
use crate::faces::{EmbedderBatch, FaceSample, build_batch, labels_of};
use crate::loss::cosface::{CosFaceConfig, CosFaceHead};
use crate::model::{Embedder, EmbedderConfig};
use crate::sampler::PkSampler;
use crate::weights::{self, Network, Precision, WeightsInfo};
use crate::{Result, SepfaceError};

/// Configuration of a [`Classifier`].
#[derive(Config, Debug)]
pub struct ClassifierConfig {
    /// The embedder being pre-trained.
    pub embedder: EmbedderConfig,
    /// The cosine classification head.
    pub head: CosFaceConfig,
}

/// An embedder with a classification head over the training identities.
#[derive(Module, Debug)]
pub struct Classifier {
    /// The embedder.
    pub embedder: Embedder,
    /// The head.
    pub head: CosFaceHead,
}

impl Network for Classifier {
    type Config = ClassifierConfig;
    const NAME: &'static str = "classifier";
    fn from_config(config: &ClassifierConfig, device: &Device) -> Self {
        Classifier {
            embedder: config.embedder.init(device),
            head: config.head.init(device),
        }
    }
    fn validate(config: &ClassifierConfig) -> Result<()> {
        config.embedder.validate()
    }
    fn min_weight_count(config: &ClassifierConfig) -> u64 {
        let head = (config.head.classes as u64).saturating_mul(config.head.dim as u64);
        config.embedder.min_weight_count().saturating_add(head)
    }
}

/// The pre-training task. Validation runs the triplet task's validation on the embedder, so
/// early stopping and the stored threshold mean the same as in triplet training.
pub struct ClassifierTask {
    config: ClassifierConfig,
    train: Arc<Vec<FaceSample>>,
    sampler: PkSampler,
    triplet: EmbedderTask,
}

impl ClassifierTask {
    /// Builds the task from a triplet task (its data, augmentation and validation), relabelling
    /// the training identities `0..classes` for the head.
    pub fn new(triplet: EmbedderTask, scale: f64, margin: f64) -> Result<Self> {
        let identities: BTreeSet<usize> = triplet.train.iter().map(|s| s.identity).collect();
        let index: BTreeMap<usize, usize> = identities.iter().enumerate().map(|(i, id)| (*id, i)).collect();
        let train: Vec<FaceSample> = triplet
            .train
            .iter()
            .map(|s| FaceSample {
                crop: s.crop.clone(),
                identity: index[&s.identity],
            })
            .collect();
        let sampler = PkSampler::new(&labels_of(&train), triplet.identities_per_batch, triplet.images_per_identity)
            .map_err(|error| SepfaceError::invalid("training set", format!("{} crops", train.len()), &error.to_string()))?;
        let head = CosFaceConfig::new(identities.len(), triplet.config.output_dim())
            .with_scale(scale)
            .with_margin(margin);
        Ok(Self {
            config: ClassifierConfig::new(triplet.config.clone(), head),
            train: Arc::new(train),
            sampler,
            triplet,
        })
    }
}

impl TrainTask for ClassifierTask {
    type Net = Classifier;
    type Batch = EmbedderBatch;

    fn config(&self) -> &ClassifierConfig {
        &self.config
    }

    fn batch_maker(&self, _epoch: usize, seed: u64) -> Box<dyn Fn(usize) -> EmbedderBatch + Send + Sync> {
        let (samples, sampler) = (Arc::clone(&self.train), self.sampler.clone());
        let (size, margin, augment) = (self.config.embedder.input_size(), self.triplet.crop_margin, self.triplet.augment);
        Box::new(move |index| {
            let mut rng = StdRng::seed_from_u64(derive_seed(seed, &[index as u64]));
            build_batch(&samples, &sampler, size, margin, &augment, &mut rng)
        })
    }

    fn images_per_batch(&self) -> usize {
        self.sampler.batch_size()
    }

    fn loss(&self, model: &Classifier, batch: EmbedderBatch, device: &Device) -> Result<Tensor<1>> {
        let size = self.config.embedder.input_size();
        let count = batch.labels.len();
        let images = Tensor::from_data(TensorData::new(batch.images, [count, 3, size, size]), device);
        let labels: Vec<i64> = batch.labels.iter().map(|&label| label as i64).collect();
        let labels = Tensor::<1, Int>::from_data(TensorData::new(labels, [count]), device);
        Ok(model.head.loss(model.embedder.forward(images), labels))
    }

    fn validate(&self, model: &Classifier, device: &Device) -> Result<(f64, BTreeMap<String, f64>)> {
        self.triplet.validate(&model.embedder, device)
    }

    fn weights_info(&self, model: &Classifier, device: &Device) -> Result<WeightsInfo> {
        self.triplet.weights_info(&model.embedder, device)
    }

    fn save_best(&self, model: &Classifier, path: &std::path::Path, precision: Precision, device: &Device) -> Result<()> {
        let mut info = self.weights_info(model, device)?;
        info.provenance = Some("pre-trained as a classifier with the large-margin cosine loss".into());
        weights::save_file(path, &model.embedder, &self.config.embedder, &info, precision)
    }
}
