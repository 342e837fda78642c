//! Triplet loss with online mining (Schroff et al., "FaceNet", CVPR 2015):
//! `l(A, P, N) = max(0, d(f(A), f(P)) - d(f(A), f(N)) + margin)`.
//!
//! Triplets are mined inside a batch of `P` identities with `K` images each. Every step runs as
//! tensor operations on the batch's distance matrix, so mining needs no read-back from the
//! device (synchronous reads are not possible on WebGPU).

use burn::prelude::*;
use serde::{Deserialize, Serialize};

use super::distance::Distance;

/// How the negative (and for batch-hard, the positive) of each triplet is chosen.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub enum Mining {
    /// For every anchor-positive pair, the closest negative that is farther than the positive
    /// (FaceNet's semi-hard negative). When an anchor has no such negative, the farthest
    /// negative is used instead, so the pair still contributes without pulling the hardest
    /// negatives in, which can collapse training early.
    SemiHard,
    /// For every anchor, the farthest positive and the closest negative (Hermans et al. 2017).
    BatchHard,
    /// Every valid triplet; the loss is the mean over the triplets with a positive loss.
    BatchAll,
}

/// Configuration of a [`TripletLoss`].
#[derive(Config, Debug)]
pub struct TripletLossConfig {
    /// The margin alpha between positive and negative distances.
    #[config(default = 0.2)]
    pub margin: f64,
    /// The distance between embeddings.
    #[config(default = "Distance::SquaredEuclidean")]
    pub distance: Distance,
    /// The triplet mining strategy.
    #[config(default = "Mining::SemiHard")]
    pub mining: Mining,
}

impl TripletLossConfig {
    /// Builds the loss.
    pub fn init(&self) -> TripletLoss {
        TripletLoss {
            margin: self.margin as f32,
            distance: self.distance,
            mining: self.mining,
        }
    }
}

/// The triplet loss over one batch.
#[derive(Debug, Clone)]
pub struct TripletLoss {
    /// The margin alpha.
    pub margin: f32,
    /// The distance between embeddings.
    pub distance: Distance,
    /// The mining strategy.
    pub mining: Mining,
}

/// What [`TripletLoss::forward`] returns.
#[derive(Debug, Clone)]
pub struct TripletOutput {
    /// The scalar loss, `[1]`, differentiable.
    pub loss: Tensor<1>,
    /// The pairwise distances `[batch, batch]`, detached, for [`TripletStats`].
    pub distances: Tensor<2>,
}

/// Same-identity and different-identity masks of a batch, as bool tensors.
struct LabelMasks {
    /// `[n, n]`: same identity and not the same sample.
    positive: Tensor<2, Bool>,
    /// `[n, n]`: different identity.
    negative: Tensor<2, Bool>,
}

impl LabelMasks {
    fn new(labels: &[usize], device: &Device) -> Self {
        let n = labels.len();
        let mut positive = Vec::with_capacity(n * n);
        let mut negative = Vec::with_capacity(n * n);
        for (a, label_a) in labels.iter().enumerate() {
            for (b, label_b) in labels.iter().enumerate() {
                positive.push(label_a == label_b && a != b);
                negative.push(label_a != label_b);
            }
        }
        let shape = [n, n];
        Self {
            positive: Tensor::from_bool(TensorData::new(positive, shape), device),
            negative: Tensor::from_bool(TensorData::new(negative, shape), device),
        }
    }
}

/// A distance larger than any real one, used to exclude entries from a minimum.
const FAR: f32 = 1e6;

impl TripletLoss {
    /// Computes the loss of a batch of embeddings with their identity labels.
    ///
    /// A batch without any valid triplet (no identity with two images, or a single identity)
    /// gives a loss of 0.
    ///
    /// # Shapes
    /// - embeddings: `[batch, dim]`, L2-normalised
    /// - labels: `batch` identity labels
    pub fn forward(&self, embeddings: Tensor<2>, labels: &[usize]) -> crate::Result<TripletOutput> {
        let [batch, _] = embeddings.dims();
        if labels.len() != batch {
            return Err(crate::SepfaceError::ShapeMismatch {
                what: "triplet labels".into(),
                expected: format!("{batch} labels, one per embedding"),
                actual: format!("{} labels", labels.len()),
            });
        }
        let device = embeddings.device();
        let masks = LabelMasks::new(labels, &device);
        let distances = self.distance.pairwise(embeddings); // [n, n]
        let loss = match self.mining {
            Mining::SemiHard => self.semi_hard(distances.clone(), &masks),
            Mining::BatchHard => self.batch_hard(distances.clone(), &masks),
            Mining::BatchAll => self.batch_all(distances.clone(), &masks),
        };
        Ok(TripletOutput {
            loss,
            distances: distances.detach(),
        })
    }

