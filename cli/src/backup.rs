//! `backup` and `restore`: a consistent hot copy plus a sha256 manifest.
//!
//! A backup directory is a journal directory (made by the core's
//! `Journal::backup_to`: LMDB copied with compaction inside one read
//! transaction; segment files as sealed segments plus a consistent tail)
//! with two more files:
//!
//! - `BACKUP.json`: when, from where, which backend, how many streams, events, snapshots;
//! - `MANIFEST.sha256`: `sha256sum` format (`<hex>  <relative path>`), one line per
//!   file, `BACKUP.json` included. `cd DEST && sha256sum -c MANIFEST.sha256` checks it too.
//!
//! `restore` copies the listed files into a fresh journal directory, hashing
//! while it copies, and publishes the copy only when every hash matches.

use std::collections::BTreeMap;
use std::fs::File;
use std::io::{BufRead, BufReader, Read, Write};
use std::path::{Path, PathBuf};
use std::process::ExitCode;
use std::time::{Instant, SystemTime, UNIX_EPOCH};

use anyhow::Context;
use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};

use crate::failure::{Failure, EXIT_NOT_FOUND, EXIT_PROBLEMS};
use crate::output;
use crate::store;

/// Name of the manifest file in a backup directory.
pub const MANIFEST: &str = "MANIFEST.sha256";
/// Name of the description file in a backup directory.
pub const DESCRIPTION: &str = "BACKUP.json";

/// Files that belong to a live journal's process state, never to its data.
fn is_transient(relative: &Path) -> bool {
    relative == Path::new("LOCK") || relative == Path::new("lmdb/lock.mdb")
}

/// What `BACKUP.json` holds.
#[derive(Debug, Serialize, Deserialize)]
struct Description {
    tool: String,
    source: PathBuf,
    backend: String,
    created_at: u64,
    streams: u64,
    events: u64,
    snapshots: u64,
}

/// The sha256 of a file, and its length, reading it once.
fn hash_file(path: &Path) -> anyhow::Result<(String, u64)> {
    let mut file = File::open(path).with_context(|| format!("opening {}", path.display()))?;
    hash_copy(&mut file, None, path)
}

/// Reads `from` to its end, writing it to `to` if given; returns the hex sha256 and the length.
fn hash_copy(from: &mut impl Read, mut to: Option<&mut File>, path: &Path) -> anyhow::Result<(String, u64)> {
    let mut hasher = Sha256::new();
    let mut buf = vec![0; 1 << 20];
    let mut len = 0;
    loop {
        let n = from.read(&mut buf).with_context(|| format!("reading {}", path.display()))?;
        if n == 0 {
            break;
        }
        hasher.update(&buf[..n]);
        if let Some(to) = to.as_deref_mut() {
            to.write_all(&buf[..n])
                .with_context(|| format!("writing the copy of {}", path.display()))?;
        }
        len += n as u64;
    }
    Ok((hasher.finalize().iter().map(|b| format!("{b:02x}")).collect(), len))
}

