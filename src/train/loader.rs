//! Batches built in worker threads, delivered in order, so decoding and augmentation overlap
//! with training and a batch's content depends only on its index.

use std::collections::BTreeMap;
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};

use crossbeam_channel::{Receiver, bounded};

/// Iterator over `make(0), make(1), ...` computed by worker threads.
pub struct OrderedBatches<T> {
    receiver: Receiver<(usize, T)>,
    pending: BTreeMap<usize, T>,
    next: usize,
    count: usize,
}

/// Starts `workers` threads that compute `make(index)` for `index` in `0..count`, at most
/// `prefetch` results ahead of the consumer.
pub fn ordered_parallel<T, F>(count: usize, workers: usize, prefetch: usize, make: F) -> OrderedBatches<T>
where
    T: Send + 'static,
    F: Fn(usize) -> T + Send + Sync + 'static,
{
    let (sender, receiver) = bounded(prefetch.max(1));
    let make = Arc::new(make);
    let next_index = Arc::new(AtomicUsize::new(0));
    for _ in 0..workers.max(1) {
        let (sender, make, next_index) = (sender.clone(), Arc::clone(&make), Arc::clone(&next_index));
        std::thread::spawn(move || {
            loop {
                let index = next_index.fetch_add(1, Ordering::SeqCst);
                if index >= count || sender.send((index, make(index))).is_err() {
                    break;
                }
            }
        });
    }
    OrderedBatches {
        receiver,
        pending: BTreeMap::new(),
        next: 0,
        count,
    }
}

impl<T> Iterator for OrderedBatches<T> {
    type Item = T;

    fn next(&mut self) -> Option<T> {
        if self.next >= self.count {
            return None;
        }
        while !self.pending.contains_key(&self.next) {
            let (index, item) = self.receiver.recv().ok()?;
            self.pending.insert(index, item);
        }
        let item = self.pending.remove(&self.next);
        self.next += 1;
        item
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn results_arrive_in_order() {
        let items: Vec<usize> = ordered_parallel(50, 4, 3, |index| {
            std::thread::sleep(std::time::Duration::from_micros((50 - index as u64) * 20));
            index * index
        })
        .collect();
        assert_eq!(items, (0..50).map(|i| i * i).collect::<Vec<_>>());
    }

    #[test]
    fn dropping_early_stops_workers() {
        let first: Vec<usize> = ordered_parallel(1_000_000, 2, 2, |index| index).take(3).collect();
        assert_eq!(first, vec![0, 1, 2]);
    }
}
