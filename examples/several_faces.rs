//! Measures the several-faces search of the shipped detector on composites of LFW photos of
//! different people. Two: the second shrunk and placed beside or below the first. Three: a
//! large one between two shrunk ones. Four: a large one with three shrunk ones in a 2x2 grid
//! or in a row. It also runs on CUHK test photos that show one face, and on all CelebA photos
//! (real photos "in the wild", most of them upper-body portraits of one person). It prints how
//! often another face was counted, how often the largest face was chosen, how often a photo was
//! reported with others, and, where CelebA labels a box, how well the chosen box matches it.
//!
//! ```text
//! cargo run --example several_faces -- [DATA_DIR] [COMPOSITES] [FIRST_PERSON]
//! ```
//!
//! `COMPOSITES` 0 runs only the real photos. The composites pair every seventh LFW person, in
//! name order from `FIRST_PERSON` (default 0), with the next ones taken (one, two or three), so
//! another `FIRST_PERSON` gives other people.

use std::path::{Path, PathBuf};

use anyhow::{Context, Result, bail};
use burn::prelude::Device;
use image::{RgbImage, imageops};
use pollster::block_on;
use sepface::Verifier;
use sepface::boxes::FaceBox;
use sepface::datasets::celeba::Celeba;
use sepface::model::{Detector, Embedder};
use sepface::preprocess::decode_image;
use sepface::weights::{self, Weights};

/// Scale of the second, smaller face.
const SMALL_SCALE: f32 = 0.6;

/// Position of the smaller photos.
#[derive(Clone, Copy, Debug)]
enum Layout {
    Right,
    Left,
    Below,
    /// One on each side: three faces.
    BothSides,
    /// A 2x2 grid, the large photo top left, the small ones centred in the other cells.
    Grid,
    /// A row of four: one small photo, the large one, then two small ones.
    Row,
}

impl Layout {
    /// Number of photos in a composite.
    fn photos(self) -> usize {
        match self {
            Layout::BothSides => 3,
            Layout::Grid | Layout::Row => 4,
            _ => 2,
        }
    }
}

fn load(path: &Path) -> Result<RgbImage> {
    let bytes = std::fs::read(path).with_context(|| format!("failed to read {}", path.display()))?;
    Ok(decode_image(&bytes, &path.display().to_string())?)
}

/// Shrinks `photo` by [`SMALL_SCALE`].
fn shrink(photo: &RgbImage) -> RgbImage {
    let (width, height) = ((photo.width() as f32 * SMALL_SCALE) as u32, (photo.height() as f32 * SMALL_SCALE) as u32);
    imageops::resize(photo, width, height, imageops::FilterType::Triangle)
}

