//! Large-margin cosine loss (CosFace: Wang et al., "CosFace: Large Margin Cosine Loss for Deep
//! Face Recognition", CVPR 2018) for pre-training the embedder as a face classifier, the first
//! improvement de Souza's conclusion proposes. The head's class centres are unit vectors; the
//! logit of class `j` is `scale * (cos(e, w_j) - margin * [j == label])`.

use burn::module::Param;
use burn::nn::loss::CrossEntropyLossConfig;
use burn::prelude::*;

use crate::model::l2_normalize;

/// Configuration of a [`CosFaceHead`].
#[derive(Config, Debug)]
pub struct CosFaceConfig {
    /// Number of identities.
    pub classes: usize,
    /// Embedding length.
    pub dim: usize,
    /// Scale of the cosine logits.
    #[config(default = 16.0)]
    pub scale: f64,
    /// Margin subtracted from the true class's cosine.
    #[config(default = 0.2)]
    pub margin: f64,
}

/// One unit-length centre per identity.
#[derive(Module, Debug)]
pub struct CosFaceHead {
    /// Class centres `[classes, dim]`, normalised in the forward pass.
    pub centres: Param<Tensor<2>>,
    /// Scale of the logits.
    #[module(skip)]
    pub scale: f64,
    /// Margin of the true class.
    #[module(skip)]
    pub margin: f64,
}

impl CosFaceConfig {
    /// Initializes a head with random centres on `device`.
    pub fn init(&self, device: &Device) -> CosFaceHead {
        let centres = Tensor::random([self.classes, self.dim], burn::tensor::Distribution::Normal(0.0, 1.0), device);
        CosFaceHead {
            centres: Param::from_tensor(centres),
            scale: self.scale,
            margin: self.margin,
        }
    }
}

impl CosFaceHead {
    /// Computes the margin logits of unit-length `embeddings` for their `labels`.
    ///
    /// # Shapes
    /// - embeddings: `[batch, dim]`, L2-normalised
    /// - labels: `[batch]`, class indices below `classes`
    /// - output: `[batch, classes]`
    pub fn logits(&self, embeddings: Tensor<2>, labels: Tensor<1, Int>) -> Tensor<2> {
        let centres = l2_normalize(self.centres.val()); // [classes, dim]
        let cosine = embeddings.matmul(centres.transpose()); // [batch, classes]
        let [batch, classes] = cosine.dims();
        let one_hot: Tensor<2> = labels.one_hot(classes).float(); // [batch, classes]
        debug_assert_eq!(one_hot.dims(), [batch, classes]);
        (cosine - one_hot.mul_scalar(self.margin)).mul_scalar(self.scale)
    }

    /// Computes the mean cross-entropy of the margin logits.
    pub fn loss(&self, embeddings: Tensor<2>, labels: Tensor<1, Int>) -> Tensor<1> {
        let device = embeddings.device();
        let logits = self.logits(embeddings, labels.clone());
        CrossEntropyLossConfig::new().init(&device).forward(logits, labels)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn logits_match_hand_computation() {
        let device = Device::flex();
        let head = CosFaceHead {
            centres: Param::from_tensor(Tensor::from_floats([[2.0, 0.0], [0.0, 3.0]], &device)),
            scale: 10.0,
            margin: 0.25,
        };
        let embeddings = Tensor::<2>::from_floats([[0.6, 0.8]], &device);
        let labels = Tensor::<1, Int>::from_ints([1], &device);
        let logits = head.logits(embeddings, labels).into_data().try_to_vec::<f32>().expect("f32");
        // cos with centre 0 = 0.6, with centre 1 = 0.8; the true class 1 loses the margin.
        assert!((logits[0] - 6.0).abs() < 1e-5, "{logits:?}");
        assert!((logits[1] - 5.5).abs() < 1e-5, "{logits:?}");
    }

    #[test]
    fn loss_is_cross_entropy_of_margin_logits() {
        let device = Device::flex();
        let head = CosFaceHead {
            centres: Param::from_tensor(Tensor::from_floats([[1.0, 0.0], [0.0, 1.0]], &device)),
            scale: 1.0,
            margin: 0.0,
        };
        let embeddings = Tensor::<2>::from_floats([[1.0, 0.0]], &device);
        let loss = head.loss(embeddings, Tensor::from_ints([0], &device)).into_scalar::<f32>();
        // logits (1, 0): -log(e / (e + 1)) = log(1 + 1/e).
        let expected = (1.0 + (-1.0f32).exp()).ln();
        assert!((loss - expected).abs() < 1e-5, "{loss} vs {expected}");
    }
}
