//! Metrics for the detector (box regression) and for verification (pair distances).

pub mod boxes;
pub mod verification;

pub use boxes::{BoxMetrics, BoxMetricsAccumulator};
pub use verification::{
    ConfusionMatrix, DistanceHistogram, DistanceSummary, FoldedAccuracy, Roc, RocPoint, ScoredPair, fit_threshold,
    folded_accuracy, mean_std, tar_at_far,
};
