//! Per-epoch metrics, written after every epoch as CSV and JSON.

use std::collections::BTreeMap;
use std::path::Path;

use serde::{Deserialize, Serialize};

use crate::weights::write_atomic;
use crate::{Result, SepfaceError};

/// Name of the CSV file in the run folder.
pub const CSV_FILE: &str = "metrics.csv";
/// Name of the JSON file in the run folder.
pub const JSON_FILE: &str = "metrics.json";

/// Metrics of one epoch.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct EpochRecord {
    /// Epoch number, from 1.
    pub epoch: usize,
    /// Mean training loss.
    pub train_loss: f64,
    /// Mean validation loss, the early-stopping criterion.
    pub validation_loss: f64,
    /// Further validation metrics by name (IoU, triplet fractions, ...).
    pub metrics: BTreeMap<String, f64>,
    /// Training images per second.
    pub images_per_second: f64,
    /// Seconds since the run started, resumed time included.
    pub elapsed_seconds: f64,
}

/// Every epoch of a run so far.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct History {
    /// The epochs, in order.
    pub epochs: Vec<EpochRecord>,
}

impl History {
    /// Epoch with the lowest validation loss, if any.
    pub fn best(&self) -> Option<&EpochRecord> {
        self.epochs
            .iter()
            .filter(|record| record.validation_loss.is_finite())
            .min_by(|a, b| a.validation_loss.total_cmp(&b.validation_loss))
    }

    /// Writes `metrics.csv` and `metrics.json` into `folder`, each atomically.
    pub fn save(&self, folder: &Path) -> Result<()> {
        let json = serde_json::to_vec_pretty(self).map_err(|error| SepfaceError::Training {
            reason: format!("could not serialise the metrics ({error})"),
        })?;
        write_atomic(&folder.join(JSON_FILE), &json)?;
        write_atomic(&folder.join(CSV_FILE), self.to_csv().as_bytes())
    }

    /// Reads `metrics.json` from `folder`; an absent file gives an empty history.
    pub fn load(folder: &Path) -> Result<Self> {
        let path = folder.join(JSON_FILE);
        match std::fs::read(&path) {
            Ok(bytes) => serde_json::from_slice(&bytes).map_err(|error| SepfaceError::Training {
                reason: format!("{} is damaged ({error}); delete the run folder or pass --force", path.display()),
            }),
            Err(error) if error.kind() == std::io::ErrorKind::NotFound => Ok(Self::default()),
            Err(error) => Err(SepfaceError::read(&path, error)),
        }
    }

    /// Renders the history as CSV with one column per metric.
    pub fn to_csv(&self) -> String {
        let names: Vec<&String> = self.epochs.iter().flat_map(|r| r.metrics.keys()).collect::<std::collections::BTreeSet<_>>().into_iter().collect();
        let mut csv = String::from("epoch,train_loss,validation_loss,images_per_second,elapsed_seconds");
        for name in &names {
            csv.push(',');
            csv.push_str(name);
        }
        csv.push('\n');
        for record in &self.epochs {
            csv.push_str(&format!(
                "{},{},{},{:.2},{:.1}",
                record.epoch, record.train_loss, record.validation_loss, record.images_per_second, record.elapsed_seconds
            ));
            for name in &names {
                csv.push(',');
                if let Some(value) = record.metrics.get(*name) {
                    csv.push_str(&value.to_string());
                }
            }
            csv.push('\n');
        }
        csv
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn record(epoch: usize, validation_loss: f64) -> EpochRecord {
        EpochRecord {
            epoch,
            train_loss: 1.0,
            validation_loss,
            metrics: BTreeMap::from([("iou".to_string(), 0.5)]),
            images_per_second: 10.0,
            elapsed_seconds: 2.0,
        }
    }

    #[test]
    fn best_skips_nan() {
        let history = History {
            epochs: vec![record(1, 0.5), record(2, f64::NAN), record(3, 0.25), record(4, 0.3)],
        };
        assert_eq!(history.best().map(|r| r.epoch), Some(3));
    }

    #[test]
    fn csv_has_a_column_per_metric() {
        let history = History {
            epochs: vec![record(1, 0.5)],
        };
        let csv = history.to_csv();
        assert!(csv.starts_with("epoch,train_loss,validation_loss,images_per_second,elapsed_seconds,iou\n"), "{csv}");
        assert!(csv.contains("1,1,0.5,10.00,2.0,0.5"), "{csv}");
    }
}
