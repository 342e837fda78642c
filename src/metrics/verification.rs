//! Verification metrics on labelled pair distances: a pair is predicted "same person" when its
//! distance is below the threshold, "different people" otherwise.

use serde::{Deserialize, Serialize};

/// The distance of one pair of faces and whether they show the same person.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct ScoredPair {
    /// Distance between the two embeddings.
    pub distance: f32,
    /// Ground truth: the same person.
    pub same: bool,
}

/// Counts of a binary classification; "positive" means "same person".
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
pub struct ConfusionMatrix {
    /// Same person, predicted same.
    pub true_positives: usize,
    /// Different people, predicted same.
    pub false_positives: usize,
    /// Different people, predicted different.
    pub true_negatives: usize,
    /// Same person, predicted different.
    pub false_negatives: usize,
}

impl ConfusionMatrix {
    /// Classifies every pair with `threshold`.
    pub fn at_threshold(pairs: &[ScoredPair], threshold: f32) -> Self {
        let mut matrix = Self::default();
        for pair in pairs {
            match (pair.same, pair.distance < threshold) {
                (true, true) => matrix.true_positives += 1,
                (true, false) => matrix.false_negatives += 1,
                (false, true) => matrix.false_positives += 1,
                (false, false) => matrix.true_negatives += 1,
            }
        }
        matrix
    }

    /// Number of pairs.
    pub fn total(&self) -> usize {
        self.true_positives + self.false_positives + self.true_negatives + self.false_negatives
    }

    /// Fraction of pairs classified correctly (0 for no pairs).
    pub fn accuracy(&self) -> f64 {
        ratio(self.true_positives + self.true_negatives, self.total())
    }

    /// Fraction of "same" predictions that are right (0 when nothing is predicted same).
    pub fn precision(&self) -> f64 {
        ratio(self.true_positives, self.true_positives + self.false_positives)
    }

    /// Fraction of same-person pairs predicted same: the true accept rate.
    pub fn recall(&self) -> f64 {
        ratio(self.true_positives, self.true_positives + self.false_negatives)
    }

    /// Fraction of different-people pairs predicted same: the false accept rate.
    pub fn false_accept_rate(&self) -> f64 {
        ratio(self.false_positives, self.false_positives + self.true_negatives)
    }
}

fn ratio(numerator: usize, denominator: usize) -> f64 {
    if denominator == 0 { 0.0 } else { numerator as f64 / denominator as f64 }
}

/// Thresholds worth trying: below every distance, midway between consecutive distinct
/// distances, and above every distance.
fn candidate_thresholds(pairs: &[ScoredPair]) -> Vec<f32> {
    let mut distances: Vec<f32> = pairs.iter().map(|p| p.distance).filter(|d| d.is_finite()).collect();
    distances.sort_by(f32::total_cmp);
    distances.dedup();
    let mut candidates = Vec::with_capacity(distances.len() + 1);
    if let (Some(first), Some(last)) = (distances.first(), distances.last()) {
        candidates.push(first - 1e-6);
        candidates.extend(distances.windows(2).map(|w| (w[0] + w[1]) / 2.0));
        candidates.push(last + 1e-6);
    }
    candidates
}

/// Returns the threshold that maximises accuracy on `pairs`, with that accuracy.
///
/// Ties go to the smallest threshold, the stricter one. Returns `None` for an empty input.
pub fn fit_threshold(pairs: &[ScoredPair]) -> Option<(f32, f64)> {
    let mut sorted: Vec<ScoredPair> = pairs.iter().copied().filter(|p| p.distance.is_finite()).collect();
    if sorted.is_empty() {
        return None;
    }
    sorted.sort_by(|a, b| a.distance.total_cmp(&b.distance));
    let negatives = sorted.iter().filter(|p| !p.same).count();
    // Sweep the threshold upwards: every pair passed becomes predicted "same".
    let mut correct = negatives;
    let mut best = (sorted[0].distance - 1e-6, correct);
    let mut index = 0;
    while index < sorted.len() {
        let distance = sorted[index].distance;
        while index < sorted.len() && sorted[index].distance == distance {
            correct = if sorted[index].same { correct + 1 } else { correct - 1 };
            index += 1;
        }
        let next = sorted.get(index).map_or(distance + 1e-6, |p| (distance + p.distance) / 2.0);
        if correct > best.1 {
            best = (next, correct);
        }
    }
    Some((best.0, best.1 as f64 / sorted.len() as f64))
}

