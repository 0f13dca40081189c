//! One file per snapshot: `<root>/<stream dir>/<seq>-<timestamp>.snap`.
//!
//! The stream directory is named by a hash of the persistence id (ids may be
//! longer than a file name); each file also stores the id, and files whose id
//! differs are ignored.

use std::fs;
use std::path::{Path, PathBuf};

use sha2::{Digest, Sha256};

use super::{codec, SnapshotInfo};
use crate::error::CorruptReason;
use crate::error::{Error, Result};
use crate::fsutil;
use crate::metrics::Metrics;
use crate::model::{Snapshot, SnapshotCriteria};

pub(crate) struct FileSnapshots {
    root: PathBuf,
}

const SUFFIX: &str = ".snap";

fn file_name(info: SnapshotInfo) -> String {
    format!("{:020}-{:020}{SUFFIX}", info.sequence_nr, info.timestamp)
}

fn parse_name(name: &str) -> Option<SnapshotInfo> {
    let stem = name.strip_suffix(SUFFIX)?;
    let (seq, ts) = stem.split_once('-')?;
    Some(SnapshotInfo {
        sequence_nr: seq.parse().ok()?,
        timestamp: ts.parse().ok()?,
    })
}

impl FileSnapshots {
    pub(crate) fn open(root: PathBuf) -> Result<Self> {
        fsutil::create_dir_durably(&root)?;
        Ok(FileSnapshots { root })
    }

    pub(crate) fn root(&self) -> &Path {
        &self.root
    }

    fn stream_dir(&self, persistence_id: &str) -> PathBuf {
        let digest = Sha256::digest(persistence_id.as_bytes());
        let hex: String = digest[..12].iter().map(|b| format!("{b:02x}")).collect();
        self.root.join(hex)
    }

    pub(crate) fn save(&self, snapshot: &Snapshot, compress: bool) -> Result<()> {
        let dir = self.stream_dir(&snapshot.persistence_id);
        fsutil::create_dir_durably(&dir)?;
        let info = SnapshotInfo {
            sequence_nr: snapshot.sequence_nr,
            timestamp: snapshot.timestamp,
        };
        fsutil::write_atomically(&dir.join(file_name(info)), &codec::encode(snapshot, compress))?;
        // A snapshot replaces any other with the same sequence number.
        self.delete_where(&snapshot.persistence_id, |other| {
            other.sequence_nr == info.sequence_nr && other != info
        })?;
        Ok(())
    }

    pub(crate) fn list(&self, persistence_id: &str) -> Result<Vec<SnapshotInfo>> {
        list_dir(&self.stream_dir(persistence_id))
    }

    pub(crate) fn load(&self, persistence_id: &str, criteria: SnapshotCriteria, metrics: &Metrics) -> Result<Option<Snapshot>> {
        let dir = self.stream_dir(persistence_id);
        let mut infos = list_dir(&dir)?;
        infos.retain(|i| criteria.matches(i.sequence_nr, i.timestamp));
        for info in infos.into_iter().rev() {
            let path = dir.join(file_name(info));
            let bytes = match fs::read(&path) {
                Ok(b) => b,
                // Deleted concurrently (prune): try the next one.
                Err(e) if e.kind() == std::io::ErrorKind::NotFound => continue,
                Err(e) => return Err(Error::io("read snapshot", &path, e)),
            };
            match codec::decode(&bytes) {
                Ok(snapshot) if snapshot.persistence_id == persistence_id => return Ok(Some(snapshot)),
                Ok(_) => continue,
                Err(reason) => {
                    tracing::warn!(path = %path.display(), %reason, "skipping corrupt snapshot");
                    Metrics::add(&metrics.skipped_corrupt_snapshots, 1);
                }
            }
        }
        Ok(None)
    }

    pub(crate) fn delete_where(&self, persistence_id: &str, mut selected: impl FnMut(SnapshotInfo) -> bool) -> Result<usize> {
        let dir = self.stream_dir(persistence_id);
        let mut deleted = 0;
        for info in list_dir(&dir)? {
            if selected(info) {
                let path = dir.join(file_name(info));
                match fs::remove_file(&path) {
                    Ok(()) => deleted += 1,
                    Err(e) if e.kind() == std::io::ErrorKind::NotFound => {}
                    Err(e) => return Err(Error::io("delete snapshot", &path, e)),
                }
            }
        }
        if deleted > 0 {
            fsutil::sync_dir(&dir)?;
        }
        Ok(deleted)
    }

    /// Ids of streams with at least one readable snapshot.
    pub(crate) fn persistence_ids(&self, metrics: &Metrics) -> Result<Vec<String>> {
        let mut ids = Vec::new();
        let entries = fs::read_dir(&self.root).map_err(|e| Error::io("list snapshots", &self.root, e))?;
        for entry in entries.flatten() {
            let dir = entry.path();
            for info in list_dir(&dir)?.into_iter().rev() {
                let path = dir.join(file_name(info));
                match fs::read(&path).ok().map(|b| codec::decode(&b)) {
                    Some(Ok(s)) => {
                        ids.push(s.persistence_id);
                        break;
                    }
                    Some(Err(_)) => Metrics::add(&metrics.skipped_corrupt_snapshots, 1),
                    None => {}
                }
            }
        }
        ids.sort();
        ids.dedup();
        Ok(ids)
    }
}

impl FileSnapshots {
    /// Reads and checks every snapshot file (for `verify`-style tools).
    pub(crate) fn audit(&self) -> Result<Vec<super::SnapshotFile>> {
        let mut out = Vec::new();
        let entries = fs::read_dir(&self.root).map_err(|e| Error::io("list snapshots", &self.root, e))?;
        for entry in entries.flatten() {
            let dir = entry.path();
            if !dir.is_dir() {
                continue;
            }
            for info in list_dir(&dir)? {
                let path = dir.join(file_name(info));
                let check = match fs::read(&path) {
                    Err(e) => Err(CorruptReason::Malformed(if e.kind() == std::io::ErrorKind::NotFound {
                        "deleted while checked"
                    } else {
                        "unreadable"
                    })),
                    Ok(bytes) => codec::decode(&bytes).and_then(|s| {
                        if self.stream_dir(&s.persistence_id) != dir {
                            Err(CorruptReason::Malformed("snapshot stored under another stream's directory"))
                        } else if s.sequence_nr != info.sequence_nr || s.timestamp != info.timestamp {
                            Err(CorruptReason::Malformed("file name does not match the snapshot inside"))
                        } else {
                            Ok(s.persistence_id)
                        }
                    }),
                };
                out.push(super::SnapshotFile { path, info, check });
            }
        }
        out.sort_by(|a, b| a.path.cmp(&b.path));
        Ok(out)
    }
}

/// Snapshots in a stream directory, oldest first; a missing directory is empty.
fn list_dir(dir: &Path) -> Result<Vec<SnapshotInfo>> {
    let entries = match fs::read_dir(dir) {
        Ok(e) => e,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(Vec::new()),
        Err(e) => return Err(Error::io("list snapshots", dir, e)),
    };
    let mut infos: Vec<SnapshotInfo> = entries
        .flatten()
        .filter_map(|e| e.file_name().to_str().and_then(parse_name))
        .collect();
    infos.sort_unstable();
    Ok(infos)
}
