//! The verify pipeline shared by the browser and the command line: detect the face, crop it,
//! embed it, and compare the distance to an enrolled embedding with a threshold.
//!
//! Every method that reads a tensor back is async, because WebGPU allows only async reads;
//! natively, wrap calls in `pollster::block_on`.

use burn::prelude::*;
use image::RgbImage;
use serde::{Deserialize, Serialize};

use crate::boxes::FaceBox;
use crate::loss::Distance;
use crate::model::{Detector, DetectorConfig, Embedder, EmbedderConfig};
use crate::preprocess::{Resize, crop_face, images_to_tensor, sharpness};
use crate::weights::Weights;
use crate::{Result, SepfaceError};

/// Thresholds and margins of the pipeline.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct VerifySettings {
    /// Distance below which two faces are the same person.
    pub threshold: f32,
    /// The distance between embeddings.
    pub distance: Distance,
    /// Margin added around the detected box before cropping, as a fraction of its width and
    /// height on each side.
    pub crop_margin: f32,
    /// Smallest accepted face: the shorter side of the detected box, in pixels.
    pub min_face_pixels: u32,
    /// Smallest accepted face-presence probability, for detectors with a presence output.
    pub min_presence: f32,
    /// Smallest accepted [`sharpness`] of an enrollment crop.
    pub min_sharpness: f32,
}

impl Default for VerifySettings {
    fn default() -> Self {
        Self {
            threshold: 1.0,
            distance: Distance::SquaredEuclidean,
            crop_margin: 0.1,
            min_face_pixels: 32,
            min_presence: 0.5,
            min_sharpness: 15.0,
        }
    }
}

/// A detected face.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct FaceDetection {
    /// The box, normalised by the image size.
    pub face_box: FaceBox,
    /// Probability that the image shows a face, when the detector predicts it.
    pub presence: Option<f32>,
    /// Number of other faces [`Verifier::detect`] found in the image; it returns the largest.
    #[serde(default)]
    pub others: usize,
}

/// The embedding of one person, from one or several photos.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Enrollment {
    /// Mean of the photos' embeddings, L2-normalised again.
    pub embedding: Vec<f32>,
    /// Number of photos averaged.
    pub photos: usize,
    /// Checksum of the embedder weights that made it; embeddings of other weights are not
    /// comparable.
    pub embedder: String,
}

/// The result of comparing a face with an enrollment.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct Verification {
    /// Box of the face.
    pub face_box: FaceBox,
    /// Distance between the face's embedding and the enrollment.
    pub distance: f32,
    /// The threshold applied.
    pub threshold: f32,
    /// Whether `distance < threshold`: the same person.
    pub is_match: bool,
    /// Number of other faces in the image; the largest face is the one compared.
    #[serde(default)]
    pub others: usize,
}

/// A detector and an embedder with the settings that tie them together.
#[derive(Debug, Clone)]
pub struct Verifier {
    detector: Detector,
    detector_config: DetectorConfig,
    embedder: Embedder,
    embedder_config: EmbedderConfig,
    embedder_id: String,
    settings: VerifySettings,
    device: Device,
}

/// Reads a float tensor back to the host.
///
/// # Errors
/// [`SepfaceError::DeviceLost`] when the device was lost, [`SepfaceError::Readback`] otherwise.
pub async fn read_floats<const D: usize>(tensor: Tensor<D>, what: &str) -> Result<Vec<f32>> {
    let device = tensor.device();
    let readback = |reason: String| SepfaceError::Readback {
        what: what.to_string(),
        backend: format!("{device:?}"),
        reason,
    };
    let data = tensor.into_data_async().await.map_err(|error| match error.is_device_poisoned() {
        true => SepfaceError::DeviceLost {
            backend: format!("{device:?}"),
            reason: error.reason().to_string(),
        },
        false => readback(error.reason().to_string()),
    })?;
    data.try_to_vec::<f32>().map_err(|error| readback(format!("{error:?}")))
}