    fn semi_hard(&self, distances: Tensor<2>, masks: &LabelMasks) -> Tensor<1> {
        let n = distances.dims()[0];
        let positive_distance = distances.clone().unsqueeze_dim::<3>(2).expand([n, n, n]); // [a, p, 1] -> [a, p, n]
        let negative_distance = distances.clone().unsqueeze_dim::<3>(1).expand([n, n, n]); // [a, 1, n] -> [a, p, n]
        let is_negative = masks.negative.clone().unsqueeze_dim::<3>(1).expand([n, n, n]);
        let semi_hard = negative_distance
            .clone()
            .greater(positive_distance)
            .bool_and(is_negative); // [a, p, n]

        let closest_semi_hard = negative_distance
            .mask_fill(semi_hard.clone().bool_not(), FAR)
            .min_dim(2)
            .squeeze_dim::<2>(2); // [a, p]
        let has_semi_hard = semi_hard.any_dim(2).squeeze_dim::<2>(2); // [a, p]
        let farthest = distances
            .clone()
            .mask_fill(masks.negative.clone().bool_not(), -FAR)
            .max_dim(1)
            .expand([n, n]); // [a, p]
        let negative = farthest.mask_where(has_semi_hard, closest_semi_hard); // [a, p]

        let has_negative = masks.negative.clone().any_dim(1).expand([n, n]); // [a, p]
        let valid = masks.positive.clone().bool_and(has_negative);
        let losses = (distances - negative).add_scalar(self.margin).clamp_min(0.0);
        masked_mean(losses, valid)
    }

    fn batch_hard(&self, distances: Tensor<2>, masks: &LabelMasks) -> Tensor<1> {
        let hardest_positive = distances
            .clone()
            .mask_fill(masks.positive.clone().bool_not(), -FAR)
            .max_dim(1); // [a, 1]
        let hardest_negative = distances
            .mask_fill(masks.negative.clone().bool_not(), FAR)
            .min_dim(1); // [a, 1]
        let valid = masks
            .positive
            .clone()
            .any_dim(1)
            .bool_and(masks.negative.clone().any_dim(1)); // [a, 1]
        let losses = (hardest_positive - hardest_negative)
            .add_scalar(self.margin)
            .clamp_min(0.0);
        masked_mean(losses, valid)
    }

    fn batch_all(&self, distances: Tensor<2>, masks: &LabelMasks) -> Tensor<1> {
        let n = distances.dims()[0];
        let positive_distance = distances.clone().unsqueeze_dim::<3>(2).expand([n, n, n]); // [a, p, n]
        let negative_distance = distances.unsqueeze_dim::<3>(1).expand([n, n, n]); // [a, p, n]
        let valid = masks
            .positive
            .clone()
            .unsqueeze_dim::<3>(2)
            .expand([n, n, n])
            .bool_and(masks.negative.clone().unsqueeze_dim::<3>(1).expand([n, n, n]));
        let losses = (positive_distance - negative_distance)
            .add_scalar(self.margin)
            .clamp_min(0.0)
            .mask_fill(valid.bool_not(), 0.0); // [a, p, n]
        let active = losses.clone().greater_elem(1e-12);
        masked_mean(losses, active)
    }
}

/// Mean of `values` where `mask` is true, or 0 when it is true nowhere.
fn masked_mean<const D: usize>(values: Tensor<D>, mask: Tensor<D, Bool>) -> Tensor<1> {
    let weights = mask.float();
    let count = weights.clone().sum().clamp_min(1.0);
    (values * weights).sum() / count
}

/// Triplet counts of a batch by kind (paper section 3.1), and mean distances.
#[derive(Debug, Clone, Copy, PartialEq, Default, Serialize, Deserialize)]
pub struct TripletStats {
    /// Number of valid triplets (anchor, positive of the same identity, negative of another).
    pub triplets: usize,
    /// Fraction with `d(a, n) > d(a, p) + margin`: zero loss.
    pub easy: f64,
    /// Fraction with `d(a, p) < d(a, n) <= d(a, p) + margin`.
    pub semi_hard: f64,
    /// Fraction with `d(a, n) <= d(a, p)`.
    pub hard: f64,
    /// Mean distance over same-identity pairs.
    pub mean_positive: f64,
    /// Mean distance over different-identity pairs.
    pub mean_negative: f64,
}

