//! `sepface eval detector` and `sepface eval embedder`.

use std::path::{Path, PathBuf};

use anyhow::{Context, Result, bail};
use burn::prelude::*;
use clap::{Args, Subcommand};
use sepface::datasets::celeba::{Celeba, Partition};
use sepface::datasets::lfw;
use sepface::model::{Detector, Embedder};
use sepface::train::data::{celeba_box_sources, cuhk_sources};
use sepface::train::eval::{PairReport, PipelineEmbedder, evaluate_detector, evaluate_lfw, random_pairs, score_pairs, triplet_loss_stats};
use sepface::train::faces::BoxFinder;
use sepface::train::history::History;
use sepface::train::report::{CelebaPairs, EmbedderEvaluation, write_detector_report, write_embedder_report};
use sepface::metrics::fit_threshold;
use sepface::weights::{self, Weights};

/// Which network to evaluate.
#[derive(Subcommand, Debug)]
pub enum EvalCommand {
    /// Box metrics on the CUHK test list and the CelebA boxes.
    Detector(DetectorEvalArgs),
    /// CelebA pairs and LFW View 2 through the whole pipeline.
    Embedder(EmbedderEvalArgs),
    /// LFW View 2 with embeddings computed elsewhere (such as another library in a browser).
    Embeddings(EmbeddingsEvalArgs),
}

/// Arguments of `sepface eval embeddings`.
#[derive(Args, Debug)]
pub struct EmbeddingsEvalArgs {
    /// LFW folder with pairs.txt.
    #[arg(long)]
    pub lfw: PathBuf,
    /// JSON files mapping image paths relative to the LFW image folder (`Name/Name_0001.jpg`)
    /// to embedding vectors; one per method compared.
    #[arg(long, required = true)]
    pub embeddings: Vec<PathBuf>,
    /// Folder for report.md, report.json and the ROC plot.
    #[arg(long)]
    pub out: PathBuf,
}

/// Arguments of `sepface eval detector`.
#[derive(Args, Debug)]
pub struct DetectorEvalArgs {
    /// Detector weights file.
    #[arg(long, default_value = "models/detector.bpk")]
    pub weights: PathBuf,
    /// CUHK CNN_FacePoint folder; its testImageList.txt is evaluated.
    #[arg(long)]
    pub cuhk: Option<PathBuf>,
    /// CelebA folder; its images with ground-truth boxes are evaluated.
    #[arg(long)]
    pub celeba: Option<PathBuf>,
    /// metrics.json of the training run, for the loss and IoU curves.
    #[arg(long)]
    pub history: Option<PathBuf>,
    /// Images per forward pass.
    #[arg(long, default_value_t = 32)]
    pub batch_size: usize,
    /// Folder for report.md, report.json and the plots.
    #[arg(long)]
    pub out: PathBuf,
}

/// Arguments of `sepface eval embedder`.
#[derive(Args, Debug)]
pub struct EmbedderEvalArgs {
    /// Embedder weights file.
    #[arg(long, default_value = "models/embedder.bpk")]
    pub weights: PathBuf,
    /// Detector weights file, for the pipeline.
    #[arg(long, default_value = "models/detector.bpk")]
    pub detector: PathBuf,
    /// CelebA folder; pairs are drawn from its test partition.
    #[arg(long)]
    pub celeba: Option<PathBuf>,
    /// LFW folder with pairs.txt and pairsDevTrain.txt.
    #[arg(long)]
    pub lfw: Option<PathBuf>,
    /// Same-person pairs drawn from CelebA (as many different-people pairs are drawn too).
    #[arg(long, default_value_t = 3000)]
    pub pairs: usize,
    /// Margin of the triplet loss reported (in distance units).
    #[arg(long, default_value_t = 0.2)]
    pub margin: f32,
    /// metrics.json of the training run, for the loss curves.
    #[arg(long)]
    pub history: Option<PathBuf>,
    /// Folder for report.md, report.json and the plots.
    #[arg(long)]
    pub out: PathBuf,
}