/// `tidelog backup PATH DEST`.
pub fn backup(path: &Path, dest: &Path, json: bool) -> anyhow::Result<ExitCode> {
    let started = Instant::now();
    if dest.exists() {
        return Err(Failure::new(
            crate::failure::EXIT_ERROR,
            format!("backup directory {} already exists; choose a new one", dest.display()),
        )
        .into());
    }
    // Read-only: no writer lock needed, so a live writer in another process keeps going.
    let journal = store::open_read_only(path)?;
    if let Some(ms) = std::env::var("TIDELOG_TEST_BACKUP_DELAY_MS").ok().and_then(|v| v.parse().ok()) {
        // Test hook: lets a live writer change the journal between open and copy.
        std::thread::sleep(std::time::Duration::from_millis(ms));
    }
    let copied = if store::is_uri(path) {
        // A database has no files to copy: its backup is an LMDB journal holding the same
        // content (`tidelog copy` takes it back into a database after `restore`).
        crate::copy::into_new_directory(&journal, dest, tidelog::Backend::Lmdb)
            .with_context(|| format!("copying {} to {}", store::shown(path), dest.display()))
    } else {
        let bar = output::spinner("copying journal");
        let copied = journal
            .backup_to(dest)
            .with_context(|| format!("copying {} to {}", path.display(), dest.display()));
        bar.finish_and_clear();
        copied
    };
    if let Err(err) = copied {
        let _ = journal.close();
        let _ = std::fs::remove_dir_all(dest);
        return Err(err);
    }
    journal.close()?;
    let result = describe_and_seal(path, dest);
    let (description, manifest) = match result {
        Ok(done) => done,
        Err(err) => {
            let _ = std::fs::remove_dir_all(dest);
            return Err(err);
        }
    };
    let bytes: u64 = manifest.values().map(|(_, len)| len).sum();
    if json {
        #[derive(Serialize)]
        struct Report<'a> {
            backup: &'a Path,
            #[serde(flatten)]
            description: &'a Description,
            files: usize,
            bytes: u64,
            seconds: f64,
        }
        output::print_json(&Report {
            backup: dest,
            description: &description,
            files: manifest.len(),
            bytes,
            seconds: started.elapsed().as_secs_f64(),
        })?;
    } else {
        println!(
            "backed up {} ({} backend: {} streams, {} events, {} snapshots) to {}: {} files, {}, manifest {} in {:.2?}",
            path.display(),
            description.backend,
            description.streams,
            description.events,
            description.snapshots,
            dest.display(),
            manifest.len(),
            output::size(bytes),
            MANIFEST,
            started.elapsed()
        );
    }
    Ok(ExitCode::SUCCESS)
}

/// Writes `BACKUP.json` (counts read back from the copy) and the manifest; fsyncs both.
/// Relative path → (hex sha256, length) of every file a backup covers.
type Manifest = BTreeMap<PathBuf, (String, u64)>;

fn describe_and_seal(source: &Path, dest: &Path) -> anyhow::Result<(Description, Manifest)> {
    let copy = store::open_read_only(dest).context("opening the backup to describe it")?;
    let ids = copy.persistence_ids()?;
    let mut events = 0;
    for id in &ids {
        let state = copy.stream_state(id)?;
        events += state.highest_sequence_nr - state.deleted_to;
    }
    let mut snapshots = 0;
    for id in copy.snapshots().persistence_ids()? {
        snapshots += copy.snapshots().list(&id)?.len() as u64;
    }
    let description = Description {
        tool: format!("tidelog {}", env!("CARGO_PKG_VERSION")),
        source: if store::is_uri(source) {
            PathBuf::from(store::shown(source))
        } else {
            std::fs::canonicalize(source).unwrap_or_else(|_| source.to_path_buf())
        },
        backend: copy.backend().name().to_owned(),
        created_at: SystemTime::now()
            .duration_since(UNIX_EPOCH)
            .map(|d| d.as_millis() as u64)
            .unwrap_or(0),
        streams: ids.len() as u64,
        events,
        snapshots,
    };
    copy.close()?;
    write_synced(&dest.join(DESCRIPTION), &serde_json::to_vec_pretty(&description)?)?;

    let mut manifest = BTreeMap::new();
    let mut text = String::new();
    for file in store::files_under(dest)? {
        if is_transient(&file) || file == Path::new(MANIFEST) {
            continue;
        }
        let (hash, len) = hash_file(&dest.join(&file))?;
        text.push_str(&format!("{hash}  {}\n", file.display()));
        manifest.insert(file, (hash, len));
    }
    write_synced(&dest.join(MANIFEST), text.as_bytes())?;
    store::sync_parent(&dest.join(MANIFEST))?;
    Ok((description, manifest))
}

fn write_synced(path: &Path, bytes: &[u8]) -> anyhow::Result<()> {
    let mut file = File::create(path).with_context(|| format!("creating {}", path.display()))?;
    file.write_all(bytes)
        .and_then(|()| file.sync_all())
        .with_context(|| format!("writing {}", path.display()))
}

