//! Evaluation reports: `report.md` for people, `report.json` for programs, and SVG plots.

use std::fmt::Write as _;
use std::path::Path;

use serde::Serialize;

use super::eval::{DetectorReport, LfwReport, PairReport};
use super::history::History;
use super::plot::{self, Series};
use crate::weights::write_atomic;
use crate::{Result, SepfaceError};

/// CelebA-pair results (the paper's Tables 6 and 7).
#[derive(Debug, Clone, Serialize)]
pub struct CelebaPairs {
    /// Which identities the pairs come from.
    pub identities: String,
    /// Pair metrics.
    pub pairs: PairReport,
    /// Mean of random triplet losses.
    pub triplet_loss_mean: f64,
    /// Standard deviation of random triplet losses.
    pub triplet_loss_std: f64,
}

/// Everything measured for an embedder.
#[derive(Debug, Clone, Serialize)]
pub struct EmbedderEvaluation {
    /// The weights file.
    pub weights: String,
    /// CelebA-pair protocol.
    pub celeba: Option<CelebaPairs>,
    /// LFW View 2, with the detector and with the centre crop.
    pub lfw: Vec<LfwReport>,
}

fn json_error(error: serde_json::Error) -> SepfaceError {
    SepfaceError::Training {
        reason: format!("could not serialise the report ({error})"),
    }
}

fn curves(out: &Path, history: &History, name: &str, title: &str, metrics: &[(&str, &str)]) -> Result<()> {
    let series: Vec<Series> = metrics
        .iter()
        .map(|(key, label)| Series {
            label,
            points: history
                .epochs
                .iter()
                .map(|r| {
                    let value = match *key {
                        "train_loss" => Some(r.train_loss),
                        "validation_loss" => Some(r.validation_loss),
                        other => r.metrics.get(other).copied(),
                    };
                    (r.epoch as f64, value.unwrap_or(f64::NAN))
                })
                .collect(),
        })
        .collect();
    plot::lines(&out.join(name), title, "epoch", "value", &series)
}

/// Writes the detector report into `out`.
pub fn write_detector_report(out: &Path, weights: &str, reports: &[DetectorReport], history: Option<&History>) -> Result<()> {
    std::fs::create_dir_all(out).map_err(|error| SepfaceError::write(out, error))?;
    let mut md = format!("# Detector evaluation\n\nWeights: `{weights}`\n\n");
    md.push_str("| dataset | images | MSE | MAE | mean IoU | face rate | s per batch |\n|---|---|---|---|---|---|---|\n");
    for r in reports {
        let face_rate = r.face_rate.map_or("-".to_string(), |rate| format!("{rate:.3}"));
        let _ = writeln!(
            md,
            "| {} | {} | {:.5} | {:.5} | {:.4} | {} | {:.4} (batch {}) |",
            r.dataset, r.images, r.metrics.mse, r.metrics.mae, r.metrics.mean_iou, face_rate, r.seconds_per_batch, r.batch_size
        );
    }
    if let Some(history) = history.filter(|h| !h.epochs.is_empty()) {
        curves(out, history, "loss.svg", "Loss per epoch", &[("train_loss", "training loss"), ("validation_loss", "validation MSE")])?;
        curves(out, history, "iou.svg", "Validation IoU per epoch", &[("mean_iou", "mean IoU")])?;
        md.push_str("\n![loss per epoch](loss.svg)\n\n![validation IoU per epoch](iou.svg)\n");
    }
    write_atomic(&out.join("report.md"), md.as_bytes())?;
    let json = serde_json::to_vec_pretty(&(weights, reports)).map_err(json_error)?;
    write_atomic(&out.join("report.json"), &json)
}

