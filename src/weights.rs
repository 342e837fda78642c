//! Weights files: burnpack (`.bpk`) files whose metadata also holds the network's architecture
//! config, verification settings (threshold, distance), and a SHA-256 checksum of the config,
//! the settings and the tensors.
//!
//! Parameters are read back with the async API, so the same code saves a model that lives on
//! WebGPU, where synchronous reads panic.

use std::collections::BTreeMap;

use burn::module::{Module, ModuleVisitor, Param};
use burn::prelude::*;
use burn::store::ModuleRecord;
use burn::tensor::{Bytes, DType};
use serde::{Deserialize, Serialize};
use serde::de::DeserializeOwned;
use sha2::{Digest, Sha256};

use crate::loss::Distance;
use crate::model::{Detector, DetectorConfig, Embedder, EmbedderConfig};
use crate::{Result, SepfaceError};

/// Version of the metadata layout written by this crate.
const FORMAT_VERSION: &str = "1";
const KEY_FORMAT: &str = "sepface.format";
const KEY_NETWORK: &str = "sepface.network";
const KEY_CONFIG: &str = "sepface.config";
const KEY_SHA256: &str = "sepface.sha256";
const KEY_INFO: &str = "sepface.info";

/// A network that can be stored in a weights file.
pub trait Network: Module + Sized {
    /// The architecture configuration.
    type Config: Serialize + DeserializeOwned + Clone + std::fmt::Debug;
    /// Name stored in the file, such as `detector`.
    const NAME: &'static str;
    /// Builds a randomly initialised network.
    fn from_config(config: &Self::Config, device: &Device) -> Self;
    /// Checks that `config` describes a network that can be built.
    fn validate(config: &Self::Config) -> Result<()>;
    /// Returns a lower bound on the number of weights of the network `config` describes.
    fn min_weight_count(config: &Self::Config) -> u64;
}

impl Network for Detector {
    type Config = DetectorConfig;
    const NAME: &'static str = "detector";
    fn from_config(config: &DetectorConfig, device: &Device) -> Self {
        config.init(device)
    }
    fn validate(config: &DetectorConfig) -> Result<()> {
        config.validate()
    }
    fn min_weight_count(config: &DetectorConfig) -> u64 {
        config.min_weight_count()
    }
}

impl Network for Embedder {
    type Config = EmbedderConfig;
    const NAME: &'static str = "embedder";
    fn from_config(config: &EmbedderConfig, device: &Device) -> Self {
        config.init(device)
    }
    fn validate(config: &EmbedderConfig) -> Result<()> {
        config.validate()
    }
    fn min_weight_count(config: &EmbedderConfig) -> u64 {
        config.min_weight_count()
    }
}

/// Settings stored beside the weights that the verify pipeline needs.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct WeightsInfo {
    /// Embedder: distance below which two faces are the same person.
    pub threshold: Option<f32>,
    /// Embedder: the distance the threshold applies to.
    pub distance: Option<Distance>,
    /// Embedder: margin added around the detected box before cropping, as a fraction of the
    /// box's width and height.
    pub crop_margin: Option<f32>,
    /// How the weights were produced (command, data), for people reading the file.
    pub provenance: Option<String>,
}

/// Storage precision of the tensors in a weights file.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub enum Precision {
    /// 32-bit floats.
    F32,
    /// 16-bit floats: half the size, converted back to f32 on load.
    F16,
}

/// A network loaded from a weights file, with its config and settings.
#[derive(Debug, Clone)]
pub struct Weights<N: Network> {
    /// The network.
    pub model: N,
    /// Its architecture.
    pub config: N::Config,
    /// Settings stored beside the weights.
    pub info: WeightsInfo,
    /// SHA-256 of the config, the settings and the tensors, which identifies this exact file's
    /// content. Enrollments record it, so any change to the file, even to its stored threshold,
    /// means enrolling again.
    pub checksum: String,
}

/// A parameter collected from a module, flattened to rank 1 so ranks can share one list.
struct CollectedParam {
    path: String,
    id: u64,
    shape: Vec<usize>,
    values: Tensor<1>,
}

/// Collects the float parameters of a module, named by their module path as burn's
/// [`ModuleRecord`] names them, so [`ModuleRecord::from_bytes`] can load the result.
#[derive(Default)]
struct ParamCollector {
    path: Vec<String>,
    params: Vec<CollectedParam>,
}

impl ModuleVisitor for ParamCollector {
    fn enter_module(&mut self, name: &str, _container_type: &str) {
        self.path.push(name.to_string());
    }

