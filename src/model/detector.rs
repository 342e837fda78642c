//! Single-face bounding-box detector: a CNN that regresses the four box edges, normalised by the
//! image width and height into [0, 1] (de Souza, "Face Verification with Depthwise Separable
//! Convolutions and the Triplet Loss", Universidade de São Paulo, Tables 1 and 2).

use burn::nn::{Dropout, DropoutConfig, Linear, LinearConfig};
use burn::prelude::*;
use burn::tensor::activation::{relu, sigmoid};

use super::backbone::{Activation, Backbone, BackboneConfig, ConvKind};

/// Configuration of a [`Detector`].
#[derive(Config, Debug)]
pub struct DetectorConfig {
    /// The convolution stages.
    pub backbone: BackboneConfig,
    /// Widths of the hidden dense layers (ReLU, each followed by dropout).
    pub dense: Vec<usize>,
    /// Dropout rate after each hidden dense layer.
    #[config(default = 0.3)]
    pub dropout: f64,
    /// Whether the network also outputs a face-presence logit, trained on images with and
    /// without a face. The detectors of Tables 1 and 2 have no such output.
    #[config(default = false)]
    pub presence: bool,
}

impl DetectorConfig {
    /// Returns the regular-convolution detector of Table 1: 31,430,212 weights at 112x112.
    pub fn paper_regular() -> Self {
        let backbone = BackboneConfig::new(112, vec![64, 128, 256, 512], vec![2, 2, 2, 2], ConvKind::Regular);
        Self::new(backbone, vec![1024, 1024])
    }

    /// Returns the separable-convolution detector of Table 2: 13,045,983 weights at 112x112.
    pub fn paper_separable() -> Self {
        let backbone = BackboneConfig::new(112, vec![64, 128, 256], vec![2, 2, 2], ConvKind::Separable);
        Self::new(backbone, vec![256, 256])
    }

    /// Returns the detector shipped to the browser: separable convolutions with batch
    /// normalisation and leaky ReLU, under 0.25 M parameters.
    pub fn web() -> Self {
        let backbone = BackboneConfig::new(96, vec![16, 32, 64, 96, 128], vec![1, 2, 2, 2, 2], ConvKind::Separable)
            .with_batch_norm(true)
            .with_activation(Activation::LeakyRelu { slope: 0.1 });
        Self::new(backbone, vec![64]).with_dropout(0.1).with_presence(true)
    }

    /// Looks up a named configuration: `paper_regular`, `paper_separable` or `web`.
    pub fn named(name: &str) -> crate::Result<Self> {
        match name {
            "paper_regular" => Ok(Self::paper_regular()),
            "paper_separable" => Ok(Self::paper_separable()),
            "web" => Ok(Self::web()),
            _ => Err(crate::SepfaceError::invalid(
                "detector architecture",
                name,
                "one of paper_regular, paper_separable, web",
            )),
        }
    }

    /// Checks that the network can be built: valid stages, non-zero dense widths, a dropout
    /// rate in [0, 1).
    pub fn validate(&self) -> crate::Result<()> {
        self.backbone.validate()?;
        check_head(&self.dense, self.dropout)
    }

    /// Side of the square input image in pixels.
    pub fn input_size(&self) -> usize {
        self.backbone.input_size
    }

    /// Multiply-accumulates of one image: convolutions plus dense layers.
    pub fn macs(&self) -> u64 {
        let [channels, height, width] = self.backbone.output_shape();
        let mut width_in = (channels * height * width) as u64;
        let mut total = self.backbone.macs();
        for &width_out in self.dense.iter().chain(&[if self.presence { 5 } else { 4 }]) {
            total += width_in * width_out as u64;
            width_in = width_out as u64;
        }
        total
    }

    /// Returns a lower bound on the weights of the network, without biases or batch
    /// normalisation, saturating.
    pub fn min_weight_count(&self) -> u64 {
        let [channels, height, width] = self.backbone.output_shape();
        let flattened = (channels as u64).saturating_mul(height as u64).saturating_mul(width as u64);
        let outputs = if self.presence { 5 } else { 4 };
        self.backbone.min_weight_count().saturating_add(dense_weights(flattened, self.dense.iter().chain(&[outputs])))
    }

    /// Initializes a [`Detector`] on `device`.
    pub fn init(&self, device: &Device) -> Detector {
        let [channels, height, width] = self.backbone.output_shape();
        let mut width_in = channels * height * width;
        let mut hidden = Vec::with_capacity(self.dense.len());
        for &width_out in &self.dense {
            hidden.push(LinearConfig::new(width_in, width_out).init(device));
            width_in = width_out;
        }
        Detector {
            backbone: self.backbone.init(device),
            hidden,
            dropout: DropoutConfig::new(self.dropout).init(),
            output: LinearConfig::new(width_in, if self.presence { 5 } else { 4 }).init(device),
        }
    }
}