/// Runs `sepface eval`.
pub fn run(command: EvalCommand, device: &Device) -> Result<()> {
    match command {
        EvalCommand::Detector(args) => eval_detector(args, device),
        EvalCommand::Embedder(args) => eval_embedder(args, device),
        EvalCommand::Embeddings(args) => eval_embeddings(args),
    }
}

fn load_history(path: Option<&Path>) -> Result<Option<History>> {
    let Some(path) = path else { return Ok(None) };
    let folder = path.parent().unwrap_or(Path::new("."));
    if path.file_name().is_some_and(|name| name != "metrics.json") {
        bail!("--history must name a run's metrics.json, not {}", path.display());
    }
    Ok(Some(History::load(folder)?))
}

fn eval_detector(args: DetectorEvalArgs, device: &Device) -> Result<()> {
    let detector: Weights<Detector> = weights::load_file(&args.weights, device)?;
    let model = detector.model.valid();
    let mut reports = Vec::new();
    if let Some(cuhk) = &args.cuhk {
        let sources = cuhk_sources(&cuhk.join("testImageList.txt"))?;
        log::info!("evaluating {} CUHK test images", sources.len());
        reports.push(evaluate_detector(&model, &detector.config, "CUHK test list", &sources, args.batch_size, device)?);
    }
    if let Some(root) = &args.celeba {
        let sources = celeba_box_sources(&Celeba::open(root)?);
        log::info!("evaluating {} CelebA images with boxes", sources.len());
        reports.push(evaluate_detector(&model, &detector.config, "CelebA ground-truth boxes", &sources, args.batch_size, device)?);
    }
    if reports.is_empty() {
        bail!("nothing to evaluate: pass --cuhk DIR and/or --celeba DIR");
    }
    for report in &reports {
        println!("{}: {} images, MSE {:.5}, MAE {:.5}, mean IoU {:.4}", report.dataset, report.images, report.metrics.mse, report.metrics.mae, report.metrics.mean_iou);
    }
    write_detector_report(&args.out, &args.weights.display().to_string(), &reports, load_history(args.history.as_deref())?.as_ref())?;
    println!("report: {}", args.out.join("report.md").display());
    Ok(())
}

fn celeba_pairs(pipeline: &PipelineEmbedder, root: &Path, args: &EmbedderEvalArgs, distance: sepface::loss::Distance) -> Result<CelebaPairs> {
    let celeba = Celeba::open(root)?;
    let images = &celeba.images;
    let groups = celeba.identities_with_more_than(5, Some(Partition::Test));
    let items: Vec<(PathBuf, usize)> = groups
        .iter()
        .flat_map(|(identity, indices)| indices.iter().map(move |&i| (images[i].path.clone(), *identity as usize)))
        .collect();
    let pairs = random_pairs(&items, args.pairs, 1);
    let paths: Vec<&Path> = items.iter().map(|(path, _)| path.as_path()).collect();
    log::info!("embedding {} CelebA test images of {} identities", paths.len(), groups.len());
    let embeddings = pipeline.embed_paths(&paths)?;
    let scored = score_pairs(&pairs, &embeddings, distance);
    let (threshold, _) = fit_threshold(&scored).context("no CelebA pairs could be scored: no test-partition image of an identity with more than 5 images was embedded. Check --celeba and that its images decode")?;
    let identities: Vec<Vec<&Vec<f32>>> = groups
        .values()
        .map(|indices| indices.iter().filter_map(|&i| embeddings.vectors.get(&images[i].path)).collect())
        .collect();
    let (triplet_loss_mean, triplet_loss_std) = triplet_loss_stats(&identities, distance, args.margin, 2 * args.pairs, 2);
    Ok(CelebaPairs {
        identities: format!("{} test identities with more than 5 images; faces cropped by the detector", groups.len()),
        pairs: PairReport::new(&scored, threshold, "fitted on these pairs, as the paper did", distance.max_value()),
        triplet_loss_mean,
        triplet_loss_std,
    })
}

