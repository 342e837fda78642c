//! Optimizers missing from burn.

pub mod adamax;

pub use adamax::{Adamax, AdamaxConfig, AdamaxState};
