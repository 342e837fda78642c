//! A plain folder per identity, for users' own photos:
//!
//! ```text
//! ROOT/alice/1.jpg
//! ROOT/alice/2.png
//! ROOT/bob/holiday.webp
//! ```

use std::path::{Path, PathBuf};

use super::is_image;
use crate::{Result, SepfaceError};

/// Images grouped by identity.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct IdentityFolders {
    /// Identity names: the folder names, sorted.
    pub names: Vec<String>,
    /// Every image with the index of its identity in `names`.
    pub images: Vec<(PathBuf, usize)>,
}

/// Lists `root/IDENTITY/IMAGE` files with a known image extension; other files and deeper
/// folders are ignored.
///
/// # Errors
/// [`SepfaceError::Dataset`] when `root` cannot be listed or holds no identity with images.
pub fn read_identity_folders(root: &Path) -> Result<IdentityFolders> {
    let list = |dir: &Path| -> Result<Vec<PathBuf>> {
        let entries = std::fs::read_dir(dir).map_err(|error| SepfaceError::Dataset {
            path: dir.display().to_string(),
            reason: format!("could not list it ({error}); expected one folder of photos per person"),
        })?;
        let mut paths: Vec<PathBuf> = entries.filter_map(|e| e.ok()).map(|e| e.path()).collect();
        paths.sort();
        Ok(paths)
    };
    let mut result = IdentityFolders {
        names: Vec::new(),
        images: Vec::new(),
    };
    for folder in list(root)?.into_iter().filter(|path| path.is_dir()) {
        let images: Vec<PathBuf> = list(&folder)?.into_iter().filter(|p| p.is_file() && is_image(p)).collect();
        if images.is_empty() {
            continue;
        }
        let identity = result.names.len();
        result.names.push(folder.file_name().map(|n| n.to_string_lossy().into_owned()).unwrap_or_default());
        result.images.extend(images.into_iter().map(|path| (path, identity)));
    }
    if result.names.is_empty() {
        return Err(SepfaceError::Dataset {
            path: root.display().to_string(),
            reason: "no identity folders with images (jpg, jpeg, png, webp or gif) found; \
                     expected ROOT/PERSON/PHOTO files"
                .into(),
        });
    }
    Ok(result)
}
