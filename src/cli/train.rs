//! `sepface train detector` and `sepface train embedder`.

use std::path::PathBuf;
use std::sync::Arc;

use anyhow::{Context, Result, bail};
use burn::prelude::*;
use clap::{Args, Subcommand, ValueEnum};
use sepface::datasets::celeba::{Celeba, Partition};
use sepface::datasets::folders::read_identity_folders;
use sepface::loss::{Distance, Mining, TripletLossConfig};
use sepface::model::{Detector, DetectorConfig, Embedder, EmbedderConfig};
use sepface::augment::AugmentConfig;
use sepface::train::data::{celeba_face_sources, cuhk_sources, folder_face_sources, split_identities, split_off};
use sepface::train::classifier::ClassifierTask;
use sepface::train::detector::{DetectorTask, load_box_samples};
use sepface::train::embedder::{EmbedderData, EmbedderTask};
use sepface::train::faces::{BoxFinder, prepare_faces};
use sepface::train::runner::{self, RunSummary, TrainTask};
use sepface::train::{StopFlag, TrainOptions};
use sepface::weights::{self, Precision, Weights};

use super::progress::ProgressView;

/// Which network to train.
#[derive(Subcommand, Debug)]
pub enum TrainCommand {
    /// Train the box detector on CUHK CNN_FacePoint.
    Detector(DetectorArgs),
    /// Train the embedder with the triplet loss on CelebA identities or a folder per person.
    Embedder(EmbedderArgs),
}

/// Options of both training runs.
#[derive(Args, Debug)]
pub struct CommonArgs {
    /// Run folder: checkpoints, best.bpk, metrics.csv, metrics.json.
    #[arg(long)]
    pub out: PathBuf,
    /// Architecture: web, paper_separable or paper_regular.
    #[arg(long, default_value = "web")]
    pub arch: String,
    /// Maximum number of epochs.
    #[arg(long, default_value_t = 1000)]
    pub epochs: usize,
    /// Training batches per epoch.
    #[arg(long, default_value_t = 200)]
    pub batches_per_epoch: usize,
    /// Validation batches per epoch [default: 50 for the detector, 20 for the embedder].
    #[arg(long)]
    pub validation_batches: Option<usize>,
    /// Adamax learning rate.
    #[arg(long, default_value_t = 1e-3)]
    pub learning_rate: f64,
    /// Epochs without a lower validation loss before stopping early.
    #[arg(long, default_value_t = 10)]
    pub patience: usize,
    /// Seed of all random choices; the same seed repeats a run.
    #[arg(long, default_value_t = 42)]
    pub seed: u64,
    /// Threads that decode and augment batches [default: the number of CPU cores].
    #[arg(long)]
    pub workers: Option<usize>,
    /// Stop after this many minutes of training, keeping the best weights (minutes).
    #[arg(long)]
    pub max_minutes: Option<f64>,
    /// Save the best weights as 16-bit floats (half the file size).
    #[arg(long)]
    pub f16: bool,
    /// Continue the run in --out from its last checkpoint.
    #[arg(long)]
    pub resume: bool,
    /// Start over in an --out that holds an earlier run, replacing its weights.
    #[arg(long)]
    pub force: bool,
}

impl CommonArgs {
    fn options(&self, batch_size: usize, validation_batches: usize) -> TrainOptions {
        let mut options = TrainOptions::new(&self.out, batch_size, self.validation_batches.unwrap_or(validation_batches));
        options.epochs = self.epochs;
        options.batches_per_epoch = self.batches_per_epoch;
        options.learning_rate = self.learning_rate;
        options.patience = self.patience;
        options.seed = self.seed;
        if let Some(workers) = self.workers {
            options.workers = workers.max(1);
        }
        options.max_minutes = self.max_minutes;
        options.precision = if self.f16 { Precision::F16 } else { Precision::F32 };
        options.resume = self.resume;
        options.force = self.force;
        options
    }
}

/// Arguments of `sepface train detector`.
#[derive(Args, Debug)]
pub struct DetectorArgs {
    #[command(flatten)]
    pub common: CommonArgs,
    /// CUHK CNN_FacePoint folder holding trainImageList.txt.
    #[arg(long)]
    pub cuhk: PathBuf,
    /// Images per batch.
    #[arg(long, default_value_t = 32)]
    pub batch_size: usize,
    /// Fraction of the training list held out for validation.
    #[arg(long, default_value_t = 0.1)]
    pub validation_fraction: f64,
    /// Fraction of face-free training images, for detectors with a presence output.
    #[arg(long, default_value_t = 0.25)]
    pub negative_fraction: f32,
    /// Weight of the presence loss against the box MSE.
    #[arg(long, default_value_t = 0.02)]
    pub presence_weight: f64,
    /// Smallest crop window, as a fraction of the image side (below 1 zooms in).
    #[arg(long, default_value_t = AugmentConfig::detector().min_scale)]
    pub min_scale: f32,
    /// Largest crop window, as a fraction of the image side (above 1 zooms out, so faces get
    /// smaller).
    #[arg(long, default_value_t = AugmentConfig::detector().max_scale)]
    pub max_scale: f32,
    /// Train without crop jitter, flips and colour jitter.
    #[arg(long)]
    pub no_augment: bool,
}

