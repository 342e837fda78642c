//! Labeled Faces in the Wild (Huang et al. 2007): a folder per person with files named
//! `NAME_0001.jpg`, and pair lists. `pairs.txt` (View 2) starts with a header `10 300`
//! (folds, pairs of each kind per fold); the View 1 files `pairsDevTrain.txt` and
//! `pairsDevTest.txt` may start with a count line or have no header. A same-person line is
//! `name n1 n2`, a different-people line `name1 n1 name2 n2`.

use std::path::{Path, PathBuf};

use super::{first_existing_dir, malformed, numbered_lines, parse_field, read_text};
use crate::{Result, SepfaceError};

/// One pair of images.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LfwPair {
    /// First image.
    pub first: PathBuf,
    /// Second image.
    pub second: PathBuf,
    /// Whether both show the same person.
    pub same: bool,
    /// Cross-validation fold, counted from 0, when the file's header gives folds.
    pub fold: Option<usize>,
}

const EXPECTED: &str = "\"name n1 n2\" for a same-person pair or \"name1 n1 name2 n2\" for a different-people pair";

/// Finds the folder holding one folder per person: `lfw-deepfunneled/`, `lfw/` or
/// `lfw_funneled/` under `root`, else `root` itself.
pub fn image_root(root: &Path) -> PathBuf {
    first_existing_dir(root, &["lfw-deepfunneled", "lfw", "lfw_funneled"]).unwrap_or_else(|| root.to_path_buf())
}

/// Path of image `number` of `name`.
pub fn image_path(images: &Path, name: &str, number: u32) -> PathBuf {
    images.join(name).join(format!("{name}_{number:04}.jpg"))
}

/// Reads a pair list, resolving image paths under `images`.
///
/// # Errors
/// [`SepfaceError::Dataset`] naming the file when it is missing, a line is malformed, or it
/// holds no pairs.
pub fn read_pairs(list: &Path, images: &Path) -> Result<Vec<LfwPair>> {
    let text = read_text(list, "an LFW pair list such as pairs.txt")?;
    let pairs = parse_pairs(&text, list, images)?;
    if pairs.is_empty() {
        return Err(SepfaceError::Dataset {
            path: list.display().to_string(),
            reason: "the list has no pairs; point to pairs.txt (View 2) or pairsDevTest.txt (View 1)".into(),
        });
    }
    Ok(pairs)
}

/// Parses a pair list's text; `list` names the file in errors.
pub fn parse_pairs(text: &str, list: &Path, images: &Path) -> Result<Vec<LfwPair>> {
    let mut lines = numbered_lines(text).peekable();
    let mut pairs_per_fold = None;
    if let Some(&(number, first)) = lines.peek() {
        let numbers: Option<Vec<usize>> = first.split_whitespace().map(|f| f.parse().ok()).collect();
        match numbers.as_deref() {
            Some([_count]) => {
                lines.next();
            }
            Some([folds, per_kind]) if *folds > 0 && *per_kind > 0 => {
                // A header from a damaged file can hold any number: overflow is an error, not a panic.
                let size = per_kind
                    .checked_mul(2)
                    .ok_or_else(|| malformed(list, number, first, "a header `FOLDS PAIRS_PER_KIND` with a realistic pair count"))?;
                pairs_per_fold = Some(size);
                lines.next();
            }
            _ => {}
        }
    }
    lines
        .enumerate()
        .map(|(index, (number, line))| {
            let fields: Vec<&str> = line.split_whitespace().collect();
            let pair = |first: (&str, &str), second: (&str, &str), same| -> Result<LfwPair> {
                let n1: u32 = parse_field(Some(first.1), list, number, line, EXPECTED)?;
                let n2: u32 = parse_field(Some(second.1), list, number, line, EXPECTED)?;
                if [first.0, second.0].iter().any(|name| name.contains('/') || name.contains('\\') || name.contains("..")) {
                    return Err(malformed(list, number, line, EXPECTED));
                }
                Ok(LfwPair {
                    first: image_path(images, first.0, n1),
                    second: image_path(images, second.0, n2),
                    same,
                    fold: pairs_per_fold.map(|size| index / size),
                })
            };
            match fields.as_slice() {
                [name, n1, n2] => pair((name, n1), (name, n2), true),
                [name1, n1, name2, n2] => pair((name1, n1), (name2, n2), false),
                _ => Err(malformed(list, number, line, EXPECTED)),
            }
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn huge_header_is_an_error() {
        // Found by fuzzing: twice the pairs per kind overflowed usize.
        let text = "8 10000001844674400000\nA\t1\t2\n";
        let error = parse_pairs(text, Path::new("pairs.txt"), Path::new("/lfw")).expect_err("overflowing header");
        assert!(error.to_string().contains("pairs.txt"), "{error}");
        assert!(error.to_string().contains("line 1"), "{error}");
    }

    #[test]
    fn view_two_header_assigns_folds() {
        let text = "2\t1\nAbel_Pacheco\t1\t4\nA\t1\tB\t2\nC\t1\t2\nD\t3\tE\t4\n";
        let pairs = parse_pairs(text, Path::new("pairs.txt"), Path::new("/lfw")).expect("valid");
        assert_eq!(pairs.len(), 4);
        assert_eq!(pairs[0].first, Path::new("/lfw/Abel_Pacheco/Abel_Pacheco_0001.jpg"));
        assert_eq!(pairs[0].second, Path::new("/lfw/Abel_Pacheco/Abel_Pacheco_0004.jpg"));
        assert!(pairs[0].same && !pairs[1].same);
        let folds: Vec<Option<usize>> = pairs.iter().map(|p| p.fold).collect();
        assert_eq!(folds, vec![Some(0), Some(0), Some(1), Some(1)]);
    }

    #[test]
    fn view_one_with_and_without_count_line() {
        for text in ["1\nA\t1\t2\n", "A\t1\t2\n"] {
            let pairs = parse_pairs(text, Path::new("pairsDevTrain.txt"), Path::new("/lfw")).expect(text);
            assert_eq!(pairs.len(), 1, "{text}");
            assert_eq!(pairs[0].fold, None);
        }
    }

    #[test]
    fn malformed_pair_names_the_line() {
        let error = parse_pairs("10 300\nA 1\n", Path::new("pairs.txt"), Path::new("/lfw")).expect_err("short line");
        assert!(error.to_string().contains("pairs.txt: line 2"), "{error}");
        assert!(parse_pairs("A one 2\n", Path::new("p.txt"), Path::new("/")).is_err());
        assert!(parse_pairs("../etc 1 2\n", Path::new("p.txt"), Path::new("/")).is_err());
    }
}