/// Accuracy of k-fold cross-validation, as in LFW's View 2 protocol.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct FoldedAccuracy {
    /// Test accuracy of each fold.
    pub accuracies: Vec<f64>,
    /// Threshold fitted on the other folds, for each fold.
    pub thresholds: Vec<f32>,
    /// Mean of `accuracies`.
    pub mean: f64,
    /// Standard deviation of `accuracies` (population form, dividing by k, as LFW reports do).
    pub std: f64,
}

/// For each fold, fits the threshold on the pairs of all other folds and measures accuracy on
/// the fold itself. `fold_of[i]` is the fold of `pairs[i]`, counted from 0.
pub fn folded_accuracy(pairs: &[ScoredPair], fold_of: &[usize]) -> crate::Result<FoldedAccuracy> {
    if pairs.len() != fold_of.len() {
        return Err(crate::SepfaceError::ShapeMismatch {
            what: "fold assignment".into(),
            expected: format!("{} folds, one per pair", pairs.len()),
            actual: format!("{} folds", fold_of.len()),
        });
    }
    let folds = fold_of.iter().copied().max().map_or(0, |max| max + 1);
    if folds < 2 {
        return Err(crate::SepfaceError::invalid("fold count", folds, "2 or more folds"));
    }
    let (mut accuracies, mut thresholds) = (Vec::new(), Vec::new());
    for fold in 0..folds {
        let split = |in_fold: bool| -> Vec<ScoredPair> {
            pairs.iter().zip(fold_of).filter(|(_, f)| (**f == fold) == in_fold).map(|(p, _)| *p).collect()
        };
        let (test, train) = (split(true), split(false));
        let Some((threshold, _)) = fit_threshold(&train) else {
            return Err(crate::SepfaceError::invalid("fold", fold, "every fold's complement must hold finite distances"));
        };
        accuracies.push(ConfusionMatrix::at_threshold(&test, threshold).accuracy());
        thresholds.push(threshold);
    }
    let (mean, std) = mean_std(&accuracies);
    Ok(FoldedAccuracy {
        accuracies,
        thresholds,
        mean,
        std,
    })
}

/// Mean and population standard deviation; `(0, 0)` for no values.
pub fn mean_std(values: &[f64]) -> (f64, f64) {
    if values.is_empty() {
        return (0.0, 0.0);
    }
    let mean = values.iter().sum::<f64>() / values.len() as f64;
    let variance = values.iter().map(|v| (v - mean).powi(2)).sum::<f64>() / values.len() as f64;
    (mean, variance.sqrt())
}

/// One point of a ROC curve.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct RocPoint {
    /// Distance threshold.
    pub threshold: f32,
    /// False accept rate (false positive rate) at this threshold.
    pub far: f64,
    /// True accept rate (true positive rate, recall) at this threshold.
    pub tar: f64,
}

/// ROC curve with its summary figures.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Roc {
    /// Points with increasing threshold, from (0, 0) to (1, 1).
    pub points: Vec<RocPoint>,
    /// Area under the curve (trapezoidal rule).
    pub auc: f64,
    /// Equal error rate: where the false accept rate equals the false reject rate.
    pub eer: f64,
    /// Highest true accept rate with a false accept rate of at most 1e-3.
    pub tar_at_far_1e3: f64,
}

impl Roc {
    /// Computes the ROC curve of `pairs`.
    pub fn new(pairs: &[ScoredPair]) -> Self {
        let points: Vec<RocPoint> = candidate_thresholds(pairs)
            .into_iter()
            .map(|threshold| {
                let matrix = ConfusionMatrix::at_threshold(pairs, threshold);
                RocPoint {
                    threshold,
                    far: matrix.false_accept_rate(),
                    tar: matrix.recall(),
                }
            })
            .collect();
        let auc = points
            .windows(2)
            .map(|w| (w[1].far - w[0].far) * (w[1].tar + w[0].tar) / 2.0)
            .sum();
        Self {
            eer: equal_error_rate(&points),
            tar_at_far_1e3: tar_at_far(&points, 1e-3),
            points,
            auc,
        }
    }
}

