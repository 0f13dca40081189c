//! Operator tools that need more than the public journal API: hot backups and compaction.

use std::fs;
use std::path::{Path, PathBuf};

use crate::error::{Error, InvalidArgument, Result};
use crate::fsutil;
use crate::journal::Journal;
use crate::layout;
use crate::options::{Backend, Options, SyncPolicy};

impl Journal {
    /// Writes a consistent copy of the journal (events, stream marks and
    /// snapshots) into the new directory `dest`, which must not exist. Safe
    /// while this journal is being written: the copy holds every write
    /// acknowledged before the call. LMDB is copied compacted.
    pub fn backup_to(&self, dest: &Path) -> Result<()> {
        if self.is_closed() {
            return Err(Error::Closed);
        }
        let backend = self.backend();
        if backend == Backend::Memory {
            return Err(InvalidArgument::Option {
                option: "backend",
                reason: "the memory backend has nothing on disk to back up",
            }
            .into());
        }
        if dest.exists() {
            return Err(Error::io(
                "create backup",
                dest,
                std::io::Error::from(std::io::ErrorKind::AlreadyExists),
            ));
        }
        layout::prepare(dest, backend, false)?;
        let sub = backend_dir(backend);
        self.inner.storage.copy_to(&dest.join(sub))?;
        if let Some(src) = self.snapshots().path() {
            copy_tree(src, &dest.join("snapshots"))?;
        }
        fsutil::sync_dir(dest)
    }
}

/// Rewrites the closed journal at `path` without deleted data, in place.
///
/// Takes the writer lock for its whole run (fails with [`Error::Locked`] while
/// a writer is open). The rewrite is built beside the journal and swapped in
/// with renames, so a crash leaves either the old or the new journal.
pub fn compact(path: &Path, options: Options) -> Result<()> {
    let backend = layout::detect_backend(path)?.ok_or_else(|| InvalidArgument::NotAJournal(path.to_owned()))?;
    let options = options.backend(backend).read_only(false);
    let source = Journal::open(path, options.clone())?;
    let tmp = sibling(path, "compact-tmp");
    let old = sibling(path, "compact-old");
    let _ = fs::remove_dir_all(&tmp);
    let _ = fs::remove_dir_all(&old);
    let result = match backend {
        // LMDB's copy with compaction already drops free pages.
        Backend::Lmdb => source.backup_to(&tmp),
        _ => rewrite(&source, &tmp, options.clone()),
    };
    source.close()?;
    if let Err(e) = result {
        let _ = fs::remove_dir_all(&tmp);
        return Err(e);
    }
    fs::rename(path, &old).map_err(|e| Error::io("rename", path, e))?;
    fs::rename(&tmp, path).map_err(|e| Error::io("rename", &tmp, e))?;
    if let Some(parent) = path.parent().filter(|p| !p.as_os_str().is_empty()) {
        fsutil::sync_dir(parent)?;
    }
    fs::remove_dir_all(&old).map_err(|e| Error::io("remove old journal", &old, e))
}

/// Copies the live events and marks of `source` into a new journal at `dest`.
fn rewrite(source: &Journal, dest: &Path, options: Options) -> Result<()> {
    let target = Journal::open(dest, options.sync(SyncPolicy::Never))?;
    let mut next = 0;
    loop {
        let page = source.all_events(next, 4096)?;
        let Some(last) = page.last() else { break };
        next = last.global_offset + 1;
        target.import(page)?;
    }
    for pid in source.persistence_ids()? {
        let state = source.stream_state(&pid)?;
        let current = target.stream_state(&pid)?;
        if current != state {
            target.import_stream_state(&pid, state.highest_sequence_nr, state.deleted_to.max(current.deleted_to))?;
        }
    }
    if let Some(src) = source.snapshots().path() {
        copy_tree(src, &dest.join("snapshots"))?;
    }
    target.flush()?;
    target.close()
}

fn backend_dir(backend: Backend) -> &'static str {
    match backend {
        Backend::Lmdb => "lmdb",
        _ => "segments",
    }
}

fn sibling(path: &Path, suffix: &str) -> PathBuf {
    let mut name = path.file_name().map(|n| n.to_os_string()).unwrap_or_default();
    name.push(format!(".{suffix}"));
    path.with_file_name(name)
}

/// Copies a directory tree of immutable files (snapshots), then makes it durable
/// with one `syncfs` rather than an fsync per file.
fn copy_tree(src: &Path, dest: &Path) -> Result<()> {
    copy_files(src, dest)?;
    sync_tree(dest)
}

#[cfg(target_os = "linux")]
fn sync_tree(dest: &Path) -> Result<()> {
    let dir = fs::File::open(dest).map_err(|e| Error::io("open", dest, e))?;
    // SAFETY: a plain syscall on a descriptor we own.
    if unsafe { libc::syncfs(std::os::fd::AsRawFd::as_raw_fd(&dir)) } != 0 {
        return Err(Error::io("syncfs", dest, std::io::Error::last_os_error()));
    }
    Ok(())
}

/// No `syncfs` outside Linux: each file (a full flush: `F_FULLFSYNC` on macOS,
/// `FlushFileBuffers` on Windows, both through `sync_all`), then each directory.
#[cfg(not(target_os = "linux"))]
fn sync_tree(dest: &Path) -> Result<()> {
    let entries = fs::read_dir(dest).map_err(|e| Error::io("list", dest, e))?;
    for entry in entries {
        let path = entry.map_err(|e| Error::io("list", dest, e))?.path();
        if path.is_dir() {
            sync_tree(&path)?;
        } else {
            fs::File::open(&path)
                .and_then(|f| f.sync_all())
                .map_err(|e| Error::io("fsync", &path, e))?;
        }
    }
    fsutil::sync_dir(dest)
}

fn copy_files(src: &Path, dest: &Path) -> Result<()> {
    fsutil::create_dir_durably(dest)?;
    let entries = match fs::read_dir(src) {
        Ok(e) => e,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(()),
        Err(e) => return Err(Error::io("list", src, e)),
    };
    for entry in entries.flatten() {
        let from = entry.path();
        let to = dest.join(entry.file_name());
        if from.is_dir() {
            copy_files(&from, &to)?;
        } else if !entry.file_name().to_string_lossy().starts_with('.') {
            match fs::copy(&from, &to) {
                Ok(_) => {}
                // Pruned while copying.
                Err(e) if e.kind() == std::io::ErrorKind::NotFound => continue,
                Err(e) => return Err(Error::io("copy", &from, e)),
            }
        }
    }
    Ok(())
}

/// Checks the structure of every page of the LMDB file of the journal at `path` without opening
/// it (a no-op for other backends): every page in use lies in the file, holds its own page
/// number, and its nodes lie inside it. LMDB follows its page pointers unchecked, so damage found
/// here would crash a process that reads the journal; `tidelog verify` runs this first (a
/// PostgreSQL URI has no pages of ours to check). The
/// journal should be quiet (a live writer may change pages during the walk).
pub fn check_page_structure(path: &Path) -> Result<()> {
    match layout::detect_backend(path)? {
        Some(Backend::Lmdb) => crate::storage::lmdb_pages::check_file(&path.join("lmdb"), true),
        Some(_) => Ok(()),
        None => Err(InvalidArgument::NotAJournal(path.to_owned()).into()),
    }
}
