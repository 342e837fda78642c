//! Distances and the triplet loss.

pub mod distance;
pub mod triplet;

pub use distance::Distance;
pub use triplet::{Mining, TripletLoss, TripletLossConfig, TripletOutput, TripletStats};
