//! The networks: a single-face box detector and a face embedder, each in a regular- and a
//! depthwise-separable-convolution family.

pub mod backbone;
pub mod detector;
pub mod embedder;
pub mod separable;

pub use backbone::{Activation, Backbone, BackboneConfig, ConvKind};
pub use detector::{Detector, DetectorConfig, DetectorOutput};
pub use embedder::{Embedder, EmbedderConfig, Pooling, l2_normalize};
pub use separable::{SeparableConv2d, SeparableConv2dConfig};
