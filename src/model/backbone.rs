//! The VGG-style convolution stack shared by the detector and the embedder: stages of
//! 3x3 convolutions (regular or depthwise separable), each stage followed by 2x2 max-pooling.

use burn::nn::conv::{Conv2d, Conv2dConfig};
use burn::nn::norm::{BatchNorm, BatchNormConfig};
use burn::nn::pool::{MaxPool2d, MaxPool2dConfig};
use burn::nn::PaddingConfig2d;
use burn::prelude::*;
use burn::tensor::activation::{leaky_relu, relu};
use serde::{Deserialize, Serialize};

use super::separable::{SeparableConv2d, SeparableConv2dConfig};

/// Kind of convolution a network is built from.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub enum ConvKind {
    /// A regular 3x3 convolution with bias.
    Regular,
    /// A depthwise 3x3 convolution followed by a pointwise 1x1 convolution with bias.
    Separable,
}

/// Activation function applied after each convolution.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub enum Activation {
    /// `max(0, x)`.
    Relu,
    /// `x` for positive inputs, `slope * x` otherwise.
    LeakyRelu {
        /// Slope of the negative part.
        slope: f64,
    },
}

impl Activation {
    /// Applies the activation to `input`.
    pub fn forward<const D: usize>(&self, input: Tensor<D>) -> Tensor<D> {
        match self {
            Activation::Relu => relu(input),
            Activation::LeakyRelu { slope } => leaky_relu(input, *slope),
        }
    }
}

/// Largest accepted input side in pixels; the paper's networks use 112 and 224.
pub const MAX_INPUT_SIZE: usize = 1024;

/// Largest accepted feature map of one image, in values (side x side x filters): 512 MiB of
/// 32-bit floats. The paper's largest is 224 x 224 x 64, about 3.2 million.
pub const MAX_FEATURE_MAP_VALUES: u64 = 1 << 27;

/// Configuration of a [`Backbone`].
#[derive(Config, Debug)]
pub struct BackboneConfig {
    /// Side of the square input image in pixels.
    pub input_size: usize,
    /// Number of filters of every convolution in each stage.
    pub filters: Vec<usize>,
    /// Number of convolutions in each stage (same length as `filters`).
    pub convs_per_stage: Vec<usize>,
    /// Regular or depthwise separable convolutions.
    pub conv: ConvKind,
    /// Whether each convolution is followed by batch normalisation.
    #[config(default = false)]
    pub batch_norm: bool,
    /// Activation after each convolution (after batch normalisation when enabled).
    #[config(default = "Activation::Relu")]
    pub activation: Activation,
}

impl BackboneConfig {
    /// Returns `[channels, height, width]` of the backbone output.
    pub fn output_shape(&self) -> [usize; 3] {
        // A shift by the bit width or more would overflow: no side survives that many poolings.
        let side = u32::try_from(self.filters.len()).ok().and_then(|stages| self.input_size.checked_shr(stages)).unwrap_or(0);
        [self.filters.last().copied().unwrap_or(3), side, side]
    }

    /// Counts the multiply-accumulates of one image through the convolutions (the paper's
    /// equations 4 and 5, with stride 1 and "same" padding); pooling and normalisation are not
    /// counted.
    pub fn macs(&self) -> u64 {
        let (mut side, mut channels_in, mut total) = (self.input_size as u64, 3u64, 0u64);
        for (&filters, &convs) in self.filters.iter().zip(&self.convs_per_stage) {
            for index in 0..convs {
                let block_in = if index == 0 { channels_in } else { filters as u64 };
                let pixels = side * side;
                total += match self.conv {
                    ConvKind::Regular => pixels * 9 * block_in * filters as u64,
                    ConvKind::Separable => pixels * 9 * block_in + pixels * block_in * filters as u64,
                };
            }
            channels_in = filters as u64;
            side /= 2;
        }
        total
    }

