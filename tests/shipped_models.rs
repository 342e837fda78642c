//! The shipped detector and embedder on real photos, natively: two to four faces in one photo
//! (the largest is used, the others are counted, with a warning), upper-body portraits, a face
//! cut by the image border, and backgrounds without a face.

#![cfg(not(target_arch = "wasm32"))]

mod common;

use std::path::{Path, PathBuf};
use std::sync::{Mutex, Once};

use burn::prelude::*;
use image::{RgbImage, imageops};
use pollster::block_on;
use sepface::datasets::celeba::Celeba;
use sepface::model::{Detector, Embedder};
use sepface::weights::{self, Weights};
use sepface::{FaceBox, SepfaceError, Verifier};

/// Pairs of LFW photos of different people: the first is pasted large, the second small.
const PAIRS: [(&str, &str); 6] = [
    ("George_W_Bush/George_W_Bush_0007.jpg", "Colin_Powell/Colin_Powell_0038.jpg"),
    ("Tony_Blair/Tony_Blair_0006.jpg", "Jennifer_Aniston/Jennifer_Aniston_0003.jpg"),
    ("Colin_Powell/Colin_Powell_0040.jpg", "Tony_Blair/Tony_Blair_0018.jpg"),
    ("Jennifer_Aniston/Jennifer_Aniston_0003.jpg", "George_W_Bush/George_W_Bush_0016.jpg"),
    ("George_W_Bush/George_W_Bush_0065.jpg", "Tony_Blair/Tony_Blair_0032.jpg"),
    ("Colin_Powell/Colin_Powell_0049.jpg", "George_W_Bush/George_W_Bush_0145.jpg"),
];

/// Three LFW photos of different people: the first is pasted large between the two others,
/// pasted small.
const TRIPLES: [(&str, &str, &str); 4] = [
    ("George_W_Bush/George_W_Bush_0007.jpg", "Colin_Powell/Colin_Powell_0038.jpg", "Jennifer_Aniston/Jennifer_Aniston_0003.jpg"),
    ("Tony_Blair/Tony_Blair_0006.jpg", "Jennifer_Aniston/Jennifer_Aniston_0003.jpg", "Colin_Powell/Colin_Powell_0040.jpg"),
    ("Colin_Powell/Colin_Powell_0040.jpg", "Tony_Blair/Tony_Blair_0018.jpg", "George_W_Bush/George_W_Bush_0016.jpg"),
    ("Jennifer_Aniston/Jennifer_Aniston_0003.jpg", "George_W_Bush/George_W_Bush_0016.jpg", "Tony_Blair/Tony_Blair_0032.jpg"),
];

/// Four LFW photos of different people: the first is pasted large, the others small, in a
/// 2x2 grid and in a row.
const QUADS: [[&str; 4]; 4] = [
    ["George_W_Bush/George_W_Bush_0007.jpg", "Colin_Powell/Colin_Powell_0038.jpg", "Jennifer_Aniston/Jennifer_Aniston_0003.jpg", "Tony_Blair/Tony_Blair_0018.jpg"],
    ["Tony_Blair/Tony_Blair_0006.jpg", "Jennifer_Aniston/Jennifer_Aniston_0003.jpg", "Colin_Powell/Colin_Powell_0040.jpg", "George_W_Bush/George_W_Bush_0016.jpg"],
    ["Colin_Powell/Colin_Powell_0040.jpg", "Tony_Blair/Tony_Blair_0018.jpg", "George_W_Bush/George_W_Bush_0016.jpg", "Jennifer_Aniston/Jennifer_Aniston_0003.jpg"],
    ["Jennifer_Aniston/Jennifer_Aniston_0003.jpg", "George_W_Bush/George_W_Bush_0016.jpg", "Tony_Blair/Tony_Blair_0032.jpg", "Colin_Powell/Colin_Powell_0049.jpg"],
];

fn model_path(name: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("models").join(name)
}

fn shipped_verifier() -> Verifier {
    let device = Device::flex();
    let detector: Weights<Detector> = weights::load_file(&model_path("detector.bpk"), &device).expect("shipped detector");
    let embedder: Weights<Embedder> = weights::load_file(&model_path("embedder.bpk"), &device).expect("shipped embedder");
    Verifier::new(detector, embedder, &device)
}

