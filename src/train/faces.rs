//! Face crops for the embedder: from ground-truth boxes where a dataset has them (the paper's
//! choice, so detector errors do not reach the embedder), otherwise from our detector.

use std::path::PathBuf;

use burn::prelude::*;
use image::RgbImage;
use rayon::prelude::*;

use super::{EventSink, TrainEvent};
use crate::boxes::FaceBox;
use crate::faces::{FaceSample, stored_crop};
use crate::model::{Detector, DetectorConfig};
use crate::preprocess::{Resize, decode_image, images_to_tensor};
use crate::{Result, SepfaceError};

/// An image of a known identity, with its face box in pixels where known.
#[derive(Debug, Clone)]
pub struct FaceSource {
    /// Image path.
    pub path: PathBuf,
    /// Identity label.
    pub identity: usize,
    /// Ground-truth face box `[left, top, right, bottom]` in pixels, if any.
    pub face: Option<[f32; 4]>,
}

/// A detector used to find the faces that have no ground-truth box.
pub struct BoxFinder<'a> {
    /// The network, in inference mode.
    pub model: &'a Detector,
    /// Its architecture.
    pub config: &'a DetectorConfig,
    /// Device it runs on.
    pub device: &'a Device,
}

impl BoxFinder<'_> {
    /// Predicts a box for each image, 32 images per forward pass.
    pub fn find(&self, images: &[&RgbImage]) -> Result<Vec<FaceBox>> {
        let mut boxes = Vec::with_capacity(images.len());
        for chunk in images.chunks(32) {
            let input = images_to_tensor(chunk, self.config.input_size(), Resize::Bilinear, self.device)?;
            let edges = self.model.forward(input).boxes.into_data().try_to_vec::<f32>().map_err(|error| SepfaceError::Readback {
                what: "detector boxes".into(),
                backend: format!("{:?}", self.device),
                reason: format!("{error:?}"),
            })?;
            boxes.extend(edges.chunks(4).map(|e| FaceBox::from_edges([e[0], e[1], e[2], e[3]])));
        }
        Ok(boxes)
    }
}

/// Decodes the images of `sources`, finds their faces and stores crops of `stored_size`
/// pixels with `crop_margin` plus [`crate::faces::STORED_EXTRA_MARGIN`] around each face.
///
/// Images that cannot be read, and images without a ground-truth box when no `finder` is
/// given, are skipped and counted; the count is returned beside the crops.
pub fn prepare_faces(sources: &[FaceSource], finder: Option<&BoxFinder>, crop_margin: f32, stored_size: u32, events: EventSink) -> Result<(Vec<FaceSample>, usize)> {
    let mut samples = Vec::with_capacity(sources.len());
    let mut skipped = 0;
    let total = sources.len();
    for (chunk_index, chunk) in sources.chunks(256).enumerate() {
        let decoded: Vec<Option<RgbImage>> = chunk.par_iter().map(decode_or_warn).collect();
        let need_detection: Vec<&RgbImage> = chunk
            .iter()
            .zip(&decoded)
            .filter(|(source, image)| source.face.is_none() && image.is_some())
            .filter_map(|(_, image)| image.as_ref())
            .collect();
        let mut detected = match finder {
            Some(finder) if !need_detection.is_empty() => finder.find(&need_detection)?.into_iter(),
            _ => Vec::new().into_iter(),
        };
        for (source, image) in chunk.iter().zip(decoded) {
            let Some(image) = image else {
                skipped += 1;
                continue;
            };
            let face = match source.face {
                Some([left, top, right, bottom]) => Some(FaceBox::from_pixels(left, top, right, bottom, image.width(), image.height())),
                None if finder.is_some() => detected.next(),
                None => None,
            };
            match face.map(|face| stored_crop(&image, &face, crop_margin, stored_size)) {
                Some(Ok(crop)) => samples.push(FaceSample {
                    crop,
                    identity: source.identity,
                }),
                Some(Err(error)) => {
                    log::warn!("skipping {}: {error}", source.path.display());
                    skipped += 1;
                }
                None => skipped += 1,
            }
        }
        events(&TrainEvent::Preparing {
            what: "face crops".into(),
            done: (chunk_index * 256 + chunk.len()).min(total),
            total,
        });
    }
    Ok((samples, skipped))
}

fn decode_or_warn(source: &FaceSource) -> Option<RgbImage> {
    let bytes = std::fs::read(&source.path).map_err(|error| SepfaceError::read(&source.path, error));
    match bytes.and_then(|bytes| decode_image(&bytes, &source.path.display().to_string())) {
        Ok(image) => Some(image),
        Err(error) => {
            log::warn!("skipping an unreadable image: {error}");
            None
        }
    }
}
