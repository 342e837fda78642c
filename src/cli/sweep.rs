//! `sepface sweep`: a grid of detector architectures, each trained briefly.

use std::path::PathBuf;
use std::sync::Arc;

use anyhow::{Context, Result, bail};
use burn::prelude::*;
use clap::Args;
use sepface::augment::AugmentConfig;
use sepface::model::{ConvKind, DetectorConfig};
use sepface::train::data::{cuhk_sources, split_off};
use sepface::train::detector::{DetectorTask, load_box_samples};
use sepface::train::sweep::{self, SweepGrid};
use sepface::train::{StopFlag, TrainOptions};

use super::progress::ProgressView;

/// Arguments of `sepface sweep`.
#[derive(Args, Debug)]
pub struct SweepArgs {
    /// CUHK CNN_FacePoint folder holding trainImageList.txt.
    #[arg(long)]
    pub cuhk: PathBuf,
    /// Folder for one run per model, sweep.md and sweep.json.
    #[arg(long)]
    pub out: PathBuf,
    /// Input sizes to try, in pixels, comma-separated.
    #[arg(long, value_delimiter = ',', default_value = "64,96,112")]
    pub input_sizes: Vec<usize>,
    /// Stage widths to try: filters per stage joined by '-', alternatives comma-separated
    /// (the number of stages is the depth).
    #[arg(long, value_delimiter = ',', default_value = "16-32-64-128,16-32-64-96-128,24-48-96-128-160")]
    pub widths: Vec<String>,
    /// Convolutions per stage to try, comma-separated.
    #[arg(long, value_delimiter = ',', default_value = "1,2")]
    pub convs_per_stage: Vec<usize>,
    /// Hidden dense widths to try, comma-separated.
    #[arg(long, value_delimiter = ',', default_value = "32,64,128")]
    pub dense: Vec<usize>,
    /// Convolution kinds to try: separable, regular (comma-separated).
    #[arg(long, value_delimiter = ',', default_value = "separable")]
    pub conv: Vec<String>,
    /// Epochs per model.
    #[arg(long, default_value_t = 5)]
    pub epochs: usize,
    /// Training batches per epoch.
    #[arg(long, default_value_t = 100)]
    pub batches_per_epoch: usize,
    /// Validation batches per epoch.
    #[arg(long, default_value_t = 20)]
    pub validation_batches: usize,
    /// Images per batch.
    #[arg(long, default_value_t = 32)]
    pub batch_size: usize,
    /// Seed of all random choices.
    #[arg(long, default_value_t = 42)]
    pub seed: u64,
    /// Replace the runs of an earlier sweep in --out.
    #[arg(long)]
    pub force: bool,
}

fn parse_widths(text: &str) -> Result<Vec<usize>> {
    text.split('-')
        .map(|w| w.trim().parse::<usize>().with_context(|| format!("invalid stage widths {text:?}: use numbers joined by '-', such as 16-32-64")))
        .collect()
}

fn parse_kind(text: &str) -> Result<ConvKind> {
    match text {
        "separable" => Ok(ConvKind::Separable),
        "regular" => Ok(ConvKind::Regular),
        other => bail!("invalid convolution kind {other:?}: use separable or regular"),
    }
}

/// Runs `sepface sweep`.
pub fn run(args: SweepArgs, device: &Device) -> Result<()> {
    let grid = SweepGrid {
        input_sizes: args.input_sizes.clone(),
        widths: args.widths.iter().map(|w| parse_widths(w)).collect::<Result<_>>()?,
        convs_per_stage: args.convs_per_stage.clone(),
        dense: args.dense.clone(),
        kinds: args.conv.iter().map(|k| parse_kind(k)).collect::<Result<_>>()?,
    };
    let count = grid.configs().len();
    log::info!("sweep of {count} detector architectures, {} epochs each", args.epochs);
    let sources = cuhk_sources(&args.cuhk.join("trainImageList.txt"))?;
    let (train_sources, validation_sources) = split_off(sources, 0.1, args.seed);
    let largest = args.input_sizes.iter().copied().max().unwrap_or(112) as u32 * 2;
    let (train, _) = load_box_samples(&train_sources, largest);
    let (validation, _) = load_box_samples(&validation_sources, largest);
    let template = DetectorTask {
        config: DetectorConfig::web(),
        train: Arc::new(train),
        validation: Arc::new(validation),
        augment: AugmentConfig::detector(),
        batch_size: args.batch_size,
        validation_batches: args.validation_batches,
        negative_fraction: 0.25,
        presence_weight: 0.02,
        seed: args.seed,
    };
    let mut options = TrainOptions::new(&args.out, args.batch_size, args.validation_batches);
    options.epochs = args.epochs;
    options.batches_per_epoch = args.batches_per_epoch;
    options.seed = args.seed;
    options.force = args.force;
    options.patience = args.epochs;
    let stop = StopFlag::default();
    let handler = stop.clone();
    ctrlc::set_handler(move || handler.request()).context("could not install the Ctrl-C handler")?;
    let mut view = ProgressView::default();
    let rows = sweep::run(&grid, &template, &options, device, &mut |event| view.show(event), &stop)?;
    println!("{} of {count} models trained; table: {}", rows.len(), args.out.join("sweep.md").display());
    Ok(())
}
