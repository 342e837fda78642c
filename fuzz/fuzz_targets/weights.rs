//! Loading arbitrary bytes as detector and embedder weights files.

#![no_main]

use burn::prelude::Device;
use libfuzzer_sys::fuzz_target;
use sepface::model::{Detector, Embedder};
use sepface::weights::{Weights, from_bytes};

fuzz_target!(|data: &[u8]| {
    let device = Device::flex();
    let _: Result<Weights<Detector>, _> = from_bytes(data, "fuzz.bpk", &device);
    let _: Result<Weights<Embedder>, _> = from_bytes(data, "fuzz.bpk", &device);
});
