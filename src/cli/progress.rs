//! Progress bars for training events.

use indicatif::{ProgressBar, ProgressStyle};
use sepface::train::TrainEvent;

/// Draws [`TrainEvent`]s as progress bars and log lines.
#[derive(Default)]
pub struct ProgressView {
    bar: Option<ProgressBar>,
}

impl ProgressView {
    fn bar(&mut self, length: usize, template: &str) -> &ProgressBar {
        if let Some(bar) = self.bar.take() {
            bar.finish_and_clear();
        }
        let bar = ProgressBar::new(length as u64);
        if let Ok(style) = ProgressStyle::with_template(template) {
            bar.set_style(style.progress_chars("=> "));
        }
        self.bar.insert(bar)
    }

    /// Shows one event.
    pub fn show(&mut self, event: &TrainEvent) {
        match event {
            TrainEvent::Preparing { what, done, total } => {
                if self.bar.as_ref().is_none_or(|bar| bar.length() != Some(*total as u64)) {
                    self.bar(*total, "{msg} [{bar:30}] {pos}/{len} ({eta} left)").set_message(format!("preparing {what}"));
                }
                if let Some(bar) = &self.bar {
                    bar.set_position(*done as u64);
                }
            }
            TrainEvent::EpochStarted { epoch, batches } => {
                self.bar(*batches, "{msg} [{bar:30}] {pos}/{len} batches ({eta} left)").set_message(format!("epoch {epoch}"));
            }
            TrainEvent::Batch { epoch, loss, images_per_second, batch } => {
                if let Some(bar) = &self.bar {
                    bar.set_position(*batch as u64);
                    bar.set_message(format!("epoch {epoch} loss {loss:.5} {images_per_second:.1} img/s"));
                }
            }
            TrainEvent::EpochFinished(record) => {
                if let Some(bar) = self.bar.take() {
                    bar.finish_and_clear();
                }
                let metrics: Vec<String> = record.metrics.iter().map(|(name, value)| format!("{name} {value:.4}")).collect();
                log::info!(
                    "epoch {}: train loss {:.5}, validation loss {:.5}, {}, {:.1} img/s",
                    record.epoch,
                    record.train_loss,
                    record.validation_loss,
                    metrics.join(", "),
                    record.images_per_second
                );
            }
            TrainEvent::Finished { reason, best_epoch } => {
                if let Some(bar) = self.bar.take() {
                    bar.finish_and_clear();
                }
                log::info!("training stopped: {reason}; best epoch {best_epoch}");
            }
        }
    }
}
