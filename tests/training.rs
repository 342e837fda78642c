//! Tiny training runs on real images: outputs, exact resume, overwrite protection, divergence,
//! and a training process killed with SIGKILL and resumed. Also the command line on damaged
//! weights files.

#![cfg(all(feature = "train", not(target_arch = "wasm32")))]

mod common;

#[cfg(unix)]
use std::os::unix::process::ExitStatusExt;
use std::path::{Path, PathBuf};
use std::process::Command;
use std::sync::Arc;
use std::time::{Duration, Instant};

use burn::prelude::*;
use sepface::augment::AugmentConfig;
use sepface::datasets::lfw;
use sepface::faces::{FaceSample, stored_crop};
use sepface::finetune::{FineTuneConfig, FineTuner};
use sepface::loss::TripletLossConfig;
use sepface::model::{BackboneConfig, ConvKind, Detector, DetectorConfig, EmbedderConfig};
use sepface::preprocess::center_box;
use sepface::train::data::cuhk_sources;
use sepface::train::detector::{DetectorTask, load_box_samples};
use sepface::train::embedder::{EmbedderData, EmbedderTask};
use sepface::train::history::History;
use sepface::train::runner::{self, RunSummary, TrainTask};
use sepface::train::{StopFlag, TrainEvent, TrainOptions};
use sepface::weights;

fn tiny_detector() -> DetectorConfig {
    let backbone = BackboneConfig::new(32, vec![4, 8], vec![1, 1], ConvKind::Separable).with_batch_norm(true);
    DetectorConfig::new(backbone, vec![8]).with_presence(true)
}

fn detector_task(data: &Path) -> DetectorTask {
    let sources = cuhk_sources(&data.join("cuhk-facepoint/trainImageList.txt")).expect("CUHK list");
    let (train, skipped) = load_box_samples(&sources[..24], 64);
    let (validation, _) = load_box_samples(&sources[24..32], 64);
    assert_eq!(skipped, 0);
    DetectorTask {
        config: tiny_detector(),
        train: Arc::new(train),
        validation: Arc::new(validation),
        augment: AugmentConfig::detector(),
        batch_size: 4,
        validation_batches: 2,
        negative_fraction: 0.25,
        presence_weight: 0.02,
        seed: 5,
    }
}

fn options(out: &Path, epochs: usize) -> TrainOptions {
    let mut options = TrainOptions::new(out, 4, 2);
    options.epochs = epochs;
    options.batches_per_epoch = 3;
    options.workers = 2;
    options.patience = 100;
    options
}

fn run<T: TrainTask>(task: &T, options: &TrainOptions) -> (sepface::Result<RunSummary>, Vec<TrainEvent>) {
    let mut events = Vec::new();
    let result = runner::run(task, options, &Device::flex(), &mut |event| events.push(event.clone()), &StopFlag::default());
    (result, events)
}

#[test]
fn detector_run_writes_weights_metrics_and_checkpoint() {
    let Some(data) = common::data_dir("detector_run_writes_weights_metrics_and_checkpoint") else { return };
    let folder = tempfile::tempdir().expect("temporary folder");
    let (summary, events) = run(&detector_task(&data), &options(folder.path(), 2));
    let summary = summary.expect("training run");
    assert_eq!(summary.history.epochs.len(), 2);
    assert!(summary.history.epochs.iter().all(|r| r.validation_loss.is_finite() && r.metrics.contains_key("mean_iou")));
    for file in ["best.bpk", "metrics.csv", "metrics.json", "checkpoint/latest.json"] {
        assert!(folder.path().join(file).is_file(), "{file} missing");
    }
    let csv = std::fs::read_to_string(folder.path().join("metrics.csv")).expect("csv");
    assert_eq!(csv.lines().count(), 3, "{csv}");
    assert_eq!(events.iter().filter(|e| matches!(e, TrainEvent::Batch { .. })).count(), 6);
    assert!(matches!(events.last(), Some(TrainEvent::Finished { .. })));
}

