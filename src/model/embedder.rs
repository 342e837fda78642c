//! Face embedder: a VGG-16-style CNN that maps a face crop to an L2-normalised vector, trained
//! with the triplet loss (de Souza, "Face Verification with Depthwise Separable Convolutions
//! and the Triplet Loss", Universidade de São Paulo, Tables 4 and 5; VGG-Face, Parkhi et al.
//! 2015).

use burn::nn::{Dropout, DropoutConfig, Linear, LinearConfig};
use burn::prelude::*;
use burn::tensor::activation::relu;
use serde::{Deserialize, Serialize};

use super::backbone::{Activation, Backbone, BackboneConfig, ConvKind};

/// Reduction of the backbone's feature map to a vector.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub enum Pooling {
    /// Flatten `[channels, h, w]` into one vector, as VGG does.
    Flatten,
    /// Average each channel over `h x w`, giving `channels` values.
    GlobalAverage,
}

/// Configuration of an [`Embedder`].
#[derive(Config, Debug)]
pub struct EmbedderConfig {
    /// The convolution stages.
    pub backbone: BackboneConfig,
    /// Reduction of the feature map to a vector.
    #[config(default = "Pooling::Flatten")]
    pub pooling: Pooling,
    /// Widths of the dense layers, each with ReLU and dropout.
    pub dense: Vec<usize>,
    /// Width of a final linear projection without activation; `None` makes the last dense
    /// layer's output the embedding, as in the paper.
    #[config(default = "None")]
    pub embedding_dim: Option<usize>,
    /// Dropout rate after each dense layer.
    #[config(default = 0.5)]
    pub dropout: f64,
}

impl EmbedderConfig {
    /// Returns the paper's regular-convolution embedder (Table 4, VGG-16 at 224x224): 134,260,544
    /// weights, 4096-d output.
    pub fn paper_regular() -> Self {
        let backbone = BackboneConfig::new(224, vec![64, 128, 256, 512, 512], vec![2, 2, 3, 3, 3], ConvKind::Regular);
        Self::new(backbone, vec![4096, 4096])
    }

    /// Returns the paper's separable-convolution embedder (Table 5): 121,234,907 weights counting the
    /// four values per channel of each batch normalisation, 4096-d output.
    ///
    /// NOTE: the paper does not give the leaky ReLU slope; 0.3 is the Keras default, the
    /// framework family the paper used.
    pub fn paper_separable() -> Self {
        let backbone = BackboneConfig::new(224, vec![64, 128, 256, 512, 512], vec![2, 2, 3, 3, 3], ConvKind::Separable)
            .with_batch_norm(true)
            .with_activation(Activation::LeakyRelu { slope: 0.3 });
        Self::new(backbone, vec![4096, 4096])
    }

    /// Returns the embedder shipped to the browser: 64x64 crops, separable convolutions with
    /// batch normalisation and leaky ReLU, a flattened 4x4 map and a 128-d projection, under
    /// 1.5 M parameters. The input is smaller than the paper's 224 so that training on two CPU
    /// cores sees the data many times in an hour or two.
    pub fn web() -> Self {
        let backbone = BackboneConfig::new(64, vec![32, 64, 128, 256], vec![2, 2, 2, 2], ConvKind::Separable)
            .with_batch_norm(true)
            .with_activation(Activation::LeakyRelu { slope: 0.1 });
        Self::new(backbone, vec![])
            .with_pooling(Pooling::Flatten)
            .with_embedding_dim(Some(128))
            .with_dropout(0.2)
    }

    /// Looks up a named configuration: `paper_regular`, `paper_separable` or `web`.
    pub fn named(name: &str) -> crate::Result<Self> {
        match name {
            "paper_regular" => Ok(Self::paper_regular()),
            "paper_separable" => Ok(Self::paper_separable()),
            "web" => Ok(Self::web()),
            _ => Err(crate::SepfaceError::invalid(
                "embedder architecture",
                name,
                "one of paper_regular, paper_separable, web",
            )),
        }
    }

    /// Checks that the network can be built: valid stages, non-zero dense and embedding widths,
    /// a dropout rate in [0, 1).
    pub fn validate(&self) -> crate::Result<()> {
        self.backbone.validate()?;
        super::detector::check_head(&self.dense, self.dropout)?;
        if self.embedding_dim == Some(0) {
            return Err(crate::SepfaceError::invalid("embedding_dim", 0, "at least 1"));
        }
        Ok(())
    }

    /// Side of the square input crop in pixels.
    pub fn input_size(&self) -> usize {
        self.backbone.input_size
    }

    /// Length of the output embedding.
    pub fn output_dim(&self) -> usize {
        self.embedding_dim
            .or_else(|| self.dense.last().copied())
            .unwrap_or_else(|| self.pooled_dim())
    }

    fn pooled_dim(&self) -> usize {
        let [channels, height, width] = self.backbone.output_shape();
        match self.pooling {
            Pooling::Flatten => channels * height * width,
            Pooling::GlobalAverage => channels,
        }
    }

    /// Multiply-accumulates of one image: convolutions plus dense layers.
    pub fn macs(&self) -> u64 {
        let mut width_in = self.pooled_dim() as u64;
        let mut total = self.backbone.macs();
        for &width_out in self.dense.iter().chain(self.embedding_dim.as_ref()) {
            total += width_in * width_out as u64;
            width_in = width_out as u64;
        }
        total
    }