/// Reads a manifest: relative path → expected hex sha256.
fn read_manifest(backup: &Path) -> anyhow::Result<BTreeMap<PathBuf, String>> {
    let path = backup.join(MANIFEST);
    let file = File::open(&path).map_err(|e| {
        Failure::new(
            EXIT_NOT_FOUND,
            format!(
                "{}: {e} (is {} a backup made by `tidelog backup`?)",
                path.display(),
                backup.display()
            ),
        )
    })?;
    let mut entries = BTreeMap::new();
    for (i, line) in BufReader::new(file).lines().enumerate() {
        let line = line.with_context(|| format!("reading {}", path.display()))?;
        if line.trim().is_empty() {
            continue;
        }
        let bad = || Failure::new(EXIT_PROBLEMS, format!("{} line {}: not `<sha256>  <path>`", path.display(), i + 1));
        let (hash, name) = line.split_once("  ").ok_or_else(bad)?;
        let relative = PathBuf::from(name);
        let safe = relative.components().all(|c| matches!(c, std::path::Component::Normal(_)));
        if hash.len() != 64 || !hash.bytes().all(|b| b.is_ascii_hexdigit()) || !safe {
            return Err(bad().into());
        }
        entries.insert(relative, hash.to_ascii_lowercase());
    }
    if entries.is_empty() {
        return Err(Failure::new(EXIT_PROBLEMS, format!("{} lists no files", path.display())).into());
    }
    Ok(entries)
}

/// `tidelog restore BACKUP PATH`.
pub fn restore(backup: &Path, path: &Path, json: bool) -> anyhow::Result<ExitCode> {
    let started = Instant::now();
    if !backup.is_dir() {
        return Err(Failure::new(EXIT_NOT_FOUND, format!("{}: no such backup directory", backup.display())).into());
    }
    store::require_fresh(path, "journal directory")?;
    let manifest = read_manifest(backup)?;
    let staging = store::staging_path(path, "restoring");
    if staging.exists() {
        std::fs::remove_dir_all(&staging).with_context(|| format!("removing stale {}", staging.display()))?;
    }
    let result = copy_checked(backup, &staging, &manifest);
    let (problems, bytes) = match result {
        Ok(done) => done,
        Err(err) => {
            let _ = std::fs::remove_dir_all(&staging);
            return Err(err);
        }
    };
    if !problems.is_empty() {
        let _ = std::fs::remove_dir_all(&staging);
        let list: Vec<String> = problems.iter().map(|p| format!("  {p}")).collect();
        return Err(Failure::new(
            EXIT_PROBLEMS,
            format!(
                "backup {} does not match its manifest; nothing was restored:\n{}",
                backup.display(),
                list.join("\n")
            ),
        )
        .into());
    }
    // The copy must open as a journal before it takes the place of `path`.
    let opened = store::open_read_only(&staging).and_then(|j| {
        let streams = j.persistence_ids()?.len();
        j.close()?;
        Ok(streams)
    });
    let streams = match opened {
        Ok(streams) => streams,
        Err(err) => {
            let _ = std::fs::remove_dir_all(&staging);
            return Err(err.context("the restored copy does not open"));
        }
    };
    if let Err(err) = store::publish(&staging, path) {
        let _ = std::fs::remove_dir_all(&staging);
        return Err(err);
    }
    let files = manifest.keys().filter(|f| f.as_path() != Path::new(DESCRIPTION)).count();
    if json {
        #[derive(Serialize)]
        struct Report<'a> {
            backup: &'a Path,
            path: &'a Path,
            files: usize,
            bytes: u64,
            streams: usize,
            seconds: f64,
        }
        output::print_json(&Report {
            backup,
            path,
            files,
            bytes,
            streams,
            seconds: started.elapsed().as_secs_f64(),
        })?;
    } else {
        println!(
            "restored {} to {}: {files} files, {}, every sha256 matched its manifest; {streams} streams, in {:.2?}",
            backup.display(),
            path.display(),
            output::size(bytes),
            started.elapsed()
        );
    }
    Ok(ExitCode::SUCCESS)
}