impl Verifier {
    /// Builds a verifier; the threshold, distance and crop margin come from the embedder's
    /// weights file where it stores them.
    pub fn new(detector: Weights<Detector>, embedder: Weights<Embedder>, device: &Device) -> Self {
        let defaults = VerifySettings::default();
        let settings = VerifySettings {
            threshold: embedder.info.threshold.unwrap_or(defaults.threshold),
            distance: embedder.info.distance.unwrap_or(defaults.distance),
            crop_margin: embedder.info.crop_margin.unwrap_or(defaults.crop_margin),
            ..defaults
        };
        Self {
            detector: detector.model.valid().to_device(device),
            detector_config: detector.config,
            embedder: embedder.model.valid().to_device(device),
            embedder_config: embedder.config,
            embedder_id: embedder.checksum,
            settings,
            device: device.clone(),
        }
    }

    /// Returns the current settings.
    pub fn settings(&self) -> &VerifySettings {
        &self.settings
    }

    /// Replaces the settings.
    pub fn set_settings(&mut self, settings: VerifySettings) {
        self.settings = settings;
    }

    /// Replaces the embedder, for example after fine-tuning; old enrollments stop matching it.
    pub fn set_embedder(&mut self, embedder: Embedder, embedder_id: String) {
        self.embedder = embedder.valid().to_device(&self.device);
        self.embedder_id = embedder_id;
    }

    /// Returns the embedder and its config.
    pub fn embedder(&self) -> (&Embedder, &EmbedderConfig) {
        (&self.embedder, &self.embedder_config)
    }

    /// Returns the identifier of the embedder in use: its weights checksum, or the name given
    /// to [`set_embedder`](Self::set_embedder).
    pub fn embedder_id(&self) -> &str {
        &self.embedder_id
    }

    /// Returns the device the networks run on.
    pub fn device(&self) -> &Device {
        &self.device
    }

    /// Finds the face in `image`; where there are several, returns the largest, counts the
    /// others in [`FaceDetection::others`] and logs a warning.
    ///
    /// # Errors
    /// [`SepfaceError::NoFace`] when the presence output is under `min_presence`, or its box has no
    /// area or is smaller than `min_face_pixels`.
    pub async fn detect(&self, image: &RgbImage, source_name: &str) -> Result<FaceDetection> {
        let faces = self.detect_faces(image, source_name).await?;
        let others = faces.len() - 1;
        if others > 0 {
            log::warn!("{source_name}: {} faces found; using the largest", faces.len());
        }
        Ok(FaceDetection { others, ..faces[0] })
    }

    /// Finds the faces in `image`, largest first.
    ///
    /// The detector regresses one box per image. So the search runs it on the whole image,
    /// then on the largest part of the image beside the face found, to look for another one
    /// (and on that part's halves when it gives one box around several faces).
    /// When the whole image gives no usable face box, the search also runs on two overlapping
    /// halves of the image. On two faces the whole image often gives one box around both, far
    /// wider or taller than a face, and a half may show a face too small in the whole image.
    /// When the halves give none either and the image is at least twice as long as it is
    /// wide, it runs on overlapping square windows along the longer side: with three faces in
    /// a row, each half cuts one.
    /// Boxes that a crop's inner edge cuts are dropped, and boxes of the same face are merged.
    /// Where several faces remain, each is measured again on a crop around it, so that their
    /// sizes compare. Boxes on the body below a face are dropped, and the rest merged again.
    ///
    /// # Errors
    /// Those of [`detect`](Self::detect), for the whole image, when no face is found.
    pub async fn detect_faces(&self, image: &RgbImage, source_name: &str) -> Result<Vec<FaceDetection>> {
        let whole = self.locate(image).await?;
        let plausible = |c: &FaceDetection| self.check_detection(image, c.face_box, c.presence, source_name).is_ok() && face_shaped(&c.face_box, image);
        let mut candidates = vec![whole];
        if !plausible(&whole) {
            candidates.extend(self.search_windows(image, &search_windows(image.width(), image.height())).await?);
        }
        if !candidates.iter().any(&plausible) && image.width().min(image.height()) >= self.settings.min_face_pixels {
            candidates.extend(self.search_windows(image, &square_windows(image.width(), image.height())).await?);
        }
        let mut faces = distinct_faces(candidates.into_iter().filter(|c| plausible(c)));
        let Some(first) = faces.first().copied() else {
            self.check_detection(image, whole.face_box, whole.presence, source_name)?;
            return Ok(vec![whole]);
        };
        for other in self.search_beside(image, &first.face_box).await?.into_iter().filter(&plausible) {
            if faces.iter().all(|face| distinct(&face.face_box, &other.face_box)) {
                faces.push(other);
            }
        }
        if faces.len() > 1 {
            faces = distinct_faces(without_bodies(self.measure_each(image, faces).await?));
        }
        faces.sort_by(|a, b| b.face_box.area().total_cmp(&a.face_box.area()));
        Ok(faces)
    }