#[test]
fn resumed_run_matches_uninterrupted_run() {
    let Some(data) = common::data_dir("resumed_run_matches_uninterrupted_run") else { return };
    let task = detector_task(&data);
    let straight = tempfile::tempdir().expect("temporary folder");
    let (full, _) = run(&task, &options(straight.path(), 3));
    let full = full.expect("uninterrupted run");

    let resumed = tempfile::tempdir().expect("temporary folder");
    run(&task, &options(resumed.path(), 1)).0.expect("first epoch");
    let mut again = options(resumed.path(), 3);
    again.resume = true;
    let (second, _) = run(&task, &again);
    let second = second.expect("resumed run");
    assert_eq!(second.history.epochs.len(), 3);
    for (a, b) in full.history.epochs.iter().zip(&second.history.epochs) {
        assert_eq!(a.train_loss, b.train_loss, "epoch {} training loss", a.epoch);
        assert_eq!(a.validation_loss, b.validation_loss, "epoch {} validation loss", a.epoch);
    }
}

#[test]
fn earlier_run_is_not_overwritten_without_force() {
    let Some(data) = common::data_dir("earlier_run_is_not_overwritten_without_force") else { return };
    let task = detector_task(&data);
    let folder = tempfile::tempdir().expect("temporary folder");
    run(&task, &options(folder.path(), 1)).0.expect("first run");
    let before = std::fs::read(folder.path().join("best.bpk")).expect("best weights");
    let error = run(&task, &options(folder.path(), 1)).0.expect_err("second run without --force");
    assert!(error.to_string().contains("--force"), "{error}");
    assert_eq!(std::fs::read(folder.path().join("best.bpk")).expect("best weights"), before);
    let mut forced = options(folder.path(), 1);
    forced.force = true;
    run(&task, &forced).0.expect("forced run");
}

#[test]
fn diverging_loss_stops_with_a_clear_message() {
    let Some(data) = common::data_dir("diverging_loss_stops_with_a_clear_message") else { return };
    let folder = tempfile::tempdir().expect("temporary folder");
    let mut options = options(folder.path(), 3);
    options.learning_rate = 1e35;
    let error = run(&detector_task(&data), &options).0.expect_err("the loss must blow up");
    assert!(error.to_string().contains("--learning-rate"), "{error}");
}

#[test]
fn unwritable_output_folder_is_an_error() {
    let Some(data) = common::data_dir("unwritable_output_folder_is_an_error") else { return };
    let folder = tempfile::tempdir().expect("temporary folder");
    let file = folder.path().join("not-a-folder");
    std::fs::write(&file, b"x").expect("file");
    let error = run(&detector_task(&data), &options(&file.join("run"), 1)).0.expect_err("folder inside a file");
    assert!(error.to_string().contains("not-a-folder"), "{error}");
}

fn lfw_faces(data: &Path, people: &[&str], size: u32) -> Vec<FaceSample> {
    let images = lfw::image_root(&data.join("lfw"));
    let mut samples = Vec::new();
    for (identity, person) in people.iter().enumerate() {
        let mut files: Vec<PathBuf> = std::fs::read_dir(images.join(person)).expect("person folder").map(|e| e.expect("entry").path()).collect();
        files.sort();
        for file in files.iter().take(4) {
            let image = common::load_image(&images, file.strip_prefix(&images).expect("inside").to_str().expect("utf-8"));
            let face = center_box(image.width(), image.height(), 0.5);
            samples.push(FaceSample {
                crop: stored_crop(&image, &face, 0.1, size).expect("crop"),
                identity,
            });
        }
    }
    samples
}

