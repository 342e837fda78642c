//! Distances, the triplet loss, and the large-margin cosine loss for pre-training.

pub mod cosface;
pub mod distance;
pub mod triplet;

pub use distance::Distance;
pub use triplet::{Mining, TripletLoss, TripletLossConfig, TripletOutput, TripletStats};