    /// Runs the detector on each of `windows` of `image` and returns the boxes, in the image's
    /// coordinates, that the windows' inner edges do not cut.
    async fn search_windows(&self, image: &RgbImage, windows: &[FaceBox]) -> Result<Vec<FaceDetection>> {
        let mut found = Vec::new();
        for window in windows {
            found.extend(self.locate_within(image, window).await?);
        }
        Ok(found)
    }

    /// Runs the detector on the largest part of `image` beside `face` (left, right, above or
    /// below it, with a margin), where another face would be. When that part gives a confident
    /// box that is not face-shaped, as a box around two faces is, it also runs on the part's two
    /// overlapping halves: in a 2x2 group, the part beside one face contains two. Returns no box
    /// when the part is too small to hold a face.
    async fn search_beside(&self, image: &RgbImage, face: &FaceBox) -> Result<Vec<FaceDetection>> {
        let rest = beside(face, image.width(), image.height());
        let (_, _, width, height) = rest.to_pixel_rect(image.width(), image.height());
        if width.min(height) < self.settings.min_face_pixels.max(1) {
            return Ok(Vec::new());
        }
        let Some(found) = self.locate_within(image, &rest).await? else { return Ok(Vec::new()) };
        let confident = self.check_detection(image, found.face_box, found.presence, "").is_ok();
        if !confident || face_shaped(&found.face_box, image) {
            return Ok(vec![found]);
        }
        let halves = search_windows(width, height).map(|half| within(&rest, &half));
        self.search_windows(image, &halves).await
    }

    /// Runs the detector on the `window` crop of `image`. Returns its box in the image's
    /// coordinates, or `None` when the box reaches an edge of the window inside the image:
    /// that is a face cut in two.
    async fn locate_within(&self, image: &RgbImage, window: &FaceBox) -> Result<Option<FaceDetection>> {
        let crop = crop_face(image, window, 0.0)?;
        let found = self.locate(&crop).await?;
        if touches_inner_edge(&found.face_box, window) {
            return Ok(None);
        }
        Ok(Some(FaceDetection {
            face_box: within(window, &found.face_box),
            ..found
        }))
    }

    /// Runs the detector again on a crop around each face, so that all boxes come from crops
    /// of the same scale relative to their face and their areas compare. A face whose crop
    /// gives no usable box keeps its first box.
    async fn measure_each(&self, image: &RgbImage, faces: Vec<FaceDetection>) -> Result<Vec<FaceDetection>> {
        let mut measured = Vec::with_capacity(faces.len());
        for face in faces {
            let window = face.face_box.expand(MEASURE_MARGIN);
            let usable = |again: &FaceDetection| self.check_detection(image, again.face_box, again.presence, "").is_ok() && face_shaped(&again.face_box, image);
            let again = self.locate_within(image, &window).await?.filter(usable);
            measured.push(again.unwrap_or(face));
        }
        Ok(measured)
    }

    /// Runs the detector without judging its output: the box may be empty or tiny, and the
    /// presence probability low. [`detect`](Self::detect) adds those checks.
    pub async fn locate(&self, image: &RgbImage) -> Result<FaceDetection> {
        let size = self.detector_config.input_size();
        let input = images_to_tensor(&[image], size, Resize::Bilinear, &self.device)?; // [1, 3, size, size]
        let output = self.detector.forward(input);
        // One readback of [1, 4] edges, then the face probability when the detector has one.
        let values = match output.presence {
            Some(logit) => Tensor::cat(vec![output.boxes, burn::tensor::activation::sigmoid(logit)], 1),
            None => output.boxes,
        };
        let values = read_floats(values, "detector output").await?;
        Ok(FaceDetection {
            face_box: FaceBox::from_edges([values[0], values[1], values[2], values[3]]),
            presence: values.get(4).copied(),
            others: 0,
        })
    }