    fn exit_module(&mut self, _name: &str, _container_type: &str) {
        self.path.pop();
    }

    fn visit_float<const D: usize>(&mut self, param: &Param<Tensor<D>>) {
        let tensor = param.transform_for_save().val();
        self.params.push(CollectedParam {
            path: self.path.join("."),
            id: param.id.val(),
            shape: tensor.dims().to_vec(),
            values: tensor.reshape([-1]),
        });
    }
}

/// Returns the hex SHA-256 of the stored config and settings, then the tensors' names, dtypes,
/// shapes and bytes in name order, so that it does not depend on the order a reader lists them
/// in.
fn checksum(config_json: &str, info_json: &str, tensors: &[burn_pack::Tensor]) -> std::result::Result<String, burn_pack::Error> {
    let mut sorted: Vec<&burn_pack::Tensor> = tensors.iter().collect();
    sorted.sort_by(|a, b| a.name.cmp(&b.name));
    let mut hasher = Sha256::new();
    for text in [config_json, info_json] {
        hasher.update((text.len() as u64).to_le_bytes());
        hasher.update(text.as_bytes());
    }
    for tensor in sorted {
        hasher.update(tensor.name.as_bytes());
        hasher.update([0]);
        hasher.update(format!("{:?}", tensor.dtype).as_bytes());
        for dim in tensor.shape.iter() {
            hasher.update((*dim as u64).to_le_bytes());
        }
        hasher.update(&*tensor.to_bytes()?);
    }
    Ok(hasher.finalize().iter().map(|byte| format!("{byte:02x}")).collect())
}

/// Serialises `model` with its config and `info` into weights-file bytes.
///
/// # Errors
/// [`SepfaceError::Readback`] when a parameter cannot be read from the device, and
/// [`SepfaceError::Weights`] when serialisation fails.
pub async fn to_bytes<N: Network>(model: &N, config: &N::Config, info: &WeightsInfo, precision: Precision) -> Result<Vec<u8>> {
    let mut collector = ParamCollector::default();
    model.visit(&mut collector);
    let mut tensors = Vec::with_capacity(collector.params.len());
    for param in collector.params {
        let values = match precision {
            Precision::F32 => param.values,
            Precision::F16 => param.values.cast(DType::F16),
        };
        let device = format!("{:?}", values.device());
        let data = values.into_data_async().await.map_err(|error| SepfaceError::Readback {
            what: format!("parameter {}", param.path),
            backend: device,
            reason: format!("{error:?}"),
        })?;
        let dtype = data.dtype();
        tensors.push(burn_pack::Tensor::new(param.path, dtype, param.shape, Some(param.id), data.into_bytes()));
    }
    let config_json = serde_json::to_string(config).map_err(|error| weights_error(N::NAME, error))?;
    let info_json = serde_json::to_string(info).map_err(|error| weights_error(N::NAME, error))?;
    pack(N::NAME, (&config_json, &info_json), tensors).map_err(|error| weights_error(N::NAME, error))
}

/// Writes `tensors` with the metadata of network `name`, its config and settings, and their
/// checksum, into weights-file bytes.
fn pack(name: &str, (config_json, info_json): (&str, &str), tensors: Vec<burn_pack::Tensor>) -> std::result::Result<Vec<u8>, burn_pack::Error> {
    let checksum = checksum(config_json, info_json, &tensors)?;
    let bytes = burn_pack::Writer::new(tensors)
        .with_metadata(KEY_FORMAT, FORMAT_VERSION)
        .with_metadata(KEY_NETWORK, name)
        .with_metadata(KEY_CONFIG, config_json)
        .with_metadata(KEY_INFO, info_json)
        .with_metadata(KEY_SHA256, &checksum)
        .into_bytes()?;
    Ok(bytes.to_vec())
}

/// Rewrites a weights file with the checksum of its current content, so that a file changed
/// on purpose (its stored config, settings or tensors) loads again. The config is not
/// checked here: loading still rejects one that does not fit the tensors.
///
/// # Errors
/// [`SepfaceError::Weights`] naming `source_name` when the bytes are not a sepface weights
/// file or its tensors cannot be read.
pub fn reseal(bytes: &[u8], source_name: &str) -> Result<Vec<u8>> {
    let metadata = read_metadata(bytes, source_name)?;
    let [network, config_json, info_json] = [KEY_NETWORK, KEY_CONFIG, KEY_INFO].map(|key| metadata_value(&metadata, key, source_name));
    let (network, config_json, info_json) = (network?, config_json?, info_json?);
    let damaged = |error: burn_pack::Error| SepfaceError::Weights {
        source_name: source_name.to_string(),
        reason: format!("is truncated or damaged ({error}), so it cannot be resealed"),
    };
    let reader = burn_pack::Reader::from_bytes(Bytes::from_bytes_vec(bytes.to_vec())).map_err(damaged)?;
    let tensors = reader.into_tensors().map_err(damaged)?;
    pack(&network, (&config_json, &info_json), tensors).map_err(|error| weights_error(source_name, error))
}

