//! The files a replay's inputs name: directories expanded to the files inside (not
//! recursively), oldest first.

use std::path::PathBuf;
use std::time::SystemTime;

use super::ReplayError;

/// The files `inputs` name, oldest first.
pub fn expand(inputs: &[PathBuf]) -> Result<Vec<PathBuf>, ReplayError> {
    let mut files = Vec::new();
    for input in inputs {
        let meta = std::fs::metadata(input).map_err(|error| match error.kind() {
            std::io::ErrorKind::NotFound => ReplayError::Missing(input.clone()),
            _ => ReplayError::Io {
                path: input.clone(),
                error,
            },
        })?;
        if meta.is_dir() {
            let dir = std::fs::read_dir(input).map_err(|error| ReplayError::Io {
                path: input.clone(),
                error,
            })?;
            for entry in dir {
                let entry = entry.map_err(|error| ReplayError::Io {
                    path: input.clone(),
                    error,
                })?;
                if entry.file_type().is_ok_and(|t| t.is_file()) {
                    files.push(entry.path());
                }
            }
        } else {
            files.push(input.clone());
        }
    }
    if files.is_empty() {
        let names: Vec<String> = inputs.iter().map(|p| p.display().to_string()).collect();
        return Err(ReplayError::Empty(names.join(", ")));
    }
    let mut keyed: Vec<(SystemTime, PathBuf)> = files
        .into_iter()
        .map(|p| {
            let t = std::fs::metadata(&p)
                .and_then(|m| m.modified())
                .unwrap_or(SystemTime::UNIX_EPOCH);
            (t, p)
        })
        .collect();
    keyed.sort();
    keyed.dedup_by(|a, b| a.1 == b.1);
    Ok(keyed.into_iter().map(|(_, p)| p).collect())
}
