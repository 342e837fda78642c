//! Decoding and preprocessing of arbitrary bytes: decode, crop a box, resize into a tensor.

#![no_main]

use burn::prelude::Device;
use libfuzzer_sys::fuzz_target;
use sepface::FaceBox;
use sepface::preprocess::{Resize, crop_face, decode_image, images_to_tensor, sharpness};

fuzz_target!(|data: &[u8]| {
    let Ok(image) = decode_image(data, "fuzz") else { return };
    let _ = sharpness(&image);
    let face = FaceBox::new(0.2, 0.2, 0.8, 0.8);
    if let Ok(crop) = crop_face(&image, &face, 0.1) {
        let _ = images_to_tensor(&[&crop], 16, Resize::Bicubic, &Device::flex());
    }
});
