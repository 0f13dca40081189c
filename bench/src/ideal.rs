//! The ideal group commit: the ceiling any journal's closed-loop writers can reach on this
//! machine, measured rather than assumed.
//!
//! The bound of scenario 1a (writers ÷ one write of their records + `fdatasync`) is a single
//! thread with no hand-offs. Awaiting writers cannot reach it: each commit costs at least a
//! wake-up of every writer and of the committer. This reference pays exactly those and
//! nothing else. A committer thread knows how many writers there are (an oracle no journal
//! has), waits until every one of them has queued its record, writes them in one `pwrite` to a
//! pre-zeroed file, `fdatasync`s, and answers them all. No encoding, no index, no checks.
//! A writer is an OS thread blocked on a channel or an async task awaiting a oneshot, as in
//! scenario 1a.

use std::fs::{self, File};
use std::os::unix::fs::FileExt;
use std::path::{Path, PathBuf};
use std::thread::JoinHandle;
use std::time::{Duration, Instant};

use crossbeam_channel::{Receiver, RecvTimeoutError, Sender, TryRecvError};

use crate::device::zeroed_file;

/// How a queued writer is answered.
enum Done {
    Thread(Sender<()>),
    Task(tokio::sync::oneshot::Sender<()>),
}

impl Done {
    fn answer(self) {
        match self {
            Done::Thread(done) => drop(done.send(())),
            Done::Task(done) => drop(done.send(())),
        }
    }
}

/// The pre-zeroed log is reused from its start once full: overwrites keep `fdatasync` a
/// data-only flush, as in the device loop.
const LOG_BYTES: u64 = 16 << 20;
/// How long the committer polls, yielding its core, before it blocks (as Tidelog's writer
/// does while it lingers; a blocked committer pays a wake-up per commit).
const POLL: Duration = Duration::from_micros(200);
/// A commit waiting longer than this for its last writer goes without it: the writers are
/// stopping at the end of a run.
const STRAGGLER: Duration = Duration::from_millis(2);

/// A running ideal group commit for a fixed number of writers.
pub struct IdealGroupCommit {
    requests: Option<Sender<Done>>,
    thread: Option<JoinHandle<()>>,
    path: PathBuf,
}

impl IdealGroupCommit {
    /// Starts the committer for `writers` writers of `record` bytes each, logging to `dir`.
    pub fn start(dir: &Path, writers: usize, record: usize) -> std::io::Result<Self> {
        let path = dir.join("ideal-group-commit.log");
        let file = zeroed_file(&path, LOG_BYTES as usize)?;
        let (requests, queue) = crossbeam_channel::unbounded();
        let thread = std::thread::Builder::new()
            .name("ideal-committer".into())
            .spawn(move || commit_loop(&file, &queue, writers, record))?;
        Ok(IdealGroupCommit {
            requests: Some(requests),
            thread: Some(thread),
            path,
        })
    }

    /// Queues one record and blocks until it is durable.
    pub fn append(&self) {
        let (done, durable) = crossbeam_channel::bounded(1);
        self.queue(Done::Thread(done));
        durable.recv().expect("ideal committer alive");
    }

    /// Queues one record; the future resolves once it is durable.
    pub fn append_async(&self) -> impl std::future::Future<Output = ()> + Send + 'static {
        let (done, durable) = tokio::sync::oneshot::channel();
        self.queue(Done::Task(done));
        async move { durable.await.expect("ideal committer alive") }
    }

    fn queue(&self, done: Done) {
        self.requests.as_ref().expect("started").send(done).expect("ideal committer alive");
    }
}

impl Drop for IdealGroupCommit {
    fn drop(&mut self) {
        drop(self.requests.take());
        if let Some(thread) = self.thread.take() {
            let _ = thread.join();
        }
        let _ = fs::remove_file(&self.path);
    }
}

fn commit_loop(file: &File, queue: &Receiver<Done>, writers: usize, record: usize) {
    let records = vec![5u8; record * writers];
    let mut batch: Vec<Done> = Vec::with_capacity(writers);
    let mut offset = 0u64;
    while let Ok(first) = queue.recv() {
        batch.push(first);
        let started = Instant::now();
        while batch.len() < writers {
            match queue.try_recv() {
                Ok(done) => batch.push(done),
                Err(TryRecvError::Empty) if started.elapsed() < POLL => std::thread::yield_now(),
                Err(TryRecvError::Empty) => match queue.recv_timeout(STRAGGLER) {
                    Ok(done) => batch.push(done),
                    Err(RecvTimeoutError::Timeout | RecvTimeoutError::Disconnected) => break,
                },
                Err(TryRecvError::Disconnected) => break,
            }
        }
        let bytes = &records[..record * batch.len()];
        if offset + bytes.len() as u64 > LOG_BYTES {
            offset = 0;
        }
        file.write_all_at(bytes, offset).expect("ideal write");
        offset += bytes.len() as u64;
        file.sync_data().expect("ideal fdatasync");
        batch.drain(..).for_each(Done::answer);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_writer_is_answered_and_the_log_is_removed() {
        let dir = tempfile::tempdir().unwrap();
        let ideal = std::sync::Arc::new(IdealGroupCommit::start(dir.path(), 3, 10).unwrap());
        let threads: Vec<_> = (0..3)
            .map(|_| {
                let ideal = ideal.clone();
                std::thread::spawn(move || (0..5).for_each(|_| ideal.append()))
            })
            .collect();
        threads.into_iter().for_each(|t| t.join().unwrap());
        let runtime = tokio::runtime::Builder::new_current_thread().build().unwrap();
        runtime.block_on(ideal.append_async());
        let path = ideal.path.clone();
        assert!(path.exists());
        drop(std::sync::Arc::into_inner(ideal).unwrap());
        assert!(!path.exists());
    }
}