    /// Returns a lower bound on the weights of the network, without biases or batch
    /// normalisation, saturating.
    pub fn min_weight_count(&self) -> u64 {
        let [channels, height, width] = self.backbone.output_shape();
        let pooled = match self.pooling {
            Pooling::Flatten => (channels as u64).saturating_mul(height as u64).saturating_mul(width as u64),
            Pooling::GlobalAverage => channels as u64,
        };
        let head = super::detector::dense_weights(pooled, self.dense.iter().chain(self.embedding_dim.as_ref()));
        self.backbone.min_weight_count().saturating_add(head)
    }

    /// Initializes an [`Embedder`] on `device`.
    pub fn init(&self, device: &Device) -> Embedder {
        let mut width_in = self.pooled_dim();
        let mut dense = Vec::with_capacity(self.dense.len());
        for &width_out in &self.dense {
            dense.push(LinearConfig::new(width_in, width_out).init(device));
            width_in = width_out;
        }
        Embedder {
            backbone: self.backbone.init(device),
            dense,
            dropout: DropoutConfig::new(self.dropout).init(),
            projection: self
                .embedding_dim
                .map(|dim| LinearConfig::new(width_in, dim).init(device)),
            pooling: self.pooling,
        }
    }
}

/// The face embedder.
#[derive(Module, Debug)]
pub struct Embedder {
    /// The convolution stages.
    pub backbone: Backbone,
    /// The dense layers.
    pub dense: Vec<Linear>,
    /// Dropout after each dense layer.
    pub dropout: Dropout,
    /// The final linear projection, if configured.
    pub projection: Option<Linear>,
    /// Reduction of the feature map to a vector.
    #[module(skip)]
    pub pooling: Pooling,
}

impl Embedder {
    /// Embeds a batch of face crops into unit-length vectors.
    ///
    /// # Shapes
    /// - crops: `[batch, 3, size, size]`, RGB in [0, 1]
    /// - output: `[batch, dim]`, each row with L2 norm 1
    pub fn forward(&self, crops: Tensor<4>) -> Tensor<2> {
        let x = self.backbone.forward(crops); // [batch, channels, h, w]
        let mut x: Tensor<2> = match self.pooling {
            Pooling::Flatten => x.flatten(1, 3),        // [batch, channels * h * w]
            Pooling::GlobalAverage => x.mean_dims(&[2, 3]).flatten(1, 3), // [batch, channels]
        };
        for layer in &self.dense {
            x = self.dropout.forward(relu(layer.forward(x))); // [batch, width]
        }
        if let Some(projection) = &self.projection {
            x = projection.forward(x); // [batch, dim]
        }
        l2_normalize(x)
    }
}

/// Divides each row by its L2 norm (plus a small epsilon, so a zero row stays finite).
///
/// # Shapes
/// - input, output: `[batch, dim]`
pub fn l2_normalize(x: Tensor<2>) -> Tensor<2> {
    let norm = x.clone().square().sum_dim(1).add_scalar(1e-12).sqrt(); // [batch, 1]
    x / norm
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Checks that `floor` is at most `params` and within 2% of it.
    fn assert_weight_floor(floor: u64, params: usize) {
        assert!(floor <= params as u64, "floor {floor} above {params} parameters");
        assert!(floor as f64 >= 0.98 * params as f64, "floor {floor} far under {params} parameters");
    }

    #[test]
    fn paper_regular_matches_table_four() {
        let device = Device::flex();
        let model = EmbedderConfig::paper_regular().init(&device);
        assert_eq!(model.num_params(), 134_260_544);
        assert_weight_floor(EmbedderConfig::paper_regular().min_weight_count(), model.num_params());
        assert_eq!(model.backbone.stages[2].blocks[2].num_params(), 590_080);
        assert_eq!(model.dense[0].num_params(), 102_764_544);
        assert_eq!(model.dense[1].num_params(), 16_781_312);
    }

    #[test]
    fn paper_separable_matches_table_five() {
        let device = Device::flex();
        let model = EmbedderConfig::paper_separable().init(&device);
        assert_eq!(model.num_params(), 121_234_907);
        assert_weight_floor(EmbedderConfig::paper_separable().min_weight_count(), model.num_params());
        let first = &model.backbone.stages[0].blocks[0];
        assert_eq!(first.conv.num_params(), 283);
        assert_eq!(first.norm.as_ref().map(|norm| norm.num_params()), Some(256));
        let deep = &model.backbone.stages[3].blocks[0];
        assert_eq!(deep.conv.num_params(), 133_888);
        assert_eq!(deep.norm.as_ref().map(|norm| norm.num_params()), Some(2048));
    }

    #[test]
    fn web_fits_the_browser_budget() {
        let device = Device::flex();
        let config = EmbedderConfig::web();
        let model = config.init(&device);
        assert!(model.num_params() <= 1_500_000, "{} parameters", model.num_params());
        assert_eq!(config.output_dim(), 128);
    }

    #[test]
    fn outputs_unit_vectors() {
        let device = Device::flex();
        let config = EmbedderConfig::web();
        let model = config.init(&device).valid();
        let size = config.input_size();
        let crops = Tensor::<4>::random([3, 3, size, size], burn::tensor::Distribution::Default, &device);
        let embeddings = model.forward(crops);
        assert_eq!(embeddings.dims(), [3, 128]);
        let norms = embeddings.square().sum_dim(1).sqrt().into_data().try_to_vec::<f32>().expect("f32");
        for norm in norms {
            assert!((norm - 1.0).abs() < 1e-4, "norm {norm}");
        }
    }
}
