//! Depthwise separable 2-D convolution (Sifre & Mallat 2014; MobileNets, Howard et al. 2017).

use burn::nn::PaddingConfig2d;
use burn::nn::conv::{Conv2d, Conv2dConfig};
use burn::prelude::*;

/// Configuration of a [`SeparableConv2d`].
#[derive(Config, Debug)]
pub struct SeparableConv2dConfig {
    /// Number of input channels.
    pub channels_in: usize,
    /// Number of output channels (filters of the pointwise step).
    pub channels_out: usize,
    /// Side of the square depthwise kernel.
    #[config(default = 3)]
    pub kernel_size: usize,
    /// Stride of the depthwise step.
    #[config(default = 1)]
    pub stride: usize,
}

/// A depthwise convolution (one `k x k` filter per input channel, no bias) followed by a
/// pointwise `1 x 1` convolution with bias.
///
/// Its weight count is `channels_in * k * k + channels_in * channels_out + channels_out`:
/// 283 for 3 -> 64 channels with `k = 3`, which is the first row of the paper's Table 2.
/// Padding keeps the spatial size at stride 1 ("same" padding).
#[derive(Module, Debug)]
pub struct SeparableConv2d {
    /// The per-channel spatial filter, `[channels_in, 1, k, k]`.
    pub depthwise: Conv2d,
    /// The channel-mixing filter, `[channels_out, channels_in, 1, 1]`.
    pub pointwise: Conv2d,
}

impl SeparableConv2dConfig {
    /// Initializes a [`SeparableConv2d`] on `device`.
    pub fn init(&self, device: &Device) -> SeparableConv2d {
        let depthwise = Conv2dConfig::new(
            [self.channels_in, self.channels_in],
            [self.kernel_size, self.kernel_size],
        )
        .with_groups(self.channels_in)
        .with_stride([self.stride, self.stride])
        .with_padding(PaddingConfig2d::Same)
        .with_bias(false)
        .init(device);
        let pointwise = Conv2dConfig::new([self.channels_in, self.channels_out], [1, 1]).init(device);
        SeparableConv2d {
            depthwise,
            pointwise,
        }
    }
}

impl SeparableConv2d {
    /// Applies the depthwise then the pointwise convolution.
    ///
    /// # Shapes
    /// - input: `[batch, channels_in, height, width]`
    /// - output: `[batch, channels_out, height / stride, width / stride]`
    pub fn forward(&self, input: Tensor<4>) -> Tensor<4> {
        let x = self.depthwise.forward(input); // [batch, channels_in, h, w]
        self.pointwise.forward(x) // [batch, channels_out, h, w]
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn weight_count_matches_equation_two_plus_bias() {
        let device = Device::flex();
        let cases = [(3, 64, 283), (64, 64, 4736), (64, 128, 8896), (256, 512, 133_888)];
        for (channels_in, channels_out, expected) in cases {
            let conv = SeparableConv2dConfig::new(channels_in, channels_out).init(&device);
            assert_eq!(conv.num_params(), expected, "{channels_in} -> {channels_out}");
        }
    }

    #[test]
    fn keeps_spatial_size_at_stride_one() {
        let device = Device::flex();
        let conv = SeparableConv2dConfig::new(3, 8).init(&device);
        let output = conv.forward(Tensor::zeros([2, 3, 17, 11], &device));
        assert_eq!(output.dims(), [2, 8, 17, 11]);
    }

    #[test]
    fn equals_dense_convolution_with_factored_kernel() {
        // A separable convolution is a regular convolution whose kernel is the product of the
        // depthwise and pointwise kernels; check that identity numerically.
        let device = Device::flex();
        let conv = SeparableConv2dConfig::new(2, 3).init(&device);
        let input = Tensor::<4>::random([1, 2, 5, 5], burn::tensor::Distribution::Default, &device);
        let separable = conv.forward(input.clone());

        let depthwise = conv.depthwise.weight.val(); // [2, 1, 3, 3]
        let pointwise = conv.pointwise.weight.val(); // [3, 2, 1, 1]
        let dense_kernel = pointwise.reshape([3, 2, 1, 1]) * depthwise.reshape([1, 2, 3, 3]);
        let bias = conv.pointwise.bias.as_ref().map(|bias| bias.val());
        let dense = burn::tensor::module::conv2d(
            input,
            dense_kernel,
            bias,
            burn::tensor::ops::ConvOptions::new([1, 1], [1, 1], [1, 1], 1),
        );
        let difference = (separable - dense).abs().max().into_scalar::<f32>();
        assert!(difference < 1e-5, "max difference {difference}");
    }
}