#[test]
fn embedder_run_reports_triplet_metrics() {
    let Some(data) = common::data_dir("embedder_run_reports_triplet_metrics") else { return };
    let backbone = BackboneConfig::new(32, vec![8, 16], vec![1, 1], ConvKind::Separable).with_batch_norm(true);
    let config = EmbedderConfig::new(backbone, vec![]).with_embedding_dim(Some(16));
    let train = lfw_faces(&data, &["George_W_Bush", "Colin_Powell", "Tony_Blair", "Donald_Rumsfeld"], 40);
    let validation = lfw_faces(&data, &["Gerhard_Schroeder", "Ariel_Sharon"], 40);
    let data = EmbedderData {
        train,
        validation,
        identities_per_batch: 2,
        images_per_identity: 3,
    };
    let loss = TripletLossConfig::new().with_margin(0.5).init();
    let task = EmbedderTask::new(config, data, loss, 2, AugmentConfig::embedder(), 0.1, 3).expect("task");
    let folder = tempfile::tempdir().expect("temporary folder");
    let mut options = options(folder.path(), 2);
    options.batch_size = 6;
    let summary = run(&task, &options).0.expect("embedder run");
    let epochs = &summary.history.epochs;
    assert_eq!(epochs.len(), 2);
    for name in ["easy", "semi_hard", "hard", "pair_accuracy"] {
        assert!(epochs[1].metrics.contains_key(name), "{name} missing");
    }
    let weights: sepface::weights::Weights<sepface::model::Embedder> =
        sepface::weights::load_file(&folder.path().join("best.bpk"), &Device::flex()).expect("best weights");
    assert!(weights.info.threshold.is_some(), "the fitted threshold is stored");
}

fn cli(arguments: &[&str]) -> Command {
    let mut command = Command::new(env!("CARGO_BIN_EXE_sepface"));
    command.args(arguments).env("RUST_LOG", "warn");
    command
}

/// Waits until the run folder's checkpoint names `epoch`.
fn wait_for_checkpoint(out: &Path, epoch: usize, limit: Duration) -> bool {
    let started = Instant::now();
    let wanted = format!("epoch-{epoch:05}");
    while started.elapsed() < limit {
        if std::fs::read_to_string(out.join("checkpoint/latest.json")).is_ok_and(|text| text.contains(&wanted)) {
            return true;
        }
        std::thread::sleep(Duration::from_millis(20));
    }
    false
}

#[test]
fn cli_names_a_damaged_weights_file() {
    let Some(data) = common::data_dir("cli_names_a_damaged_weights_file") else { return };
    let folder = tempfile::tempdir().expect("temporary folder");
    let shipped = std::fs::read(Path::new(env!("CARGO_MANIFEST_DIR")).join("models/detector.bpk")).expect("shipped detector");
    let mut flipped = shipped.clone();
    let last = flipped.len() - 5;
    flipped[last] ^= 0x40;
    let embedder = std::fs::read(Path::new(env!("CARGO_MANIFEST_DIR")).join("models/embedder.bpk")).expect("shipped embedder");
    let cases = [("cut.bpk", shipped[..shipped.len() / 2].to_vec(), "truncated"), ("flipped.bpk", flipped, "checksum mismatch"), ("swapped.bpk", embedder, "holds embedder weights")];
    let photo = data.join("lfw/lfw-deepfunneled/George_W_Bush/George_W_Bush_0007.jpg");
    for (name, bytes, problem) in cases {
        let path = folder.path().join(name);
        std::fs::write(&path, bytes).expect("damaged copy");
        let output = cli(&["detect", "--detector", path.to_str().expect("utf-8 path"), photo.to_str().expect("utf-8 path")]).output().expect("sepface detect");
        let stderr = String::from_utf8_lossy(&output.stderr);
        assert!(!output.status.success(), "{name}: accepted");
        assert!(stderr.contains(name), "{name}: {stderr}");
        assert!(stderr.contains(problem), "{name}: {stderr}");
    }
}