    /// Returns a lower bound on the convolution weights: the kernels without biases or batch
    /// normalisation. Saturates instead of overflowing, because configs come from files.
    pub fn min_weight_count(&self) -> u64 {
        let mut channels_in = 3u64;
        let mut total = 0u64;
        for (&filters, &convs) in self.filters.iter().zip(&self.convs_per_stage) {
            let filters = filters as u64;
            let first = conv_weights(self.conv, channels_in, filters);
            let rest = conv_weights(self.conv, filters, filters).saturating_mul(convs.saturating_sub(1) as u64);
            total = total.saturating_add(first).saturating_add(rest);
            channels_in = filters;
        }
        total
    }

    /// Returns the most values of one image's feature map after any stage, saturating, or
    /// `None` without stages.
    fn largest_feature_map(&self) -> Option<u64> {
        let mut side = self.input_size as u64;
        let mut largest = None;
        for &filters in &self.filters {
            let values = side.saturating_mul(side).saturating_mul(filters as u64);
            largest = largest.max(Some(values));
            side /= 2;
        }
        largest
    }

    /// Checks that the stages are consistent and the input survives every pooling step.
    pub fn validate(&self) -> crate::Result<()> {
        if self.filters.is_empty() || self.filters.len() != self.convs_per_stage.len() {
            return Err(crate::SepfaceError::invalid(
                "backbone stages",
                format!("filters {:?}, convs_per_stage {:?}", self.filters, self.convs_per_stage),
                "give one or more stages, with one convolution count per filter count",
            ));
        }
        if self.filters.contains(&0) || self.convs_per_stage.contains(&0) {
            return Err(crate::SepfaceError::invalid(
                "backbone stages",
                format!("filters {:?}, convs_per_stage {:?}", self.filters, self.convs_per_stage),
                "every stage needs at least one convolution with at least one filter",
            ));
        }
        if self.input_size > MAX_INPUT_SIZE {
            return Err(crate::SepfaceError::invalid("input_size", self.input_size, &format!("at most {MAX_INPUT_SIZE} pixels")));
        }
        if let Some(values) = self.largest_feature_map().filter(|&values| values > MAX_FEATURE_MAP_VALUES) {
            return Err(crate::SepfaceError::invalid(
                "backbone feature map",
                format!("{values} values for input_size {} and filters {:?}", self.input_size, self.filters),
                &format!("at most {MAX_FEATURE_MAP_VALUES} values per image; use fewer filters or a smaller input"),
            ));
        }
        if self.output_shape()[1] == 0 {
            let stages = self.filters.len();
            let needed = u32::try_from(stages).ok().and_then(|n| 1usize.checked_shl(n)).filter(|&n| n <= MAX_INPUT_SIZE);
            let expected = match needed {
                Some(pixels) => format!("at least {pixels} pixels for {stages} pooling stages"),
                None => format!("at most {} stages, because inputs have at most {MAX_INPUT_SIZE} pixels", MAX_INPUT_SIZE.ilog2()),
            };
            return Err(crate::SepfaceError::invalid("input_size", self.input_size, &expected));
        }
        Ok(())
    }

    /// Initializes a [`Backbone`] on `device`.
    pub fn init(&self, device: &Device) -> Backbone {
        let mut channels_in = 3;
        let mut stages = Vec::with_capacity(self.filters.len());
        for (&filters, &convs) in self.filters.iter().zip(&self.convs_per_stage) {
            let blocks = (0..convs)
                .map(|index| {
                    let block_in = if index == 0 { channels_in } else { filters };
                    self.init_block(block_in, filters, device)
                })
                .collect();
            stages.push(Stage { blocks });
            channels_in = filters;
        }
        Backbone {
            stages,
            pool: MaxPool2dConfig::new([2, 2]).with_strides([2, 2]).init(),
            activation: self.activation,
        }
    }