/// Distances accepted on the command line.
#[derive(ValueEnum, Clone, Copy, Debug)]
pub enum DistanceArg {
    /// Squared euclidean distance.
    SquaredEuclidean,
    /// Cosine distance.
    Cosine,
}

/// Mining strategies accepted on the command line.
#[derive(ValueEnum, Clone, Copy, Debug)]
pub enum MiningArg {
    /// Semi-hard negatives (FaceNet), the paper's choice.
    SemiHard,
    /// Hardest positive and negative per anchor.
    BatchHard,
    /// Every valid triplet.
    BatchAll,
}

/// Arguments of `sepface train embedder`.
#[derive(Args, Debug)]
pub struct EmbedderArgs {
    #[command(flatten)]
    pub common: CommonArgs,
    /// CelebA folder (official layout); its training partition is used.
    #[arg(long, conflicts_with = "folders")]
    pub celeba: Option<PathBuf>,
    /// A folder with one subfolder of photos per person, instead of CelebA.
    #[arg(long)]
    pub folders: Option<PathBuf>,
    /// Detector weights that find the faces without a ground-truth box.
    #[arg(long, default_value = "models/detector.bpk")]
    pub detector: PathBuf,
    /// Keep identities with more than this many images (the paper: 5).
    #[arg(long, default_value_t = 5)]
    pub more_than: usize,
    /// Fraction of identities held out for validation.
    #[arg(long, default_value_t = 0.1)]
    pub validation_identities: f64,
    /// Identities per batch (P); the batch holds P x K images.
    #[arg(long, short = 'p', default_value_t = 4)]
    pub identities_per_batch: usize,
    /// Images per identity (K).
    #[arg(long, short = 'k', default_value_t = 4)]
    pub images_per_identity: usize,
    /// Triplet loss margin (alpha), in distance units.
    #[arg(long, default_value_t = 0.2)]
    pub margin: f64,
    /// Distance between embeddings.
    #[arg(long, value_enum, default_value = "squared-euclidean")]
    pub distance: DistanceArg,
    /// Triplet mining strategy.
    #[arg(long, value_enum, default_value = "semi-hard")]
    pub mining: MiningArg,
    /// Margin around the face box when cropping, as a fraction of the box's width and height.
    #[arg(long, default_value_t = 0.1)]
    pub crop_margin: f32,
    /// Train without crop jitter, flips and colour jitter.
    #[arg(long)]
    pub no_augment: bool,
    /// Training objective: the triplet loss (the paper's), or classification of the training
    /// identities with the large-margin cosine loss, as a pre-training for the triplet loss.
    #[arg(long, value_enum, default_value = "triplet")]
    pub objective: ObjectiveArg,
    /// Scale of the cosine logits (objective cosface).
    #[arg(long, default_value_t = 16.0)]
    pub cosface_scale: f64,
    /// Cosine margin of the true identity (objective cosface).
    #[arg(long, default_value_t = 0.2)]
    pub cosface_margin: f64,
    /// Embedder weights to start from instead of random ones, such as a cosface pre-training.
    #[arg(long)]
    pub init: Option<PathBuf>,
}

/// Training objectives of the embedder.
#[derive(ValueEnum, Clone, Copy, Debug, PartialEq, Eq)]
pub enum ObjectiveArg {
    /// The triplet loss with the chosen mining.
    Triplet,
    /// Identity classification with the large-margin cosine loss (CosFace).
    Cosface,
}

/// Runs `sepface train`.
pub fn run(command: TrainCommand, device: &Device) -> Result<()> {
    let stop = StopFlag::default();
    let handler_flag = stop.clone();
    ctrlc::set_handler(move || {
        eprintln!("\nstopping after the current batch; the last finished epoch is kept (continue with --resume)");
        handler_flag.request();
    })
    .context("could not install the Ctrl-C handler")?;
    let summary = match command {
        TrainCommand::Detector(args) => train_detector(args, device, &stop)?,
        TrainCommand::Embedder(args) => train_embedder(args, device, &stop)?,
    };
    println!("{}; best epoch {}", summary.reason, summary.best_epoch);
    Ok(())
}

fn run_task<T: TrainTask>(task: &T, options: &TrainOptions, device: &Device, stop: &StopFlag) -> Result<RunSummary> {
    let mut view = ProgressView::default();
    let summary = runner::run(task, options, device, &mut |event| view.show(event), stop)?;
    println!("best weights: {}", options.best_path().display());
    Ok(summary)
}