fn eval_embedder(args: EmbedderEvalArgs, device: &Device) -> Result<()> {
    let embedder: Weights<Embedder> = weights::load_file(&args.weights, device)?;
    let detector: Weights<Detector> = weights::load_file(&args.detector, device)?;
    let (embedder_model, detector_model) = (embedder.model.valid(), detector.model.valid());
    let distance = embedder.info.distance.unwrap_or(sepface::loss::Distance::SquaredEuclidean);
    let crop_margin = embedder.info.crop_margin.unwrap_or(sepface::VerifySettings::default().crop_margin);
    let pipeline = |with_detector: bool| PipelineEmbedder {
        finder: with_detector.then(|| BoxFinder {
            model: &detector_model,
            config: &detector.config,
            device,
        }),
        embedder: &embedder_model,
        config: &embedder.config,
        crop_margin,
        device,
    };
    let celeba = args.celeba.as_deref().map(|root| celeba_pairs(&pipeline(true), root, &args, distance)).transpose()?;
    let mut lfw_reports = Vec::new();
    if let Some(root) = &args.lfw {
        let images = lfw::image_root(root);
        let view2 = lfw::read_pairs(&root.join("pairs.txt"), &images)?;
        let view1 = lfw::read_pairs(&root.join("pairsDevTrain.txt"), &images)?;
        for (with_detector, cropping) in [(true, "our detector"), (false, "centre crop")] {
            log::info!("LFW View 2 with {cropping}");
            lfw_reports.push(evaluate_lfw(&pipeline(with_detector), cropping, &view2, &view1, distance)?);
        }
    }
    if celeba.is_none() && lfw_reports.is_empty() {
        bail!("nothing to evaluate: pass --celeba DIR and/or --lfw DIR");
    }
    if let Some(c) = &celeba {
        println!("CelebA pairs: accuracy {:.4} at threshold {:.4}, AUC {:.4}", c.pairs.accuracy, c.pairs.threshold, c.pairs.roc.auc);
    }
    for report in &lfw_reports {
        println!("LFW View 2 ({}): 10-fold accuracy {:.4} +- {:.4}", report.cropping, report.folded.mean, report.folded.std);
    }
    let evaluation = EmbedderEvaluation {
        weights: args.weights.display().to_string(),
        celeba,
        lfw: lfw_reports,
    };
    write_embedder_report(&args.out, &evaluation, load_history(args.history.as_deref())?.as_ref())?;
    println!("report: {}", args.out.join("report.md").display());
    Ok(())
}

fn eval_embeddings(args: EmbeddingsEvalArgs) -> Result<()> {
    let images = lfw::image_root(&args.lfw);
    let view2 = lfw::read_pairs(&args.lfw.join("pairs.txt"), &images)?;
    let mut reports = Vec::new();
    for file in &args.embeddings {
        let text = std::fs::read_to_string(file).with_context(|| format!("could not read {}", file.display()))?;
        let vectors: std::collections::HashMap<String, Vec<f32>> =
            serde_json::from_str(&text).with_context(|| format!("{} must map image paths to arrays of numbers", file.display()))?;
        let embeddings = sepface::train::eval::Embeddings {
            vectors: vectors.into_iter().map(|(path, vector)| (images.join(path), vector)).collect(),
            fallbacks: 0,
        };
        let name = file.file_stem().map_or("embeddings".into(), |stem| stem.to_string_lossy().into_owned());
        let report = sepface::train::eval::score_lfw(&embeddings, &name, &view2, sepface::loss::Distance::SquaredEuclidean)?;
        println!("{name}: LFW View 2 10-fold accuracy {:.4} +- {:.4}, {} of {} pairs scored", report.folded.mean, report.folded.std, report.pairs.as_ref().map_or(0, |p| p.pairs), view2.len());
        reports.push(report);
    }
    let evaluation = EmbedderEvaluation {
        weights: "embeddings computed outside sepface".into(),
        celeba: None,
        lfw: reports,
    };
    write_embedder_report(&args.out, &evaluation, None)?;
    println!("report: {}", args.out.join("report.md").display());
    Ok(())
}
