//! CelebA (Liu et al., "Deep Learning Face Attributes in the Wild", ICCV 2015) in its official
//! layout:
//!
//! ```text
//! ROOT/img_celeba/ or ROOT/img_align_celeba/   the images
//! ROOT/identity_CelebA.txt        "000001.jpg 2880" per line
//! ROOT/list_eval_partition.txt    "000001.jpg 0" (0 train, 1 validation, 2 test)
//! ROOT/list_bbox_celeba.txt       count line, header line, "000001.jpg x_1 y_1 width height"
//! ROOT/list_landmarks_celeba.txt  optional: count, header, file and 10 coordinates
//! ```
//!
//! Works on the full 202,599-image set and on subsets: an image named in an annotation file but
//! absent from the image folder is counted and reported once, not treated as an error.

use std::collections::{BTreeMap, HashMap, HashSet};
use std::path::{Path, PathBuf};

use super::{PixelBox, first_existing_dir, malformed, numbered_lines, parse_coordinate, parse_field, read_text};
use crate::{Result, SepfaceError};

/// Official split of an image.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Partition {
    /// Training images.
    Train,
    /// Validation images.
    Validation,
    /// Test images.
    Test,
}

/// One CelebA image with its annotations.
#[derive(Debug, Clone, PartialEq)]
pub struct CelebaImage {
    /// Path of the image file.
    pub path: PathBuf,
    /// File name, as in the annotation files.
    pub name: String,
    /// Identity number.
    pub identity: u32,
    /// Official split.
    pub partition: Partition,
    /// Ground-truth face box in pixels, where the box file has one.
    pub face: Option<PixelBox>,
    /// Five landmarks `(x, y)` in pixels, where the landmark file has them.
    pub landmarks: Option<[(f32, f32); 5]>,
}

/// A CelebA dataset found on disk.
#[derive(Debug, Clone)]
pub struct Celeba {
    /// The dataset folder.
    pub root: PathBuf,
    /// Images present on disk, in annotation order.
    pub images: Vec<CelebaImage>,
    /// Images named in the identity file but missing from the image folder.
    pub missing: usize,
}

const LAYOUT: &str = "the CelebA layout: img_celeba/ (or img_align_celeba/), identity_CelebA.txt, \
                      list_eval_partition.txt, list_bbox_celeba.txt and optionally list_landmarks_celeba.txt";

impl Celeba {
    /// Reads the dataset at `root`.
    ///
    /// # Errors
    /// [`SepfaceError::Dataset`] naming the path when a required file or the image folder is
    /// missing, or a line is malformed.
    pub fn open(root: &Path) -> Result<Self> {
        let image_dir = first_existing_dir(root, &["img_celeba", "img_align_celeba"]).ok_or_else(|| SepfaceError::Dataset {
            path: root.display().to_string(),
            reason: format!("no img_celeba/ or img_align_celeba/ folder; expected {LAYOUT}"),
        })?;
        let identity_path = root.join("identity_CelebA.txt");
        let identities = parse_pairs(&read_text(&identity_path, LAYOUT)?, &identity_path)?;
        let partition_path = root.join("list_eval_partition.txt");
        let partitions = parse_pairs(&read_text(&partition_path, LAYOUT)?, &partition_path)?;
        let bbox_path = root.join("list_bbox_celeba.txt");
        let boxes = if bbox_path.exists() {
            parse_boxes(&read_text(&bbox_path, LAYOUT)?, &bbox_path)?
        } else {
            HashMap::new()
        };
        let landmark_path = root.join("list_landmarks_celeba.txt");
        let landmarks = if landmark_path.exists() {
            parse_landmarks(&read_text(&landmark_path, LAYOUT)?, &landmark_path)?
        } else {
            HashMap::new()
        };
        let present = list_files(&image_dir)?;
        Self::assemble(root, &image_dir, identities, &partitions, &boxes, &landmarks, &present)
    }

    fn assemble(
        root: &Path,
        image_dir: &Path,
        identities: Vec<(String, u32)>,
        partitions: &[(String, u32)],
        boxes: &HashMap<String, PixelBox>,
        landmarks: &HashMap<String, [(f32, f32); 5]>,
        present: &HashSet<String>,
    ) -> Result<Self> {
        let partitions: HashMap<&str, u32> = partitions.iter().map(|(name, p)| (name.as_str(), *p)).collect();
        let mut images = Vec::with_capacity(identities.len());
        let mut missing = 0;
        for (name, identity) in identities {
            if !present.contains(&name) {
                missing += 1;
                continue;
            }
            let partition = match partitions.get(name.as_str()) {
                Some(0) | None => Partition::Train,
                Some(1) => Partition::Validation,
                Some(_) => Partition::Test,
            };
            images.push(CelebaImage {
                path: image_dir.join(&name),
                face: boxes.get(&name).copied(),
                landmarks: landmarks.get(&name).copied(),
                name,
                identity,
                partition,
            });
        }
        if missing > 0 {
            log::warn!(
                "CelebA at {}: {missing} images named in identity_CelebA.txt are not in {}; using the {} present",
                root.display(),
                image_dir.display(),
                images.len()
            );
        }
        Ok(Self {
            root: root.to_path_buf(),
            images,
            missing,
        })
    }

