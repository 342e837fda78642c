//! The training loop shared by the detector and the embedder: epochs of batches built in worker
//! threads, validation after each epoch, checkpoints, early stopping, a time budget, and a stop
//! with a clear message when the loss stops being finite.

use std::collections::BTreeMap;
use std::time::Instant;

use burn::optim::{GradientsParams, ModuleOptimizer};
use burn::prelude::*;

use super::checkpoint::{self, CheckpointState};
use super::history::{EpochRecord, History};
use super::loader::ordered_parallel;
use super::{EventSink, StopFlag, TrainEvent, TrainOptions, derive_seed};
use crate::optim::AdamaxConfig;
use crate::weights::{self, Network, WeightsInfo};
use crate::{Result, SepfaceError};

/// What a network needs from the loop.
pub trait TrainTask {
    /// The network trained.
    type Net: Network + 'static;
    /// One training batch, built in a worker thread.
    type Batch: Send + 'static;

    /// The network's architecture.
    fn config(&self) -> &<Self::Net as Network>::Config;

    /// Returns a function that builds training batch `index` of `epoch` from `seed`; the same
    /// arguments give the same batch.
    fn batch_maker(&self, epoch: usize, seed: u64) -> Box<dyn Fn(usize) -> Self::Batch + Send + Sync>;

    /// Images in one training batch, for the throughput figure.
    fn images_per_batch(&self) -> usize;

    /// Computes the differentiable training loss of a batch.
    fn loss(&self, model: &Self::Net, batch: Self::Batch, device: &Device) -> Result<Tensor<1>>;

    /// Validates an inference copy of the model: the validation loss and further metrics.
    fn validate(&self, model: &Self::Net, device: &Device) -> Result<(f64, BTreeMap<String, f64>)>;

    /// Settings to store with the best weights.
    fn weights_info(&self, model: &Self::Net, device: &Device) -> Result<WeightsInfo>;

    /// Weights to start a fresh run from, on `device`; `None` (the default) starts from random
    /// weights.
    fn initial_model(&self, _device: &Device) -> Option<Self::Net> {
        None
    }

    /// Writes the best weights (an inference copy) to `path`; by default the whole network.
    fn save_best(&self, model: &Self::Net, path: &std::path::Path, precision: crate::weights::Precision, device: &Device) -> Result<()> {
        let info = self.weights_info(model, device)?;
        weights::save_file(path, model, self.config(), &info, precision)
    }
}

/// How a run ended.
#[derive(Debug, Clone, PartialEq)]
pub struct RunSummary {
    /// Why it stopped.
    pub reason: String,
    /// Epoch whose weights were kept.
    pub best_epoch: usize,
    /// The metrics of every epoch.
    pub history: History,
}

/// Where a run starts: fresh, or from its last checkpoint.
struct Start<N> {
    model: N,
    optimizer: ModuleOptimizer,
    state: CheckpointState,
    history: History,
}

fn start<T: TrainTask>(task: &T, options: &TrainOptions, device: &Device) -> Result<Start<T::Net>> {
    let optimizer = AdamaxConfig::new().init();
    if options.resume {
        if let Some(restored) = checkpoint::load::<T::Net>(&options.out, device, optimizer.clone())? {
            if restored.state.seed != options.seed {
                return Err(SepfaceError::invalid(
                    "seed",
                    options.seed,
                    &format!("the run's own seed {} when resuming", restored.state.seed),
                ));
            }
            log::info!("resuming {} after epoch {}", options.out.display(), restored.state.epoch);
            return Ok(Start {
                model: restored.model,
                optimizer: restored.optimizer,
                state: restored.state,
                history: restored.history,
            });
        }
        log::warn!("no checkpoint in {}; starting a new run", options.out.display());
    }
    device.seed(options.seed);
    Ok(Start {
        model: task.initial_model(device).unwrap_or_else(|| T::Net::from_config(task.config(), device)),
        optimizer,
        state: CheckpointState {
            epoch: 0,
            best_epoch: 0,
            best_loss: f64::INFINITY,
            stale_epochs: 0,
            elapsed_seconds: 0.0,
            seed: options.seed,
            folder: String::new(),
        },
        history: History::default(),
    })
}

