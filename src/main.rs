//! The sepface command line: verify two photos, detect a face, and (with the `train` feature)
//! train, evaluate and sweep the networks on real datasets.

mod cli;

use anyhow::Result;
use clap::{Parser, Subcommand};

/// Face detection and verification with depthwise separable CNNs and the triplet loss.
#[derive(Parser, Debug)]
#[command(name = "sepface", version, about)]
struct Args {
    /// Compute backend: flex (CPU), wgpu (GPU, with the wgpu feature) or cuda (with the cuda feature).
    #[arg(long, global = true, default_value = "flex")]
    backend: String,

    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand, Debug)]
enum Command {
    /// Say whether two photos show the same person.
    Verify(cli::inference::VerifyArgs),
    /// Find the face in a photo and print its box.
    Detect(cli::inference::DetectArgs),
    /// Rewrite a weights file: half precision, or another threshold.
    Export(cli::inference::ExportArgs),
    /// Train the detector or the embedder.
    #[cfg(feature = "train")]
    #[command(subcommand)]
    Train(cli::train::TrainCommand),
    /// Evaluate trained weights and write a report with plots.
    #[cfg(feature = "train")]
    #[command(subcommand)]
    Eval(cli::eval::EvalCommand),
    /// Train a grid of detector architectures briefly and tabulate their results.
    #[cfg(feature = "train")]
    Sweep(cli::sweep::SweepArgs),
}

fn main() -> Result<()> {
    env_logger::Builder::from_env(env_logger::Env::default().default_filter_or("info")).init();
    let args = Args::parse();
    let device = cli::device(&args.backend)?;
    match args.command {
        Command::Verify(verify) => cli::inference::verify(verify, &device),
        Command::Detect(detect) => cli::inference::detect(detect, &device),
        Command::Export(export) => cli::inference::export(export, &device),
        #[cfg(feature = "train")]
        Command::Train(train) => cli::train::run(train, &device),
        #[cfg(feature = "train")]
        Command::Eval(eval) => cli::eval::run(eval, &device),
        #[cfg(feature = "train")]
        Command::Sweep(sweep) => cli::sweep::run(sweep, &device),
    }
}
