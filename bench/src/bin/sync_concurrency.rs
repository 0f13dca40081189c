//! `sync_concurrency`: whether this disk overlaps concurrent `fdatasync`s of one file.
//!
//! A writer could keep a second commit in flight: write batch N+1 and start its `fdatasync`
//! while N's is still running, acknowledging in order. That pays only if the device completes
//! overlapping flushes faster than one after another. Here 1, 2 and 4 threads each write 6,400
//! bytes (about 40 records) into their own range of one pre-zeroed file and `fdatasync`, in a
//! loop; the program prints the commits per second of all threads together and each commit's
//! latency.
//!
//! `cargo run --release -p tidelog-bench --bin sync_concurrency -- [DIR]`

use std::fs::OpenOptions;
use std::io::Write;
use std::os::unix::fs::FileExt;
use std::path::PathBuf;
use std::sync::Arc;
use std::time::Instant;

const COMMIT_BYTES: usize = 6400;
const COMMITS_PER_THREAD: usize = 2000;

fn main() -> std::io::Result<()> {
    let dir = std::env::args().nth(1).map_or_else(std::env::temp_dir, PathBuf::from);
    let path = dir.join("sync-concurrency.bin");
    for threads in [1usize, 2, 4] {
        let mut file = OpenOptions::new().create(true).truncate(true).write(true).open(&path)?;
        let zeros = vec![0u8; 1 << 20];
        let mut left = COMMIT_BYTES * COMMITS_PER_THREAD * threads;
        while left > 0 {
            let n = left.min(zeros.len());
            file.write_all(&zeros[..n])?;
            left -= n;
        }
        file.sync_all()?;
        let file = Arc::new(file);
        let start = Instant::now();
        let workers: Vec<_> = (0..threads)
            .map(|t| {
                let file = file.clone();
                std::thread::spawn(move || {
                    let record = vec![7u8; COMMIT_BYTES];
                    let base = (t * COMMITS_PER_THREAD * COMMIT_BYTES) as u64;
                    for i in 0..COMMITS_PER_THREAD {
                        file.write_all_at(&record, base + (i * COMMIT_BYTES) as u64).expect("write");
                        file.sync_data().expect("fdatasync");
                    }
                })
            })
            .collect();
        workers.into_iter().for_each(|w| w.join().expect("worker"));
        let secs = start.elapsed().as_secs_f64();
        println!(
            "{threads} thread(s): {:.0} commits/s together, {:.1} µs per commit",
            (threads * COMMITS_PER_THREAD) as f64 / secs,
            secs / COMMITS_PER_THREAD as f64 * 1e6
        );
    }
    std::fs::remove_file(&path)
}
