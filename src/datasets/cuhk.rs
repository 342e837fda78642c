//! CUHK CNN_FacePoint image lists (Sun et al., "Deep Convolutional Network Cascade for Facial
//! Point Detection", CVPR 2013): one face per image, as lines
//! `net_7876\NAME.jpg left right top bottom` followed by five landmarks `x y` (left eye, right
//! eye, nose, left and right mouth corners), with CRLF line ends and backslash paths.

use std::path::{Path, PathBuf};

use super::{PixelBox, malformed, numbered_lines, parse_coordinate, read_text};
use crate::{Result, SepfaceError};

/// One annotated image.
#[derive(Debug, Clone, PartialEq)]
pub struct CuhkImage {
    /// Path of the image file.
    pub path: PathBuf,
    /// Face box in pixels, `[left, top, right, bottom]`.
    pub face: PixelBox,
    /// Landmarks `(x, y)` in pixels.
    pub landmarks: [(f32, f32); 5],
}

const EXPECTED: &str = "a relative image path, the box as left right top bottom, then 10 landmark coordinates";

/// Reads a list such as `trainImageList.txt`; image paths are relative to the list's folder.
///
/// # Errors
/// [`SepfaceError::Dataset`] when the list is missing or a line is malformed.
pub fn read_list(list: &Path) -> Result<Vec<CuhkImage>> {
    let text = read_text(list, "a CUHK CNN_FacePoint list such as trainImageList.txt")?;
    let root = list.parent().unwrap_or(Path::new("."));
    let images = parse_list(&text, list, root)?;
    if images.is_empty() {
        return Err(SepfaceError::Dataset {
            path: list.display().to_string(),
            reason: "the list has no images; point to a list with one image per line, such as trainImageList.txt".into(),
        });
    }
    Ok(images)
}

/// Parses a list's text; `list` names the file in errors and `root` prefixes the image paths.
pub fn parse_list(text: &str, list: &Path, root: &Path) -> Result<Vec<CuhkImage>> {
    numbered_lines(text)
        .map(|(number, line)| {
            let mut fields = line.split_whitespace();
            let relative = fields.next().ok_or_else(|| malformed(list, number, line, EXPECTED))?;
            let mut values = [0f32; 14];
            for value in &mut values {
                *value = parse_coordinate(fields.next(), list, number, line, EXPECTED)?;
            }
            let [left, right, top, bottom] = [values[0], values[1], values[2], values[3]];
            if fields.next().is_some() || right <= left || bottom <= top || relative.contains("..") {
                return Err(malformed(list, number, line, EXPECTED));
            }
            let mut landmarks = [(0f32, 0f32); 5];
            for (index, point) in landmarks.iter_mut().enumerate() {
                *point = (values[4 + 2 * index], values[5 + 2 * index]);
            }
            Ok(CuhkImage {
                path: root.join(relative.replace('\\', "/")),
                face: [left, top, right, bottom],
                landmarks,
            })
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn crlf_backslash_line_parses() {
        let text = "net_7876\\0_0_0.jpg 104 308 95 299 151 147 246 148 209 194 161 237 235 235\r\n";
        let images = parse_list(text, Path::new("trainImageList.txt"), Path::new("/data/cuhk")).expect("valid");
        assert_eq!(images.len(), 1);
        assert_eq!(images[0].path, Path::new("/data/cuhk/net_7876/0_0_0.jpg"));
        assert_eq!(images[0].face, [104.0, 95.0, 308.0, 299.0]);
        assert_eq!(images[0].landmarks[2], (209.0, 194.0));
    }

    #[test]
    fn malformed_lines_are_errors() {
        let list = Path::new("testImageList.txt");
        let cases = [
            "net_7876\\a.jpg 104 308 95\r\n",
            "net_7876\\a.jpg 308 104 95 299 1 2 3 4 5 6 7 8 9 10\r\n",
            "net_7876\\a.jpg 104 308 95 299 1 2 3 4 5 6 7 8 9 10 11\r\n",
            "..\\secret.jpg 104 308 95 299 1 2 3 4 5 6 7 8 9 10\r\n",
            "net_7876\\a.jpg 104 inf 95 299 1 2 3 4 5 6 7 8 9 10\r\n",
            "net_7876\\a.jpg 104 308 95 299 1 2 NaN 4 5 6 7 8 9 10\r\n",
        ];
        for case in cases {
            let error = parse_list(case, list, Path::new(".")).expect_err(case);
            assert!(error.to_string().contains("testImageList.txt: line 1"), "{error}");
        }
    }
}