fn weights_error(name: &str, error: impl std::fmt::Display) -> SepfaceError {
    SepfaceError::Weights {
        source_name: name.to_string(),
        reason: format!("could not serialise: {error}"),
    }
}

/// Reads the network named in a weights file's metadata, without loading the tensors.
pub fn network_name(bytes: &[u8], source_name: &str) -> Result<String> {
    let metadata = read_metadata(bytes, source_name)?;
    metadata_value(&metadata, KEY_NETWORK, source_name)
}

fn read_metadata(bytes: &[u8], source_name: &str) -> Result<BTreeMap<String, String>> {
    let reader = burn_pack::Reader::from_bytes(Bytes::from_bytes_vec(bytes.to_vec())).map_err(|error| SepfaceError::Weights {
        source_name: source_name.to_string(),
        reason: format!(
            "not a readable burnpack file ({error}); it may be truncated or not a weights file at all. \
             Download or export it again"
        ),
    })?;
    Ok(reader.metadata().clone())
}

fn metadata_value(metadata: &BTreeMap<String, String>, key: &str, source_name: &str) -> Result<String> {
    metadata.get(key).cloned().ok_or_else(|| SepfaceError::Weights {
        source_name: source_name.to_string(),
        reason: format!("missing the {key} entry, so it was not written by sepface; export it with sepface"),
    })
}

/// Loads a network from weights-file bytes onto `device`.
///
/// # Errors
/// [`SepfaceError::Weights`] naming `source_name` when the bytes are not a burnpack file, are
/// truncated, hold another network, fail the checksum, or do not fit the stored architecture.
pub fn from_bytes<N: Network>(bytes: &[u8], source_name: &str, device: &Device) -> Result<Weights<N>> {
    let fail = |reason: String| SepfaceError::Weights {
        source_name: source_name.to_string(),
        reason,
    };
    let metadata = read_metadata(bytes, source_name)?;
    let network = metadata_value(&metadata, KEY_NETWORK, source_name)?;
    if network != N::NAME {
        return Err(fail(format!("holds {network} weights, but {} weights were expected; check the file name", N::NAME)));
    }
    let format = metadata_value(&metadata, KEY_FORMAT, source_name)?;
    if format != FORMAT_VERSION {
        return Err(fail(format!("uses format version {format}; this build reads version {FORMAT_VERSION}. Update sepface")));
    }
    let config_json = metadata_value(&metadata, KEY_CONFIG, source_name)?;
    let info_json = metadata_value(&metadata, KEY_INFO, source_name)?;
    let checksum = metadata_value(&metadata, KEY_SHA256, source_name)?;
    let stored = verify_checksum(bytes, (&config_json, &info_json), &checksum, source_name)?;
    let config: N::Config = serde_json::from_str(&config_json).map_err(|error| fail(format!("has an unreadable architecture config ({error}); it was written by another sepface version or damaged. Download or export it again")))?;
    N::validate(&config).map_err(|error| fail(format!("stores an invalid architecture ({error}). Download or export it again")))?;
    // Checked before the network is built, because building allocates every weight the config names.
    let needed = N::min_weight_count(&config);
    if needed > stored {
        return Err(fail(format!(
            "stores an architecture of at least {needed} weights but only {stored} values; the file is damaged. Download or export it again"
        )));
    }
    let info: WeightsInfo = serde_json::from_str(&info_json).map_err(|error| fail(format!("has unreadable settings ({error}). Download or export it again")))?;

    let record = ModuleRecord::from_bytes(Bytes::from_bytes_vec(bytes.to_vec()))
        .map_err(|error| fail(format!("could not read the tensors ({error}). Download or export it again")))?
        .cast_to_module_dtype();
    let model = N::from_config(&config, device)
        .try_load_record(record)
        .map_err(|error| fail(format!("does not match its stored architecture ({error}); the file is damaged")))?;
    Ok(Weights {
        model,
        config,
        info,
        checksum,
    })
}