fn lfw(data: &Path, photo: &str) -> RgbImage {
    common::load_image(data, &format!("lfw/lfw-deepfunneled/{photo}"))
}

/// Puts `large` at the left of a canvas and `small`, scaled by `scale`, at the right, centred
/// vertically; the rest is mid-grey.
fn side_by_side(large: &RgbImage, small: &RgbImage, scale: f32) -> RgbImage {
    let (width, height) = ((small.width() as f32 * scale) as u32, (small.height() as f32 * scale) as u32);
    let small = imageops::resize(small, width, height, imageops::FilterType::Triangle);
    let mut canvas = RgbImage::from_pixel(large.width() + width, large.height().max(height), image::Rgb([128, 128, 128]));
    imageops::replace(&mut canvas, large, 0, 0);
    imageops::replace(&mut canvas, &small, i64::from(large.width()), i64::from((large.height() - height) / 2));
    canvas
}

/// Scale of the second, smaller face in the composites.
const SMALL_SCALE: f32 = 0.6;

/// A logger that keeps every warning, so a test can check the one it expects.
struct WarningLog(Mutex<Vec<String>>);

impl log::Log for WarningLog {
    fn enabled(&self, metadata: &log::Metadata) -> bool {
        metadata.level() <= log::Level::Warn
    }

    fn log(&self, record: &log::Record) {
        if self.enabled(record.metadata()) {
            self.0.lock().expect("warning log").push(record.args().to_string());
        }
    }

    fn flush(&self) {}
}

static WARNINGS: WarningLog = WarningLog(Mutex::new(Vec::new()));

/// Installs [`WARNINGS`] as the logger, once for all tests of this file.
fn capture_warnings() {
    static INSTALLED: Once = Once::new();
    INSTALLED.call_once(|| {
        log::set_logger(&WARNINGS).expect("no other logger");
        log::set_max_level(log::LevelFilter::Warn);
    });
}

/// Returns whether a warning that starts with `source_name` was logged.
fn warned_about(source_name: &str) -> bool {
    WARNINGS.0.lock().expect("warning log").iter().any(|warning| warning.starts_with(source_name))
}

/// Detects the face in a composite named `name` and checks the documented behaviour: the
/// largest face is used, with a warning exactly when others are found. Returns whether others
/// were counted and whether the chosen face lies on the large photo at `large` (normalised).
/// Such a face is centred in the photo's middle half, because LFW's deep-funneled faces are
/// centred. It is also narrower than 0.8 times the photo, unlike a box around several faces.
fn check_composite(verifier: &Verifier, canvas: &RgbImage, name: &str, large: FaceBox) -> (bool, bool) {
    let detection = block_on(verifier.detect(canvas, name)).unwrap_or_else(|error| panic!("{name}: {error}"));
    let face = detection.face_box;
    let centre = face.centre();
    let middle = large.expand(-0.25);
    let on_large = (middle.left..middle.right).contains(&centre.0) && (middle.top..middle.bottom).contains(&centre.1) && face.width() <= 0.8 * large.width();
    eprintln!("{name}: {} other face(s); chosen face centre at {centre:.3?}, on the larger face: {on_large}", detection.others);
    assert_eq!(warned_about(name), detection.others > 0, "{name}: a warning exactly when other faces are found");
    (detection.others > 0, on_large)
}

#[test]
fn several_faces_use_largest() {
    let Some(data) = common::data_dir("several_faces_use_largest") else { return };
    let verifier = shipped_verifier();
    capture_warnings();
    let (mut counted, mut largest) = (0, 0);
    for (large, small) in PAIRS {
        let large_photo = lfw(&data, large);
        let canvas = side_by_side(&large_photo, &lfw(&data, small), SMALL_SCALE);
        let region = FaceBox::new(0.0, 0.0, large_photo.width() as f32 / canvas.width() as f32, large_photo.height() as f32 / canvas.height() as f32);
        let (others, on_large) = check_composite(&verifier, &canvas, &format!("{large} beside {small}"), region);
        counted += usize::from(others);
        largest += usize::from(on_large);
    }
    // Measured with the shipped weights: the second face is found in 6 of 6 composites and the
    // larger face chosen in 5 of 6. The detector regresses one box and was never trained on
    // several faces, so this is a floor, not a goal.
    assert!(counted >= 5, "the second face was counted in only {counted} of {} composites", PAIRS.len());
    assert!(largest >= 4, "the larger face was chosen in only {largest} of {} composites", PAIRS.len());
}

