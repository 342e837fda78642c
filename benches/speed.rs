//! Inference speed of the four networks of de Souza, "Face Verification with Depthwise
//! Separable Convolutions and the Triplet Loss" (its Tables 1, 2, 4 and 5) and of the web
//! networks on burn's flex CPU backend, side by side in one process. It prints the time per
//! batch (32 images for detectors, 16 for embedders, as in the paper's Tables 3 and 6), the
//! separable/regular speed-up, and beside it the ratio of multiply-accumulates.
//!
//! ```text
//! cargo bench --bench speed -- [--threads 1] [--batches 5] [--json FILE]
//! ```

use std::time::Instant;

use burn::prelude::*;
use sepface::model::{DetectorConfig, EmbedderConfig};

/// One network to time.
struct Case {
    name: &'static str,
    batch: usize,
    size: usize,
    macs: u64,
    params: usize,
    run: Box<dyn Fn(Tensor<4>) -> Tensor<2>>,
}

fn detector(name: &'static str, config: DetectorConfig, device: &Device) -> Case {
    let model = config.init(device).valid();
    Case {
        name,
        batch: 32,
        size: config.input_size(),
        macs: config.macs(),
        params: model.num_params(),
        run: Box::new(move |x| model.forward(x).boxes),
    }
}

fn embedder(name: &'static str, config: EmbedderConfig, device: &Device) -> Case {
    let model = config.init(device).valid();
    Case {
        name,
        batch: 16,
        size: config.input_size(),
        macs: config.macs(),
        params: model.num_params(),
        run: Box::new(move |x| model.forward(x)),
    }
}

/// Median seconds per batch over `batches` timed runs, after one warm-up run.
fn time(case: &Case, batches: usize, device: &Device) -> f64 {
    let input = Tensor::<4>::random([case.batch, 3, case.size, case.size], burn::tensor::Distribution::Default, device);
    let _ = (case.run)(input.clone()).into_data();
    let mut seconds: Vec<f64> = (0..batches)
        .map(|_| {
            let started = Instant::now();
            let _ = (case.run)(input.clone()).into_data();
            started.elapsed().as_secs_f64()
        })
        .collect();
    seconds.sort_by(f64::total_cmp);
    seconds[seconds.len() / 2]
}

fn argument(name: &str) -> Option<String> {
    let args: Vec<String> = std::env::args().collect();
    args.iter().position(|a| a == name).and_then(|i| args.get(i + 1).cloned())
}

fn main() {
    let threads: usize = argument("--threads").and_then(|v| v.parse().ok()).unwrap_or(1);
    let batches: usize = argument("--batches").and_then(|v| v.parse().ok()).unwrap_or(5);
    // flex runs its parallel kernels on rayon's global pool, so its size sets the thread count.
    rayon::ThreadPoolBuilder::new().num_threads(threads).build_global().expect("the global thread pool is built once");
    let device = Device::flex();
    let cases = [
        detector("detector paper_regular (Table 1)", DetectorConfig::paper_regular(), &device),
        detector("detector paper_separable (Table 2)", DetectorConfig::paper_separable(), &device),
        detector("detector web", DetectorConfig::web(), &device),
        embedder("embedder paper_regular (Table 4)", EmbedderConfig::paper_regular(), &device),
        embedder("embedder paper_separable (Table 5)", EmbedderConfig::paper_separable(), &device),
        embedder("embedder web", EmbedderConfig::web(), &device),
    ];
    println!("flex backend, {threads} thread(s), median of {batches} batches after one warm-up\n");
    println!("| network | parameters | MMAC per image | batch | s per batch | images/s |");
    println!("|---|---|---|---|---|---|");
    let mut results = Vec::new();
    for case in &cases {
        let seconds = time(case, batches, &device);
        println!(
            "| {} | {} | {:.1} | {} | {:.4} | {:.1} |",
            case.name,
            case.params,
            case.macs as f64 / 1e6,
            case.batch,
            seconds,
            case.batch as f64 / seconds
        );
        results.push(serde_json::json!({"network": case.name, "parameters": case.params, "macs": case.macs, "batch": case.batch, "seconds_per_batch": seconds}));
    }
    println!("\n| pair | measured speed-up | MAC ratio |\n|---|---|---|");
    for (regular, separable, label) in [(0, 1, "detector"), (3, 4, "embedder")] {
        let speedup = results[regular]["seconds_per_batch"].as_f64().unwrap_or(f64::NAN) / results[separable]["seconds_per_batch"].as_f64().unwrap_or(f64::NAN);
        let macs = cases[regular].macs as f64 / cases[separable].macs as f64;
        println!("| {label} separable vs regular | {speedup:.2}x | {macs:.2}x |");
    }
    if let Some(path) = argument("--json") {
        let report = serde_json::json!({"threads": threads, "batches": batches, "results": results});
        std::fs::write(&path, serde_json::to_vec_pretty(&report).expect("json")).expect("write the JSON report");
        println!("\nwrote {path}");
    }
}
