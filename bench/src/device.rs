//! The device bound: what the disk under the benchmark directory does with no
//! software in between.

use std::fs::{self, File, OpenOptions};
use std::io::{Read, Write};
use std::os::unix::fs::FileExt;
use std::path::Path;
use std::time::Instant;

use crate::harness::timed;

/// How the device loop lays its records out.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Layout {
    /// Each write extends the file, so each fdatasync also flushes the size change.
    Append,
    /// The file is first filled with zeros (and flushed); the records then
    /// overwrite it in order, so fdatasync flushes data only. This is what the
    /// segment-file backend does (it writes zeros ahead of its log), and the
    /// device's best case.
    Preallocated,
}

/// Writes `bytes` sequentially and `fdatasync`s after each write, `count`
/// times; returns each write+fdatasync in nanoseconds.
pub fn write_fdatasync(dir: &Path, name: &str, bytes: &[u8], count: usize, layout: Layout) -> std::io::Result<Vec<u64>> {
    let path = dir.join(name);
    let file = match layout {
        Layout::Preallocated => zeroed_file(&path, bytes.len() * count + 4096)?,
        Layout::Append => OpenOptions::new().create(true).truncate(true).write(true).open(&path)?,
    };
    let mut offset = 0u64;
    let samples = timed(count, |_| {
        file.write_all_at(bytes, offset).expect("device write");
        offset += bytes.len() as u64;
        file.sync_data().expect("device fdatasync");
    });
    drop(file);
    fs::remove_file(&path)?;
    Ok(samples)
}

/// Creates (or truncates) the file at `path`, fills it with `len` zeros and flushes it, data and
/// size: overwriting it later changes no metadata, so an `fdatasync` flushes data only.
pub fn zeroed_file(path: &Path, len: usize) -> std::io::Result<File> {
    let mut file = OpenOptions::new().create(true).truncate(true).write(true).open(path)?;
    let zeros = vec![0u8; 1 << 20];
    let mut left = len;
    while left > 0 {
        let n = left.min(zeros.len());
        file.write_all(&zeros[..n])?;
        left -= n;
    }
    file.sync_all()?;
    Ok(file)
}

/// Sequential write bandwidth in bytes/s: `total` bytes written in 1 MiB
/// blocks, then one `fdatasync`, timed together.
pub fn sequential_bandwidth(dir: &Path, total: usize) -> std::io::Result<f64> {
    let path = dir.join("device-seq.bin");
    let block: Vec<u8> = (0..1 << 20).map(|i| (i * 131 % 251) as u8).collect();
    let mut file = OpenOptions::new().create(true).truncate(true).write(true).open(&path)?;
    let start = Instant::now();
    let mut written = 0;
    while written < total {
        file.write_all(&block)?;
        written += block.len();
    }
    file.sync_data()?;
    let secs = start.elapsed().as_secs_f64();
    drop(file);
    fs::remove_file(&path)?;
    Ok(written as f64 / secs)
}

/// Buffered (non-durable) append rate in records/s: `count` `write` calls of
/// `bytes` each into the page cache, no flush.
pub fn buffered_appends(dir: &Path, bytes: &[u8], count: usize) -> std::io::Result<f64> {
    let path = dir.join("device-buffered.bin");
    let mut file = OpenOptions::new().create(true).truncate(true).write(true).open(&path)?;
    let start = Instant::now();
    for _ in 0..count {
        file.write_all(bytes)?;
    }
    let secs = start.elapsed().as_secs_f64();
    drop(file);
    fs::remove_file(&path)?;
    Ok(count as f64 / secs)
}

/// Writes `bytes` durably the way a snapshot store must (temp file, fsync,
/// rename, fsync of the directory); returns the elapsed nanoseconds.
pub fn durable_file_write(dir: &Path, name: &str, bytes: &[u8]) -> std::io::Result<u64> {
    let start = Instant::now();
    let tmp = dir.join(format!(".{name}.tmp"));
    let mut file = File::create(&tmp)?;
    file.write_all(bytes)?;
    file.sync_all()?;
    fs::rename(&tmp, dir.join(name))?;
    File::open(dir)?.sync_all()?;
    Ok(start.elapsed().as_nanos() as u64)
}

/// Reads a whole file; returns the elapsed nanoseconds.
pub fn file_read(path: &Path) -> std::io::Result<u64> {
    let start = Instant::now();
    let mut out = Vec::new();
    File::open(path)?.read_to_end(&mut out)?;
    std::hint::black_box(&out);
    Ok(start.elapsed().as_nanos() as u64)
}

/// The file system type of the mount holding `path` (from /proc/mounts), and its device.
pub fn filesystem_of(path: &Path) -> Option<(String, String)> {
    let path = fs::canonicalize(path).ok()?;
    let mounts = fs::read_to_string("/proc/mounts").ok()?;
    mounts
        .lines()
        .filter_map(|l| {
            let mut f = l.split_whitespace();
            let (dev, mnt, fstype) = (f.next()?, f.next()?, f.next()?);
            path.starts_with(mnt).then(|| (mnt.len(), fstype.to_owned(), dev.to_owned()))
        })
        .max_by_key(|(len, _, _)| *len)
        .map(|(_, fstype, dev)| (fstype, dev))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn write_fdatasync_times_each_write_and_cleans_up() {
        let dir = tempfile::tempdir().unwrap();
        for layout in [Layout::Append, Layout::Preallocated] {
            let samples = write_fdatasync(dir.path(), "a.bin", b"0123456789", 3, layout).unwrap();
            assert_eq!(samples.len(), 3);
            assert!(samples.iter().all(|s| *s > 0));
            assert!(!dir.path().join("a.bin").exists());
        }
    }

    #[test]
    fn durable_file_write_leaves_the_file_and_no_temp() {
        let dir = tempfile::tempdir().unwrap();
        durable_file_write(dir.path(), "s.bin", b"state").unwrap();
        assert_eq!(fs::read(dir.path().join("s.bin")).unwrap(), b"state");
        assert!(!dir.path().join(".s.bin.tmp").exists());
        assert!(file_read(&dir.path().join("s.bin")).is_ok());
    }

    #[test]
    fn filesystem_of_root_is_found() {
        let (fstype, _) = filesystem_of(Path::new("/")).expect("/ is mounted");
        assert!(!fstype.is_empty());
    }
}
