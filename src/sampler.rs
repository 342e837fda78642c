//! P x K batch sampling for the triplet loss: each batch holds `P` identities with `K` images
//! each, so every image has positives and negatives in its batch.

use std::collections::BTreeMap;

use rand::seq::SliceRandom;
use rand::Rng;

use crate::{Result, SepfaceError};

/// Draws P x K batches of sample indices from an identity-labelled set.
#[derive(Debug, Clone)]
pub struct PkSampler {
    identities: Vec<(usize, Vec<usize>)>,
    per_batch: usize,
    per_identity: usize,
    skipped: usize,
}

/// One batch: sample indices and their identity labels, `P * K` of each.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PkBatch {
    /// Indices into the labelled set.
    pub indices: Vec<usize>,
    /// Identity of each index, as given to [`PkSampler::new`].
    pub labels: Vec<usize>,
}

impl PkSampler {
    /// Groups `labels[i]` (the identity of sample `i`) and keeps the identities with at least
    /// `per_identity` samples.
    ///
    /// # Errors
    /// [`SepfaceError::InvalidArgument`] when `per_batch < 2`, `per_identity < 2`, or fewer than
    /// `per_batch` identities have `per_identity` samples.
    pub fn new(labels: &[usize], per_batch: usize, per_identity: usize) -> Result<Self> {
        if per_batch < 2 || per_identity < 2 {
            return Err(SepfaceError::invalid(
                "P x K",
                format!("{per_batch} x {per_identity}"),
                "at least 2 identities per batch and 2 images per identity, or no triplet can form",
            ));
        }
        let mut groups: BTreeMap<usize, Vec<usize>> = BTreeMap::new();
        for (index, &label) in labels.iter().enumerate() {
            groups.entry(label).or_default().push(index);
        }
        let total = groups.len();
        let identities: Vec<(usize, Vec<usize>)> =
            groups.into_iter().filter(|(_, g)| g.len() >= per_identity).collect();
        if identities.len() < per_batch {
            return Err(SepfaceError::invalid(
                "P (identities per batch)",
                per_batch,
                &format!(
                    "at most {} here: only that many of {total} identities have {per_identity} or more images",
                    identities.len()
                ),
            ));
        }
        Ok(Self {
            skipped: total - identities.len(),
            identities,
            per_batch,
            per_identity,
        })
    }

    /// Number of identities with enough samples.
    pub fn identity_count(&self) -> usize {
        self.identities.len()
    }

    /// Number of identities left out because they have fewer than K samples.
    pub fn skipped_identities(&self) -> usize {
        self.skipped
    }

    /// Number of samples per batch, `P * K`.
    pub fn batch_size(&self) -> usize {
        self.per_batch * self.per_identity
    }

    /// Draws one batch: `P` distinct identities, `K` distinct samples of each.
    pub fn sample<R: Rng>(&self, rng: &mut R) -> PkBatch {
        let chosen = rand::seq::index::sample(rng, self.identities.len(), self.per_batch);
        let mut batch = PkBatch {
            indices: Vec::with_capacity(self.batch_size()),
            labels: Vec::with_capacity(self.batch_size()),
        };
        for identity in chosen.iter() {
            let (label, samples) = &self.identities[identity];
            let picked = rand::seq::index::sample(rng, samples.len(), self.per_identity);
            for position in picked.iter() {
                batch.indices.push(samples[position]);
                batch.labels.push(*label);
            }
        }
        batch
    }

    /// Draws a batch, then shuffles its order (labels stay with their samples).
    pub fn sample_shuffled<R: Rng>(&self, rng: &mut R) -> PkBatch {
        let batch = self.sample(rng);
        let mut order: Vec<usize> = (0..batch.indices.len()).collect();
        order.shuffle(rng);
        PkBatch {
            indices: order.iter().map(|&i| batch.indices[i]).collect(),
            labels: order.iter().map(|&i| batch.labels[i]).collect(),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use rand::SeedableRng;
    use rand::rngs::StdRng;

    #[test]
    fn batches_hold_p_identities_of_k_images() {
        // Identity 7 has only two samples and is skipped with K = 3.
        let labels = [0, 0, 0, 1, 1, 1, 1, 7, 7, 2, 2, 2];
        let sampler = PkSampler::new(&labels, 2, 3).expect("enough identities");
        assert_eq!(sampler.identity_count(), 3);
        assert_eq!(sampler.skipped_identities(), 1);
        let mut rng = StdRng::seed_from_u64(1);
        for _ in 0..50 {
            let batch = sampler.sample(&mut rng);
            assert_eq!(batch.indices.len(), 6);
            let mut unique = batch.indices.clone();
            unique.sort_unstable();
            unique.dedup();
            assert_eq!(unique.len(), 6, "an index repeats in {batch:?}");
            for (&index, &label) in batch.indices.iter().zip(&batch.labels) {
                assert_eq!(labels[index], label);
            }
            for window in batch.indices.chunks(3) {
                let identity = labels[window[0]];
                assert_ne!(identity, 7);
                assert!(window.iter().all(|&i| labels[i] == identity), "{batch:?}");
            }
        }
    }

    #[test]
    fn too_few_identities_is_an_error() {
        let labels = [0, 0, 1];
        let error = PkSampler::new(&labels, 2, 2).expect_err("one identity with two images");
        assert!(error.to_string().contains("at most 1"), "{error}");
        assert!(PkSampler::new(&labels, 1, 2).is_err());
    }

    #[test]
    fn same_seed_gives_same_batches() {
        let labels: Vec<usize> = (0..40).map(|i| i / 4).collect();
        let sampler = PkSampler::new(&labels, 4, 2).expect("ten identities");
        let draw = |seed| {
            let mut rng = StdRng::seed_from_u64(seed);
            (0..5).map(|_| sampler.sample_shuffled(&mut rng)).collect::<Vec<_>>()
        };
        assert_eq!(draw(3), draw(3));
        assert_ne!(draw(3), draw(4));
    }
}
