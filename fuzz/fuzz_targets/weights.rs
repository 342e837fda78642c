//! Loading arbitrary bytes as detector and embedder weights files, first as they are, then
//! resealed with a matching checksum so that the config, settings and tensor checks run too.

#![no_main]

use burn::prelude::Device;
use libfuzzer_sys::fuzz_target;
use sepface::model::{Detector, Embedder};
use sepface::weights::{Weights, from_bytes, reseal};

fuzz_target!(|data: &[u8]| {
    let device = Device::flex();
    let _: Result<Weights<Detector>, _> = from_bytes(data, "fuzz.bpk", &device);
    let _: Result<Weights<Embedder>, _> = from_bytes(data, "fuzz.bpk", &device);
    // Most changed bytes only fail the checksum. A resealed file reaches everything after it.
    if let Ok(resealed) = reseal(data, "fuzz.bpk") {
        let _: Result<Weights<Detector>, _> = from_bytes(&resealed, "fuzz.bpk", &device);
        let _: Result<Weights<Embedder>, _> = from_bytes(&resealed, "fuzz.bpk", &device);
    }
});