#[cfg(unix)]
#[test]
fn killed_training_process_resumes_to_the_same_metrics() {
    let Some(data) = common::data_dir("killed_training_process_resumes_to_the_same_metrics") else { return };
    // A small CUHK list keeps the run short.
    let folder = tempfile::tempdir().expect("temporary folder");
    let list: String = std::fs::read_to_string(data.join("cuhk-facepoint/trainImageList.txt")).expect("list").lines().take(40).map(|l| format!("{l}\n")).collect();
    let cuhk = folder.path().join("cuhk");
    std::fs::create_dir(&cuhk).expect("folder");
    std::fs::write(cuhk.join("trainImageList.txt"), list).expect("list");
    std::os::unix::fs::symlink(data.join("cuhk-facepoint/net_7876"), cuhk.join("net_7876")).expect("link to the images");
    let cuhk = cuhk.to_str().expect("utf-8 path");
    let run = |out: &Path, extra: &[&str]| {
        let out = out.to_str().expect("utf-8 path");
        let mut arguments = vec!["train", "detector", "--cuhk", cuhk, "--out", out, "--epochs", "3", "--batches-per-epoch", "6", "--validation-batches", "2", "--batch-size", "4", "--workers", "2"];
        arguments.extend_from_slice(extra);
        cli(&arguments)
    };

    let straight = folder.path().join("straight");
    let status = run(&straight, &[]).status().expect("uninterrupted run");
    assert!(status.success());

    let killed = folder.path().join("killed");
    let mut child = run(&killed, &[]).spawn().expect("run to kill");
    assert!(wait_for_checkpoint(&killed, 1, Duration::from_secs(300)), "no checkpoint after epoch 1");
    std::thread::sleep(Duration::from_millis(150));
    child.kill().expect("SIGKILL");
    let killed_status = child.wait().expect("killed run");
    assert_eq!(killed_status.signal(), Some(9), "the run ended before the kill: {killed_status}");
    // Killed during epoch 2: the latest checkpoint is still epoch 1's.
    let latest = std::fs::read_to_string(killed.join("checkpoint/latest.json")).expect("latest checkpoint");
    assert!(latest.contains("epoch-00001"), "the kill came after epoch 2 ended: {latest}");
    let status = run(&killed, &["--resume"]).status().expect("resumed run");
    assert!(status.success());

    let expected = History::load(&straight).expect("metrics");
    let actual = History::load(&killed).expect("metrics");
    assert_eq!(actual.epochs.len(), 3);
    for (a, b) in expected.epochs.iter().zip(&actual.epochs) {
        assert_eq!(a.train_loss, b.train_loss, "epoch {}", a.epoch);
        assert_eq!(a.validation_loss, b.validation_loss, "epoch {}", a.epoch);
        assert_eq!(a.metrics.get("mean_iou"), b.metrics.get("mean_iou"), "epoch {}", a.epoch);
    }
    let best = |out: &Path| weights::load_file::<Detector>(&out.join("best.bpk"), &Device::flex()).expect("best weights").model;
    let (expected, actual) = (best(&straight), best(&killed));
    assert_eq!(expected.output.weight.val().into_data(), actual.output.weight.val().into_data());
}

#[test]
fn fine_tuning_leaves_out_people_with_few_photos() {
    let Some(data) = common::data_dir("fine_tuning_leaves_out_people_with_few_photos") else { return };
    let device = Device::flex();
    let backbone = BackboneConfig::new(32, vec![8, 16], vec![1, 1], ConvKind::Separable).with_batch_norm(true);
    let config = EmbedderConfig::new(backbone, vec![]).with_embedding_dim(Some(16));
    let embedder = config.init(&device);
    let settings = FineTuneConfig {
        identities_per_batch: 4,
        images_per_identity: 3,
        ..FineTuneConfig::default()
    };
    // Two people with 4 photos each and a third with 1: the third is left out.
    let mut samples = lfw_faces(&data, &["George_W_Bush", "Colin_Powell", "Tony_Blair"], 40);
    samples.truncate(9);
    let tuner = FineTuner::new(&embedder, &config, samples.clone(), 0.1, settings.clone(), &device);
    assert!(tuner.is_ok(), "{:?}", tuner.err());

    // With the second person down to 1 photo, only one person has enough.
    samples.drain(5..8);
    let Err(error) = FineTuner::new(&embedder, &config, samples, 0.1, settings, &device) else {
        panic!("fine-tuning started with only one person who has 3 photos");
    };
    assert!(error.to_string().contains("6 photos of 3 people, of whom 1 have 3 or more"), "{error}");
}
