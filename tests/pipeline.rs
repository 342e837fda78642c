//! The verify pipeline on real photos, with randomly initialised embedder weights and a
//! detector fixed to a central box, so the test does not depend on trained weights.

#![cfg(not(target_arch = "wasm32"))]

mod common;

use burn::module::Param;
use burn::prelude::*;
use pollster::block_on;
use sepface::model::{BackboneConfig, ConvKind, Detector, DetectorConfig, EmbedderConfig};
use sepface::weights::{Weights, WeightsInfo};
use sepface::{SepfaceError, Verifier, VerifySettings};

const SAME_A: &str = "lfw/lfw-deepfunneled/George_W_Bush/George_W_Bush_0007.jpg";
const OTHER: &str = "lfw/lfw-deepfunneled/Colin_Powell/Colin_Powell_0038.jpg";

/// Makes the detector output a constant box `edges` with presence probability `presence`.
fn constant_detector(edges: [f32; 4], presence: f32, device: &Device) -> Weights<Detector> {
    let config = DetectorConfig::web();
    let mut model = config.init(device);
    let logit = |p: f32| (p / (1.0 - p)).ln();
    let bias = [logit(edges[0]), logit(edges[1]), logit(edges[2]), logit(edges[3]), logit(presence)];
    model.output.weight = Param::from_tensor(model.output.weight.val().zeros_like());
    model.output.bias = Some(Param::from_tensor(Tensor::from_floats(bias, device)));
    Weights {
        model,
        config,
        info: WeightsInfo::default(),
        checksum: "constant-detector".into(),
    }
}

fn verifier(edges: [f32; 4], presence: f32) -> Verifier {
    let device = Device::flex();
    // A shallow random embedder: deep random networks map every input to nearly one vector.
    let backbone = BackboneConfig::new(32, vec![8, 16], vec![1, 1], ConvKind::Separable);
    let embedder_config = EmbedderConfig::new(backbone, vec![]).with_embedding_dim(Some(16));
    let embedder = Weights {
        model: embedder_config.init(&device),
        config: embedder_config,
        info: WeightsInfo::default(),
        checksum: "random-embedder".into(),
    };
    let mut verifier = Verifier::new(constant_detector(edges, presence, &device), embedder, &device);
    verifier.set_settings(VerifySettings {
        threshold: 1e-3,
        min_sharpness: 0.0,
        ..*verifier.settings()
    });
    verifier
}

#[test]
fn enroll_then_verify_real_photos() {
    let Some(data) = common::data_dir("enroll_then_verify_real_photos") else { return };
    let (photo, other) = (common::load_image(&data, SAME_A), common::load_image(&data, OTHER));
    let verifier = verifier([0.25, 0.2, 0.75, 0.85], 0.99);

    let enrollment = block_on(verifier.enroll(&[(SAME_A, &photo)])).expect("enrollment");
    assert_eq!(enrollment.embedding.len(), 16);
    let norm: f32 = enrollment.embedding.iter().map(|v| v * v).sum::<f32>().sqrt();
    assert!((norm - 1.0).abs() < 1e-4, "norm {norm}");

    let same = block_on(verifier.verify(&enrollment, &photo, SAME_A)).expect("verification");
    assert!(same.distance < 1e-5, "distance of a photo to itself: {}", same.distance);
    assert!(same.is_match);
    assert!((same.face_box.left - 0.25).abs() < 1e-4, "{:?}", same.face_box);

    let different = block_on(verifier.verify(&enrollment, &other, OTHER)).expect("verification");
    assert!(different.distance > 1e-3, "distance between two people: {}", different.distance);
    assert!(!different.is_match);
}

#[test]
fn averaged_enrollment_is_unit_length() {
    let Some(data) = common::data_dir("averaged_enrollment_is_unit_length") else { return };
    let photos = [common::load_image(&data, SAME_A), common::load_image(&data, OTHER)];
    let verifier = verifier([0.25, 0.2, 0.75, 0.85], 0.99);
    let enrollment = block_on(verifier.enroll(&[(SAME_A, &photos[0]), (OTHER, &photos[1])])).expect("enrollment");
    assert_eq!(enrollment.photos, 2);
    let norm: f32 = enrollment.embedding.iter().map(|v| v * v).sum::<f32>().sqrt();
    assert!((norm - 1.0).abs() < 1e-4, "norm {norm}");
}

#[test]
fn collapsed_box_is_no_face() {
    let Some(data) = common::data_dir("collapsed_box_is_no_face") else { return };
    let photo = common::load_image(&data, SAME_A);
    let verifier = verifier([0.6, 0.2, 0.4, 0.8], 0.99);
    let error = block_on(verifier.detect(&photo, SAME_A)).expect_err("inverted box");
    assert!(matches!(error, SepfaceError::NoFace { .. }), "{error}");
    assert!(error.to_string().contains(SAME_A), "{error}");
}

#[test]
fn low_presence_and_tiny_faces_are_no_face() {
    let Some(data) = common::data_dir("low_presence_and_tiny_faces_are_no_face") else { return };
    let photo = common::load_image(&data, SAME_A);
    let absent = verifier([0.25, 0.2, 0.75, 0.85], 0.05);
    let error = block_on(absent.detect(&photo, SAME_A)).expect_err("no face");
    assert!(error.to_string().contains("probability"), "{error}");

    let tiny = verifier([0.5, 0.5, 0.55, 0.55], 0.99);
    let error = block_on(tiny.detect(&photo, SAME_A)).expect_err("tiny face");
    assert!(error.to_string().contains("smaller than"), "{error}");
}

#[test]
fn enrollment_from_other_weights_is_rejected() {
    let Some(data) = common::data_dir("enrollment_from_other_weights_is_rejected") else { return };
    let photo = common::load_image(&data, SAME_A);
    let verifier = verifier([0.25, 0.2, 0.75, 0.85], 0.99);
    let mut enrollment = block_on(verifier.enroll(&[(SAME_A, &photo)])).expect("enrollment");
    enrollment.embedder = "another-embedder".into();
    let error = block_on(verifier.verify(&enrollment, &photo, SAME_A)).expect_err("stale enrollment");
    assert!(error.to_string().contains("enroll again"), "{error}");
    assert!(block_on(verifier.enroll(&[])).is_err());
}