/// Puts `large` between `left` and `right`, each scaled by `scale` and centred vertically, on a
/// mid-grey canvas. Returns the canvas and the large photo's region, normalised.
fn between(large: &RgbImage, left: &RgbImage, right: &RgbImage, scale: f32) -> (RgbImage, FaceBox) {
    let shrink = |photo: &RgbImage| imageops::resize(photo, (photo.width() as f32 * scale) as u32, (photo.height() as f32 * scale) as u32, imageops::FilterType::Triangle);
    let (left, right) = (shrink(left), shrink(right));
    let width = left.width() + large.width() + right.width();
    let height = large.height().max(left.height()).max(right.height());
    let mut canvas = RgbImage::from_pixel(width, height, image::Rgb([128, 128, 128]));
    imageops::replace(&mut canvas, &left, 0, i64::from(large.height().saturating_sub(left.height()) / 2));
    imageops::replace(&mut canvas, large, i64::from(left.width()), 0);
    imageops::replace(&mut canvas, &right, i64::from(left.width() + large.width()), i64::from(large.height().saturating_sub(right.height()) / 2));
    let region = FaceBox::new(left.width() as f32 / width as f32, 0.0, (left.width() + large.width()) as f32 / width as f32, large.height() as f32 / height as f32);
    (canvas, region)
}

#[test]
fn three_faces_use_largest() {
    let Some(data) = common::data_dir("three_faces_use_largest") else { return };
    let verifier = shipped_verifier();
    capture_warnings();
    let (mut counted, mut largest) = (0, 0);
    for (large, left, right) in TRIPLES {
        let (canvas, region) = between(&lfw(&data, large), &lfw(&data, left), &lfw(&data, right), SMALL_SCALE);
        let (others, on_large) = check_composite(&verifier, &canvas, &format!("{large} between {left} and {right}"), region);
        counted += usize::from(others);
        largest += usize::from(on_large);
    }
    // Measured with the shipped weights: other faces counted and the largest chosen in 4 of 4.
    // Before the search ran square windows, most such composites gave no face at all: 46 and 53
    // of 60 in `examples/several_faces.rs`.
    assert!(counted >= 3, "other faces were counted in only {counted} of {} composites", TRIPLES.len());
    assert!(largest >= 3, "the largest face was chosen in only {largest} of {} composites", TRIPLES.len());
}

/// Pastes `photos` on a mid-grey canvas of cells as large as the first photo, `columns` per
/// row. The first photo fills cell `large_cell` at full size. The others, scaled by `scale`,
/// are centred in the remaining cells in order. Returns the canvas and the first photo's
/// region, normalised.
fn tiled(photos: &[RgbImage], columns: u32, large_cell: u32, scale: f32) -> (RgbImage, FaceBox) {
    let (cell_width, cell_height) = photos[0].dimensions();
    let rows = (photos.len() as u32).div_ceil(columns);
    let mut canvas = RgbImage::from_pixel(columns * cell_width, rows * cell_height, image::Rgb([128, 128, 128]));
    let cells = (0..photos.len() as u32).filter(|&cell| cell != large_cell);
    for (photo, cell) in photos.iter().zip(std::iter::once(large_cell).chain(cells)) {
        let photo = if cell == large_cell { photo.clone() } else { imageops::resize(photo, (photo.width() as f32 * scale) as u32, (photo.height() as f32 * scale) as u32, imageops::FilterType::Triangle) };
        let x = (cell % columns) * cell_width + (cell_width - photo.width().min(cell_width)) / 2;
        let y = (cell / columns) * cell_height + (cell_height - photo.height().min(cell_height)) / 2;
        imageops::replace(&mut canvas, &photo, i64::from(x), i64::from(y));
    }
    let (column, row) = ((large_cell % columns) as f32, (large_cell / columns) as f32);
    let (columns, rows) = (columns as f32, rows as f32);
    (canvas, FaceBox::new(column / columns, row / rows, (column + 1.0) / columns, (row + 1.0) / rows))
}