/// Puts `large` and the `small` photos (shrunk by [`SMALL_SCALE`]) on a grey canvas and returns
/// it with the large photo's region, normalised. Each layout takes [`Layout::photos`] photos.
fn compose(large: &RgbImage, small: &[RgbImage], layout: Layout) -> (RgbImage, [f32; 4]) {
    let small: Vec<RgbImage> = small.iter().map(shrink).collect();
    let (first, last) = (&small[0], &small[small.len() - 1]);
    // A small photo is centred on the large one's side. One taller or wider than it gets offset 0.
    let beside_y = |photo: &RgbImage| large.height().saturating_sub(photo.height()) / 2;
    let below_x = large.width().saturating_sub(first.width()) / 2;
    let tallest = small.iter().map(RgbImage::height).fold(large.height(), u32::max);
    let (canvas_width, canvas_height, large_at, placed) = match layout {
        Layout::Right => (large.width() + first.width(), tallest, (0, 0), vec![(large.width(), beside_y(first))]),
        Layout::Left => (large.width() + first.width(), tallest, (first.width(), 0), vec![(0, beside_y(first))]),
        Layout::Below => (large.width().max(first.width()), large.height() + first.height(), (0, 0), vec![(below_x, large.height())]),
        Layout::BothSides => {
            let placed = vec![(0, beside_y(first)), (first.width() + large.width(), beside_y(last))];
            (first.width() + large.width() + last.width(), tallest, (first.width(), 0), placed)
        }
        Layout::Grid => {
            let (width, height) = (large.width(), large.height());
            let centred = |photo: &RgbImage, column: u32, row: u32| (column * width + width.saturating_sub(photo.width()) / 2, row * height + height.saturating_sub(photo.height()) / 2);
            let placed = vec![centred(&small[0], 1, 0), centred(&small[1], 0, 1), centred(&small[2], 1, 1)];
            (2 * width, 2 * height, (0, 0), placed)
        }
        Layout::Row => {
            let widths: Vec<u32> = small.iter().map(RgbImage::width).collect();
            let after = first.width() + large.width();
            let placed = vec![(0, beside_y(first)), (after, beside_y(&small[1])), (after + widths[1], beside_y(last))];
            (after + widths[1] + widths[2], tallest, (first.width(), 0), placed)
        }
    };
    let mut canvas = RgbImage::from_pixel(canvas_width, canvas_height, image::Rgb([128, 128, 128]));
    imageops::replace(&mut canvas, large, i64::from(large_at.0), i64::from(large_at.1));
    for (photo, (x, y)) in small.iter().zip(placed) {
        imageops::replace(&mut canvas, photo, i64::from(x), i64::from(y));
    }
    let region = [
        large_at.0 as f32 / canvas_width as f32,
        large_at.1 as f32 / canvas_height as f32,
        (large_at.0 + large.width()) as f32 / canvas_width as f32,
        (large_at.1 + large.height()) as f32 / canvas_height as f32,
    ];
    (canvas, region)
}

/// Returns whether `face` lies on the large photo at `region` (normalised edges). Its centre
/// must lie in the photo's middle half, where LFW's deep-funneled faces are, and it must be
/// narrower than 0.8 times the photo, unlike a box around several faces.
fn on_large(face: &FaceBox, region: [f32; 4]) -> bool {
    let (width, height) = (region[2] - region[0], region[3] - region[1]);
    let middle = |at: f32, start: f32, size: f32| (start + size / 4.0..=start + 3.0 * size / 4.0).contains(&at);
    let (x, y) = face.centre();
    middle(x, region[0], width) && middle(y, region[1], height) && face.width() <= 0.8 * width
}

/// Returns the first photo of every seventh LFW person in name order, from `first`, until there
/// are `count`.
fn first_photos(lfw: &Path, count: usize, first: usize) -> Result<Vec<PathBuf>> {
    let mut people: Vec<PathBuf> = std::fs::read_dir(lfw)?.filter_map(|entry| entry.ok().map(|e| e.path())).filter(|p| p.is_dir()).collect();
    people.sort();
    let mut photos = Vec::new();
    for person in people.iter().skip(first).step_by(7) {
        let mut files: Vec<PathBuf> = std::fs::read_dir(person)?.filter_map(|entry| entry.ok().map(|e| e.path())).collect();
        files.sort();
        if let Some(first) = files.into_iter().next() {
            photos.push(first);
        }
        if photos.len() == count {
            break;
        }
    }
    Ok(photos)
}

fn main() -> Result<()> {
    let arguments: Vec<String> = std::env::args().skip(1).collect();
    let data = PathBuf::from(arguments.first().map_or("../shared/data", String::as_str));
    let count: usize = arguments.get(1).map_or(Ok(60), |value| value.parse()).context("COMPOSITES must be a whole number")?;
    let first: usize = arguments.get(2).map_or(Ok(0), |value| value.parse()).context("FIRST_PERSON must be a whole number")?;
    let device = Device::flex();
    let detector: Weights<Detector> = weights::load_file(Path::new("models/detector.bpk"), &device)?;
    let embedder: Weights<Embedder> = weights::load_file(Path::new("models/embedder.bpk"), &device)?;
    let verifier = Verifier::new(detector, embedder, &device);

    if count > 0 {
        composites(&verifier, &data.join("lfw/lfw-deepfunneled"), count, first)?;
    }
    cuhk_photos(&verifier, &data.join("cuhk-facepoint"))?;
    celeba_photos(&verifier, &data.join("celeba"))
}