fn train_detector(args: DetectorArgs, device: &Device, stop: &StopFlag) -> Result<RunSummary> {
    let config = DetectorConfig::named(&args.common.arch)?;
    if !(args.min_scale > 0.0 && args.min_scale <= args.max_scale) {
        bail!("invalid crop scales {} to {}: use 0 < --min-scale <= --max-scale", args.min_scale, args.max_scale);
    }
    let options = args.common.options(args.batch_size, 50);
    options.prepare_output()?;
    let sources = cuhk_sources(&args.cuhk.join("trainImageList.txt"))?;
    let (train_sources, validation_sources) = split_off(sources, args.validation_fraction, options.seed);
    let stored_side = (config.input_size() * 2) as u32;
    log::info!("decoding {} training and {} validation images", train_sources.len(), validation_sources.len());
    let (train, skipped_train) = load_box_samples(&train_sources, stored_side);
    let (validation, skipped_validation) = load_box_samples(&validation_sources, stored_side);
    if skipped_train + skipped_validation > 0 {
        log::warn!("skipped {} unreadable images", skipped_train + skipped_validation);
    }
    if train.is_empty() || validation.is_empty() {
        bail!(
            "no readable training or validation images under {} ({} training, {} validation); check that --cuhk is the CNN_FacePoint folder with trainImageList.txt and its images",
            args.cuhk.display(),
            train.len(),
            validation.len()
        );
    }
    let task = DetectorTask {
        augment: if args.no_augment {
            AugmentConfig::none()
        } else {
            AugmentConfig {
                min_scale: args.min_scale,
                max_scale: args.max_scale,
                ..AugmentConfig::detector()
            }
        },
        config,
        train: Arc::new(train),
        validation: Arc::new(validation),
        batch_size: args.batch_size,
        validation_batches: options.validation_batches,
        negative_fraction: args.negative_fraction,
        presence_weight: args.presence_weight,
        seed: options.seed,
    };
    run_task(&task, &options, device, stop)
}

fn train_embedder(args: EmbedderArgs, device: &Device, stop: &StopFlag) -> Result<RunSummary> {
    let config = EmbedderConfig::named(&args.common.arch)?;
    let batch = args.identities_per_batch * args.images_per_identity;
    let options = args.common.options(batch, 20);
    options.prepare_output()?;
    let sources = match (&args.celeba, &args.folders) {
        (Some(root), _) => celeba_face_sources(&Celeba::open(root)?, Some(Partition::Train), args.more_than),
        (None, Some(root)) => folder_face_sources(&read_identity_folders(root)?),
        (None, None) => bail!("pass --celeba DIR or --folders DIR"),
    };
    let (train_sources, validation_sources) = split_identities(sources, args.validation_identities, options.seed);
    let detector: Weights<Detector> = weights::load_file(&args.detector, device)
        .with_context(|| format!("failed to load the detector {}, which finds the faces of images without a ground-truth box; pass a detector weights file with --detector", args.detector.display()))?;
    let detector_model = detector.model.valid();
    let finder = BoxFinder {
        model: &detector_model,
        config: &detector.config,
        device,
    };
    let stored = (config.input_size() as f32 * 1.25) as u32;
    let mut view = ProgressView::default();
    let mut prepare = |sources| prepare_faces(sources, Some(&finder), args.crop_margin, stored, &mut |event| view.show(event));
    let (train, skipped_train) = prepare(&train_sources)?;
    let (validation, skipped_validation) = prepare(&validation_sources)?;
    log::info!(
        "{} training and {} validation crops; {} images skipped",
        train.len(),
        validation.len(),
        skipped_train + skipped_validation
    );
    let loss = TripletLossConfig::new()
        .with_margin(args.margin)
        .with_distance(match args.distance {
            DistanceArg::SquaredEuclidean => Distance::SquaredEuclidean,
            DistanceArg::Cosine => Distance::Cosine,
        })
        .with_mining(match args.mining {
            MiningArg::SemiHard => Mining::SemiHard,
            MiningArg::BatchHard => Mining::BatchHard,
            MiningArg::BatchAll => Mining::BatchAll,
        })
        .init();
    let data = EmbedderData {
        train,
        validation,
        identities_per_batch: args.identities_per_batch,
        images_per_identity: args.images_per_identity,
    };
    let augment = if args.no_augment { AugmentConfig::none() } else { AugmentConfig::embedder() };
    let mut task = EmbedderTask::new(config, data, loss, options.validation_batches, augment, args.crop_margin, options.seed)?;
    if let Some(path) = &args.init {
        let initial: Weights<Embedder> = weights::load_file(path, device)?;
        if serde_json::to_string(&initial.config).ok() != serde_json::to_string(&task.config).ok() {
            bail!(
                "{} contains another embedder architecture ({}) than --arch {}; pass the --arch it was trained with",
                path.display(),
                serde_json::to_string(&initial.config).unwrap_or_default(),
                args.common.arch
            );
        }
        task.initial = Some(initial.model);
    }
    match args.objective {
        ObjectiveArg::Triplet => run_task(&task, &options, device, stop),
        ObjectiveArg::Cosface => run_task(&ClassifierTask::new(task, args.cosface_scale, args.cosface_margin)?, &options, device, stop),
    }
}