/// Copies every manifest entry but `BACKUP.json` into `staging`, hashing as it
/// goes; returns the mismatches found (missing, altered or unlisted files).
fn copy_checked(backup: &Path, staging: &Path, manifest: &BTreeMap<PathBuf, String>) -> anyhow::Result<(Vec<String>, u64)> {
    std::fs::create_dir_all(staging).with_context(|| format!("creating {}", staging.display()))?;
    let mut problems = Vec::new();
    for file in store::files_under(backup)? {
        if !manifest.contains_key(&file) && file != Path::new(MANIFEST) && !is_transient(&file) {
            problems.push(format!("{}: not listed in {MANIFEST}", backup.join(&file).display()));
        }
    }
    let total: u64 = manifest
        .keys()
        .filter_map(|f| std::fs::metadata(backup.join(f)).ok())
        .map(|m| m.len())
        .sum();
    let bar = output::progress(total, "restoring");
    let entries: Vec<(&PathBuf, &String)> = manifest.iter().collect();
    // Each file costs an fsync: copy on several threads so the waits overlap.
    let results: Vec<anyhow::Result<(Vec<String>, u64)>> = std::thread::scope(|scope| {
        let workers: Vec<_> = (0..COPY_WORKERS)
            .map(|k| {
                let (entries, bar) = (&entries, &bar);
                scope.spawn(move || -> anyhow::Result<(Vec<String>, u64)> {
                    let mut problems = Vec::new();
                    let mut bytes = 0;
                    for (file, expected) in entries.iter().skip(k).step_by(COPY_WORKERS) {
                        let source = backup.join(file);
                        match copy_one(&source, file, staging)? {
                            None => problems.push(format!("{}: listed in {MANIFEST} but missing", source.display())),
                            Some((actual, len)) => {
                                if &&actual != expected {
                                    problems.push(format!("{}: sha256 {actual} but the manifest says {expected}", source.display()));
                                }
                                bytes += len;
                                bar.inc(len);
                            }
                        }
                    }
                    Ok((problems, bytes))
                })
            })
            .collect();
        workers
            .into_iter()
            .map(|w| w.join().unwrap_or_else(|_| Err(anyhow::anyhow!("a copy thread panicked"))))
            .collect()
    });
    let mut bytes = 0;
    for result in results {
        let (found, copied) = result?;
        problems.extend(found);
        bytes += copied;
    }
    problems.sort();
    bar.finish_and_clear();
    if problems.is_empty() {
        for dir in dirs_under(staging)? {
            File::open(&dir)
                .and_then(|d| d.sync_all())
                .with_context(|| format!("fsync of directory {}", dir.display()))?;
        }
    }
    Ok((problems, bytes))
}

/// Threads `restore` copies files on.
const COPY_WORKERS: usize = 8;

/// Copies one backup file into `staging` (`BACKUP.json` is only hashed), fsyncing
/// the copy; returns its sha256 and length, or `None` when the file is missing.
fn copy_one(source: &Path, relative: &Path, staging: &Path) -> anyhow::Result<Option<(String, u64)>> {
    let mut input = match File::open(source) {
        Ok(f) => f,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(None),
        Err(e) => return Err(anyhow::Error::new(e).context(format!("opening {}", source.display()))),
    };
    if relative == Path::new(DESCRIPTION) {
        return hash_copy(&mut input, None, source).map(Some);
    }
    let target = staging.join(relative);
    let parent = target.parent().expect("a file below staging");
    std::fs::create_dir_all(parent).with_context(|| format!("creating {}", parent.display()))?;
    let mut out = File::create(&target).with_context(|| format!("creating {}", target.display()))?;
    let hashed = hash_copy(&mut input, Some(&mut out), source)?;
    out.sync_all().with_context(|| format!("fsync of {}", target.display()))?;
    Ok(Some(hashed))
}

/// `root` and every directory below it.
fn dirs_under(root: &Path) -> anyhow::Result<Vec<PathBuf>> {
    let mut out = vec![root.to_path_buf()];
    let mut i = 0;
    while i < out.len() {
        for entry in std::fs::read_dir(&out[i]).with_context(|| format!("listing {}", out[i].display()))? {
            let entry = entry?;
            if entry.file_type()?.is_dir() {
                out.push(entry.path());
            }
        }
        i += 1;
    }
    Ok(out)
}
