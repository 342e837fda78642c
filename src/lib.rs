//! sepface: face detection and verification with depthwise separable convolutions and the
//! triplet loss, after E. S. C. de Souza, "Face Verification with Depthwise Separable
//! Convolutions and the Triplet Loss" (Universidade de São Paulo).
//!
//! The same code runs natively (burn's `flex` CPU backend, or `wgpu`/`cuda` with the features of
//! those names) and in the browser (WebGPU, falling back to `flex` on wasm).
//!
//! - [`model`]: the detector and embedder networks, regular and separable.
//! - [`loss`]: distances and the triplet loss with online semi-hard, batch-hard and batch-all
//!   mining.
//! - [`optim`]: the Adamax optimizer.
//! - [`metrics`]: box and verification metrics.
//! - [`boxes`]: normalised face boxes.
//! - [`augment`], [`faces`]: augmentation and face crops for training, shared by the native
//!   trainer and in-browser fine-tuning.
//! - [`datasets`]: readers for CelebA, CUHK CNN_FacePoint, LFW and folders of photos.
//! - [`preprocess`]: decoding, cropping and resizing images into tensors.
//! - [`weights`]: weights files with their architecture, settings and checksum.
//! - [`sampler`]: P x K identity batches for the triplet loss.
//! - [`verify`]: the detect, crop, embed and compare pipeline.
//! - [`finetune`]: short triplet-loss fine-tuning runs, as the web app runs them.
//! - [`heap`]: a counting allocator, installed in the browser build.
//! - `train` (feature `train`): native training, evaluation and reports.
//! - `web` (wasm32 only): the browser API.

pub mod augment;
pub mod boxes;
pub mod datasets;
pub mod error;
pub mod faces;
pub mod finetune;
pub mod heap;
pub mod loss;
pub mod metrics;
pub mod model;
pub mod optim;
pub mod preprocess;
pub mod sampler;
#[cfg(feature = "train")]
pub mod train;
pub mod verify;
#[cfg(target_arch = "wasm32")]
pub mod web;
pub mod weights;

pub use error::{Result, SepfaceError};

/// The browser build counts its heap bytes, for the long-run memory checks.
#[cfg(target_arch = "wasm32")]
#[global_allocator]
static ALLOCATOR: heap::CountingAllocator = heap::CountingAllocator;

pub use boxes::FaceBox;
pub use verify::{Enrollment, FaceDetection, Verification, Verifier, VerifySettings};
