//! Distances between embeddings.

use burn::prelude::*;
use serde::{Deserialize, Serialize};

/// Distance between two embeddings; a smaller value means more alike.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub enum Distance {
    /// `|a - b|^2`; in [0, 4] for unit vectors.
    SquaredEuclidean,
    /// `1 - cos(a, b)`; in [0, 2].
    Cosine,
}

impl Distance {
    /// Computes all pairwise distances between the rows of `embeddings`.
    ///
    /// # Shapes
    /// - embeddings: `[n, dim]`
    /// - output: `[n, n]`
    pub fn pairwise(&self, embeddings: Tensor<2>) -> Tensor<2> {
        match self {
            Distance::SquaredEuclidean => {
                let squared_norms = embeddings.clone().square().sum_dim(1); // [n, 1]
                let dot = embeddings.clone().matmul(embeddings.transpose()); // [n, n]
                let distances = squared_norms.clone() + squared_norms.transpose() - dot.mul_scalar(2.0);
                distances.clamp_min(0.0)
            }
            Distance::Cosine => {
                let unit = crate::model::l2_normalize(embeddings); // [n, dim]
                let cosine = unit.clone().matmul(unit.transpose()); // [n, n]
                cosine.neg().add_scalar(1.0).clamp_min(0.0)
            }
        }
    }

    /// Computes the distance between two vectors on the CPU.
    pub fn between(&self, a: &[f32], b: &[f32]) -> f32 {
        match self {
            Distance::SquaredEuclidean => a.iter().zip(b).map(|(x, y)| (x - y) * (x - y)).sum(),
            Distance::Cosine => {
                let dot: f32 = a.iter().zip(b).map(|(x, y)| x * y).sum();
                let norm_a = a.iter().map(|x| x * x).sum::<f32>().sqrt();
                let norm_b = b.iter().map(|x| x * x).sum::<f32>().sqrt();
                1.0 - dot / (norm_a * norm_b).max(1e-12)
            }
        }
    }

    /// Returns the largest possible distance between unit vectors.
    pub fn max_value(&self) -> f32 {
        match self {
            Distance::SquaredEuclidean => 4.0,
            Distance::Cosine => 2.0,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn pairwise_matches_cpu_distance() {
        let device = Device::flex();
        let rows = [[0.6f32, 0.8, 0.0], [0.0, 1.0, 0.0], [-1.0, 0.0, 0.0]];
        for distance in [Distance::SquaredEuclidean, Distance::Cosine] {
            let matrix = distance
                .pairwise(Tensor::from_floats(rows, &device))
                .into_data()
                .try_to_vec::<f32>()
                .expect("f32");
            for a in 0..3 {
                for b in 0..3 {
                    let expected = distance.between(&rows[a], &rows[b]);
                    let actual = matrix[a * 3 + b];
                    assert!((expected - actual).abs() < 1e-5, "{distance:?} ({a}, {b}): {actual} vs {expected}");
                }
            }
        }
    }

    #[test]
    fn hand_computed_values() {
        let a = [0.6f32, 0.8];
        let b = [0.0f32, 1.0];
        // |a - b|^2 = 0.36 + 0.04; cos = 0.8.
        assert!((Distance::SquaredEuclidean.between(&a, &b) - 0.4).abs() < 1e-6);
        assert!((Distance::Cosine.between(&a, &b) - 0.2).abs() < 1e-6);
    }
}
