//! Checkpoints that survive a kill at any moment.
//!
//! Each epoch writes a new folder `checkpoint/epoch-NNNNN/` (weights and optimizer state), then
//! points `checkpoint/latest.json` at it with an atomic rename, and only then deletes older
//! folders. A kill before the rename leaves the previous checkpoint in force.

use std::path::{Path, PathBuf};

use burn::optim::ModuleOptimizer;
use burn::prelude::*;
use burn::tensor::Bytes;
use serde::{Deserialize, Serialize};

use super::history::History;
use crate::weights::{self, Network, Precision, WeightsInfo, write_atomic};
use crate::{Result, SepfaceError};

/// Name of the checkpoint folder inside a run folder.
pub const FOLDER: &str = "checkpoint";
const LATEST: &str = "latest.json";
const MODEL: &str = "model.bpk";
const OPTIMIZER: &str = "optimizer.bpk";
const HISTORY: &str = "history.json";

/// Training state at the end of an epoch.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct CheckpointState {
    /// Epochs completed.
    pub epoch: usize,
    /// Epoch with the lowest validation loss so far.
    pub best_epoch: usize,
    /// That validation loss.
    pub best_loss: f64,
    /// Epochs since the validation loss last improved.
    pub stale_epochs: usize,
    /// Seconds of training so far, over all sessions.
    pub elapsed_seconds: f64,
    /// The run's seed; a resumed run must use the same one.
    pub seed: u64,
    /// Folder of this checkpoint, relative to the checkpoint folder.
    pub folder: String,
}

fn io_error(path: &Path, error: std::io::Error) -> SepfaceError {
    SepfaceError::write(path, error)
}

/// Saves the model, its optimizer, the metrics so far and `state` as the run's latest
/// checkpoint.
pub fn save<N: Network>(out: &Path, model: &N, config: &N::Config, optimizer: &ModuleOptimizer, history: &History, mut state: CheckpointState) -> Result<()> {
    let root = out.join(FOLDER);
    state.folder = format!("epoch-{:05}", state.epoch);
    let folder = root.join(&state.folder);
    std::fs::create_dir_all(&folder).map_err(|error| io_error(&folder, error))?;

    let model_bytes = pollster::block_on(weights::to_bytes(model, config, &WeightsInfo::default(), Precision::F32))?;
    write_atomic(&folder.join(MODEL), &model_bytes)?;
    let optimizer_bytes = optimizer.into_bytes().map_err(|error| SepfaceError::Training {
        reason: format!("could not serialise the optimizer state ({error})"),
    })?;
    write_atomic(&folder.join(OPTIMIZER), &optimizer_bytes)?;
    let history_json = serde_json::to_vec(history).map_err(|error| SepfaceError::Training {
        reason: format!("could not serialise the metrics ({error})"),
    })?;
    write_atomic(&folder.join(HISTORY), &history_json)?;

    let json = serde_json::to_vec_pretty(&state).map_err(|error| SepfaceError::Training {
        reason: format!("could not serialise the checkpoint state ({error})"),
    })?;
    write_atomic(&root.join(LATEST), &json)?;
    remove_older_folders(&root, &state.folder);
    Ok(())
}

/// Deletes checkpoint folders other than `keep`; a failure only costs disk space, so it is
/// logged, not returned.
fn remove_older_folders(root: &Path, keep: &str) {
    let Ok(entries) = std::fs::read_dir(root) else { return };
    for entry in entries.filter_map(|e| e.ok()) {
        let name = entry.file_name().to_string_lossy().into_owned();
        if name.starts_with("epoch-") && name != keep {
            if let Err(error) = std::fs::remove_dir_all(entry.path()) {
                log::warn!("could not delete the old checkpoint {}: {error}", entry.path().display());
            }
        }
    }
}

/// A checkpoint read back from disk.
pub struct Restored<N: Network> {
    /// The model, on the requested device.
    pub model: N,
    /// The optimizer with its state.
    pub optimizer: ModuleOptimizer,
    /// The training state.
    pub state: CheckpointState,
    /// The metrics of the epochs up to the checkpoint.
    pub history: History,
}

/// Loads the run's latest checkpoint, or returns `None` when the run has none.
///
/// # Errors
/// [`SepfaceError::Training`] when the checkpoint exists but is damaged.
pub fn load<N: Network>(out: &Path, device: &Device, optimizer: ModuleOptimizer) -> Result<Option<Restored<N>>> {
    let root = out.join(FOLDER);
    let latest = root.join(LATEST);
    let bytes = match std::fs::read(&latest) {
        Ok(bytes) => bytes,
        Err(error) if error.kind() == std::io::ErrorKind::NotFound => return Ok(None),
        Err(error) => return Err(SepfaceError::read(&latest, error)),
    };
    let damaged = |what: &Path, error: String| SepfaceError::Training {
        reason: format!("the checkpoint {} is damaged ({error}); start over with --force", what.display()),
    };
    let state: CheckpointState = serde_json::from_slice(&bytes).map_err(|error| damaged(&latest, error.to_string()))?;
    let folder: PathBuf = root.join(&state.folder);
    let model: weights::Weights<N> = weights::load_file(&folder.join(MODEL), device)?;
    let optimizer_path = folder.join(OPTIMIZER);
    let optimizer_bytes = std::fs::read(&optimizer_path).map_err(|error| SepfaceError::read(&optimizer_path, error))?;
    let optimizer = optimizer
        .from_bytes(Bytes::from_bytes_vec(optimizer_bytes))
        .map_err(|error| damaged(&optimizer_path, error.to_string()))?;
    let history_path = folder.join(HISTORY);
    let history_bytes = std::fs::read(&history_path).map_err(|error| SepfaceError::read(&history_path, error))?;
    let history = serde_json::from_slice(&history_bytes).map_err(|error| damaged(&history_path, error.to_string()))?;
    Ok(Some(Restored {
        model: model.model,
        optimizer,
        state,
        history,
    }))
}
