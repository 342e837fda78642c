//! Native training and evaluation (feature `train`): the protocol of de Souza, "Face
//! Verification with Depthwise Separable Convolutions and the Triplet Loss" (Universidade de São
//! Paulo), for the detector and the embedder, with checkpoints that resume exactly, early
//! stopping, per-epoch metrics and reports with plots.
//!
//! Long work reports typed [`TrainEvent`]s to a callback, so the command line can draw progress
//! bars and tests can watch the run.

pub mod checkpoint;
pub mod classifier;
pub mod data;
pub mod detector;
pub mod embedder;
pub mod eval;
pub mod faces;
pub mod history;
pub mod loader;
pub mod plot;
pub mod report;
pub mod runner;
pub mod sweep;

use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};

use serde::{Deserialize, Serialize};

use crate::weights::Precision;
use crate::{Result, SepfaceError};

/// Settings shared by both training runs. Defaults follow de Souza's protocol unless noted.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct TrainOptions {
    /// Folder for checkpoints, best weights, metrics and the report.
    pub out: PathBuf,
    /// Maximum number of epochs (the paper: 1000, with early stopping).
    pub epochs: usize,
    /// Training batches per epoch (the paper: 200).
    pub batches_per_epoch: usize,
    /// Validation batches after each epoch (the paper: 50 for the detector, 20 for the embedder).
    pub validation_batches: usize,
    /// Images per batch (the paper: 32 for the detector, 16 for the embedder).
    pub batch_size: usize,
    /// Adamax learning rate.
    pub learning_rate: f64,
    /// Epochs without a lower validation loss before stopping early.
    pub patience: usize,
    /// Seed of every random choice: initial weights, batches, augmentation, dropout.
    pub seed: u64,
    /// Threads that decode and augment batches.
    pub workers: usize,
    /// Stop after this many minutes of training, keeping the best weights so far.
    pub max_minutes: Option<f64>,
    /// Precision of the saved best weights.
    pub precision: Precision,
    /// Continue the run in `out` from its last checkpoint.
    pub resume: bool,
    /// Start over in an `out` that already contains a run, replacing its files.
    pub force: bool,
}

impl TrainOptions {
    /// Returns options with de Souza's defaults for a run writing to `out`.
    pub fn new(out: impl Into<PathBuf>, batch_size: usize, validation_batches: usize) -> Self {
        Self {
            out: out.into(),
            epochs: 1000,
            batches_per_epoch: 200,
            validation_batches,
            batch_size,
            learning_rate: 1e-3,
            patience: 10,
            seed: 42,
            workers: std::thread::available_parallelism().map_or(2, |n| n.get()),
            max_minutes: None,
            precision: Precision::F32,
            resume: false,
            force: false,
        }
    }

    /// Checks the numbers and prepares the output folder: refuses to overwrite an earlier run's
    /// best weights unless `force` or `resume` is set.
    pub fn prepare_output(&self) -> Result<()> {
        for (name, value) in [("epochs", self.epochs), ("batches per epoch", self.batches_per_epoch), ("batch size", self.batch_size)] {
            if value == 0 {
                return Err(SepfaceError::invalid(name, value, "at least 1"));
            }
        }
        if !(self.learning_rate > 0.0 && self.learning_rate.is_finite()) {
            return Err(SepfaceError::invalid("learning rate", self.learning_rate, "a positive number such as 0.001"));
        }
        let best = self.best_path();
        if best.exists() && !self.resume && !self.force {
            return Err(SepfaceError::invalid(
                "output folder",
                self.out.display(),
                &format!("a folder without an earlier run, because {} exists; pass --resume to continue that run or --force to start over and replace it", best.display()),
            ));
        }
        if self.force && !self.resume {
            for stale in [self.out.join(checkpoint::FOLDER), self.out.join(history::CSV_FILE), self.out.join(history::JSON_FILE)] {
                remove_if_present(&stale)?;
            }
        }
        std::fs::create_dir_all(&self.out).map_err(|error| SepfaceError::write(&self.out, error))?;
        check_writable(&self.out)
    }

    /// Path of the best weights.
    pub fn best_path(&self) -> PathBuf {
        self.out.join("best.bpk")
    }
}

fn remove_if_present(path: &Path) -> Result<()> {
    let result = if path.is_dir() {
        std::fs::remove_dir_all(path)
    } else {
        std::fs::remove_file(path)
    };
    match result {
        Err(error) if error.kind() != std::io::ErrorKind::NotFound => Err(SepfaceError::write(path, error)),
        _ => Ok(()),
    }
}

/// Fails early, with the folder's name, when nothing can be written into it.
fn check_writable(folder: &Path) -> Result<()> {
    let probe = folder.join(format!(".write-test-{}", std::process::id()));
    std::fs::write(&probe, b"sepface").map_err(|error| SepfaceError::write(folder, error))?;
    let _ = std::fs::remove_file(&probe);
    Ok(())
}

/// Progress of a training run, reported as it happens.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub enum TrainEvent {
    /// Data is being prepared: `done` of `total` images.
    Preparing {
        /// Name of the data being prepared.
        what: String,
        /// Images done.
        done: usize,
        /// Images in all.
        total: usize,
    },
    /// An epoch starts.
    EpochStarted {
        /// Epoch number, from 1.
        epoch: usize,
        /// Training batches in the epoch.
        batches: usize,
    },
    /// A training batch finished.
    Batch {
        /// Epoch number, from 1.
        epoch: usize,
        /// Batch number in the epoch, from 1.
        batch: usize,
        /// Its loss.
        loss: f64,
        /// Images per second over the epoch so far.
        images_per_second: f64,
    },
    /// An epoch finished and was validated.
    EpochFinished(history::EpochRecord),
    /// The run ended.
    Finished {
        /// Reason the run stopped.
        reason: String,
        /// Epoch with the lowest validation loss.
        best_epoch: usize,
    },
}

/// Receives [`TrainEvent`]s.
pub type EventSink<'a> = &'a mut dyn FnMut(&TrainEvent);

/// A flag set by Ctrl-C (or a test) that requests a run to stop after the current batch.
#[derive(Debug, Clone, Default)]
pub struct StopFlag(Arc<AtomicBool>);

impl StopFlag {
    /// Asks the run to stop.
    pub fn request(&self) {
        self.0.store(true, Ordering::SeqCst);
    }

    /// Returns whether a stop was requested.
    pub fn requested(&self) -> bool {
        self.0.load(Ordering::SeqCst)
    }
}

/// Mixes a run seed with up to three counters into an independent seed (SplitMix64 finaliser).
pub fn derive_seed(seed: u64, parts: &[u64]) -> u64 {
    let mut state = seed;
    for part in parts {
        state = state.wrapping_add(0x9E37_79B9_7F4A_7C15).wrapping_add(*part);
        let mut z = state;
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        state = z ^ (z >> 31);
    }
    state
}
