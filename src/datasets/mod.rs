//! Readers for the face datasets the trainer and the evaluator use: CelebA, CUHK CNN_FacePoint,
//! LFW and a plain folder per identity.
//!
//! Parsers take the file's text, so they can be tested and fuzzed without files; each malformed
//! line is an error naming the file, the line number and the content.

pub mod celeba;
pub mod cuhk;
pub mod folders;
pub mod lfw;

use std::path::{Path, PathBuf};

use crate::{Result, SepfaceError};

/// A pixel-space box `[left, top, right, bottom]`, before normalisation by the image size.
pub type PixelBox = [f32; 4];

/// Reads a dataset text file, with an error that names the file and the expected layout.
pub fn read_text(path: &Path, layout: &str) -> Result<String> {
    std::fs::read_to_string(path).map_err(|error| SepfaceError::Dataset {
        path: path.display().to_string(),
        reason: format!("could not read it ({error}); expected {layout}"),
    })
}

/// Builds the error for a malformed line.
pub fn malformed(path: &Path, line_number: usize, line: &str, expected: &str) -> SepfaceError {
    let shown: String = line.chars().take(200).collect();
    SepfaceError::Dataset {
        path: path.display().to_string(),
        reason: format!("line {line_number} is malformed: {shown:?}; expected {expected}"),
    }
}

/// Splits text into `(line number, trimmed line)`, skipping blank lines and accepting both
/// LF and CRLF line ends.
pub fn numbered_lines(text: &str) -> impl Iterator<Item = (usize, &str)> {
    text.lines()
        .enumerate()
        .map(|(index, line)| (index + 1, line.trim()))
        .filter(|(_, line)| !line.is_empty())
}

/// Parses a field as a number, or returns the malformed-line error.
pub fn parse_field<T: std::str::FromStr>(field: Option<&str>, path: &Path, line_number: usize, line: &str, expected: &str) -> Result<T> {
    field
        .and_then(|value| value.parse().ok())
        .ok_or_else(|| malformed(path, line_number, line, expected))
}

/// Parses a pixel coordinate or size: a finite number, because an infinite or NaN one would
/// pass every later comparison wrongly.
///
/// # Errors
/// The error of [`parse_field`] when the field is missing, not a number or not finite.
pub fn parse_coordinate(field: Option<&str>, path: &Path, line_number: usize, line: &str, expected: &str) -> Result<f32> {
    let value: f32 = parse_field(field, path, line_number, line, expected)?;
    if !value.is_finite() {
        return Err(malformed(path, line_number, line, expected));
    }
    Ok(value)
}

/// Returns the first of `candidates` under `root` that is a folder.
pub fn first_existing_dir(root: &Path, candidates: &[&str]) -> Option<PathBuf> {
    candidates.iter().map(|name| root.join(name)).find(|path| path.is_dir())
}

/// Image file extensions the readers accept.
pub const IMAGE_EXTENSIONS: [&str; 5] = ["jpg", "jpeg", "png", "webp", "gif"];

/// Whether `path` has one of [`IMAGE_EXTENSIONS`] (any case).
pub fn is_image(path: &Path) -> bool {
    path.extension()
        .and_then(|ext| ext.to_str())
        .is_some_and(|ext| IMAGE_EXTENSIONS.iter().any(|known| known.eq_ignore_ascii_case(ext)))
}