/// Returns the weights, without biases, of dense layers of `widths` after an input of
/// `width_in`, saturating.
pub(crate) fn dense_weights<'a>(width_in: u64, widths: impl IntoIterator<Item = &'a usize>) -> u64 {
    let (mut width_in, mut total) = (width_in, 0u64);
    for &width_out in widths {
        total = total.saturating_add(width_in.saturating_mul(width_out as u64));
        width_in = width_out as u64;
    }
    total
}

/// Checks dense widths and the dropout rate of a network head.
pub(crate) fn check_head(dense: &[usize], dropout: f64) -> crate::Result<()> {
    if dense.contains(&0) {
        return Err(crate::SepfaceError::invalid("dense widths", format!("{dense:?}"), "widths of at least 1"));
    }
    if !(0.0..1.0).contains(&dropout) {
        return Err(crate::SepfaceError::invalid("dropout", dropout, "a rate in [0, 1)"));
    }
    Ok(())
}

/// The bounding-box regressor.
#[derive(Module, Debug)]
pub struct Detector {
    /// The convolution stages.
    pub backbone: Backbone,
    /// The hidden dense layers.
    pub hidden: Vec<Linear>,
    /// Dropout after each hidden dense layer.
    pub dropout: Dropout,
    /// The final dense layer: 4 box edges, then the presence logit if configured.
    pub output: Linear,
}

/// What the detector predicts for a batch.
#[derive(Debug, Clone)]
pub struct DetectorOutput {
    /// `[batch, 4]`: the edges `[left, top, right, bottom]` divided by the image width (left,
    /// right) and height (top, bottom), each in [0, 1].
    pub boxes: Tensor<2>,
    /// `[batch, 1]`: logit of "the image shows a face", when the network has that output.
    pub presence: Option<Tensor<2>>,
}

impl Detector {
    /// Predicts a box (and a presence logit, if configured) per image.
    ///
    /// # Shapes
    /// - images: `[batch, 3, size, size]`, RGB in [0, 1]
    /// - output: boxes `[batch, 4]`, presence `[batch, 1]`
    pub fn forward(&self, images: Tensor<4>) -> DetectorOutput {
        let x = self.backbone.forward(images); // [batch, channels, h, w]
        let mut x: Tensor<2> = x.flatten(1, 3); // [batch, channels * h * w]
        for layer in &self.hidden {
            x = self.dropout.forward(relu(layer.forward(x))); // [batch, width]
        }
        let x = self.output.forward(x); // [batch, 4] or [batch, 5]
        let [batch, outputs] = x.dims();
        let boxes = sigmoid(x.clone().slice([0..batch, 0..4])); // [batch, 4]
        let presence = (outputs == 5).then(|| x.slice([0..batch, 4..5])); // [batch, 1]
        DetectorOutput { boxes, presence }
    }
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
    fn paper_regular_matches_table_one() {
        let device = Device::flex();
        let model = DetectorConfig::paper_regular().init(&device);
        assert_eq!(model.num_params(), 31_430_212);
        assert_weight_floor(DetectorConfig::paper_regular().min_weight_count(), model.num_params());
        let stage_one = &model.backbone.stages[0].blocks;
        assert_eq!(stage_one[0].num_params(), 1792);
        assert_eq!(stage_one[1].num_params(), 36_928);
        assert_eq!(model.backbone.stages[3].blocks[1].num_params(), 2_359_808);
        assert_eq!(model.hidden[0].num_params(), 25_691_136);
        assert_eq!(model.output.num_params(), 4100);
    }

    #[test]
    fn paper_separable_matches_table_two() {
        let device = Device::flex();
        let model = DetectorConfig::paper_separable().init(&device);
        assert_eq!(model.num_params(), 13_045_983);
        assert_weight_floor(DetectorConfig::paper_separable().min_weight_count(), model.num_params());
        assert_eq!(model.backbone.stages[0].blocks[0].num_params(), 283);
        assert_eq!(model.backbone.stages[1].blocks[1].num_params(), 17_664);
        assert_eq!(model.backbone.stages[2].blocks[1].num_params(), 68_096);
        assert_eq!(model.hidden[0].num_params(), 12_845_312);
        assert_eq!(model.hidden[1].num_params(), 65_792);
        assert_eq!(model.output.num_params(), 1028);
    }

    #[test]
    fn web_fits_the_browser_budget() {
        let device = Device::flex();
        let model = DetectorConfig::web().init(&device);
        assert!(model.num_params() <= 250_000, "{} parameters", model.num_params());
    }

    #[test]
    fn outputs_four_edges_in_unit_range() {
        let device = Device::flex();
        let config = DetectorConfig::web();
        let model = config.init(&device);
        let size = config.input_size();
        let images = Tensor::<4>::random([2, 3, size, size], burn::tensor::Distribution::Default, &device);
        let output = model.valid().forward(images);
        assert_eq!(output.presence.map(|p| p.dims()), Some([2, 1]));
        let boxes = output.boxes;
        assert_eq!(boxes.dims(), [2, 4]);
        let values = boxes.into_data().try_to_vec::<f32>().expect("f32 output");
        assert!(values.iter().all(|v| (0.0..=1.0).contains(v)), "{values:?}");
    }
}