    fn check_detection(&self, image: &RgbImage, face_box: FaceBox, presence: Option<f32>, source_name: &str) -> Result<()> {
        let no_face = |reason: String| SepfaceError::NoFace {
            source_name: source_name.to_string(),
            reason,
        };
        if let Some(probability) = presence.filter(|p| !(*p >= self.settings.min_presence)) {
            return Err(no_face(format!(
                "the detector's face probability is {probability:.2}, under {:.2}; use a photo or camera view with one clear, frontal face",
                self.settings.min_presence
            )));
        }
        if !face_box.is_valid() {
            return Err(no_face(format!("the detected box {face_box:?} has no area; use a photo or camera view with one clear, frontal face")));
        }
        let (_, _, width, height) = face_box.to_pixel_rect(image.width(), image.height());
        if width.min(height) < self.settings.min_face_pixels {
            return Err(no_face(format!(
                "the face is {width}x{height} pixels, smaller than {} pixels; move closer or use a larger photo",
                self.settings.min_face_pixels
            )));
        }
        Ok(())
    }

    /// Embeds the face inside `face_box` of `image` into a unit vector.
    ///
    /// # Errors
    /// [`SepfaceError::EmptyRegion`] for a box outside the image, and
    /// [`SepfaceError::NotFinite`] when the embedder returns NaN or infinity.
    pub async fn embed(&self, image: &RgbImage, face_box: &FaceBox) -> Result<Vec<f32>> {
        let crop = crop_face(image, face_box, self.settings.crop_margin)?;
        self.embed_crop(&crop).await
    }

    /// Embeds an already cropped face.
    pub async fn embed_crop(&self, crop: &RgbImage) -> Result<Vec<f32>> {
        let size = self.embedder_config.input_size();
        let input = images_to_tensor(&[crop], size, Resize::Bicubic, &self.device)?;
        let embedding = read_floats(self.embedder.forward(input), "embedding").await?;
        if embedding.iter().any(|value| !value.is_finite()) {
            return Err(SepfaceError::NotFinite {
                what: "the face embedding".into(),
                hint: "The embedder weights are damaged or diverged; load the shipped weights again".into(),
            });
        }
        Ok(embedding)
    }

    /// Detects, checks and embeds the face of one enrollment photo.
    ///
    /// # Errors
    /// Those of [`detect`](Self::detect), and [`SepfaceError::NoFace`] when the crop is too
    /// blurred (its [`sharpness`] is under `min_sharpness`).
    pub async fn enroll_photo(&self, image: &RgbImage, source_name: &str) -> Result<(FaceDetection, Vec<f32>)> {
        let detection = self.detect(image, source_name).await?;
        let crop = crop_face(image, &detection.face_box, self.settings.crop_margin)?;
        let focus = sharpness(&crop);
        if focus < self.settings.min_sharpness {
            return Err(SepfaceError::NoFace {
                source_name: source_name.to_string(),
                reason: format!(
                    "the face is too blurred (sharpness {focus:.1}, under {:.1}); use a sharper photo",
                    self.settings.min_sharpness
                ),
            });
        }
        Ok((detection, self.embed_crop(&crop).await?))
    }

    /// Enrolls one person from one or several photos: embeds each face, averages the
    /// embeddings and normalises the mean again.
    ///
    /// # Errors
    /// [`SepfaceError::InvalidArgument`] for no photos, and the first photo's error otherwise.
    pub async fn enroll(&self, photos: &[(&str, &RgbImage)]) -> Result<Enrollment> {
        if photos.is_empty() {
            return Err(SepfaceError::invalid("enrollment photos", 0, "at least one photo of the person"));
        }
        let mut embeddings = Vec::with_capacity(photos.len());
        for (name, image) in photos {
            embeddings.push(self.enroll_photo(image, name).await?.1);
        }
        Ok(self.enrollment_from(&embeddings))
    }