/// Checks the stored checksum against the content and returns the number of values stored in
/// all tensors, at most the file's length in bytes. Tensors may share bytes, so their shapes
/// alone could claim far more values than the file contains.
fn verify_checksum(bytes: &[u8], (config_json, info_json): (&str, &str), expected: &str, source_name: &str) -> Result<u64> {
    let fail = |reason: String| SepfaceError::Weights {
        source_name: source_name.to_string(),
        reason,
    };
    let reader = burn_pack::Reader::from_bytes(Bytes::from_bytes_vec(bytes.to_vec()))
        .map_err(|error| fail(format!("not a readable burnpack file ({error})")))?;
    let damaged = |error: burn_pack::Error| fail(format!("is truncated or damaged ({error}); download or export it again"));
    let tensors = reader.into_tensors().map_err(damaged)?;
    let actual = checksum(config_json, info_json, &tensors).map_err(damaged)?;
    if actual != expected {
        return Err(fail(format!(
            "checksum mismatch (stored {expected}, computed {actual}): the file is corrupted. Download or export it again"
        )));
    }
    let values = |tensor: &burn_pack::Tensor| tensor.shape.iter().fold(1u64, |total, &dim| total.saturating_mul(dim as u64));
    let claimed = tensors.iter().fold(0u64, |total, tensor| total.saturating_add(values(tensor)));
    Ok(claimed.min(bytes.len() as u64))
}

/// Writes `bytes` to `path` through a temporary file in the same folder and a rename, so an
/// interrupted write leaves any previous file at `path` intact.
#[cfg(not(target_arch = "wasm32"))]
pub fn write_atomic(path: &std::path::Path, bytes: &[u8]) -> Result<()> {
    use std::io::Write;
    let folder = path.parent().filter(|p| !p.as_os_str().is_empty()).unwrap_or(std::path::Path::new("."));
    let file_name = path.file_name().map(|name| name.to_string_lossy().into_owned()).unwrap_or_default();
    let temporary = folder.join(format!(".{file_name}.{}.tmp", std::process::id()));
    let result = (|| {
        let mut file = std::fs::File::create(&temporary)?;
        file.write_all(bytes)?;
        file.sync_all()?;
        std::fs::rename(&temporary, path)
    })();
    if let Err(error) = result {
        let _ = std::fs::remove_file(&temporary);
        return Err(SepfaceError::write_kept(path, error));
    }
    Ok(())
}

/// Saves `model` to a weights file at `path`, atomically.
#[cfg(not(target_arch = "wasm32"))]
pub fn save_file<N: Network>(path: &std::path::Path, model: &N, config: &N::Config, info: &WeightsInfo, precision: Precision) -> Result<()> {
    let bytes = pollster::block_on(to_bytes(model, config, info, precision))?;
    write_atomic(path, &bytes)
}