fn pair_table(md: &mut String, title: &str, p: &PairReport) {
    let c = &p.confusion;
    let _ = writeln!(md, "### {title}\n");
    let _ = writeln!(md, "{} pairs; threshold {:.4} ({}).\n", p.pairs, p.threshold, p.threshold_source);
    md.push_str("| accuracy | precision | recall | AUC | EER | TAR at FAR 1e-3 |\n|---|---|---|---|---|---|\n");
    let _ = writeln!(md, "| {:.4} | {:.4} | {:.4} | {:.4} | {:.4} | {:.4} |\n", p.accuracy, p.precision, p.recall, p.roc.auc, p.roc.eer, p.roc.tar_at_far_1e3);
    md.push_str("| true negatives | false positives | false negatives | true positives |\n|---|---|---|---|\n");
    let _ = writeln!(md, "| {} | {} | {} | {} |\n", c.true_negatives, c.false_positives, c.false_negatives, c.true_positives);
    let s = &p.summary;
    md.push_str("| positive distance mean | std | negative distance mean | std |\n|---|---|---|---|\n");
    let _ = writeln!(md, "| {:.4} | {:.4} | {:.4} | {:.4} |\n", s.positive_mean, s.positive_std, s.negative_mean, s.negative_std);
}

/// Writes the embedder report into `out`.
pub fn write_embedder_report(out: &Path, evaluation: &EmbedderEvaluation, history: Option<&History>) -> Result<()> {
    std::fs::create_dir_all(out).map_err(|error| SepfaceError::write(out, error))?;
    let mut md = format!("# Embedder evaluation\n\nWeights: `{}`\n\n", evaluation.weights);
    if let Some(celeba) = &evaluation.celeba {
        let _ = writeln!(md, "## CelebA pairs ({})\n", celeba.identities);
        let _ = writeln!(md, "Random triplet loss: mean {:.4}, std {:.4}.\n", celeba.triplet_loss_mean, celeba.triplet_loss_std);
        pair_table(&mut md, "Pairs", &celeba.pairs);
        plot::histogram(&out.join("celeba-histogram.svg"), "CelebA pair distances", &celeba.pairs.histogram)?;
        md.push_str("![CelebA distance histogram](celeba-histogram.svg)\n\n");
    }
    if !evaluation.lfw.is_empty() {
        md.push_str("## LFW View 2\n\n| cropping | 10-fold accuracy | std | View 1 threshold | accuracy at it | AUC | EER | TAR at FAR 1e-3 | centre-crop fallbacks |\n|---|---|---|---|---|---|---|---|---|\n");
        for lfw in &evaluation.lfw {
            let (auc, eer, tar) = lfw.pairs.as_ref().map_or((f64::NAN, f64::NAN, f64::NAN), |p| (p.roc.auc, p.roc.eer, p.roc.tar_at_far_1e3));
            let _ = writeln!(
                md,
                "| {} | {:.4} | {:.4} | {} | {} | {auc:.4} | {eer:.4} | {tar:.4} | {} |",
                lfw.cropping,
                lfw.folded.mean,
                lfw.folded.std,
                lfw.view1_threshold.map_or("-".into(), |t| format!("{t:.4}")),
                lfw.accuracy_at_view1_threshold.map_or("-".into(), |a| format!("{a:.4}")),
                lfw.fallbacks
            );
        }
        let curves_of: Vec<(&str, &[crate::metrics::RocPoint])> = evaluation.lfw.iter().filter_map(|l| l.pairs.as_ref().map(|p| (l.cropping.as_str(), p.roc.points.as_slice()))).collect();
        if !curves_of.is_empty() {
            plot::roc(&out.join("lfw-roc.svg"), "LFW View 2 ROC", &curves_of)?;
            md.push_str("\n![LFW ROC](lfw-roc.svg)\n\n");
        }
        if let Some(pairs) = evaluation.lfw.first().and_then(|l| l.pairs.as_ref()) {
            plot::histogram(&out.join("lfw-histogram.svg"), "LFW View 2 pair distances", &pairs.histogram)?;
            md.push_str("![LFW distance histogram](lfw-histogram.svg)\n\n");
        }
    }
    if let Some(history) = history.filter(|h| !h.epochs.is_empty()) {
        curves(out, history, "loss.svg", "Triplet loss per epoch", &[("train_loss", "training"), ("validation_loss", "validation")])?;
        curves(out, history, "triplets.svg", "Validation triplet kinds", &[("easy", "easy"), ("semi_hard", "semi-hard"), ("hard", "hard")])?;
        md.push_str("![loss per epoch](loss.svg)\n\n![triplet kinds](triplets.svg)\n");
    }
    write_atomic(&out.join("report.md"), md.as_bytes())?;
    let json = serde_json::to_vec_pretty(evaluation).map_err(json_error)?;
    write_atomic(&out.join("report.json"), &json)
}
