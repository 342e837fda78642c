//! Subcommands of the `sepface` binary.

pub mod inference;
#[cfg(feature = "train")]
pub mod eval;
#[cfg(feature = "train")]
pub mod progress;
#[cfg(feature = "train")]
pub mod sweep;
#[cfg(feature = "train")]
pub mod train;

use anyhow::{Result, bail};
use burn::prelude::*;

/// Returns the device of the backend named on the command line.
pub fn device(backend: &str) -> Result<Device> {
    match backend {
        "flex" => Ok(Device::flex()),
        #[cfg(feature = "wgpu")]
        "wgpu" => Ok(Device::wgpu_options().init()?),
        #[cfg(feature = "cuda")]
        "cuda" => Ok(Device::cuda(0)),
        "wgpu" | "cuda" => bail!("backend {backend:?} is not built in; rebuild with `--features {backend}`"),
        other => bail!("unknown backend {other:?}; use flex, wgpu or cuda"),
    }
}