#[test]
fn four_faces_use_largest() {
    let Some(data) = common::data_dir("four_faces_use_largest") else { return };
    let verifier = shipped_verifier();
    capture_warnings();
    let (mut grid, mut row) = ((0, 0), (0, 0));
    for names in QUADS {
        let photos: Vec<RgbImage> = names.iter().map(|name| lfw(&data, name)).collect();
        let (canvas, region) = tiled(&photos, 2, 0, SMALL_SCALE);
        let (others, on_large) = check_composite(&verifier, &canvas, &format!("2x2 grid of {}", names.join(", ")), region);
        grid = (grid.0 + usize::from(others), grid.1 + usize::from(on_large));
        let (canvas, region) = tiled(&photos, 4, 1, SMALL_SCALE);
        let (others, on_large) = check_composite(&verifier, &canvas, &format!("row of {}", names.join(", ")), region);
        row = (row.0 + usize::from(others), row.1 + usize::from(on_large));
    }
    eprintln!("four faces: grid {grid:?}, row {row:?} (composites with others counted, with the largest chosen)");
    // Measured with the shipped weights: others counted in 4 of 4 rows and 3 of 4 grids, the
    // largest chosen in 4 and 2. In a 2x2 grid the whole image often gives one face-shaped box
    // around several faces, which is then taken as the largest, so only the count is checked.
    // Before the search split the part beside the first face, grids counted others in 1 and 2
    // of 60 composites (`examples/several_faces.rs`).
    assert!(row.0 >= 3, "row of four: others counted in only {} of {}", row.0, QUADS.len());
    assert!(row.1 >= 3, "row of four: the largest face chosen in only {} of {}", row.1, QUADS.len());
    assert!(grid.0 >= 2, "2x2 grid: others counted in only {} of {}", grid.0, QUADS.len());
}

#[test]
fn single_face_reports_no_others() {
    let Some(data) = common::data_dir("single_face_reports_no_others") else { return };
    let verifier = shipped_verifier();
    let list = std::fs::read_to_string(data.join("cuhk-facepoint/testImageList.txt")).expect("CUHK test list");
    let (mut found, mut others) = (0, 0);
    for line in list.lines().step_by(50) {
        let name = line.split_whitespace().next().expect("a path").replace('\\', "/");
        let image = common::load_image(&data, &format!("cuhk-facepoint/{name}"));
        if let Ok(detection) = block_on(verifier.detect(&image, &name)) {
            found += 1;
            others += usize::from(detection.others > 0);
        }
    }
    eprintln!("CUHK test photos (one face each): {found} faces found, {others} with another face reported");
    // Measured: 41 found, none with another face reported.
    assert!(found >= 38, "only {found} of 41 single faces found");
    assert!(others <= 1, "{others} single-face photos were reported with several faces");
}

#[test]
fn background_is_no_face() {
    let Some(data) = common::data_dir("background_is_no_face") else { return };
    let verifier = shipped_verifier();
    let list = std::fs::read_to_string(data.join("celeba/list_bbox_celeba.txt")).expect("CelebA boxes");
    let (mut tried, mut no_face) = (0, 0);
    for line in list.lines().skip(2) {
        let fields: Vec<&str> = line.split_whitespace().collect();
        let [name, x, _, width, _] = fields[..] else { continue };
        let [x, width]: [u32; 2] = [x, width].map(|v| v.parse().expect("a pixel coordinate"));
        let image = common::load_image(&data, &format!("celeba/img_celeba/{name}"));
        // The wider strip beside the annotated face, over the image's full height.
        let (left, right) = (x, image.width().saturating_sub(x + width));
        let (start, strip_width) = if left >= right { (0, left) } else { (x + width, right) };
        if strip_width < 64 {
            continue;
        }
        let strip = imageops::crop_imm(&image, start, 0, strip_width, image.height()).to_image();
        tried += 1;
        match block_on(verifier.detect(&strip, name)) {
            Err(SepfaceError::NoFace { source_name, .. }) => {
                assert_eq!(source_name, name);
                no_face += 1;
            }
            Err(error) => panic!("{name}: {error}"),
            Ok(_) => {}
        }
    }
    eprintln!("CelebA strips beside the annotated face: {no_face} of {tried} gave no face");
    // Measured: 76 of 78. The strips may contain other people's faces, so not all must fail.
    assert!(tried >= 60, "only {tried} strips were wide enough");
    assert!(no_face * 10 >= tried * 9, "{no_face} of {tried}");
}