/// Loads a network from the weights file at `path`.
#[cfg(not(target_arch = "wasm32"))]
pub fn load_file<N: Network>(path: &std::path::Path, device: &Device) -> Result<Weights<N>> {
    let bytes = std::fs::read(path).map_err(|error| SepfaceError::read(path, error))?;
    from_bytes(&bytes, &path.display().to_string(), device)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn saved_detector(precision: Precision) -> (Detector, Vec<u8>) {
        let device = Device::flex();
        let config = DetectorConfig::web();
        let model = config.init(&device);
        let info = WeightsInfo {
            provenance: Some("unit test".into()),
            ..Default::default()
        };
        let bytes = pollster::block_on(to_bytes(&model, &config, &info, precision)).expect("serialise");
        (model, bytes)
    }

    fn first_weights(model: &Detector) -> Vec<f32> {
        model.output.weight.val().into_data().try_to_vec::<f32>().expect("f32")
    }

    #[test]
    fn round_trip_keeps_weights_and_info() {
        let (model, bytes) = saved_detector(Precision::F32);
        let loaded: Weights<Detector> = from_bytes(&bytes, "detector.bpk", &Device::flex()).expect("load");
        assert_eq!(first_weights(&loaded.model), first_weights(&model));
        assert_eq!(loaded.info.provenance.as_deref(), Some("unit test"));
        assert_eq!(loaded.config.dense, DetectorConfig::web().dense);
    }

    #[test]
    fn half_precision_round_trip_is_close() {
        let (model, bytes) = saved_detector(Precision::F16);
        let (_, full) = saved_detector(Precision::F32);
        assert!(bytes.len() < full.len() * 6 / 10, "{} vs {}", bytes.len(), full.len());
        let loaded: Weights<Detector> = from_bytes(&bytes, "detector.bpk", &Device::flex()).expect("load");
        for (a, b) in first_weights(&loaded.model).iter().zip(first_weights(&model)) {
            assert!((a - b).abs() <= b.abs() * 1e-3 + 1e-6, "{a} vs {b}");
        }
    }

    #[test]
    fn truncated_file_is_rejected_with_its_name() {
        let (_, bytes) = saved_detector(Precision::F32);
        for length in [0, 10, bytes.len() / 2, bytes.len() - 1] {
            let error = from_bytes::<Detector>(&bytes[..length], "cut.bpk", &Device::flex()).expect_err("truncated");
            assert!(error.to_string().contains("cut.bpk"), "{error}");
        }
    }

    #[test]
    fn flipped_byte_fails_the_checksum() {
        let (_, mut bytes) = saved_detector(Precision::F32);
        let last = bytes.len() - 5;
        bytes[last] ^= 0x40;
        let error = from_bytes::<Detector>(&bytes, "flipped.bpk", &Device::flex()).expect_err("corrupted");
        assert!(error.to_string().contains("flipped.bpk"), "{error}");
        assert!(error.to_string().contains("checksum mismatch"), "{error}");
    }

    /// Packs the tensors of `bytes` again with the config text changed by `edit`, and a
    /// matching checksum.
    fn with_config(bytes: &[u8], edit: impl Fn(&str) -> String) -> Vec<u8> {
        let metadata = read_metadata(bytes, "saved").expect("metadata");
        let tensors = burn_pack::Reader::from_bytes(Bytes::from_bytes_vec(bytes.to_vec())).and_then(|reader| reader.into_tensors()).expect("tensors");
        pack("detector", (&edit(&metadata[KEY_CONFIG]), &metadata[KEY_INFO]), tensors).expect("pack")
    }

    #[test]
    fn oversized_architecture_is_rejected_before_building() {
        let (_, bytes) = saved_detector(Precision::F32);
        // A million filters in the last stage: about 10^8 weights, far more than the file stores.
        let huge = with_config(&bytes, |config| config.replace("[16,32,64,96,128]", "[16,32,64,96,1000000]"));
        let error = from_bytes::<Detector>(&huge, "huge.bpk", &Device::flex()).expect_err("oversized");
        assert!(error.to_string().contains("huge.bpk"), "{error}");
        assert!(error.to_string().contains("at least"), "{error}");
    }

    #[test]
    fn other_architecture_is_rejected() {
        let (_, bytes) = saved_detector(Precision::F32);
        let narrower = with_config(&bytes, |config| config.replace("\"dense\":[64]", "\"dense\":[32]"));
        assert_ne!(narrower, bytes);
        let error = from_bytes::<Detector>(&narrower, "narrow.bpk", &Device::flex()).expect_err("other architecture");
        assert!(error.to_string().contains("narrow.bpk"), "{error}");
        assert!(error.to_string().contains("does not match its stored architecture"), "{error}");
    }

    #[test]
    fn resealed_file_loads_again() {
        let (_, mut bytes) = saved_detector(Precision::F32);
        let last = bytes.len() - 5;
        bytes[last] ^= 0x40;
        let resealed = reseal(&bytes, "edited.bpk").expect("reseal");
        assert!(from_bytes::<Detector>(&resealed, "edited.bpk", &Device::flex()).is_ok());
    }

    #[cfg(not(target_arch = "wasm32"))]
    #[test]
    fn failed_write_keeps_the_previous_file() {
        let folder = tempfile::tempdir().expect("temporary folder");
        let path = folder.path().join("best.bpk");
        write_atomic(&path, b"previous").expect("first write");
        // A folder in the way of the temporary file makes the next write fail before the rename.
        std::fs::create_dir(folder.path().join(format!(".best.bpk.{}.tmp", std::process::id()))).expect("folder");
        let error = write_atomic(&path, b"next").expect_err("blocked write");
        assert!(error.to_string().contains("best.bpk"), "{error}");
        assert!(error.to_string().contains("unchanged"), "{error}");
        assert_eq!(std::fs::read(&path).expect("previous file"), b"previous");
    }

    #[test]
    fn wrong_network_is_rejected() {
        let (_, bytes) = saved_detector(Precision::F32);
        let error = from_bytes::<Embedder>(&bytes, "detector.bpk", &Device::flex()).expect_err("wrong network");
        assert!(error.to_string().contains("holds detector weights"), "{error}");
    }
}
