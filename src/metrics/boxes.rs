//! Box regression metrics: mean squared error and mean absolute error over the four normalised
//! edges, and mean intersection over union.

use serde::{Deserialize, Serialize};

use crate::boxes::FaceBox;

/// Metrics of predicted boxes against ground truth.
#[derive(Debug, Clone, Copy, PartialEq, Default, Serialize, Deserialize)]
pub struct BoxMetrics {
    /// Number of boxes compared.
    pub count: usize,
    /// Mean squared error over all edges.
    pub mse: f64,
    /// Mean absolute error over all edges.
    pub mae: f64,
    /// Mean intersection over union.
    pub mean_iou: f64,
}

impl BoxMetrics {
    /// Compares `predicted[i]` with `target[i]`; extra entries of the longer slice are ignored.
    pub fn new(predicted: &[FaceBox], target: &[FaceBox]) -> Self {
        let mut accumulator = BoxMetricsAccumulator::default();
        for (p, t) in predicted.iter().zip(target) {
            accumulator.add(p, t);
        }
        accumulator.finish()
    }
}

/// Running sums for [`BoxMetrics`], for evaluation over many batches.
#[derive(Debug, Clone, Copy, Default)]
pub struct BoxMetricsAccumulator {
    count: usize,
    squared_error: f64,
    absolute_error: f64,
    iou: f64,
}

impl BoxMetricsAccumulator {
    /// Adds one predicted box and its ground truth.
    pub fn add(&mut self, predicted: &FaceBox, target: &FaceBox) {
        for (p, t) in predicted.edges().iter().zip(target.edges()) {
            let error = (p - t) as f64;
            self.squared_error += error * error;
            self.absolute_error += error.abs();
        }
        self.iou += predicted.iou(target) as f64;
        self.count += 1;
    }

    /// Returns the metrics over everything added (all zero when nothing was).
    pub fn finish(&self) -> BoxMetrics {
        if self.count == 0 {
            return BoxMetrics::default();
        }
        let edges = (self.count * 4) as f64;
        BoxMetrics {
            count: self.count,
            mse: self.squared_error / edges,
            mae: self.absolute_error / edges,
            mean_iou: self.iou / self.count as f64,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn metrics_of_hand_computed_boxes() {
        let target = [FaceBox::new(0.0, 0.0, 0.5, 0.5), FaceBox::new(0.2, 0.2, 0.6, 0.6)];
        let predicted = [FaceBox::new(0.0, 0.0, 0.5, 0.5), FaceBox::new(0.2, 0.2, 0.6, 0.4)];
        let metrics = BoxMetrics::new(&predicted, &target);
        // One edge off by 0.2 out of 8 edges; the second IoU is 0.08 / 0.16 = 0.5.
        assert_eq!(metrics.count, 2);
        assert!((metrics.mse - 0.04 / 8.0).abs() < 1e-7, "{}", metrics.mse);
        assert!((metrics.mae - 0.2 / 8.0).abs() < 1e-7, "{}", metrics.mae);
        assert!((metrics.mean_iou - 0.75).abs() < 1e-6, "{}", metrics.mean_iou);
        assert_eq!(BoxMetrics::new(&[], &[]), BoxMetrics::default());
    }
}