    fn init_block(&self, channels_in: usize, channels_out: usize, device: &Device) -> ConvBlock {
        let conv = match self.conv {
            ConvKind::Regular => ConvLayer::Regular(
                Conv2dConfig::new([channels_in, channels_out], [3, 3])
                    .with_padding(PaddingConfig2d::Same)
                    .init(device),
            ),
            ConvKind::Separable => {
                ConvLayer::Separable(SeparableConv2dConfig::new(channels_in, channels_out).init(device))
            }
        };
        let norm = self
            .batch_norm
            .then(|| BatchNormConfig::new(channels_out).init(device));
        ConvBlock { conv, norm }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn huge_feature_map_is_invalid() {
        let wide = BackboneConfig::new(1024, vec![1000], vec![1], ConvKind::Separable);
        let error = wide.validate().expect_err("a 1024 x 1024 x 1000 feature map");
        assert!(error.to_string().contains("feature map"), "{error}");
    }

    #[test]
    fn too_many_stages_leave_no_side() {
        let deep = BackboneConfig::new(1024, vec![1; 70], vec![1; 70], ConvKind::Separable);
        assert_eq!(deep.output_shape(), [1, 0, 0]);
        assert!(deep.validate().is_err());
    }

    #[test]
    fn macs_follow_equations_four_and_five() {
        // One stage of one convolution, 4x4 input, 3 -> 8 channels.
        let regular = BackboneConfig::new(4, vec![8], vec![1], ConvKind::Regular);
        assert_eq!(regular.macs(), 16 * 9 * 3 * 8);
        let separable = BackboneConfig::new(4, vec![8], vec![1], ConvKind::Separable);
        assert_eq!(separable.macs(), 16 * 9 * 3 + 16 * 3 * 8);
        // A second stage runs at half the side: 2x2 pixels, 8 -> 8 channels.
        let two = BackboneConfig::new(4, vec![8, 8], vec![1, 1], ConvKind::Regular);
        assert_eq!(two.macs(), 16 * 9 * 3 * 8 + 4 * 9 * 8 * 8);
    }
}

/// Returns the kernel weights of one 3x3 convolution from `channels_in` to `channels_out`,
/// saturating.
fn conv_weights(kind: ConvKind, channels_in: u64, channels_out: u64) -> u64 {
    match kind {
        ConvKind::Regular => channels_in.saturating_mul(channels_out).saturating_mul(9),
        ConvKind::Separable => channels_in.saturating_mul(9).saturating_add(channels_in.saturating_mul(channels_out)),
    }
}

/// A regular or a depthwise separable convolution.
#[derive(Module, Debug)]
pub enum ConvLayer {
    /// A regular convolution.
    Regular(Conv2d),
    /// A depthwise separable convolution.
    Separable(SeparableConv2d),
}

impl ConvLayer {
    fn forward(&self, input: Tensor<4>) -> Tensor<4> {
        match self {
            ConvLayer::Regular(conv) => conv.forward(input),
            ConvLayer::Separable(conv) => conv.forward(input),
        }
    }
}

/// One convolution with its optional batch normalisation.
#[derive(Module, Debug)]
pub struct ConvBlock {
    /// The convolution.
    pub conv: ConvLayer,
    /// Batch normalisation after the convolution, if configured.
    pub norm: Option<BatchNorm>,
}

/// Convolutions that run at one resolution, before a pooling step.
#[derive(Module, Debug)]
pub struct Stage {
    /// The convolutions of this stage, in order.
    pub blocks: Vec<ConvBlock>,
}

/// Stages of convolutions, each followed by 2x2 max-pooling with stride 2.
#[derive(Module, Debug)]
pub struct Backbone {
    /// The stages, from the input side.
    pub stages: Vec<Stage>,
    /// The pooling applied after every stage.
    pub pool: MaxPool2d,
    /// The activation applied after every convolution.
    #[module(skip)]
    pub activation: Activation,
}

impl Backbone {
    /// Runs the convolution stages.
    ///
    /// # Shapes
    /// - input: `[batch, 3, size, size]`
    /// - output: `[batch, filters.last(), size / 2^stages, size / 2^stages]`
    pub fn forward(&self, input: Tensor<4>) -> Tensor<4> {
        let mut x = input;
        for stage in &self.stages {
            for block in &stage.blocks {
                x = block.conv.forward(x); // [batch, filters, h, w]
                if let Some(norm) = &block.norm {
                    x = norm.forward(x);
                }
                x = self.activation.forward(x);
            }
            x = self.pool.forward(x); // [batch, filters, h / 2, w / 2]
        }
        x
    }
}