/// Upper-body CelebA portraits where the search once took a box on the chest, larger than the
/// face, for the largest face.
const PORTRAITS: [&str; 5] = ["190174.jpg", "190667.jpg", "191478.jpg", "191545.jpg", "191608.jpg"];

#[test]
fn portraits_use_the_face_not_the_chest() {
    let Some(data) = common::data_dir("portraits_use_the_face_not_the_chest") else { return };
    let verifier = shipped_verifier();
    let celeba = Celeba::open(&data.join("celeba")).expect("the CelebA folder");
    let portraits: Vec<_> = celeba.images.iter().filter(|image| PORTRAITS.contains(&image.name.as_str())).collect();
    assert_eq!(portraits.len(), PORTRAITS.len(), "the CelebA folder lacks some of {PORTRAITS:?}");
    for image in portraits {
        let photo = common::load_image(&data, &format!("celeba/img_celeba/{}", image.name));
        let detection = block_on(verifier.detect(&photo, &image.name)).expect("a face in the portrait");
        let [left, top, right, bottom] = image.face.expect("a labelled face");
        let label = FaceBox::from_pixels(left, top, right, bottom, photo.width(), photo.height());
        let (x, y) = detection.face_box.centre();
        let inside = (label.left..=label.right).contains(&x) && (label.top..=label.bottom).contains(&y);
        assert!(inside, "{}: the chosen box {:?} is not on the labelled face {label:?}", image.name, detection.face_box);
    }
}

#[test]
fn celeba_portraits_report_few_others() {
    let Some(data) = common::data_dir("celeba_portraits_report_few_others") else { return };
    let verifier = shipped_verifier();
    let celeba = Celeba::open(&data.join("celeba")).expect("the CelebA folder");
    let (mut found, mut others) = (0, 0);
    for image in celeba.images.iter().step_by(5) {
        let photo = common::load_image(&data, &format!("celeba/img_celeba/{}", image.name));
        let Ok(detection) = block_on(verifier.detect(&photo, &image.name)) else { continue };
        found += 1;
        others += usize::from(detection.others > 0);
    }
    eprintln!("every fifth CelebA photo: {found} faces found, {others} reported with another face");
    // Measured: 952 found, 5 reported with another face. On all 6,300 photos
    // (examples/several_faces.rs): 20 of 4,808, and 217 before the body rule.
    assert!(found >= 900, "only {found} of 1,260 faces found");
    assert!(others * 100 <= found, "{others} of {found} photos, nearly all of one person, were reported with several faces");
}

#[test]
fn face_at_border() {
    let Some(data) = common::data_dir("face_at_border") else { return };
    let verifier = shipped_verifier();
    for (photo, _) in PAIRS {
        let face = lfw(&data, photo);
        // Shift the photo left by 40% of its width: the face loses about a third.
        let mut canvas = RgbImage::from_pixel(face.width(), face.height(), image::Rgb([128, 128, 128]));
        imageops::replace(&mut canvas, &face, -i64::from(face.width() * 2 / 5), 0);
        match block_on(verifier.detect(&canvas, photo)) {
            Ok(detection) => {
                eprintln!("{photo}, cut: box {:?}", detection.face_box);
                assert!(detection.face_box.left < 0.2, "{photo}: the box {:?} is not at the cut edge", detection.face_box);
            }
            Err(SepfaceError::NoFace { source_name, reason }) => {
                eprintln!("{photo}, cut: no face ({reason})");
                assert_eq!(source_name, photo);
            }
            Err(error) => panic!("{photo}: {error}"),
        }
    }
}
