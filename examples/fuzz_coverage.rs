//! Plots the coverage of libFuzzer runs against their executions, from the full output that
//! `./scripts/fuzz.sh` keeps in `fuzz/logs/`, so that a plateau, or its absence, shows at a
//! glance.
//!
//! ```text
//! cargo run --release --features train --example fuzz_coverage -- OUTPUT.svg TITLE LOG...
//! ```
//!
//! Each log becomes one line, labelled with its file name: the edges covered (`cov:`) at each
//! status line libFuzzer printed from the end of loading the corpus (its INITED line) on,
//! against the execution count at that line. For each log it also prints how many edges the
//! last quarter of the executions added.

use std::path::{Path, PathBuf};

use anyhow::{Context, Result, bail};
use sepface::train::plot::{Series, lines};

/// Reads the `(executions, edges)` points of one libFuzzer log.
fn coverage_points(log: &Path) -> Result<Vec<(f64, f64)>> {
    let text = std::fs::read_to_string(log).with_context(|| format!("failed to read {}", log.display()))?;
    // Lines before INITED come from loading the saved corpus, not from new inputs.
    let start = text.find("INITED").map_or(0, |at| text[..at].rfind('\n').map_or(0, |line| line + 1));
    let mut points = Vec::new();
    for line in text[start..].lines().filter(|line| line.starts_with('#')) {
        let executions = line[1..].split_whitespace().next().and_then(|count| count.parse::<f64>().ok());
        let edges = line.split("cov: ").nth(1).and_then(|rest| rest.split_whitespace().next()).and_then(|count| count.parse::<f64>().ok());
        if let (Some(executions), Some(edges)) = (executions, edges) {
            points.push((executions, edges));
        }
    }
    if points.is_empty() {
        bail!("{} has no libFuzzer status lines (lines such as `#1000 NEW cov: 12 ...`); pass the full output of a run", log.display());
    }
    Ok(points)
}

/// Returns the edges added in the last quarter of a run's executions, and their share of the
/// edges at its end, in percent: the measure of a plateau in FUZZING.md.
fn last_quarter_gain(points: &[(f64, f64)]) -> (f64, f64) {
    let (end, edges) = points[points.len() - 1];
    let (first, _) = points[0];
    let from = first + 0.75 * (end - first);
    // Edges covered at the last status line before the last quarter began.
    let before = points.iter().take_while(|(executions, _)| *executions <= from).last().map_or(points[0].1, |point| point.1);
    (edges - before, 100.0 * (edges - before) / edges.max(1.0))
}

fn main() -> Result<()> {
    let arguments: Vec<String> = std::env::args().skip(1).collect();
    let [output, title, logs @ ..] = arguments.as_slice() else {
        bail!("usage: fuzz_coverage OUTPUT.svg TITLE LOG...");
    };
    if logs.is_empty() {
        bail!("no log given: pass one or more libFuzzer logs after the title");
    }
    let mut series = Vec::new();
    for log in logs.iter().map(PathBuf::from) {
        let points = coverage_points(&log)?;
        let last = points[points.len() - 1];
        let (gained, share) = last_quarter_gain(&points);
        println!(
            "{}: {} status lines, last at {} executions with {} edges; the last quarter of the executions added {gained} edges ({share:.2}%)",
            log.display(),
            points.len(),
            last.0,
            last.1
        );
        let label = log.file_name().map_or_else(|| log.display().to_string(), |name| name.to_string_lossy().into_owned());
        series.push((label, points));
    }
    let series: Vec<Series> = series.iter().map(|(label, points)| Series { label, points: points.clone() }).collect();
    lines(Path::new(output), title, "executions", "edges covered", &series)?;
    println!("wrote {output}");
    Ok(())
}