/// Runs the search on `count` composites of each layout, from LFW person `first` on.
fn composites(verifier: &Verifier, lfw: &Path, count: usize, first: usize) -> Result<()> {
    // Two-face composites take `count + 1` photos, four-face ones two more.
    let photos = first_photos(lfw, count + 3, first)?;
    if photos.len() < 4 {
        bail!("found {} LFW photos from person {first} on; use a smaller FIRST_PERSON", photos.len());
    }
    for layout in [Layout::Right, Layout::Left, Layout::Below, Layout::BothSides, Layout::Grid, Layout::Row] {
        let used = &photos[..(count + layout.photos() - 1).min(photos.len())];
        let (mut counted, mut larger, mut no_face) = (0, 0, 0);
        // How many composites gave 1, 2, 3, and 4 or more faces.
        let mut faces = [0usize; 4];
        for group in used.windows(layout.photos()) {
            let small = group[1..].iter().map(|path| load(path)).collect::<Result<Vec<_>>>()?;
            let (canvas, region) = compose(&load(&group[0])?, &small, layout);
            let Ok(detection) = block_on(verifier.detect(&canvas, "composite")) else {
                no_face += 1;
                continue;
            };
            counted += usize::from(detection.others > 0);
            faces[detection.others.min(3)] += 1;
            larger += usize::from(on_large(&detection.face_box, region));
        }
        let total = (used.len() + 1).saturating_sub(layout.photos());
        println!("{layout:?}: another face counted in {counted} of {total}, largest face chosen in {larger}, no face in {no_face}, faces counted 1/2/3/4+: {faces:?}");
    }
    Ok(())
}

/// Runs the search on the CUHK test photos of every tenth list line, which show one face each.
fn cuhk_photos(verifier: &Verifier, root: &Path) -> Result<()> {
    let list = std::fs::read_to_string(root.join("testImageList.txt"))?;
    let (mut found, mut others, mut total) = (0, 0, 0);
    for line in list.lines().step_by(10) {
        let name = line.split_whitespace().next().context("the CUHK test list has an empty line; use the dataset's testImageList.txt")?.replace('\\', "/");
        total += 1;
        if let Ok(detection) = block_on(verifier.detect(&load(&root.join(&name))?, &name)) {
            found += 1;
            others += usize::from(detection.others > 0);
        }
    }
    println!("CUHK single faces: {found} of {total} found, {others} reported with another face");
    Ok(())
}

/// Runs the search on every CelebA photo and lists those reported with other faces. Where a
/// photo has a labelled box, compares the whole image's box and the chosen box with it.
fn celeba_photos(verifier: &Verifier, root: &Path) -> Result<()> {
    let celeba = Celeba::open(root)?;
    // Sums of IoU with the label, and counts of IoU >= 0.5: whole image, chosen face.
    let (mut iou, mut matched, mut labelled, mut found) = ([0.0f32; 2], [0usize; 2], 0, 0);
    let mut with_others = Vec::new();
    for image in &celeba.images {
        let photo = load(&image.path)?;
        let Ok(detection) = block_on(verifier.detect(&photo, &image.name)) else { continue };
        found += 1;
        if detection.others > 0 {
            with_others.push(image.name.as_str());
        }
        let Some([left, top, right, bottom]) = image.face else { continue };
        let label = FaceBox::from_pixels(left, top, right, bottom, photo.width(), photo.height());
        labelled += 1;
        let pair = [block_on(verifier.locate(&photo))?.face_box.iou(&label), detection.face_box.iou(&label)];
        for (k, value) in pair.into_iter().enumerate() {
            iou[k] += value;
            matched[k] += usize::from(value >= 0.5);
        }
    }
    let mean = |sum: f32| sum / labelled.max(1) as f32;
    println!("CelebA photos: a face found in {found} of {}, reported with other faces in {}: {}", celeba.images.len(), with_others.len(), with_others.join(", "));
    println!("CelebA photos with a labelled box and a face found: {labelled}; mean IoU with the label {:.3} whole image, {:.3} chosen face; IoU >= 0.5 in {} and {}", mean(iou[0]), mean(iou[1]), matched[0], matched[1]);
    Ok(())
}
