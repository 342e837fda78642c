//! Turning dataset readers' output into training sources and splits.

use std::collections::BTreeSet;
use std::path::Path;

use rand::SeedableRng;
use rand::rngs::StdRng;
use rand::seq::SliceRandom;

use super::detector::BoxSource;
use super::faces::FaceSource;
use crate::Result;
use crate::datasets::celeba::{Celeba, Partition};
use crate::datasets::cuhk;
use crate::datasets::folders::IdentityFolders;

/// Box sources from a CUHK CNN_FacePoint list.
pub fn cuhk_sources(list: &Path) -> Result<Vec<BoxSource>> {
    Ok(cuhk::read_list(list)?
        .into_iter()
        .map(|image| BoxSource {
            path: image.path,
            face: image.face,
        })
        .collect())
}

/// Box sources from the CelebA images that have a ground-truth box.
pub fn celeba_box_sources(celeba: &Celeba) -> Vec<BoxSource> {
    celeba
        .images
        .iter()
        .filter_map(|image| {
            image.face.map(|face| BoxSource {
                path: image.path.clone(),
                face,
            })
        })
        .collect()
}

/// Moves a seeded random `fraction` of `items` into a second list.
pub fn split_off<T>(mut items: Vec<T>, fraction: f64, seed: u64) -> (Vec<T>, Vec<T>) {
    items.shuffle(&mut StdRng::seed_from_u64(seed));
    let held_out = ((items.len() as f64 * fraction.clamp(0.0, 1.0)).round() as usize).min(items.len());
    let kept = items.split_off(held_out);
    (kept, items)
}

/// Face sources of one CelebA partition (all when `None`), keeping identities with more than
/// `min_exclusive` images there.
pub fn celeba_face_sources(celeba: &Celeba, partition: Option<Partition>, min_exclusive: usize) -> Vec<FaceSource> {
    celeba
        .identities_with_more_than(min_exclusive, partition)
        .into_iter()
        .flat_map(|(identity, indices)| {
            indices.into_iter().map(move |index| {
                let image = &celeba.images[index];
                FaceSource {
                    path: image.path.clone(),
                    identity: identity as usize,
                    face: image.face,
                }
            })
        })
        .collect()
}

/// Face sources of a folder per identity; the faces are found by the detector.
pub fn folder_face_sources(folders: &IdentityFolders) -> Vec<FaceSource> {
    folders
        .images
        .iter()
        .map(|(path, identity)| FaceSource {
            path: path.clone(),
            identity: *identity,
            face: None,
        })
        .collect()
}

/// Splits sources by identity: a seeded random `fraction` of the identities goes to the second
/// list, so no identity is in both.
pub fn split_identities(sources: Vec<FaceSource>, fraction: f64, seed: u64) -> (Vec<FaceSource>, Vec<FaceSource>) {
    let identities: Vec<usize> = sources.iter().map(|s| s.identity).collect::<BTreeSet<_>>().into_iter().collect();
    let (_, held_out) = split_off(identities, fraction, seed);
    let held_out: BTreeSet<usize> = held_out.into_iter().collect();
    sources.into_iter().partition(|source| !held_out.contains(&source.identity))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn identity_split_is_disjoint_and_seeded() {
        let sources: Vec<FaceSource> = (0..100)
            .map(|i| FaceSource {
                path: format!("{i}.jpg").into(),
                identity: i / 5,
                face: None,
            })
            .collect();
        let (train, validation) = split_identities(sources.clone(), 0.2, 9);
        let train_ids: BTreeSet<usize> = train.iter().map(|s| s.identity).collect();
        let validation_ids: BTreeSet<usize> = validation.iter().map(|s| s.identity).collect();
        assert_eq!(validation_ids.len(), 4);
        assert!(train_ids.is_disjoint(&validation_ids));
        assert_eq!(train.len() + validation.len(), 100);
        let (_, again) = split_identities(sources, 0.2, 9);
        assert_eq!(again.len(), validation.len());
        assert_eq!(again[0].path, validation[0].path);
    }
}