    /// Averages embeddings into an [`Enrollment`] for the current embedder.
    pub fn enrollment_from(&self, embeddings: &[Vec<f32>]) -> Enrollment {
        let dim = embeddings.first().map_or(0, Vec::len);
        let mut mean = vec![0f32; dim];
        for embedding in embeddings {
            for (sum, value) in mean.iter_mut().zip(embedding) {
                *sum += value;
            }
        }
        let norm = mean.iter().map(|v| v * v).sum::<f32>().sqrt().max(1e-12);
        Enrollment {
            embedding: mean.iter().map(|v| v / norm).collect(),
            photos: embeddings.len(),
            embedder: self.embedder_id.clone(),
        }
    }

    /// Checks that `enrollment` was made with the embedder in use.
    ///
    /// # Errors
    /// [`SepfaceError::InvalidArgument`] when it came from other embedder weights, whose
    /// embeddings are not comparable.
    pub fn check_enrollment(&self, enrollment: &Enrollment) -> Result<()> {
        if enrollment.embedder == self.embedder_id {
            return Ok(());
        }
        Err(SepfaceError::invalid(
            "enrollment",
            format!("made with embedder {}", short_id(&enrollment.embedder)),
            &format!("the embedder in use is {}, and embeddings of different weights are not comparable; enroll again", short_id(&self.embedder_id)),
        ))
    }

    /// Compares the face in `image` with `enrollment`.
    ///
    /// # Errors
    /// Those of [`detect`](Self::detect) and [`embed`](Self::embed), and
    /// [`SepfaceError::InvalidArgument`] when the enrollment came from other embedder weights.
    pub async fn verify(&self, enrollment: &Enrollment, image: &RgbImage, source_name: &str) -> Result<Verification> {
        self.check_enrollment(enrollment)?;
        let detection = self.detect(image, source_name).await?;
        let embedding = self.embed(image, &detection.face_box).await?;
        let distance = self.settings.distance.between(&enrollment.embedding, &embedding);
        Ok(Verification {
            face_box: detection.face_box,
            distance,
            threshold: self.settings.threshold,
            is_match: distance < self.settings.threshold,
            others: detection.others,
        })
    }
}

// NOTE: these limits were tuned on composites of two LFW photos, the second at 0.6 times the
// size, beside or below the first (`examples/several_faces.rs`), and checked on three and four.
// In a 2x2 group the whole image often gives one face-shaped box around several faces, which
// the search then takes for the largest face. The body rule of [`without_bodies`] was tuned on
// CelebA portraits. It also drops a real face centred anywhere below another box, within half
// that box's width of its sides, when it is larger or scores under 0.99, as in some group
// photos. It trusts the upper box, so a false box above a face (a poster) would drop the face.
// Trusting the surer box instead reported 39 CelebA portraits with other faces, not 20, with
// the chest chosen in most. Crowds and real group photos are untested.

/// Largest intersection over union between two boxes of different faces.
const MAX_FACE_OVERLAP: f32 = 0.3;

/// Fraction of the longer side that each search half covers; the halves overlap in the middle.
const HALF_WINDOW: f32 = 0.6;

/// Widest width-to-height ratio, in pixels, of a box taken for one face (and its inverse the
/// narrowest). A box around two faces side by side is wider.
const MAX_FACE_ASPECT: f32 = 1.7;

/// Most square windows searched along a long image: enough for one about six times as long as
/// it is wide.
const MAX_SQUARE_WINDOWS: usize = 12;

/// Margin around a face, as a fraction of its box, left out of the search for another face.
const BESIDE_MARGIN: f32 = 0.25;

/// Smallest presence probability for a box on another face's body to count as a face. Chest
/// boxes in CelebA portraits mostly score under it, while small faces placed below a photo
/// mostly score over it.
const BODY_MIN_PRESENCE: f32 = 0.99;

/// Margin around a face, as a fraction of its box, of the crop it is measured again on.
const MEASURE_MARGIN: f32 = 0.25;

