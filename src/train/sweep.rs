//! Grid search over detector architectures, like the 54-model grid of de Souza, "Face
//! Verification with Depthwise Separable Convolutions and the Triplet Loss": every combination
//! of input size, stage widths (which set the depth), convolutions per stage, dense width and
//! convolution kind is trained briefly, and the results go into one table.

use std::fmt::Write as _;
use std::path::Path;

use burn::prelude::*;
use serde::Serialize;

use super::detector::DetectorTask;
use super::runner;
use super::{EventSink, StopFlag, TrainOptions};
use crate::model::{Activation, BackboneConfig, ConvKind, DetectorConfig};
use crate::weights::write_atomic;
use crate::{Result, SepfaceError};

/// The axes of the grid.
#[derive(Debug, Clone)]
pub struct SweepGrid {
    /// Input sizes in pixels.
    pub input_sizes: Vec<usize>,
    /// Filters per stage; the list's length is the depth in stages.
    pub widths: Vec<Vec<usize>>,
    /// Convolutions in every stage.
    pub convs_per_stage: Vec<usize>,
    /// Width of the single hidden dense layer.
    pub dense: Vec<usize>,
    /// Convolution kinds.
    pub kinds: Vec<ConvKind>,
}

impl SweepGrid {
    /// Returns every configuration of the grid, with a short name for each.
    pub fn configs(&self) -> Vec<(String, DetectorConfig)> {
        let mut configs = Vec::new();
        for &kind in &self.kinds {
            for &size in &self.input_sizes {
                for widths in &self.widths {
                    for &convs in &self.convs_per_stage {
                        for &dense in &self.dense {
                            let name = format!(
                                "{}-{size}-{}-x{convs}-d{dense}",
                                if kind == ConvKind::Separable { "sep" } else { "reg" },
                                widths.iter().map(usize::to_string).collect::<Vec<_>>().join("_")
                            );
                            configs.push((name, grid_config(kind, size, widths, convs, dense)));
                        }
                    }
                }
            }
        }
        configs
    }
}

fn grid_config(kind: ConvKind, size: usize, widths: &[usize], convs: usize, dense: usize) -> DetectorConfig {
    let backbone = BackboneConfig::new(size, widths.to_vec(), vec![convs; widths.len()], kind)
        .with_batch_norm(true)
        .with_activation(Activation::LeakyRelu { slope: 0.1 });
    DetectorConfig::new(backbone, vec![dense]).with_dropout(0.1).with_presence(true)
}

/// One trained configuration.
#[derive(Debug, Clone, Serialize)]
pub struct SweepRow {
    /// Short name.
    pub name: String,
    /// Trainable parameters plus batch-normalisation statistics.
    pub parameters: usize,
    /// Multiply-accumulates per image.
    pub macs: u64,
    /// Epoch with the lowest validation MSE.
    pub best_epoch: usize,
    /// That validation MSE.
    pub validation_mse: f64,
    /// Validation mean IoU at that epoch.
    pub validation_iou: f64,
    /// Training images per second at that epoch.
    pub images_per_second: f64,
    /// Reason the run stopped, or the error that ended it.
    pub outcome: String,
}

/// Trains every configuration of `grid` with `options`, each in its own folder under
/// `options.out`, and writes `sweep.md` and `sweep.json` there. A run that fails is recorded in
/// the table and the sweep goes on.
pub fn run(grid: &SweepGrid, template: &DetectorTask, options: &TrainOptions, device: &Device, events: EventSink, stop: &StopFlag) -> Result<Vec<SweepRow>> {
    let mut rows = Vec::new();
    for (name, config) in grid.configs() {
        if stop.requested() {
            break;
        }
        log::info!("sweep: training {name}");
        let mut model_options = options.clone();
        model_options.out = options.out.join(&name);
        let task = DetectorTask {
            config: config.clone(),
            train: template.train.clone(),
            validation: template.validation.clone(),
            ..*template
        };
        let row = match runner::run(&task, &model_options, device, events, stop) {
            Ok(summary) => {
                let best = summary.history.epochs.iter().find(|r| r.epoch == summary.best_epoch);
                SweepRow {
                    parameters: config.init(device).num_params(),
                    macs: config.macs(),
                    best_epoch: summary.best_epoch,
                    validation_mse: best.map_or(f64::NAN, |r| r.validation_loss),
                    validation_iou: best.and_then(|r| r.metrics.get("mean_iou").copied()).unwrap_or(f64::NAN),
                    images_per_second: best.map_or(f64::NAN, |r| r.images_per_second),
                    outcome: summary.reason,
                    name,
                }
            }
            Err(error) => SweepRow {
                parameters: config.init(device).num_params(),
                macs: config.macs(),
                best_epoch: 0,
                validation_mse: f64::NAN,
                validation_iou: f64::NAN,
                images_per_second: f64::NAN,
                outcome: error.to_string(),
                name,
            },
        };
        rows.push(row);
        write_table(&options.out, &rows)?;
    }
    Ok(rows)
}

/// Writes the results so far as `sweep.md` (best IoU first) and `sweep.json`.
pub fn write_table(out: &Path, rows: &[SweepRow]) -> Result<()> {
    let mut sorted: Vec<&SweepRow> = rows.iter().collect();
    sorted.sort_by(|a, b| b.validation_iou.total_cmp(&a.validation_iou));
    let mut md = String::from("| model | parameters | MMAC/image | best epoch | validation MSE | validation IoU | train img/s | outcome |\n|---|---|---|---|---|---|---|---|\n");
    for row in sorted {
        let _ = writeln!(
            md,
            "| {} | {} | {:.1} | {} | {:.5} | {:.4} | {:.1} | {} |",
            row.name,
            row.parameters,
            row.macs as f64 / 1e6,
            row.best_epoch,
            row.validation_mse,
            row.validation_iou,
            row.images_per_second,
            row.outcome
        );
    }
    write_atomic(&out.join("sweep.md"), md.as_bytes())?;
    let json = serde_json::to_vec_pretty(rows).map_err(|error| SepfaceError::Training {
        reason: format!("could not serialise the sweep table ({error})"),
    })?;
    write_atomic(&out.join("sweep.json"), &json)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn grid_is_the_product_of_its_axes() {
        let grid = SweepGrid {
            input_sizes: vec![64, 96, 112],
            widths: vec![vec![8, 16], vec![8, 16, 32], vec![16, 32, 64]],
            convs_per_stage: vec![1, 2],
            dense: vec![32, 64, 128],
            kinds: vec![ConvKind::Separable],
        };
        let configs = grid.configs();
        assert_eq!(configs.len(), 54);
        assert_eq!(configs[0].0, "sep-64-8_16-x1-d32");
        let names: std::collections::BTreeSet<&String> = configs.iter().map(|(name, _)| name).collect();
        assert_eq!(names.len(), 54, "names are unique");
    }
}
