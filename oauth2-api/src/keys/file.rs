//! Keys from a local file (a mounted Kubernetes Secret, a key rotated by a sidecar): re-read
//! on a short interval, swapped whole when it changed, the last good keys kept when it breaks.

use std::io::Read as _;
use std::path::{Path, PathBuf};
use std::time::Duration;

use super::source::{BoxFuture, KeyDocument, KeySource, KeySourceError};

/// How often a key file is read again when the provider sets no `key_refresh`. Reading an
/// unchanged file costs a read and a SHA-256; an unchanged document keeps its key set.
pub const FILE_POLL_INTERVAL: Duration = Duration::from_secs(5);

/// A key document in a local file: a JWK set, a single JWK, a `{"kid": "<PEM>"}` map, or PEM.
#[derive(Debug, Clone)]
pub(crate) struct FileKeys {
    path: PathBuf,
    max_bytes: usize,
}

impl FileKeys {
    pub(crate) fn new(path: PathBuf, max_bytes: usize) -> Self {
        Self { path, max_bytes }
    }
}

/// Reads at most `max` bytes of `path` as UTF-8 (a larger file is refused, not cut).
fn read_capped(path: &Path, max: usize) -> Result<String, String> {
    // Only a regular file (or a link to one): opening a FIFO would block the reading thread.
    let meta = std::fs::metadata(path).map_err(|e| format!("cannot open the key file: {e}"))?;
    if !meta.is_file() {
        return Err("the key file is not a regular file".into());
    }
    let file = std::fs::File::open(path).map_err(|e| format!("cannot open the key file: {e}"))?;
    let mut text = String::new();
    let limit = u64::try_from(max).unwrap_or(u64::MAX).saturating_add(1);
    file.take(limit)
        .read_to_string(&mut text)
        .map_err(|e| format!("cannot read the key file: {e}"))?;
    if text.len() > max {
        return Err(format!("the key file is larger than {max} bytes"));
    }
    Ok(text)
}

impl KeySource for FileKeys {
    fn fetch(&self) -> BoxFuture<'_, Result<KeyDocument, KeySourceError>> {
        let (path, max) = (self.path.clone(), self.max_bytes);
        Box::pin(async move {
            let read = tokio::task::spawn_blocking(move || read_capped(&path, max)).await;
            match read {
                Ok(Ok(text)) => Ok(KeyDocument::new(text)),
                Ok(Err(message)) => Err(KeySourceError::new(message)),
                Err(_) => Err(KeySourceError::new("the key file read was cancelled")),
            }
        })
    }
}