/// Returns the largest of the four parts of a `width x height` image left of, right of, above
/// and below `face` grown by [`BESIDE_MARGIN`], in pixels.
fn beside(face: &FaceBox, width: u32, height: u32) -> FaceBox {
    let grown = face.expand(BESIDE_MARGIN);
    let parts = [
        FaceBox::new(0.0, 0.0, grown.left, 1.0),
        FaceBox::new(grown.right, 0.0, 1.0, 1.0),
        FaceBox::new(0.0, 0.0, 1.0, grown.top),
        FaceBox::new(0.0, grown.bottom, 1.0, 1.0),
    ];
    let pixels = |part: &FaceBox| part.width() * width as f32 * part.height() * height as f32;
    parts.into_iter().fold(parts[0], |best, part| if pixels(&part) > pixels(&best) { part } else { best })
}

/// Returns the two overlapping halves of a `width x height` image, split along its longer side.
fn search_windows(width: u32, height: u32) -> [FaceBox; 2] {
    if width >= height {
        [FaceBox::new(0.0, 0.0, HALF_WINDOW, 1.0), FaceBox::new(1.0 - HALF_WINDOW, 0.0, 1.0, 1.0)]
    } else {
        [FaceBox::new(0.0, 0.0, 1.0, HALF_WINDOW), FaceBox::new(0.0, 1.0 - HALF_WINDOW, 1.0, 1.0)]
    }
}

/// Returns square windows as long as the shorter side of a `width x height` image, spaced
/// along its longer side with at least half a window of overlap. Returns none for an image
/// less than twice as long as it is wide, which the halves cover, and for one that would need
/// more than [`MAX_SQUARE_WINDOWS`], so that a thin strip cannot cost thousands of passes.
fn square_windows(width: u32, height: u32) -> Vec<FaceBox> {
    let side = width.min(height) as f32 / width.max(height).max(1) as f32;
    if side > 0.5 || side <= 0.0 {
        return Vec::new();
    }
    let count = ((1.0 - side) / (side / 2.0)).ceil() as usize + 1;
    if count > MAX_SQUARE_WINDOWS {
        return Vec::new();
    }
    let stride = (1.0 - side) / (count - 1) as f32;
    let window = |start: f32| {
        let end = (start + side).min(1.0);
        if width >= height { FaceBox::new(start, 0.0, end, 1.0) } else { FaceBox::new(0.0, start, 1.0, end) }
    };
    (0..count).map(|index| window(index as f32 * stride)).collect()
}

/// Maps a box found in `window` (normalised by the window) to the whole image.
fn within(window: &FaceBox, face: &FaceBox) -> FaceBox {
    let x = |value: f32| window.left + value * window.width();
    let y = |value: f32| window.top + value * window.height();
    FaceBox::new(x(face.left), y(face.top), x(face.right), y(face.bottom))
}

/// Returns whether `face` (normalised by `window`) reaches an edge of `window` that lies inside
/// the image.
fn touches_inner_edge(face: &FaceBox, window: &FaceBox) -> bool {
    const EDGE: f32 = 0.02;
    (window.left > 0.0 && face.left < EDGE)
        || (window.top > 0.0 && face.top < EDGE)
        || (window.right < 1.0 && face.right > 1.0 - EDGE)
        || (window.bottom < 1.0 && face.bottom > 1.0 - EDGE)
}

/// Returns whether `face`'s width-to-height ratio, in `image`'s pixels, fits one face.
fn face_shaped(face: &FaceBox, image: &RgbImage) -> bool {
    let aspect = face.width() * image.width() as f32 / (face.height() * image.height() as f32);
    (1.0 / MAX_FACE_ASPECT..=MAX_FACE_ASPECT).contains(&aspect)
}