impl TripletStats {
    /// Classifies every valid triplet of a batch from its row-major `[n, n]` distance matrix.
    pub fn from_distances(distances: &[f32], labels: &[usize], margin: f32) -> crate::Result<Self> {
        let n = labels.len();
        if distances.len() != n * n {
            return Err(crate::SepfaceError::ShapeMismatch {
                what: "distance matrix".into(),
                expected: format!("{n}x{n} = {} values", n * n),
                actual: format!("{} values", distances.len()),
            });
        }
        let at = |a: usize, b: usize| distances[a * n + b];
        let (mut easy, mut semi_hard, mut hard) = (0usize, 0usize, 0usize);
        let (mut positive_sum, mut positive_count) = (0f64, 0usize);
        let (mut negative_sum, mut negative_count) = (0f64, 0usize);
        for a in 0..n {
            for b in 0..n {
                if a == b {
                    continue;
                }
                if labels[a] != labels[b] {
                    negative_sum += at(a, b) as f64;
                    negative_count += 1;
                    continue;
                }
                positive_sum += at(a, b) as f64;
                positive_count += 1;
                for negative in (0..n).filter(|&k| labels[k] != labels[a]) {
                    let (d_ap, d_an) = (at(a, b), at(a, negative));
                    if d_an <= d_ap {
                        hard += 1;
                    } else if d_an <= d_ap + margin {
                        semi_hard += 1;
                    } else {
                        easy += 1;
                    }
                }
            }
        }
        let triplets = easy + semi_hard + hard;
        let fraction = |count: usize| if triplets == 0 { 0.0 } else { count as f64 / triplets as f64 };
        let mean = |sum: f64, count: usize| if count == 0 { 0.0 } else { sum / count as f64 };
        Ok(Self {
            triplets,
            easy: fraction(easy),
            semi_hard: fraction(semi_hard),
            hard: fraction(hard),
            mean_positive: mean(positive_sum, positive_count),
            mean_negative: mean(negative_sum, negative_count),
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Four 2-D unit vectors: identity 0 at angles 0 and 60 degrees, identity 1 at 90 and 180.
    fn batch(device: &Device) -> (Tensor<2>, Vec<usize>) {
        let half = 3f32.sqrt() / 2.0;
        let embeddings = Tensor::<2>::from_floats([[1.0, 0.0], [0.5, half], [0.0, 1.0], [-1.0, 0.0]], device);
        (embeddings, vec![0, 0, 1, 1])
    }

    fn loss_of(mining: Mining, margin: f64) -> f32 {
        let device = Device::flex();
        let (embeddings, labels) = batch(&device);
        let loss = TripletLossConfig::new()
            .with_margin(margin)
            .with_mining(mining)
            .init();
        let output = loss.forward(embeddings, &labels).expect("valid batch");
        output.loss.into_scalar::<f32>()
    }

    // Squared euclidean distances of unit vectors are 2 - 2 cos(angle):
    // d01 = 1 (60 deg), d02 = 2 (90), d03 = 4 (180), d12 = 2 - sqrt(3) = 0.26795 (30),
    // d13 = 3 (120), d23 = 2 (90).

    #[test]
    fn semi_hard_matches_hand_computation() {
        // Pairs (anchor, positive) and their chosen negative with margin 1.2:
        // (0,1): d_ap 1; negatives of 0: d02 2, d03 4; closest beyond 1 is 2 -> max(0, 1 - 2 + 1.2) = 0.2
        // (1,0): d_ap 1; negatives of 1: d12 0.268, d13 3; closest beyond 1 is 3 -> 0
        // (2,3): d_ap 2; negatives of 2: d20 2, d21 0.268; none beyond 2 -> farthest, 2 -> 1.2
        // (3,2): d_ap 2; negatives of 3: d30 4, d31 3; closest beyond 2 is 3 -> 0.2
        let expected = (0.2 + 0.0 + 1.2 + 0.2) / 4.0;
        let loss = loss_of(Mining::SemiHard, 1.2);
        assert!((loss - expected).abs() < 1e-5, "loss {loss}, expected {expected}");
    }

    #[test]
    fn batch_hard_matches_hand_computation() {
        // Anchor 0: hardest positive 1, hardest negative 2 -> max(0, 1 - 2 + 1.2) = 0.2
        // Anchor 1: 1 - 0.26795 + 1.2 = 1.93205
        // Anchor 2: 2 - 0.26795 + 1.2 = 2.93205
        // Anchor 3: 2 - 3 + 1.2 = 0.2
        let d12 = 2.0 - 3f32.sqrt();
        let expected = (0.2 + (1.0 - d12 + 1.2) + (2.0 - d12 + 1.2) + 0.2) / 4.0;
        let loss = loss_of(Mining::BatchHard, 1.2);
        assert!((loss - expected).abs() < 1e-5, "loss {loss}, expected {expected}");
    }

    #[test]
    fn batch_all_averages_active_triplets() {
        // Margin 0.5. Triplet losses d_ap - d_an + 0.5 per (a, p, n):
        // (0,1,2) -0.5 -> 0; (0,1,3) -2.5 -> 0; (1,0,2) 1.23205; (1,0,3) -1.5 -> 0;
        // (2,3,0) 0.5; (2,3,1) 2.23205; (3,2,0) -1.5 -> 0; (3,2,1) -0.5 -> 0.
        let d12 = 2.0 - 3f32.sqrt();
        let active = [1.0 - d12 + 0.5, 0.5, 2.0 - d12 + 0.5];
        let expected = active.iter().sum::<f32>() / 3.0;
        let loss = loss_of(Mining::BatchAll, 0.5);
        assert!((loss - expected).abs() < 1e-5, "loss {loss}, expected {expected}");
    }

    #[test]
    fn batch_without_valid_triplets_has_zero_loss() {
        let device = Device::flex();
        let (embeddings, _) = batch(&device);
        for mining in [Mining::SemiHard, Mining::BatchHard, Mining::BatchAll] {
            let loss = TripletLossConfig::new().with_mining(mining).init();
            for labels in [[0, 1, 2, 3], [5, 5, 5, 5]] {
                let output = loss.forward(embeddings.clone(), &labels).expect("valid shapes");
                let value = output.loss.into_scalar::<f32>();
                assert_eq!(value, 0.0, "{mining:?} with labels {labels:?}");
            }
        }
    }

    #[test]
    fn label_count_mismatch_is_an_error() {
        let device = Device::flex();
        let (embeddings, _) = batch(&device);
        let result = TripletLossConfig::new().init().forward(embeddings, &[0, 0, 1]);
        assert!(matches!(result, Err(crate::SepfaceError::ShapeMismatch { .. })));
    }

    #[test]
    fn stats_classify_triplets() {
        let device = Device::flex();
        let (embeddings, labels) = batch(&device);
        let distances = Distance::SquaredEuclidean
            .pairwise(embeddings)
            .into_data()
            .try_to_vec::<f32>()
            .expect("f32");
        let stats = TripletStats::from_distances(&distances, &labels, 1.2).expect("square matrix");
        // With margin 1.2 the eight triplets are:
        // (0,1,2) semi-hard, (0,1,3) easy, (1,0,2) hard, (1,0,3) easy,
        // (2,3,0) hard (d_an = d_ap), (2,3,1) hard, (3,2,0) easy, (3,2,1) semi-hard.
        assert_eq!(stats.triplets, 8);
        assert!((stats.easy - 3.0 / 8.0).abs() < 1e-9);
        assert!((stats.semi_hard - 2.0 / 8.0).abs() < 1e-9);
        assert!((stats.hard - 3.0 / 8.0).abs() < 1e-9);
        assert!((stats.mean_positive - 1.5).abs() < 1e-5, "{}", stats.mean_positive);
        let d12 = 2.0 - 3f64.sqrt();
        let mean_negative = (2.0 + 4.0 + d12 + 3.0) / 4.0;
        assert!((stats.mean_negative - mean_negative).abs() < 1e-5, "{}", stats.mean_negative);
    }

    #[test]
    fn gradient_reaches_embeddings() {
        let device = Device::flex().autodiff();
        let (embeddings, labels) = batch(&device);
        let embeddings = embeddings.require_grad();
        let output = TripletLossConfig::new()
            .with_margin(1.2)
            .init()
            .forward(embeddings.clone(), &labels)
            .expect("valid batch");
        let gradients = output.loss.backward();
        let gradient = embeddings.grad(&gradients).expect("gradient of the embeddings");
        let magnitude = gradient.abs().sum().into_scalar::<f32>();
        assert!(magnitude > 0.0);
    }
}