/// Trains `task` on `base_device` (gradients are enabled here) as `options` say.
///
/// # Errors
/// [`SepfaceError::Training`] when the loss is not finite (the last checkpoint stays usable), and
/// any error of the task, the checkpoint files or the output folder.
pub fn run<T: TrainTask>(task: &T, options: &TrainOptions, base_device: &Device, events: EventSink, stop: &StopFlag) -> Result<RunSummary> {
    options.prepare_output()?;
    let device = base_device.clone().autodiff();
    let Start {
        mut model,
        mut optimizer,
        mut state,
        mut history,
    } = start(task, options, &device)?;
    let session = Instant::now();
    let elapsed_before = state.elapsed_seconds;
    let mut reason = format!("reached the maximum of {} epochs", options.epochs);

    for epoch in state.epoch + 1..=options.epochs {
        if let Some(stop_reason) = stop_reason(options, &state, stop) {
            reason = stop_reason;
            break;
        }
        let epoch_start = Instant::now();
        let (trained, train_loss) = train_epoch(task, options, model, &mut optimizer, &device, epoch, events, stop)?;
        model = trained;
        let (validation_loss, metrics) = task.validate(&model.valid(), &base_device.clone())?;
        let images = (options.batches_per_epoch * task.images_per_batch()) as f64;
        state.elapsed_seconds = elapsed_before + session.elapsed().as_secs_f64();
        let record = EpochRecord {
            epoch,
            train_loss,
            validation_loss,
            metrics,
            images_per_second: images / epoch_start.elapsed().as_secs_f64(),
            elapsed_seconds: state.elapsed_seconds,
        };
        events(&TrainEvent::EpochFinished(record.clone()));
        history.epochs.push(record);
        state.epoch = epoch;
        if validation_loss < state.best_loss {
            state.best_loss = validation_loss;
            state.best_epoch = epoch;
            state.stale_epochs = 0;
            save_best(task, options, &model, base_device)?;
        } else {
            state.stale_epochs += 1;
        }
        checkpoint::save(&options.out, &model, task.config(), &optimizer, &history, state.clone())?;
        history.save(&options.out)?;
        if state.stale_epochs >= options.patience {
            reason = format!("validation loss did not improve for {} epochs (early stopping)", options.patience);
            break;
        }
    }
    events(&TrainEvent::Finished {
        reason: reason.clone(),
        best_epoch: state.best_epoch,
    });
    Ok(RunSummary {
        reason,
        best_epoch: state.best_epoch,
        history,
    })
}

/// Why the run should stop before the next epoch, if it should.
fn stop_reason(options: &TrainOptions, state: &CheckpointState, stop: &StopFlag) -> Option<String> {
    if stop.requested() {
        return Some("interrupted; continue with --resume".into());
    }
    let budget = options.max_minutes? * 60.0;
    (state.elapsed_seconds >= budget).then(|| format!("reached the time budget of {:.0} minutes", budget / 60.0))
}

fn save_best<T: TrainTask>(task: &T, options: &TrainOptions, model: &T::Net, base_device: &Device) -> Result<()> {
    task.save_best(&model.valid(), &options.best_path(), options.precision, base_device)
}

#[allow(clippy::too_many_arguments)]
fn train_epoch<T: TrainTask>(
    task: &T,
    options: &TrainOptions,
    mut model: T::Net,
    optimizer: &mut ModuleOptimizer,
    device: &Device,
    epoch: usize,
    events: EventSink,
    stop: &StopFlag,
) -> Result<(T::Net, f64)> {
    device.seed(derive_seed(options.seed, &[epoch as u64, 1]));
    let make = task.batch_maker(epoch, derive_seed(options.seed, &[epoch as u64, 2]));
    let batches = ordered_parallel(options.batches_per_epoch, options.workers, options.workers * 2, make);
    events(&TrainEvent::EpochStarted {
        epoch,
        batches: options.batches_per_epoch,
    });
    let started = Instant::now();
    let mut total = 0.0;
    for (index, batch) in batches.enumerate() {
        if stop.requested() {
            return Err(SepfaceError::Training {
                reason: format!("interrupted during epoch {epoch}; the checkpoint of epoch {} is kept, continue with --resume", epoch - 1),
            });
        }
        let loss = task.loss(&model, batch, device)?;
        let value = loss.clone().into_scalar::<f32>() as f64;
        if !value.is_finite() {
            return Err(SepfaceError::Training {
                reason: format!(
                    "the loss became {value} at epoch {epoch}, batch {}; the checkpoint of epoch {} is kept. \
                     Lower --learning-rate and continue with --resume, or start over with --force",
                    index + 1,
                    epoch - 1
                ),
            });
        }
        let gradients = GradientsParams::from_grads(loss.backward(), &model);
        model = optimizer.step(options.learning_rate, model, gradients);
        total += value;
        let seconds = started.elapsed().as_secs_f64().max(1e-9);
        events(&TrainEvent::Batch {
            epoch,
            batch: index + 1,
            loss: value,
            images_per_second: ((index + 1) * task.images_per_batch()) as f64 / seconds,
        });
    }
    Ok((model, total / options.batches_per_epoch as f64))
}