/// Drops the boxes that lie on the body of another face: centred below its bottom edge, within
/// half a face width of its sides, and either larger than it or with a presence probability
/// under [`BODY_MIN_PRESENCE`]. In upper-body portraits the search beside the face finds boxes
/// on the chest, often larger than the face and often scoring higher, that would otherwise be
/// counted as faces or taken for the largest. Boxes come back from the top of the image down.
fn without_bodies(mut faces: Vec<FaceDetection>) -> Vec<FaceDetection> {
    // Top down, and against accepted faces only: a dropped box has no body zone of its own.
    faces.sort_by(|a, b| a.face_box.centre().1.total_cmp(&b.face_box.centre().1));
    let mut accepted: Vec<FaceDetection> = Vec::with_capacity(faces.len());
    for candidate in faces {
        if !accepted.iter().any(|face| on_body_of(&candidate, face)) {
            accepted.push(candidate);
        }
    }
    accepted
}

/// Returns whether `candidate` lies on the body of `face`, by the rule of [`without_bodies`].
/// Without presence probabilities (a detector without that output), only a larger box counts.
fn on_body_of(candidate: &FaceDetection, face: &FaceDetection) -> bool {
    let (found, above) = (&candidate.face_box, &face.face_box);
    let (x, y) = found.centre();
    let half_width = above.width() / 2.0;
    let below = y > above.bottom && (above.left - half_width..=above.right + half_width).contains(&x);
    let unsure = candidate.presence.is_some_and(|p| p < BODY_MIN_PRESENCE);
    below && (found.area() > above.area() || unsure)
}

/// Keeps the first of each group of boxes that fall on the same face, in order.
fn distinct_faces(candidates: impl IntoIterator<Item = FaceDetection>) -> Vec<FaceDetection> {
    let mut faces: Vec<FaceDetection> = Vec::new();
    for candidate in candidates {
        if faces.iter().all(|face| distinct(&face.face_box, &candidate.face_box)) {
            faces.push(candidate);
        }
    }
    faces
}

/// Returns whether `outer` contains the centre of `inner`.
fn contains_centre(outer: &FaceBox, inner: &FaceBox) -> bool {
    let (x, y) = inner.centre();
    (outer.left..=outer.right).contains(&x) && (outer.top..=outer.bottom).contains(&y)
}

/// Returns whether two boxes show different faces: they overlap little, and neither contains
/// the other's centre.
fn distinct(a: &FaceBox, b: &FaceBox) -> bool {
    a.iou(b) < MAX_FACE_OVERLAP && !contains_centre(a, b) && !contains_centre(b, a)
}

