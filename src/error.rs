//! The library's error type.

use thiserror::Error;

/// Errors returned by every public sepface function.
///
/// Each message names the offending value and says what to do about it, because most of these
/// errors end up in front of a user: in the terminal, or on the web page.
#[derive(Debug, Error)]
pub enum SepfaceError {
    /// The bytes are not an image in a supported format, or the image is damaged.
    #[error("could not decode image {source_name}: {reason}. Use an undamaged JPEG, PNG, WebP or GIF file")]
    Decode {
        /// File name or other label of the input.
        source_name: String,
        /// What the decoder reported.
        reason: String,
    },

    /// The input holds no bytes at all.
    #[error("image {source_name} is empty (0 bytes). Choose another file")]
    EmptyImage {
        /// File name or other label of the input.
        source_name: String,
    },

    /// The image is larger than the pixel limit, so decoding it could exhaust memory.
    #[error(
        "image {source_name} is {width}x{height} pixels, more than the limit of {max_pixels} pixels. \
         Downscale it below the limit first"
    )]
    ImageTooLarge {
        /// File name or other label of the input.
        source_name: String,
        /// Width claimed by the image header.
        width: u32,
        /// Height claimed by the image header.
        height: u32,
        /// The limit in pixels (width times height).
        max_pixels: u64,
    },

    /// A crop or resize would produce an image with no pixels.
    #[error("{what} is empty ({width}x{height} pixels). {hint}")]
    EmptyRegion {
        /// What was being cropped or resized.
        what: String,
        /// Width of the region in pixels.
        width: u32,
        /// Height of the region in pixels.
        height: u32,
        /// What the caller can do.
        hint: String,
    },

    /// The detector found no usable face.
    #[error("no face found in {source_name}: {reason}")]
    NoFace {
        /// File name or other label of the input.
        source_name: String,
        /// The reason the detection was rejected, with the next step.
        reason: String,
    },

    /// A tensor or buffer has a shape other than the one expected.
    #[error("shape mismatch in {what}: expected {expected}, got {actual}")]
    ShapeMismatch {
        /// Which tensor or buffer.
        what: String,
        /// The expected shape.
        expected: String,
        /// The shape received.
        actual: String,
    },

    /// A computed value is NaN or infinite.
    #[error("{what} contains NaN or infinite values. {hint}")]
    NotFinite {
        /// Which value.
        what: String,
        /// What the caller can do.
        hint: String,
    },

    /// An argument is outside its valid range.
    #[error("invalid {name} = {value}: {expected}")]
    InvalidArgument {
        /// Argument name.
        name: String,
        /// The value given.
        value: String,
        /// The valid range or form.
        expected: String,
    },

    /// A weights file is missing, damaged, or for another architecture.
    #[error("weights {source_name}: {reason}")]
    Weights {
        /// File name or other label of the weights.
        source_name: String,
        /// What is wrong, and what to do.
        reason: String,
    },

    /// A tensor could not be read back from the device.
    #[error("could not read {what} back from the {backend} device: {reason}. Try again; if it keeps failing, restart the program or reload the page")]
    Readback {
        /// Which tensor.
        what: String,
        /// Device name, such as the backend or the job running on it.
        backend: String,
        /// What the backend reported.
        reason: String,
    },

    /// The GPU device was lost (a driver reset, a GPU removed, a destroyed device): every later
    /// operation on it fails.
    #[error("the {backend} device was lost ({reason}); run on another device, such as the CPU")]
    DeviceLost {
        /// Backend name.
        backend: String,
        /// The backend's report.
        reason: String,
    },

    /// A file could not be read or written.
    #[error("{action} {path}: {source}. {hint}")]
    Io {
        /// What was being done ("could not read", "could not write").
        action: String,
        /// The file path.
        path: String,
        /// The operating system error.
        #[source]
        source: std::io::Error,
        /// The next step for the user.
        hint: String,
    },

    /// A dataset file is missing or malformed.
    #[error("dataset {path}: {reason}")]
    Dataset {
        /// The file or folder.
        path: String,
        /// What is wrong, with the line number and content where relevant.
        reason: String,
    },

    /// A training run stopped because it diverged or could not go on.
    #[error("training stopped: {reason}")]
    Training {
        /// Why, and what to try.
        reason: String,
    },
}

impl SepfaceError {
    /// Builds an [`SepfaceError::InvalidArgument`].
    pub fn invalid(name: &str, value: impl ToString, expected: &str) -> Self {
        Self::InvalidArgument {
            name: name.to_string(),
            value: value.to_string(),
            expected: expected.to_string(),
        }
    }

    /// Builds an [`SepfaceError::Io`] for a failed read of `path`.
    pub fn read(path: impl AsRef<std::path::Path>, source: std::io::Error) -> Self {
        let hint = match source.kind() {
            std::io::ErrorKind::NotFound => "Check the path",
            std::io::ErrorKind::PermissionDenied => "Check the file's permissions",
            _ => "Check the file and the disk",
        };
        Self::Io {
            action: "could not read".into(),
            path: path.as_ref().display().to_string(),
            source,
            hint: hint.into(),
        }
    }

    /// Builds an [`SepfaceError::Io`] for a failed write of `path`.
    pub fn write(path: impl AsRef<std::path::Path>, source: std::io::Error) -> Self {
        let hint = match source.kind() {
            std::io::ErrorKind::StorageFull | std::io::ErrorKind::QuotaExceeded => "Free some disk space or choose a folder on another disk",
            std::io::ErrorKind::PermissionDenied | std::io::ErrorKind::ReadOnlyFilesystem => "Choose a folder you can write to",
            _ => "Choose another folder",
        };
        Self::Io {
            action: "could not write".into(),
            path: path.as_ref().display().to_string(),
            source,
            hint: hint.into(),
        }
    }

    /// Builds an [`SepfaceError::Io`] for a failed write of `path` through a temporary file
    /// and a rename. Its hint adds that any earlier file at `path` is intact.
    pub fn write_kept(path: impl AsRef<std::path::Path>, source: std::io::Error) -> Self {
        match Self::write(path, source) {
            Self::Io { action, path, source, hint } => Self::Io {
                action,
                path,
                source,
                hint: format!("{hint}. Any earlier file at that path is unchanged"),
            },
            other => other,
        }
    }
}

/// Result alias for sepface operations.
pub type Result<T, E = SepfaceError> = std::result::Result<T, E>;

#[cfg(test)]
mod tests {
    use super::*;

    #[cfg(target_os = "linux")]
    #[test]
    fn full_disk_error_hints_freeing_space() {
        // Every write to /dev/full fails with "no space left on device".
        let source = std::fs::write("/dev/full", b"weights").expect_err("a full device");
        let message = SepfaceError::write_kept("/dev/full", source).to_string();
        assert!(message.contains("/dev/full"), "{message}");
        assert!(message.contains("Free some disk space"), "{message}");
        assert!(message.contains("unchanged"), "{message}");
    }

    #[test]
    fn missing_file_error_hints_the_path() {
        let source = std::fs::read("/nonexistent/sepface/weights.bpk").expect_err("no such file");
        let message = SepfaceError::read("/nonexistent/sepface/weights.bpk", source).to_string();
        assert!(message.contains("weights.bpk"), "{message}");
        assert!(message.contains("Check the path"), "{message}");
    }
}