    /// Groups image indices by identity, keeping identities with more than `min_exclusive`
    /// images (the paper keeps those with more than 5).
    pub fn identities_with_more_than(&self, min_exclusive: usize, partition: Option<Partition>) -> BTreeMap<u32, Vec<usize>> {
        let mut groups: BTreeMap<u32, Vec<usize>> = BTreeMap::new();
        for (index, image) in self.images.iter().enumerate() {
            if partition.is_none_or(|p| p == image.partition) {
                groups.entry(image.identity).or_default().push(index);
            }
        }
        groups.retain(|_, indices| indices.len() > min_exclusive);
        groups
    }
}

fn list_files(dir: &Path) -> Result<HashSet<String>> {
    let entries = std::fs::read_dir(dir).map_err(|error| SepfaceError::Dataset {
        path: dir.display().to_string(),
        reason: format!("could not list the image folder ({error})"),
    })?;
    Ok(entries
        .filter_map(|entry| entry.ok())
        .map(|entry| entry.file_name().to_string_lossy().into_owned())
        .collect())
}

/// Parses `name number` lines, as in `identity_CelebA.txt` and `list_eval_partition.txt`.
pub fn parse_pairs(text: &str, path: &Path) -> Result<Vec<(String, u32)>> {
    let expected = "an image file name and a number, separated by whitespace";
    numbered_lines(text)
        .map(|(number, line)| {
            let mut fields = line.split_whitespace();
            let name = fields.next().ok_or_else(|| malformed(path, number, line, expected))?;
            let value = parse_field(fields.next(), path, number, line, expected)?;
            if fields.next().is_some() {
                return Err(malformed(path, number, line, expected));
            }
            Ok((name.to_string(), value))
        })
        .collect()
}

/// Returns the data lines of a file with a count line and a header line, as
/// `list_bbox_celeba.txt` and `list_landmarks_celeba.txt` are laid out.
fn data_lines<'a>(text: &'a str, path: &Path, header_start: &str) -> Result<Vec<(usize, &'a str)>> {
    let mut lines = numbered_lines(text);
    let expected = format!("a count line, then a header line starting with {header_start:?}");
    let (count_number, count_line) = lines.next().ok_or_else(|| malformed(path, 1, "", &expected))?;
    let count: usize = parse_field(Some(count_line), path, count_number, count_line, &expected)?;
    match lines.next() {
        Some((_, header)) if header.starts_with(header_start) => {}
        Some((number, header)) => return Err(malformed(path, number, header, &expected)),
        None => return Err(malformed(path, count_number + 1, "", &expected)),
    }
    let rows: Vec<(usize, &str)> = lines.collect();
    if rows.len() != count {
        log::warn!("{}: the count line says {count} rows but there are {}", path.display(), rows.len());
    }
    Ok(rows)
}

/// Parses `list_bbox_celeba.txt` into pixel boxes `[left, top, right, bottom]`.
pub fn parse_boxes(text: &str, path: &Path) -> Result<HashMap<String, PixelBox>> {
    let expected = "an image file name and four integers x_1 y_1 width height, with positive width and height";
    let mut boxes = HashMap::new();
    for (number, line) in data_lines(text, path, "image_id")? {
        let mut fields = line.split_whitespace();
        let name = fields.next().ok_or_else(|| malformed(path, number, line, expected))?;
        let mut values = [0f32; 4];
        for value in &mut values {
            *value = parse_coordinate(fields.next(), path, number, line, expected)?;
        }
        let [x, y, width, height] = values;
        let edges = [x, y, x + width, y + height];
        // Two finite values can still add up to infinity.
        if fields.next().is_some() || width <= 0.0 || height <= 0.0 || !edges.iter().all(|v| v.is_finite()) {
            return Err(malformed(path, number, line, expected));
        }
        boxes.insert(name.to_string(), edges);
    }
    Ok(boxes)
}