fn short_id(id: &str) -> &str {
    id.get(..12).unwrap_or(id)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn halves_follow_the_longer_side_and_overlap() {
        let [left, right] = search_windows(400, 200);
        assert_eq!(left.edges(), [0.0, 0.0, 0.6, 1.0]);
        assert!((right.left - 0.4).abs() < 1e-6, "{right:?}");
        assert_eq!(right.right, 1.0);
        let [top, bottom] = search_windows(200, 400);
        assert_eq!(top.edges(), [0.0, 0.0, 1.0, 0.6]);
        assert!((bottom.top - 0.4).abs() < 1e-6, "{bottom:?}");
        assert_eq!(bottom.bottom, 1.0);
    }

    #[test]
    fn square_windows_cover_long_images_with_overlap() {
        assert!(square_windows(640, 480).is_empty(), "a 4:3 frame is left to the halves");
        let windows = square_windows(220, 100);
        assert_eq!(windows.len(), 4);
        assert_eq!(windows[0].left, 0.0);
        assert!((windows[3].right - 1.0).abs() < 1e-6, "{:?}", windows[3]);
        for pair in windows.windows(2) {
            assert!((pair[0].width() - 100.0 / 220.0).abs() < 1e-6, "{:?}", pair[0]);
            assert!(pair[0].right - pair[1].left >= pair[0].width() / 2.0 - 1e-6, "overlap of {pair:?}");
        }
        let tall = square_windows(100, 300);
        assert!(tall.iter().all(|window| window.left == 0.0 && window.right == 1.0), "{tall:?}");
        assert!(square_windows(0, 100).is_empty());
        assert_eq!(square_windows(600, 100).len(), 11, "a 6:1 strip");
        assert!(square_windows(65_535, 1).is_empty(), "a thin strip would need 131,000 windows");
    }

    #[test]
    fn boxes_in_a_window_map_to_the_image() {
        let window = FaceBox::new(0.4, 0.0, 1.0, 1.0);
        let mapped = within(&window, &FaceBox::new(0.5, 0.25, 1.0, 0.75));
        let expected = [0.7, 0.25, 1.0, 0.75];
        assert!(mapped.edges().iter().zip(expected).all(|(a, b)| (a - b).abs() < 1e-6), "{mapped:?}");
    }

    #[test]
    fn only_inner_window_edges_cut_a_face() {
        let left_half = FaceBox::new(0.0, 0.0, 0.6, 1.0);
        // The image's own left edge is not a cut; the half's right edge is.
        assert!(!touches_inner_edge(&FaceBox::new(0.0, 0.2, 0.5, 0.8), &left_half));
        assert!(touches_inner_edge(&FaceBox::new(0.5, 0.2, 0.995, 0.8), &left_half));
    }

    #[test]
    fn beside_takes_the_largest_free_part() {
        let left_face = FaceBox::new(0.1, 0.3, 0.3, 0.6);
        let right = beside(&left_face, 400, 200);
        assert_eq!(right.right, 1.0);
        assert!((right.left - 0.35).abs() < 1e-6, "{right:?}");

        let top_face = FaceBox::new(0.3, 0.1, 0.7, 0.3);
        let below = beside(&top_face, 200, 400);
        assert_eq!(below.bottom, 1.0);
        assert!((below.top - 0.35).abs() < 1e-6, "{below:?}");
    }

    #[test]
    fn distinct_unless_nested() {
        let face = FaceBox::new(0.1, 0.1, 0.4, 0.5);
        assert!(distinct(&face, &FaceBox::new(0.6, 0.1, 0.9, 0.5)));
        assert!(!distinct(&face, &FaceBox::new(0.15, 0.15, 0.3, 0.3)), "a box inside a face is that face");
        assert!(!distinct(&face, &FaceBox::new(0.0, 0.0, 1.0, 1.0)), "a box around a face contains its centre");
    }

    #[test]
    fn without_bodies_drops_chest_boxes() {
        let detection = |face_box: FaceBox, presence: Option<f32>| FaceDetection { face_box, presence, others: 0 };
        let face = detection(FaceBox::new(0.4, 0.1, 0.6, 0.3), Some(1.0));
        let chest = detection(FaceBox::new(0.3, 0.45, 0.7, 0.7), Some(0.95));
        let unsure_below = detection(FaceBox::new(0.45, 0.45, 0.57, 0.57), Some(0.9));
        let sure_below = detection(FaceBox::new(0.45, 0.75, 0.57, 0.87), Some(0.995));
        let unsure_beside = detection(FaceBox::new(0.75, 0.1, 1.0, 0.4), Some(0.6));
        // Below the chest's zone but outside the face's: only an accepted face has a body.
        let below_the_chest = detection(FaceBox::new(0.1, 0.75, 0.18, 0.83), Some(0.9));
        let faces = without_bodies(vec![chest, face, unsure_below, sure_below, unsure_beside, below_the_chest]);
        assert_eq!(faces, vec![face, unsure_beside, below_the_chest, sure_below]);
    }

    #[test]
    fn without_bodies_without_presence_compares_sizes() {
        let detection = |face_box: FaceBox| FaceDetection { face_box, presence: None, others: 0 };
        let face = detection(FaceBox::new(0.4, 0.0, 0.6, 0.2));
        let larger_below = detection(FaceBox::new(0.35, 0.3, 0.65, 0.6));
        let smaller_below = detection(FaceBox::new(0.45, 0.3, 0.55, 0.4));
        assert_eq!(without_bodies(vec![larger_below, face, smaller_below]), vec![face, smaller_below]);
    }

    #[test]
    fn face_shape_rejects_wide_boxes() {
        let image = RgbImage::new(400, 200);
        assert!(face_shaped(&FaceBox::new(0.0, 0.0, 0.25, 0.5), &image), "100x100 pixels");
        assert!(!face_shaped(&FaceBox::new(0.0, 0.0, 0.6, 0.5), &image), "240x100 pixels");
    }
}
