//! Per-layer time of the separable networks of de Souza, "Face Verification with Depthwise
//! Separable Convolutions and the Triplet Loss" (Tables 2 and 5), and of their regular twins
//! (Tables 1 and 4), on burn's flex CPU backend. Every convolution of the backbone is timed
//! alone, the separable ones split into their depthwise and pointwise steps, with their
//! multiply-accumulates and the rate reached. Each `1 x 1` step is also timed as a matrix
//! product, to see whether burn's convolution path costs more than the arithmetic.
//!
//! ```text
//! cargo bench --bench layers -- [--threads 1] [--runs 5] [--json FILE]
//! ```

use std::time::Instant;

use burn::prelude::*;
use sepface::model::backbone::ConvLayer;
use sepface::model::{Backbone, BackboneConfig, DetectorConfig, EmbedderConfig};

/// One timed operation of one layer.
struct Row {
    network: &'static str,
    layer: String,
    op: &'static str,
    macs: u64,
    seconds: f64,
}

/// Median seconds of `run` over `runs` timed calls, after one warm-up call.
fn median_seconds(runs: usize, run: impl Fn() -> Tensor<4>) -> f64 {
    let _ = run().into_data();
    let mut seconds: Vec<f64> = (0..runs)
        .map(|_| {
            let started = Instant::now();
            let _ = run().into_data();
            started.elapsed().as_secs_f64()
        })
        .collect();
    seconds.sort_by(f64::total_cmp);
    seconds[seconds.len() / 2]
}

/// Computes a `1 x 1` convolution as one matrix product over all pixels.
///
/// # Shapes
/// - input: `[batch, channels_in, h, w]`, weight `[channels_out, channels_in, 1, 1]`
/// - output: `[batch, channels_out, h, w]`
fn pointwise_as_matmul(input: Tensor<4>, weight: Tensor<4>) -> Tensor<4> {
    let [batch, channels_in, height, width] = input.dims();
    let channels_out = weight.dims()[0];
    let x = input.swap_dims(1, 3).reshape([batch * width * height, channels_in]); // [pixels, c_in]
    let w = weight.reshape([channels_out, channels_in]).transpose(); // [c_in, c_out]
    let y = x.matmul(w); // [pixels, c_out]
    y.reshape([batch, width, height, channels_out]).swap_dims(1, 3) // [batch, c_out, h, w]
}

/// Times every convolution of `backbone` on a batch of `batch` images.
fn profile(network: &'static str, config: &BackboneConfig, backbone: &Backbone, batch: usize, runs: usize, device: &Device) -> Vec<Row> {
    let mut rows = Vec::new();
    let (mut side, mut channels) = (config.input_size, 3);
    for (stage_index, stage) in backbone.stages.iter().enumerate() {
        for (block_index, block) in stage.blocks.iter().enumerate() {
            let input = Tensor::<4>::random([batch, channels, side, side], burn::tensor::Distribution::Default, device);
            let layer = format!("stage {} conv {} ({side}x{side}, {channels}->{})", stage_index + 1, block_index + 1, config.filters[stage_index]);
            let out = config.filters[stage_index];
            let pixels = (batch * side * side) as u64;
            match &block.conv {
                ConvLayer::Regular(conv) => {
                    let seconds = median_seconds(runs, || conv.forward(input.clone()));
                    rows.push(Row { network, layer, op: "regular 3x3", macs: pixels * 9 * (channels * out) as u64, seconds });
                }
                ConvLayer::Separable(conv) => {
                    let depthwise = median_seconds(runs, || conv.depthwise.forward(input.clone()));
                    let pointwise = median_seconds(runs, || conv.pointwise.forward(input.clone()));
                    let weight = conv.pointwise.weight.val();
                    let matmul = median_seconds(runs, || pointwise_as_matmul(input.clone(), weight.clone()));
                    rows.push(Row { network, layer: layer.clone(), op: "depthwise 3x3", macs: pixels * 9 * channels as u64, seconds: depthwise });
                    rows.push(Row { network, layer: layer.clone(), op: "pointwise 1x1 (conv2d)", macs: pixels * (channels * out) as u64, seconds: pointwise });
                    rows.push(Row { network, layer, op: "pointwise 1x1 (matmul)", macs: pixels * (channels * out) as u64, seconds: matmul });
                }
            }
            channels = out;
        }
        side /= 2;
    }
    rows
}

