//! Opening journals the way each command needs, with clear errors.

use std::path::{Path, PathBuf};

use anyhow::Context;
use tidelog::{Backend, ErrorKind, Journal, Options};

use crate::failure::{Failure, EXIT_ERROR, EXIT_NOT_FOUND};

/// The backend of the journal at `path`, or a "not found" failure naming what is missing.
pub fn backend_of(path: &Path) -> anyhow::Result<Backend> {
    if is_uri(path) {
        return Ok(Backend::Postgres);
    }
    if !path.exists() {
        return Err(Failure::new(EXIT_NOT_FOUND, format!("{}: no such file or directory", path.display())).into());
    }
    if !path.is_dir() {
        return Err(Failure::new(
            EXIT_NOT_FOUND,
            format!("{} is not a directory, so not a Tidelog journal", path.display()),
        )
        .into());
    }
    match tidelog::detect_backend(path).with_context(|| format!("reading {}", path.join("FORMAT").display()))? {
        Some(backend) => Ok(backend),
        None => Err(Failure::new(
            EXIT_NOT_FOUND,
            format!("{} is not a Tidelog journal (it has no FORMAT file)", path.display()),
        )
        .into()),
    }
}

/// Whether `path` is a PostgreSQL connection URI rather than a directory.
pub fn is_uri(path: &Path) -> bool {
    path.to_str().is_some_and(tidelog::is_postgres_uri)
}

/// `path` as commands show it: a URI without its password.
pub fn shown(path: &Path) -> String {
    match path.to_str() {
        Some(p) if tidelog::is_postgres_uri(p) => tidelog::redact_uri(p),
        _ => path.display().to_string(),
    }
}

/// How long commands wait for a writer lock that another process holds.
///
/// A lock is sometimes held for a moment by a process that is not a writer at
/// all: a child forked by the writer's process keeps a copy of the lock's file
/// descriptor until it execs. A short wait tells that apart from a live writer.
const LOCK_WAIT: std::time::Duration = std::time::Duration::from_secs(2);

/// Runs `attempt` until it does not fail with [`ErrorKind::Locked`], for at most [`LOCK_WAIT`].
pub fn retry_locked<T>(mut attempt: impl FnMut() -> tidelog::Result<T>) -> tidelog::Result<T> {
    let deadline = std::time::Instant::now() + LOCK_WAIT;
    loop {
        match attempt() {
            Err(e) if e.kind() == ErrorKind::Locked && std::time::Instant::now() < deadline => {
                std::thread::sleep(std::time::Duration::from_millis(50))
            }
            other => return other,
        }
    }
}

/// Opens an existing journal without the writer lock, so it can be read beside
/// a live writer in another process. The files backend sees the log as of open.
pub fn open_read_only(path: &Path) -> anyhow::Result<Journal> {
    let backend = backend_of(path)?;
    Journal::open(path, Options::new().backend(backend).read_only(true)).with_context(|| format!("opening {} read-only", shown(path)))
}

/// Fails unless `path` does not exist yet (or is an empty directory), so that
/// commands creating a journal never mix into existing data.
pub fn require_fresh(path: &Path, what: &str) -> anyhow::Result<()> {
    if is_uri(path) {
        return Ok(()); // checked once open: see `require_empty`
    }
    match std::fs::read_dir(path) {
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(()),
        Err(e) => Err(anyhow::Error::new(e).context(format!("checking {}", path.display()))),
        Ok(mut entries) => {
            if entries.next().is_none() {
                Ok(())
            } else {
                Err(Failure::new(
                    EXIT_ERROR,
                    format!("{what} {} already exists and is not empty; choose a new path", path.display()),
                )
                .into())
            }
        }
    }
}

/// Fails unless the open journal holds nothing yet (no stream, no event, no snapshot): for
/// databases, where there is no directory to check before opening.
pub fn require_empty(journal: &Journal, path: &Path) -> anyhow::Result<()> {
    let empty =
        journal.next_global_offset()? == 1 && journal.persistence_ids()?.is_empty() && journal.snapshots().persistence_ids()?.is_empty();
    if empty {
        Ok(())
    } else {
        Err(Failure::new(
            EXIT_ERROR,
            format!("the journal at {} is not empty; choose a new schema or table prefix", shown(path)),
        )
        .into())
    }
}

/// A sibling of `path` to build into before renaming it into place.
pub fn staging_path(path: &Path, purpose: &str) -> PathBuf {
    let name = path
        .file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_else(|| "journal".into());
    path.with_file_name(format!(".{name}.{purpose}-{}", std::process::id()))
}

/// Moves a finished staging directory to `path` (which must be fresh) durably.
pub fn publish(staging: &Path, path: &Path) -> anyhow::Result<()> {
    if path.exists() {
        // `require_fresh` allowed an empty directory; rename cannot replace it portably.
        std::fs::remove_dir(path).with_context(|| format!("replacing empty directory {}", path.display()))?;
    }
    std::fs::rename(staging, path).with_context(|| format!("moving {} to {}", staging.display(), path.display()))?;
    sync_parent(path)
}

/// Makes a directory entry change at `path` durable.
pub fn sync_parent(path: &Path) -> anyhow::Result<()> {
    let parent = match path.parent() {
        Some(p) if !p.as_os_str().is_empty() => p.to_path_buf(),
        _ => PathBuf::from("."),
    };
    std::fs::File::open(&parent)
        .and_then(|d| d.sync_all())
        .with_context(|| format!("fsync of directory {}", parent.display()))
}

/// The format version recorded in the journal's `FORMAT` file.
pub fn format_version(path: &Path) -> anyhow::Result<Option<u32>> {
    let file = path.join("FORMAT");
    let text = std::fs::read_to_string(&file).with_context(|| format!("reading {}", file.display()))?;
    Ok(text
        .lines()
        .filter_map(|line| line.split_once('='))
        .find(|(key, _)| key.trim() == "format")
        .and_then(|(_, value)| value.trim().parse().ok()))
}

/// Every regular file under `root`, as paths relative to it, sorted.
pub fn files_under(root: &Path) -> anyhow::Result<Vec<PathBuf>> {
    fn walk(root: &Path, dir: &Path, out: &mut Vec<PathBuf>) -> anyhow::Result<()> {
        for entry in std::fs::read_dir(dir).with_context(|| format!("listing {}", dir.display()))? {
            let entry = entry.with_context(|| format!("listing {}", dir.display()))?;
            let kind = entry
                .file_type()
                .with_context(|| format!("inspecting {}", entry.path().display()))?;
            if kind.is_dir() {
                walk(root, &entry.path(), out)?;
            } else if kind.is_file() {
                out.push(entry.path().strip_prefix(root).expect("walked below root").to_path_buf());
            }
        }
        Ok(())
    }
    let mut out = Vec::new();
    walk(root, root, &mut out)?;
    out.sort();
    Ok(out)
}

/// Total size in bytes of the files under `root`.
pub fn size_on_disk(root: &Path) -> anyhow::Result<u64> {
    let mut total = 0;
    for file in files_under(root)? {
        let path = root.join(&file);
        total += std::fs::metadata(&path)
            .with_context(|| format!("inspecting {}", path.display()))?
            .len();
    }
    Ok(total)
}
