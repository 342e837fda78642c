//! SVG plots for the reports: training curves, distance histograms and ROC curves. Each is
//! drawn in memory and written through a temporary file, like every other report file.

use std::path::Path;

use plotters::prelude::*;

use crate::metrics::{DistanceHistogram, RocPoint};
use crate::{Result, SepfaceError};

fn plot_error(path: &Path, error: impl std::fmt::Display) -> SepfaceError {
    SepfaceError::Training {
        reason: format!("could not draw {} ({error})", path.display()),
    }
}

/// A named line of `(x, y)` points.
pub struct Series<'a> {
    /// Legend label.
    pub label: &'a str,
    /// The points.
    pub points: Vec<(f64, f64)>,
}

const COLORS: [RGBColor; 6] = [RGBColor(9, 105, 218), RGBColor(207, 34, 46), RGBColor(26, 127, 55), RGBColor(191, 135, 0), RGBColor(130, 80, 223), RGBColor(87, 96, 106)];

/// Draws line series on shared axes into an SVG file at `path`.
pub fn lines(path: &Path, title: &str, x_label: &str, y_label: &str, series: &[Series]) -> Result<()> {
    let all = series.iter().flat_map(|s| s.points.iter());
    let (mut x_max, mut y_min, mut y_max) = (1.0f64, f64::INFINITY, f64::NEG_INFINITY);
    for &(x, y) in all.filter(|(_, y)| y.is_finite()) {
        x_max = x_max.max(x);
        y_min = y_min.min(y);
        y_max = y_max.max(y);
    }
    if !y_min.is_finite() {
        (y_min, y_max) = (0.0, 1.0);
    }
    let pad = ((y_max - y_min) * 0.05).max(1e-6);
    let mut svg = String::new();
    let root = SVGBackend::with_string(&mut svg, (720, 420)).into_drawing_area();
    root.fill(&WHITE).map_err(|e| plot_error(path, e))?;
    let mut chart = ChartBuilder::on(&root)
        .caption(title, ("sans-serif", 20))
        .margin(12)
        .x_label_area_size(40)
        .y_label_area_size(60)
        .build_cartesian_2d(0f64..x_max, (y_min - pad)..(y_max + pad))
        .map_err(|e| plot_error(path, e))?;
    chart.configure_mesh().x_desc(x_label).y_desc(y_label).draw().map_err(|e| plot_error(path, e))?;
    for (index, line) in series.iter().enumerate() {
        let color = COLORS[index % COLORS.len()];
        chart
            .draw_series(LineSeries::new(line.points.iter().copied().filter(|(_, y)| y.is_finite()), color.stroke_width(2)))
            .map_err(|e| plot_error(path, e))?
            .label(line.label)
            .legend(move |(x, y)| PathElement::new(vec![(x, y), (x + 20, y)], color.stroke_width(2)));
    }
    chart.configure_series_labels().background_style(WHITE.mix(0.8)).border_style(BLACK).draw().map_err(|e| plot_error(path, e))?;
    root.present().map_err(|e| plot_error(path, e))?;
    drop(chart);
    drop(root);
    crate::weights::write_atomic(path, svg.as_bytes())
}

/// Draws the same-person and different-people distance histograms side by side in each bin.
pub fn histogram(path: &Path, title: &str, histogram: &DistanceHistogram) -> Result<()> {
    let bins = histogram.positive.len().max(1);
    let width = (histogram.max - histogram.min) as f64 / bins as f64;
    let top = histogram.positive.iter().chain(&histogram.negative).copied().max().unwrap_or(1).max(1) as f64;
    let mut svg = String::new();
    let root = SVGBackend::with_string(&mut svg, (720, 420)).into_drawing_area();
    root.fill(&WHITE).map_err(|e| plot_error(path, e))?;
    let mut chart = ChartBuilder::on(&root)
        .caption(title, ("sans-serif", 20))
        .margin(12)
        .x_label_area_size(40)
        .y_label_area_size(60)
        .build_cartesian_2d(histogram.min as f64..histogram.max as f64, 0f64..top * 1.05)
        .map_err(|e| plot_error(path, e))?;
    chart.configure_mesh().x_desc("distance").y_desc("pairs").draw().map_err(|e| plot_error(path, e))?;
    let kinds = [("same person", &histogram.positive, COLORS[2], 0.0), ("different people", &histogram.negative, COLORS[1], 0.5)];
    for (label, counts, color, offset) in kinds {
        let bars = counts.iter().enumerate().map(move |(bin, &count)| {
            let left = histogram.min as f64 + (bin as f64 + offset) * width;
            Rectangle::new([(left, 0.0), (left + width / 2.0, count as f64)], color.mix(0.7).filled())
        });
        chart
            .draw_series(bars)
            .map_err(|e| plot_error(path, e))?
            .label(label)
            .legend(move |(x, y)| Rectangle::new([(x, y - 5), (x + 15, y + 5)], color.filled()));
    }
    chart.configure_series_labels().background_style(WHITE.mix(0.8)).border_style(BLACK).draw().map_err(|e| plot_error(path, e))?;
    root.present().map_err(|e| plot_error(path, e))?;
    drop(chart);
    drop(root);
    crate::weights::write_atomic(path, svg.as_bytes())
}

/// Draws ROC curves (true accept rate against false accept rate).
pub fn roc(path: &Path, title: &str, curves: &[(&str, &[RocPoint])]) -> Result<()> {
    let series: Vec<Series> = curves
        .iter()
        .map(|(label, points)| Series {
            label,
            points: points.iter().map(|p| (p.far, p.tar)).collect(),
        })
        .collect();
    lines(path, title, "false accept rate", "true accept rate", &series)
}