fn argument(name: &str) -> Option<String> {
    let args: Vec<String> = std::env::args().collect();
    args.iter().position(|a| a == name).and_then(|i| args.get(i + 1).cloned())
}

/// Prints the rows as a Markdown table and the totals per network and operation.
fn report(rows: &[Row]) {
    println!("| network | layer | operation | MMAC | ms | GMAC/s |\n|---|---|---|---|---|---|");
    for row in rows {
        let rate = row.macs as f64 / row.seconds / 1e9;
        println!("| {} | {} | {} | {:.1} | {:.2} | {rate:.2} |", row.network, row.layer, row.op, row.macs as f64 / 1e6, row.seconds * 1e3);
    }
    println!("\n| network | operation | MMAC | ms | share of MACs | share of time |\n|---|---|---|---|---|---|");
    for network in ["detector paper_separable", "embedder paper_separable", "detector paper_regular", "embedder paper_regular"] {
        let ours: Vec<&Row> = rows.iter().filter(|r| r.network == network && r.op != "pointwise 1x1 (matmul)").collect();
        let (all_macs, all_seconds) = ours.iter().fold((0u64, 0f64), |(m, s), r| (m + r.macs, s + r.seconds));
        for op in ["depthwise 3x3", "pointwise 1x1 (conv2d)", "regular 3x3"] {
            let (macs, seconds) = ours.iter().filter(|r| r.op == op).fold((0u64, 0f64), |(m, s), r| (m + r.macs, s + r.seconds));
            if macs > 0 {
                println!("| {network} | {op} | {:.1} | {:.1} | {:.1}% | {:.1}% |", macs as f64 / 1e6, seconds * 1e3, 100.0 * macs as f64 / all_macs as f64, 100.0 * seconds / all_seconds);
            }
        }
    }
}

fn main() {
    let threads: usize = argument("--threads").and_then(|v| v.parse().ok()).unwrap_or(1);
    let runs: usize = argument("--runs").and_then(|v| v.parse().ok()).unwrap_or(5);
    // flex runs its parallel kernels on rayon's global pool, so its size sets the thread count.
    rayon::ThreadPoolBuilder::new().num_threads(threads).build_global().expect("the global thread pool is built once");
    let device = Device::flex();
    println!("flex backend, {threads} thread(s), median of {runs} runs after one warm-up; batches of 32 (detectors) and 16 (embedders)\n");
    let mut rows = Vec::new();
    for (name, config) in [("detector paper_separable", DetectorConfig::paper_separable()), ("detector paper_regular", DetectorConfig::paper_regular())] {
        let model = config.init(&device);
        rows.extend(profile(name, &config.backbone, &model.backbone, 32, runs, &device));
    }
    for (name, config) in [("embedder paper_separable", EmbedderConfig::paper_separable()), ("embedder paper_regular", EmbedderConfig::paper_regular())] {
        let model = config.init(&device);
        rows.extend(profile(name, &config.backbone, &model.backbone, 16, runs, &device));
    }
    report(&rows);
    if let Some(path) = argument("--json") {
        let json: Vec<_> = rows.iter().map(|r| serde_json::json!({"network": r.network, "layer": r.layer, "operation": r.op, "macs": r.macs, "seconds": r.seconds})).collect();
        let report = serde_json::json!({"threads": threads, "runs": runs, "rows": json});
        std::fs::write(&path, serde_json::to_vec_pretty(&report).expect("json")).expect("write the JSON report");
        println!("\nwrote {path}");
    }
}
