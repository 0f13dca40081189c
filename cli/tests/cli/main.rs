//! Integration tests of the `tidelog` binary: every command, every error exit.
//!
//! Journals are built in-process with the `tidelog` crate; the binary runs as
//! a child process, as an operator would run it.

mod backup;
mod demo;
mod errors;
mod inspect;
mod transfer;
mod verify;

use std::io::{BufRead, BufReader};
use std::path::{Path, PathBuf};
use std::process::{Child, ChildStdout, Stdio};

use tidelog::{Backend, Journal, NewEvent, Options, Snapshot};

/// The binary under test.
pub fn tidelog() -> assert_cmd::Command {
    let mut cmd = assert_cmd::Command::new(env!("CARGO_BIN_EXE_tidelog"));
    cmd.env("NO_COLOR", "1");
    cmd
}

/// Both persistent backends, for tests that must hold for each.
pub const BACKENDS: [Backend; 2] = [Backend::Lmdb, Backend::Files];

/// A fresh temporary directory and a journal path inside it (not yet created).
pub fn scratch() -> (tempfile::TempDir, PathBuf) {
    let dir = tempfile::tempdir().expect("temp dir");
    let path = dir.path().join("journal");
    (dir, path)
}

/// A payload no other fixture event contains, to find on disk.
pub const MARKER: &str = "MARKER-PAYLOAD-7f3a9c";

/// Builds a journal exercising every field: tags, writer ids, metadata, binary
/// and text payloads, a partly deleted stream, a wholly deleted stream, a
/// snapshot with binary state and a stream that only has snapshots.
pub fn fixture(path: &Path, backend: Backend) {
    let j = Journal::open(path, Options::new().backend(backend)).expect("open fixture");
    j.append(
        "order-1",
        vec![
            NewEvent::new("created")
                .manifest("Created")
                .writer_id("w-1")
                .tag("orders")
                .metadata(vec![1, 2, 3]),
            NewEvent::new(vec![0xff, 0x00, 0x80]).manifest("Binary").tag("orders").tag("binary"),
        ],
    )
    .unwrap();
    j.append(
        "order-2",
        (1..=5)
            .map(|i| NewEvent::new(format!("line {i}")).manifest("Line").tag("lines"))
            .collect(),
    )
    .unwrap();
    j.append("gone-3", (1..=3).map(|i| NewEvent::new(format!("gone {i}"))).collect())
        .unwrap();
    j.delete_to("order-2", 2).unwrap();
    j.delete_to("gone-3", 3).unwrap();
    j.append("order-1", vec![NewEvent::new(MARKER).manifest("Marked").tag("orders")])
        .unwrap();
    j.append(
        "order-2",
        vec![NewEvent::new("é ünïcode ✓").manifest("Line").tag("lines").timestamp(1_000)],
    )
    .unwrap();
    let snapshots = j.snapshots();
    snapshots
        .save(&Snapshot {
            persistence_id: "order-1".into(),
            sequence_nr: 2,
            timestamp: 5_000,
            manifest: "Order".into(),
            metadata: vec![9],
            state: vec![0, 159, 146, 150],
        })
        .unwrap();
    snapshots
        .save(&Snapshot {
            persistence_id: "snap-only".into(),
            sequence_nr: 7,
            timestamp: 6_000,
            manifest: String::new(),
            metadata: Vec::new(),
            state: b"{\"n\":7}".to_vec(),
        })
        .unwrap();
    j.close().unwrap();
}

/// Live events in the fixture: order-1 (3), order-2 (3..=6: 4), gone-3 (0).
pub const FIXTURE_EVENTS: u64 = 7;

/// Opens a journal in this process for checking what a command did.
///
/// Retries `Locked` for a while: a child spawned by another test thread keeps a
/// copy of a just-closed journal's lock descriptor until it execs.
pub fn open(path: &Path) -> Journal {
    let backend = tidelog::detect_backend(path).unwrap().expect("a journal");
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(10);
    loop {
        match Journal::open(path, Options::new().backend(backend)) {
            Err(e) if e.kind() == tidelog::ErrorKind::Locked && std::time::Instant::now() < deadline => {
                std::thread::sleep(std::time::Duration::from_millis(20))
            }
            result => return result.expect("open"),
        }
    }
}

/// A `tidelog load` child appending to `persistence_id` until killed.
pub struct Writer {
    pub child: Child,
    pub lines: BufReader<ChildStdout>,
    pub last_acked: u64,
}

impl Writer {
    pub fn spawn(path: &Path, backend: Backend, persistence_id: &str) -> Writer {
        Writer::spawn_with(path, backend, persistence_id, 0)
    }

    /// A writer whose payloads are padded to `payload_bytes`.
    pub fn spawn_with(path: &Path, backend: Backend, persistence_id: &str, payload_bytes: usize) -> Writer {
        let mut child = std::process::Command::new(env!("CARGO_BIN_EXE_tidelog"))
            .args([
                "load",
                "--backend",
                backend.name(),
                "--persistence-id",
                persistence_id,
                "--payload-bytes",
                &payload_bytes.to_string(),
            ])
            .arg(path)
            .stdout(Stdio::piped())
            .stderr(Stdio::inherit())
            .spawn()
            .expect("spawn writer");
        let mut lines = BufReader::new(child.stdout.take().unwrap());
        let mut first = String::new();
        lines.read_line(&mut first).unwrap();
        assert_eq!(first.trim(), "ready", "writer did not start");
        Writer {
            child,
            lines,
            last_acked: 0,
        }
    }

    /// Waits until at least `n` more appends were acknowledged; returns the highest acked sequence nr.
    pub fn wait_acks(&mut self, n: u64) -> u64 {
        let target = self.last_acked + n;
        let mut line = String::new();
        while self.last_acked < target {
            line.clear();
            assert!(self.lines.read_line(&mut line).unwrap() > 0, "writer exited early");
            if let Some(seq) = line.trim().strip_prefix("acked ") {
                self.last_acked = seq.parse().unwrap();
            }
        }
        self.last_acked
    }

    pub fn stop(self) {
        drop(self);
    }
}

impl Drop for Writer {
    /// Never leaves a writer running, even when a test fails half-way.
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// Kills a child process when dropped, so a failing test leaves nothing running.
pub struct KillOnDrop(pub Option<Child>);

impl Drop for KillOnDrop {
    fn drop(&mut self) {
        if let Some(child) = self.0.as_mut() {
            let _ = child.kill();
            let _ = child.wait();
        }
    }
}

/// Parses JSON-lines output.
pub fn json_lines(stdout: &[u8]) -> Vec<serde_json::Value> {
    String::from_utf8(stdout.to_vec())
        .unwrap()
        .lines()
        .map(|l| serde_json::from_str(l).unwrap_or_else(|e| panic!("bad JSON line {l:?}: {e}")))
        .collect()
}

/// Parses one JSON document.
pub fn json_doc(stdout: &[u8]) -> serde_json::Value {
    serde_json::from_slice(stdout).unwrap_or_else(|e| panic!("bad JSON {:?}: {e}", String::from_utf8_lossy(stdout)))
}
