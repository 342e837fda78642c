//! `sepface verify` and `sepface detect`.

use std::path::{Path, PathBuf};

use anyhow::{Context, Result};
use burn::prelude::*;
use clap::Args;
use image::{Rgb, RgbImage};
use pollster::block_on;
use sepface::model::{Detector, Embedder};
use sepface::preprocess::decode_image;
use sepface::weights::{self, Weights};
use sepface::{FaceBox, Verifier};

/// Arguments of `sepface verify`.
#[derive(Args, Debug)]
pub struct VerifyArgs {
    /// Photo of the first person.
    pub first: PathBuf,
    /// Photo of the second person.
    pub second: PathBuf,
    /// Detector weights file.
    #[arg(long, default_value = "models/detector.bpk")]
    pub detector: PathBuf,
    /// Embedder weights file.
    #[arg(long, default_value = "models/embedder.bpk")]
    pub embedder: PathBuf,
    /// Distance threshold (same person below it); defaults to the one stored with the embedder.
    #[arg(long)]
    pub threshold: Option<f32>,
}

/// Arguments of `sepface detect`.
#[derive(Args, Debug)]
pub struct DetectArgs {
    /// Photo to search.
    pub image: PathBuf,
    /// Detector weights file.
    #[arg(long, default_value = "models/detector.bpk")]
    pub detector: PathBuf,
    /// Write a copy of the photo with the box drawn on it to this PNG file.
    #[arg(long)]
    pub annotate: Option<PathBuf>,
}

/// Reads and decodes an image file.
pub fn read_image(path: &Path) -> Result<RgbImage> {
    let bytes = std::fs::read(path).with_context(|| format!("could not read {}", path.display()))?;
    Ok(decode_image(&bytes, &path.display().to_string())?)
}

fn load_verifier(detector: &Path, embedder: &Path, device: &Device) -> Result<Verifier> {
    let detector: Weights<Detector> = weights::load_file(detector, device)?;
    let embedder: Weights<Embedder> = weights::load_file(embedder, device)?;
    Ok(Verifier::new(detector, embedder, device))
}

/// Runs `sepface verify`.
pub fn verify(args: VerifyArgs, device: &Device) -> Result<()> {
    let mut verifier = load_verifier(&args.detector, &args.embedder, device)?;
    if let Some(threshold) = args.threshold {
        let settings = sepface::VerifySettings {
            threshold,
            ..*verifier.settings()
        };
        verifier.set_settings(settings);
    }
    let first_name = args.first.display().to_string();
    let second_name = args.second.display().to_string();
    let first = read_image(&args.first)?;
    let enrollment = block_on(verifier.enroll(&[(first_name.as_str(), &first)]))?;
    let second = read_image(&args.second)?;
    let result = block_on(verifier.verify(&enrollment, &second, &second_name))?;
    println!("distance:  {:.4}", result.distance);
    println!("threshold: {:.4}", result.threshold);
    let verdict = if result.is_match { "same person" } else { "different people" };
    println!("verdict:   {verdict}");
    Ok(())
}

/// Runs `sepface detect`.
pub fn detect(args: DetectArgs, device: &Device) -> Result<()> {
    let detector: Weights<Detector> = weights::load_file(&args.detector, device)?;
    let size = detector.config.input_size();
    let model = detector.model.valid();
    let image = read_image(&args.image)?;
    let input = sepface::preprocess::images_to_tensor(&[&image], size, sepface::preprocess::Resize::Bilinear, device)?;
    let output = model.forward(input);
    let edges = block_on(sepface::verify::read_floats(output.boxes, "boxes"))?;
    let face = FaceBox::from_edges([edges[0], edges[1], edges[2], edges[3]]);
    let (x, y, width, height) = face.to_pixel_rect(image.width(), image.height());
    println!("box (pixels): left {x}, top {y}, width {width}, height {height}");
    println!("box (normalised): left {:.4}, top {:.4}, right {:.4}, bottom {:.4}", face.left, face.top, face.right, face.bottom);
    if let Some(logit) = output.presence {
        let probability = block_on(sepface::verify::read_floats(burn::tensor::activation::sigmoid(logit), "presence"))?[0];
        println!("face probability: {probability:.3}");
    }
    if let Some(path) = args.annotate {
        let annotated = draw_box(&image, &face, Rgb([0, 255, 0]));
        annotated.save(&path).with_context(|| format!("could not write {}", path.display()))?;
        println!("annotated copy: {}", path.display());
    }
    Ok(())
}

/// Returns a copy of `image` with `face` outlined, 3 pixels wide.
pub fn draw_box(image: &RgbImage, face: &FaceBox, color: Rgb<u8>) -> RgbImage {
    let mut output = image.clone();
    let (x, y, width, height) = face.to_pixel_rect(image.width(), image.height());
    let (right, bottom) = ((x + width).min(image.width()), (y + height).min(image.height()));
    for thickness in 0..3u32 {
        for px in x..right {
            for py in [y + thickness, bottom.saturating_sub(1 + thickness)] {
                if py < image.height() {
                    output.put_pixel(px, py, color);
                }
            }
        }
        for py in y..bottom {
            for px in [x + thickness, right.saturating_sub(1 + thickness)] {
                if px < image.width() {
                    output.put_pixel(px, py, color);
                }
            }
        }
    }
    output
}

/// Arguments of `sepface export`.
#[derive(Args, Debug)]
pub struct ExportArgs {
    /// Weights file to read (detector or embedder).
    pub input: PathBuf,
    /// Weights file to write.
    pub output: PathBuf,
    /// Store the tensors as 16-bit floats (half the size).
    #[arg(long)]
    pub f16: bool,
    /// Embedder only: the distance threshold to store.
    #[arg(long)]
    pub threshold: Option<f32>,
    /// Text stored as the weights' provenance (command, data).
    #[arg(long)]
    pub provenance: Option<String>,
}

/// Runs `sepface export`: rewrites a weights file with another precision or settings.
pub fn export(args: ExportArgs, device: &Device) -> Result<()> {
    let bytes = std::fs::read(&args.input).with_context(|| format!("could not read {}", args.input.display()))?;
    let precision = if args.f16 { weights::Precision::F16 } else { weights::Precision::F32 };
    let network = weights::network_name(&bytes, &args.input.display().to_string())?;
    match network.as_str() {
        "detector" => {
            if args.threshold.is_some() {
                anyhow::bail!("--threshold applies to embedder weights, and {} holds a detector", args.input.display());
            }
            let mut loaded: Weights<Detector> = weights::load_file(&args.input, device)?;
            if let Some(provenance) = args.provenance {
                loaded.info.provenance = Some(provenance);
            }
            weights::save_file(&args.output, &loaded.model, &loaded.config, &loaded.info, precision)?;
        }
        _ => {
            let mut loaded: Weights<Embedder> = weights::load_file(&args.input, device)?;
            if let Some(threshold) = args.threshold {
                loaded.info.threshold = Some(threshold);
            }
            if let Some(provenance) = args.provenance {
                loaded.info.provenance = Some(provenance);
            }
            weights::save_file(&args.output, &loaded.model, &loaded.config, &loaded.info, precision)?;
        }
    }
    let size = std::fs::metadata(&args.output).map(|m| m.len()).unwrap_or(0);
    println!("wrote {} ({network}, {size} bytes)", args.output.display());
    Ok(())
}
