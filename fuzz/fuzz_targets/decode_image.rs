//! Decoding and preprocessing of arbitrary bytes: decode, crop a box, resize into a tensor.

#![no_main]

use burn::prelude::Device;
use libfuzzer_sys::fuzz_target;
use sepface::FaceBox;
use sepface::preprocess::{Resize, check_image, crop_face, decode_image, images_to_tensor, sharpness};

/// Largest image decoded here, in pixels. Inputs whose headers claim more are only checked:
/// a few small JPEGs that decode to 2.6 to 16 megapixels took most of the fuzzing time, and the
/// decoders run the same code on fewer pixels.
const FUZZ_MAX_PIXELS: u64 = 4_000_000;

/// Largest decoded image that also goes through sharpness, cropping and resizing. Their loops
/// run the same code on any size, and on larger images they took more time than decoding.
const FUZZ_MAX_PREPROCESSED_PIXELS: u64 = 65_536;

fuzz_target!(|data: &[u8]| {
    match check_image(data, "fuzz") {
        Ok((width, height)) if u64::from(width) * u64::from(height) <= FUZZ_MAX_PIXELS => {}
        _ => return,
    }
    let Ok(image) = decode_image(data, "fuzz") else { return };
    if u64::from(image.width()) * u64::from(image.height()) > FUZZ_MAX_PREPROCESSED_PIXELS {
        return;
    }
    let _ = sharpness(&image);
    let face = FaceBox::new(0.2, 0.2, 0.8, 0.8);
    if let Ok(crop) = crop_face(&image, &face, 0.1) {
        let _ = images_to_tensor(&[&crop], 16, Resize::Bicubic, &Device::flex());
    }
});
