//! The journal directory: its `FORMAT` marker and its `LOCK` file.
//!
//! ```text
//! <path>/FORMAT       backend name and format version (text)
//! <path>/LOCK         advisory lock held by the one writer
//! <path>/lmdb/        LMDB environment (backend lmdb)
//! <path>/segments/    segment files and control file (backend files)
//! <path>/snapshots/   one file per snapshot (both persistent backends)
//! ```

use std::fs::{File, OpenOptions};
use std::path::{Path, PathBuf};

use crate::error::{Error, InvalidArgument, Result};
use crate::fsutil;
use crate::options::Backend;

/// The on-disk format version this library writes and the newest it reads.
pub const FORMAT_VERSION: u32 = 5;

const FORMAT_FILE: &str = "FORMAT";

/// The first line of the `FORMAT` marker. Readers ignore it; writers keep the spelling of the journals
/// written before the project was renamed, so that old and new journals look alike.
const FORMAT_HEADER: &str = "tidemark journal"; // a compatibility constant from before the rename

/// Reads which backend a journal directory holds, or `None` if it holds none.
pub fn detect_backend(path: &Path) -> Result<Option<Backend>> {
    if path.to_str().is_some_and(crate::storage::postgres::is_uri) {
        // A connection URI: the database is not contacted here.
        return Ok(Some(Backend::Postgres));
    }
    Ok(read_format(path)?.map(|(backend, _)| backend))
}

fn read_format(path: &Path) -> Result<Option<(Backend, u32)>> {
    let file = path.join(FORMAT_FILE);
    let text = match std::fs::read(&file) {
        Ok(bytes) => String::from_utf8(bytes)
            .map_err(|_| Error::corrupt(&file, 0, crate::error::CorruptReason::Malformed("FORMAT file is not UTF-8")))?,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(None),
        Err(e) => return Err(Error::io("read", &file, e)),
    };
    let mut backend = None;
    let mut version = None;
    for line in text.lines() {
        match line.split_once('=').map(|(k, v)| (k.trim(), v.trim())) {
            Some(("backend", v)) => backend = v.parse::<Backend>().ok(),
            Some(("format", v)) => version = v.parse::<u32>().ok(),
            _ => {}
        }
    }
    match (backend, version) {
        (Some(b), Some(v)) => Ok(Some((b, v))),
        _ => Err(Error::corrupt(
            &file,
            0,
            crate::error::CorruptReason::Malformed("FORMAT file lacks backend or format"),
        )),
    }
}

/// Checks (or, for a new journal, writes) the `FORMAT` marker.
pub(crate) fn prepare(path: &Path, backend: Backend, read_only: bool) -> Result<()> {
    match read_format(path)? {
        Some((on_disk, version)) => {
            if version > FORMAT_VERSION {
                return Err(Error::UnsupportedFormat {
                    path: path.to_owned(),
                    found: version,
                    supported: FORMAT_VERSION,
                });
            }
            if on_disk != backend {
                return Err(InvalidArgument::BackendMismatch {
                    on_disk: on_disk.name(),
                    requested: backend.name(),
                }
                .into());
            }
            if version < FORMAT_VERSION && !read_only {
                // A writer of this version may leave data older versions would not see
                // (LMDB's write-ahead log, since version 2): they must refuse the journal.
                write_marker(path, backend)?;
            }
            Ok(())
        }
        None if read_only => Err(InvalidArgument::NotAJournal(path.to_owned()).into()),
        None => {
            fsutil::create_dir_durably(path)?;
            write_marker(path, backend)
        }
    }
}

fn write_marker(path: &Path, backend: Backend) -> Result<()> {
    let text = format!("{FORMAT_HEADER}\nbackend = {}\nformat = {FORMAT_VERSION}\n", backend.name());
    fsutil::write_atomically(&path.join(FORMAT_FILE), text.as_bytes())
}

/// The writer's exclusive advisory lock (`flock`); released when dropped or when the process dies.
pub(crate) struct WriterLock {
    _file: File,
}

impl WriterLock {
    pub(crate) fn acquire(dir: &Path) -> Result<WriterLock> {
        fsutil::create_dir_durably(dir)?;
        let path: PathBuf = dir.join("LOCK");
        let file = OpenOptions::new()
            .read(true)
            .write(true)
            .create(true)
            .truncate(false)
            .open(&path)
            .map_err(|e| Error::io("open", &path, e))?;
        // A process that forks (to spawn a program) shares our lock until its child execs,
        // so a journal closed and reopened around such a spawn may find it briefly taken.
        // A short bounded retry tells that apart from a real second writer.
        let deadline = std::time::Instant::now() + std::time::Duration::from_millis(200);
        loop {
            match file.try_lock() {
                Ok(()) => return Ok(WriterLock { _file: file }),
                Err(std::fs::TryLockError::WouldBlock) if std::time::Instant::now() < deadline => {
                    std::thread::sleep(std::time::Duration::from_millis(5))
                }
                Err(std::fs::TryLockError::WouldBlock) => return Err(Error::Locked { path }),
                Err(std::fs::TryLockError::Error(e)) => return Err(Error::io("lock", &path, e)),
            }
        }
    }
}