/// Parses `list_landmarks_celeba.txt` into five `(x, y)` points per image.
pub fn parse_landmarks(text: &str, path: &Path) -> Result<HashMap<String, [(f32, f32); 5]>> {
    let expected = "an image file name and ten numbers: the x and y of both eyes, the nose and both mouth corners";
    let mut landmarks = HashMap::new();
    for (number, line) in data_lines(text, path, "lefteye_x")? {
        let mut fields = line.split_whitespace();
        let name = fields.next().ok_or_else(|| malformed(path, number, line, expected))?;
        let mut points = [(0f32, 0f32); 5];
        for point in &mut points {
            point.0 = parse_coordinate(fields.next(), path, number, line, expected)?;
            point.1 = parse_coordinate(fields.next(), path, number, line, expected)?;
        }
        if fields.next().is_some() {
            return Err(malformed(path, number, line, expected));
        }
        landmarks.insert(name.to_string(), points);
    }
    Ok(landmarks)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn boxes_become_edges() {
        let text = "2\r\nimage_id x_1 y_1 width height\r\n000001.jpg 95 71 226 313\r\n000002.jpg 72 94 221 306\r\n";
        let boxes = parse_boxes(text, Path::new("list_bbox_celeba.txt")).expect("valid");
        assert_eq!(boxes["000001.jpg"], [95.0, 71.0, 321.0, 384.0]);
        assert_eq!(boxes.len(), 2);
    }

    #[test]
    fn malformed_box_line_names_file_line_and_content() {
        let text = "1\nimage_id x_1 y_1 width height\n000001.jpg 95 seventy 226 313\n";
        let error = parse_boxes(text, Path::new("list_bbox_celeba.txt")).expect_err("malformed");
        let message = error.to_string();
        assert!(message.contains("list_bbox_celeba.txt"), "{message}");
        assert!(message.contains("line 3"), "{message}");
        assert!(message.contains("seventy"), "{message}");
    }

    #[test]
    fn infinite_box_size_is_an_error() {
        for size in ["inf 10", "10 inf", "NaN 10"] {
            let text = format!("1\nimage_id x_1 y_1 width height\n000001.jpg 95 71 {size}\n");
            let error = parse_boxes(&text, Path::new("list_bbox_celeba.txt")).expect_err("not finite");
            assert!(error.to_string().contains("line 3"), "{size}: {error}");
        }
    }

    #[test]
    fn box_edge_overflowing_to_infinity_is_an_error() {
        let text = "1\nimage_id x_1 y_1 width height\n000001.jpg 3e38 71 3e38 10\n";
        let error = parse_boxes(text, Path::new("list_bbox_celeba.txt")).expect_err("right edge overflows");
        assert!(error.to_string().contains("line 3"), "{error}");
    }

    #[test]
    fn infinite_or_nan_landmark_is_an_error() {
        let header = "lefteye_x lefteye_y righteye_x righteye_y nose_x nose_y leftmouth_x leftmouth_y rightmouth_x rightmouth_y";
        for value in ["inf", "-inf", "NaN"] {
            let text = format!("1\n{header}\n000001.jpg 165 184 244 176 {value} 249 194 271 266 260\n");
            let error = parse_landmarks(&text, Path::new("l.txt")).expect_err("not finite");
            assert!(error.to_string().contains("line 3"), "{value}: {error}");
        }
    }

    #[test]
    fn box_file_needs_its_header() {
        let error = parse_boxes("1\n000001.jpg 1 2 3 4\n", Path::new("b.txt")).expect_err("no header");
        assert!(error.to_string().contains("line 2"), "{error}");
        assert!(parse_boxes("", Path::new("b.txt")).is_err());
        assert!(parse_boxes("1\nimage_id x_1 y_1 width height\nx.jpg 1 2 0 4\n", Path::new("b.txt")).is_err());
    }

    #[test]
    fn pairs_reject_extra_or_missing_fields() {
        let ok = parse_pairs("a.jpg 3\nb.jpg 4\n", Path::new("identity_CelebA.txt")).expect("valid");
        assert_eq!(ok, vec![("a.jpg".to_string(), 3), ("b.jpg".to_string(), 4)]);
        assert!(parse_pairs("a.jpg\n", Path::new("i.txt")).is_err());
        assert!(parse_pairs("a.jpg 3 4\n", Path::new("i.txt")).is_err());
        assert!(parse_pairs("a.jpg -3\n", Path::new("i.txt")).is_err());
    }

    #[test]
    fn landmarks_parse_five_points() {
        let text = "1\nlefteye_x lefteye_y righteye_x righteye_y nose_x nose_y leftmouth_x leftmouth_y rightmouth_x rightmouth_y\n\
                    000001.jpg 165 184 244 176 196 249 194 271 266 260\n";
        let landmarks = parse_landmarks(text, Path::new("l.txt")).expect("valid");
        assert_eq!(landmarks["000001.jpg"][4], (266.0, 260.0));
    }

    #[test]
    fn absent_images_are_counted_not_fatal() {
        let identities = vec![("a.jpg".to_string(), 1), ("b.jpg".to_string(), 1), ("c.jpg".to_string(), 2)];
        let present: HashSet<String> = ["a.jpg", "c.jpg"].iter().map(|s| s.to_string()).collect();
        let partitions = vec![("a.jpg".to_string(), 0), ("c.jpg".to_string(), 2)];
        let dataset = Celeba::assemble(Path::new("/x"), Path::new("/x/img_celeba"), identities, &partitions, &HashMap::new(), &HashMap::new(), &present)
            .expect("subset");
        assert_eq!(dataset.missing, 1);
        assert_eq!(dataset.images.len(), 2);
        assert_eq!(dataset.images[1].partition, Partition::Test);
    }
}