/// Highest true accept rate over the points whose false accept rate is at most `far`.
pub fn tar_at_far(points: &[RocPoint], far: f64) -> f64 {
    points
        .iter()
        .filter(|p| p.far <= far)
        .map(|p| p.tar)
        .fold(0.0, f64::max)
}

/// Equal error rate, interpolated between the two points where `far - (1 - tar)` changes sign.
fn equal_error_rate(points: &[RocPoint]) -> f64 {
    let gap = |p: &RocPoint| p.far - (1.0 - p.tar);
    for pair in points.windows(2) {
        let (a, b) = (gap(&pair[0]), gap(&pair[1]));
        if a <= 0.0 && b >= 0.0 {
            let t = if b - a > 0.0 { -a / (b - a) } else { 0.0 };
            return pair[0].far + t * (pair[1].far - pair[0].far);
        }
    }
    1.0
}

/// Mean and standard deviation of the distances of same-person and different-people pairs.
#[derive(Debug, Clone, Copy, PartialEq, Default, Serialize, Deserialize)]
pub struct DistanceSummary {
    /// Mean distance of same-person pairs.
    pub positive_mean: f64,
    /// Standard deviation of same-person distances.
    pub positive_std: f64,
    /// Mean distance of different-people pairs.
    pub negative_mean: f64,
    /// Standard deviation of different-people distances.
    pub negative_std: f64,
}

impl DistanceSummary {
    /// Summarises `pairs`.
    pub fn new(pairs: &[ScoredPair]) -> Self {
        let select = |same: bool| -> Vec<f64> {
            pairs.iter().filter(|p| p.same == same).map(|p| p.distance as f64).collect()
        };
        let (positive_mean, positive_std) = mean_std(&select(true));
        let (negative_mean, negative_std) = mean_std(&select(false));
        Self {
            positive_mean,
            positive_std,
            negative_mean,
            negative_std,
        }
    }
}

/// Counts of same-person and different-people distances in equal-width bins.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct DistanceHistogram {
    /// Left edge of the first bin.
    pub min: f32,
    /// Right edge of the last bin.
    pub max: f32,
    /// Same-person count per bin.
    pub positive: Vec<usize>,
    /// Different-people count per bin.
    pub negative: Vec<usize>,
}

impl DistanceHistogram {
    /// Bins `pairs` into `bins` equal bins over `[min, max]`; values outside go to the end bins.
    pub fn new(pairs: &[ScoredPair], bins: usize, min: f32, max: f32) -> Self {
        let bins = bins.max(1);
        let mut positive = vec![0; bins];
        let mut negative = vec![0; bins];
        let width = ((max - min) / bins as f32).max(f32::EPSILON);
        for pair in pairs.iter().filter(|p| p.distance.is_finite()) {
            let bin = (((pair.distance - min) / width).floor().max(0.0) as usize).min(bins - 1);
            if pair.same {
                positive[bin] += 1;
            } else {
                negative[bin] += 1;
            }
        }
        Self {
            min,
            max,
            positive,
            negative,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn pairs(values: &[(f32, bool)]) -> Vec<ScoredPair> {
        values.iter().map(|&(distance, same)| ScoredPair { distance, same }).collect()
    }

    #[test]
    fn confusion_matrix_counts() {
        let data = pairs(&[(0.1, true), (0.5, true), (0.3, false), (0.9, false), (0.35, true)]);
        let matrix = ConfusionMatrix::at_threshold(&data, 0.4);
        assert_eq!(matrix.true_positives, 2);
        assert_eq!(matrix.false_negatives, 1);
        assert_eq!(matrix.false_positives, 1);
        assert_eq!(matrix.true_negatives, 1);
        assert!((matrix.accuracy() - 0.6).abs() < 1e-12);
        assert!((matrix.precision() - 2.0 / 3.0).abs() < 1e-12);
        assert!((matrix.recall() - 2.0 / 3.0).abs() < 1e-12);
        assert!((matrix.false_accept_rate() - 0.5).abs() < 1e-12);
    }

    #[test]
    fn threshold_separates_separable_pairs() {
        let data = pairs(&[(0.1, true), (0.2, true), (0.6, false), (0.8, false)]);
        let (threshold, accuracy) = fit_threshold(&data).expect("pairs");
        assert_eq!(accuracy, 1.0);
        assert!((threshold - 0.4).abs() < 1e-6, "{threshold}");
    }

    #[test]
    fn threshold_on_overlapping_pairs() {
        // Sorted: 0.1 S, 0.3 D, 0.4 S, 0.5 S, 0.7 D, 0.9 D. Threshold 0.6 gets 5 of 6 right.
        let data = pairs(&[(0.5, true), (0.1, true), (0.9, false), (0.3, false), (0.7, false), (0.4, true)]);
        let (threshold, accuracy) = fit_threshold(&data).expect("pairs");
        assert!((threshold - 0.6).abs() < 1e-6, "{threshold}");
        assert!((accuracy - 5.0 / 6.0).abs() < 1e-12);
        assert!(fit_threshold(&[]).is_none());
    }

    #[test]
    fn folded_accuracy_fits_on_other_folds() {
        // Fold 0 is separable at 0.5; fold 1's pairs sit on the other side of that threshold.
        let data = pairs(&[(0.1, true), (0.9, false), (0.2, true), (0.8, false), (0.45, false), (0.55, true)]);
        let folds = [0, 0, 1, 1, 2, 2];
        let result = folded_accuracy(&data, &folds).expect("valid folds");
        assert_eq!(result.accuracies.len(), 3);
        assert_eq!(result.accuracies[0], 1.0);
        assert_eq!(result.accuracies[1], 1.0);
        assert_eq!(result.accuracies[2], 0.0);
        assert!((result.mean - 2.0 / 3.0).abs() < 1e-12);
        assert!((result.std - (2.0f64 / 9.0).sqrt()).abs() < 1e-12);
        assert!(folded_accuracy(&data, &[0, 0, 0, 0, 0, 0]).is_err());
        assert!(folded_accuracy(&data, &[0, 1]).is_err());
    }

    #[test]
    fn roc_of_perfect_and_reversed_scores() {
        let perfect = Roc::new(&pairs(&[(0.1, true), (0.2, true), (0.6, false), (0.8, false)]));
        assert!((perfect.auc - 1.0).abs() < 1e-12);
        assert_eq!(perfect.eer, 0.0);
        assert_eq!(perfect.tar_at_far_1e3, 1.0);

        let reversed = Roc::new(&pairs(&[(0.9, true), (0.8, true), (0.1, false), (0.2, false)]));
        assert!(reversed.auc.abs() < 1e-12);
        assert_eq!(reversed.tar_at_far_1e3, 0.0);
    }

    #[test]
    fn roc_auc_of_hand_computed_case() {
        // Sorted: 0.1 S, 0.2 D, 0.3 S, 0.4 D. Points (far, tar): (0,0) (0,.5) (.5,.5) (.5,1) (1,1).
        // AUC = 0.5 * 0.5 + 0.5 * 1 = 0.75. EER: the gap far - (1 - tar) crosses 0 at (0.5, 0.5).
        let roc = Roc::new(&pairs(&[(0.1, true), (0.2, false), (0.3, true), (0.4, false)]));
        assert!((roc.auc - 0.75).abs() < 1e-12, "{}", roc.auc);
        assert!((roc.eer - 0.5).abs() < 1e-12, "{}", roc.eer);
        assert_eq!(roc.tar_at_far_1e3, 0.5);
    }

    #[test]
    fn summary_and_histogram() {
        let data = pairs(&[(0.2, true), (0.4, true), (1.0, false), (3.0, false), (9.0, false)]);
        let summary = DistanceSummary::new(&data);
        assert!((summary.positive_mean - 0.3).abs() < 1e-6);
        assert!((summary.positive_std - 0.1).abs() < 1e-6);
        assert!((summary.negative_mean - 13.0 / 3.0).abs() < 1e-6);
        let histogram = DistanceHistogram::new(&data, 4, 0.0, 4.0);
        assert_eq!(histogram.positive, vec![2, 0, 0, 0]);
        assert_eq!(histogram.negative, vec![0, 1, 0, 2]);
    }
}
