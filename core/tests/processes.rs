//! Tests with real processes: SIGKILL crash safety and the writer lock.
//!
//! The child side runs in this same test binary: the parent re-executes it
//! with `--exact child_process --ignored` and a `TIDELOG_CHILD` mode.

mod common;

use std::collections::BTreeMap;
use std::io::{BufRead, BufReader};
use std::path::Path;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use rand::{Rng, SeedableRng};
use tidelog::{Backend, Error, Journal, NewEvent, Options};

fn payload(pid: &str, seq: u64) -> Vec<u8> {
    if pid == "pad" {
        // Big events, so that LMDB checkpoints (every 4 MiB of log) happen during a round.
        return format!("{pid}:{seq}:").repeat(20_000).into_bytes();
    }
    // Long enough that a torn write can land inside an event.
    format!("{pid}:{seq}:").repeat(1 + (seq % 40) as usize).into_bytes()
}

/// This test binary, run as the child in `mode`, its stdout piped.
fn child_command(mode: &str, dir: &Path, backend: Backend) -> Command {
    let mut command = Command::new(std::env::current_exe().unwrap());
    command
        .args(["--exact", "child_process", "--ignored", "--nocapture", "--test-threads=1", "-q"])
        .env("TIDELOG_CHILD", mode)
        .env("TIDELOG_DIR", dir)
        .env("TIDELOG_BACKEND", backend.name())
        .stdout(Stdio::piped())
        .stderr(Stdio::null());
    command
}

fn spawn_child(mode: &str, dir: &Path, backend: Backend) -> Child {
    child_command(mode, dir, backend).spawn().expect("spawn child")
}

/// Skips the test harness's own output up to the child's "ready" line.
fn wait_ready(lines: &mut impl Iterator<Item = std::io::Result<String>>) {
    for line in lines.by_ref() {
        if line.unwrap() == "ready" {
            return;
        }
    }
    panic!("child exited before it was ready");
}

/// The child half. Does nothing unless started by a parent test.
#[test]
#[ignore = "run as a child process by the tests in this file"]
fn child_process() {
    let Ok(mode) = std::env::var("TIDELOG_CHILD") else { return };
    let dir = std::path::PathBuf::from(std::env::var("TIDELOG_DIR").unwrap());
    let backend: Backend = std::env::var("TIDELOG_BACKEND").unwrap().parse().unwrap();
    match mode.as_str() {
        "append" | "append-pad" => {
            let journal = Journal::open(&dir, Options::new().backend(backend).segment_bytes(256 << 10)).unwrap();
            println!("ready");
            // Four writers so that group commits hold several callers (and a fifth with big events).
            let writers = if mode == "append-pad" { 5 } else { 4 };
            let threads: Vec<_> = (0..writers)
                .map(|t| {
                    let journal = journal.clone();
                    std::thread::spawn(move || {
                        let pid = if t == 4 { "pad".to_owned() } else { format!("stream-{t}") };
                        let mut rng = rand::rngs::StdRng::seed_from_u64(t);
                        loop {
                            let next = journal.highest_sequence_nr(&pid).unwrap() + 1;
                            let n = rng.gen_range(1..=5u64);
                            let events = (next..next + n).map(|s| NewEvent::new(payload(&pid, s)).tag("crash")).collect();
                            let receipt = journal
                                .write(vec![tidelog::AtomicWrite::new(pid.clone(), next, events)])
                                .unwrap()
                                .remove(0)
                                .unwrap();
                            println!("ack {pid} {}", receipt.last_sequence_nr);
                        }
                    })
                })
                .collect();
            for t in threads {
                t.join().unwrap();
            }
        }
        "full" => {
            // A file-size limit makes the device look full (EFBIG) without a special mount.
            unsafe {
                libc::signal(libc::SIGXFSZ, libc::SIG_IGN);
                let limit = libc::rlimit {
                    rlim_cur: 3 << 20,
                    rlim_max: libc::RLIM_INFINITY,
                };
                assert_eq!(libc::setrlimit(libc::RLIMIT_FSIZE, &limit), 0);
            }
            let journal = Journal::open(&dir, Options::new().backend(backend).lmdb_map_size(64 << 20)).unwrap();
            let mut acked = 0u64;
            let error = loop {
                match journal.append("big", vec![NewEvent::new(vec![7u8; 64 << 10])]) {
                    Ok(r) => acked = r.last_sequence_nr,
                    Err(e) => break e,
                }
                assert!(acked < 1000, "the size limit never hit");
            };
            println!("full {} {acked}", error.kind().code());
            println!("error {error}");
            let readable = journal.read("big", 1, u64::MAX, usize::MAX).map(|v| v.len()).unwrap_or(usize::MAX);
            println!("read {readable}");
        }
        "grow" => {
            // Small map, big events: the map grows again and again while readers exist.
            let journal = Journal::open(&dir, Options::new().backend(backend).lmdb_map_size(1 << 20)).unwrap();
            println!("ready");
            for i in 1.. {
                let r = journal.append("big", vec![NewEvent::new(vec![i as u8; 100 << 10])]).unwrap();
                println!("ack big {}", r.last_sequence_nr);
            }
        }
        "read" => {
            let journal = Journal::open(&dir, Options::new().backend(backend).read_only(true)).unwrap();
            let events = journal.read("p", 1, u64::MAX, usize::MAX).unwrap();
            println!("read {} highest {}", events.len(), journal.highest_sequence_nr("p").unwrap());
            assert!(journal.append("p", vec![NewEvent::new(b"no".to_vec())]).is_err());
            journal.close().unwrap();
        }
        "lock" => match Journal::open(&dir, Options::new().backend(backend)) {
            Err(Error::Locked { path }) => println!("locked {}", path.display()),
            Err(e) => println!("error {e}"),
            Ok(_) => println!("opened"),
        },
        "watch" => {
            // A read-only reader that stays open while the writer goes on: one report per line on stdin.
            let journal = Journal::open(&dir, Options::new().backend(backend).read_only(true)).unwrap();
            println!("ready");
            for _ in std::io::stdin().lines() {
                let events = journal.read("p", 1, u64::MAX, usize::MAX).unwrap();
                let gapless = events.iter().enumerate().all(|(i, e)| e.sequence_nr == i as u64 + 1);
                let all = journal.all_events(0, usize::MAX).unwrap();
                let ordered = all.windows(2).all(|w| w[0].global_offset < w[1].global_offset);
                println!(
                    "seen {} highest {} all {} gapless {gapless} ordered {ordered}",
                    events.len(),
                    journal.highest_sequence_nr("p").unwrap(),
                    all.len()
                );
            }
        }
        "wal" => {
            // Ten acknowledged group commits, each one log record, and no checkpoint.
            let journal = Journal::open(&dir, Options::new().backend(backend)).unwrap();
            for i in 1..=10u64 {
                journal.append("p", vec![NewEvent::new(payload("p", i))]).unwrap();
            }
            println!("ready");
            loop {
                std::thread::park();
            }
        }
        other => panic!("unknown child mode {other}"),
    }
}

fn crash_rounds(backend: Backend, rounds: usize) {
    crash_rounds_of("append", backend, rounds)
}

fn crash_rounds_of(mode: &str, backend: Backend, rounds: usize) {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("journal");
    let seed: u64 = rand::random();
    eprintln!("crash test seed {seed}");
    let mut rng = rand::rngs::StdRng::seed_from_u64(seed);
    let mut acked: BTreeMap<String, u64> = BTreeMap::new();
    for round in 0..rounds {
        let mut child = spawn_child(mode, &path, backend);
        let mut lines = BufReader::new(child.stdout.take().unwrap()).lines();
        wait_ready(&mut lines);
        // Read acknowledgements for a random number of them, then kill mid-stream.
        let wanted = rng.gen_range(1..400);
        for line in lines.by_ref().take(wanted) {
            let line = line.unwrap();
            let mut parts = line.split(' ');
            if parts.next() != Some("ack") {
                continue;
            }
            let pid = parts.next().unwrap().to_owned();
            let seq: u64 = parts.next().unwrap().parse().unwrap();
            let e = acked.entry(pid).or_default();
            *e = (*e).max(seq);
        }
        child.kill().unwrap();
        child.wait().unwrap();
        // Reopen: every acknowledged event is there, intact, and nothing is half-written.
        let journal = Journal::open(&path, Options::new().backend(backend)).unwrap();
        for (pid, &highest_acked) in &acked {
            let highest = journal.highest_sequence_nr(pid).unwrap();
            assert!(
                highest >= highest_acked,
                "round {round}: {pid} lost acknowledged events ({highest} < {highest_acked})"
            );
            let events = journal.read(pid, 1, u64::MAX, usize::MAX).unwrap();
            assert_eq!(events.len() as u64, highest, "round {round}: {pid} has gaps");
            for (i, e) in events.iter().enumerate() {
                assert_eq!(e.sequence_nr, i as u64 + 1);
                assert_eq!(
                    e.payload,
                    payload(pid, e.sequence_nr),
                    "round {round}: {pid}/{} damaged",
                    e.sequence_nr
                );
                assert_eq!(e.tags, ["crash"]);
            }
        }
        assert!(!acked.is_empty(), "round {round}: the child acknowledged nothing");
        let all = journal.all_events(0, usize::MAX).unwrap();
        assert!(all.windows(2).all(|w| w[0].global_offset < w[1].global_offset));
        journal.close().unwrap();
    }
}

#[test]
fn kill_9_never_loses_acknowledged_events_lmdb() {
    crash_rounds(Backend::Lmdb, 20);
}

#[test]
fn kill_9_never_loses_acknowledged_events_lmdb_across_checkpoints() {
    crash_rounds_of("append-pad", Backend::Lmdb, 10);
}

/// A journal whose writer child acknowledged ten commits (ten log records) and was killed.
/// Returns its path, where each record starts (and where the next would), and the log, open for writing.
fn killed_after_ten_records(dir: &Path) -> (std::path::PathBuf, Vec<u64>, std::fs::File) {
    let path = dir.join("journal");
    let mut child = spawn_child("wal", &path, Backend::Lmdb);
    let mut lines = BufReader::new(child.stdout.take().unwrap()).lines();
    wait_ready(&mut lines);
    child.kill().unwrap();
    child.wait().unwrap();
    // Where each record starts: header = length u32, CRC u32, generation u64.
    let log = std::fs::read(path.join("lmdb/wal")).unwrap();
    let mut starts = Vec::new();
    let mut at = 0usize;
    loop {
        let len = u32::from_le_bytes(log[at..at + 4].try_into().unwrap()) as usize;
        if len == u32::MAX as usize {
            break; // the end marker
        }
        starts.push(at as u64);
        at += 16 + len;
    }
    starts.push(at as u64); // the end
    let log = std::fs::OpenOptions::new()
        .write(true)
        .read(true)
        .open(path.join("lmdb/wal"))
        .unwrap();
    (path, starts, log)
}

#[test]
fn lmdb_log_drops_a_torn_last_record_and_refuses_damage_inside() {
    use std::os::unix::fs::FileExt;
    // A torn record after the last acknowledged one: dropped, every acknowledged event kept.
    let dir = tempfile::tempdir().unwrap();
    let (path, starts, log) = killed_after_ten_records(dir.path());
    assert_eq!(starts.len(), 11, "one record per acknowledged commit");
    let mut generation = [0u8; 8];
    log.read_exact_at(&mut generation, starts[0] + 8).unwrap();
    let mut torn = Vec::new();
    torn.extend_from_slice(&500u32.to_le_bytes());
    torn.extend_from_slice(&0xdead_beefu32.to_le_bytes());
    torn.extend_from_slice(&generation);
    torn.extend_from_slice(&[0x42; 100]); // 100 of its 500 payload bytes reached the disk
    log.write_all_at(&torn, starts[10]).unwrap();
    let journal = Journal::open(&path, Options::new()).unwrap();
    let events = journal.read("p", 1, u64::MAX, usize::MAX).unwrap();
    assert_eq!(events.len(), 10);
    assert!(events.iter().all(|e| e.payload == payload("p", e.sequence_nr)));
    assert_eq!(
        journal
            .append("p", vec![NewEvent::new(b"next".to_vec())])
            .unwrap()
            .first_sequence_nr,
        11
    );
    journal.close().unwrap();

    // A damaged record with good ones after it is not a torn tail: a typed error, nothing skipped.
    let dir = tempfile::tempdir().unwrap();
    let (path, starts, log) = killed_after_ten_records(dir.path());
    let mut byte = [0u8; 1];
    log.read_exact_at(&mut byte, starts[4] + 40).unwrap();
    log.write_all_at(&[byte[0] ^ 0x01], starts[4] + 40).unwrap();
    // A reader sees it too (a writer could not have left a complete record after an incomplete one).
    let reader = Journal::open(&path, Options::new().read_only(true)).unwrap();
    match reader.read("p", 1, u64::MAX, usize::MAX) {
        Err(Error::Corrupt { path: at, .. }) => assert!(at.ends_with("lmdb/wal"), "{at:?}"),
        other => panic!("expected Corrupt, got {other:?}"),
    }
    reader.close().unwrap();
    match Journal::open(&path, Options::new()) {
        Err(Error::Corrupt { path: at, .. }) => assert!(at.ends_with("lmdb/wal"), "{at:?}"),
        other => panic!("expected Corrupt, got {other:?}"),
    }
}

/// Copies a journal directory (files only, one level of subdirectories).
fn copy_journal(from: &Path, to: &Path) {
    for sub in ["", "lmdb"] {
        std::fs::create_dir_all(to.join(sub)).unwrap();
        for e in std::fs::read_dir(from.join(sub)).unwrap().flatten() {
            if e.path().is_file() && e.file_name() != "lock.mdb" && e.file_name() != "LOCK" {
                std::fs::copy(e.path(), to.join(sub).join(e.file_name())).unwrap();
            }
        }
    }
}

#[test]
fn every_flipped_bit_of_a_log_record_header_is_an_error_or_a_reported_torn_tail() {
    use std::os::unix::fs::FileExt;
    let dir = tempfile::tempdir().unwrap();
    let (pristine, starts, log) = killed_after_ten_records(dir.path());
    drop(log);
    let records = starts.len() - 1;
    let mut cases = Vec::new();
    for r in 0..records {
        // Every byte of the header (with a bit that changes from record to record), bytes spread over the payload.
        cases.extend((0..16).map(|byte| (r, starts[r] + byte, 1u8 << ((byte + r as u64) % 8))));
        let payload = starts[r + 1] - starts[r] - 16;
        cases.extend((0..8).map(|k| (r, starts[r] + 16 + k * payload / 8, 1u8 << k)));
    }
    let case_dir = dir.path().join("case");
    for (r, at, mask) in cases {
        let _ = std::fs::remove_dir_all(&case_dir);
        copy_journal(&pristine, &case_dir);
        let flip = || {
            let log = std::fs::OpenOptions::new()
                .read(true)
                .write(true)
                .open(case_dir.join("lmdb/wal"))
                .unwrap();
            let mut byte = [0u8; 1];
            log.read_exact_at(&mut byte, at).unwrap();
            log.write_all_at(&[byte[0] ^ mask], at).unwrap();
        };
        flip();
        let what = format!("record {r}, byte {at}, mask {mask:#04x}");
        match Journal::open(&case_dir, Options::new()) {
            Ok(journal) => {
                // Only the last record may be taken for a torn write, and then it is reported.
                assert_eq!(r, records - 1, "{what}: opened without an error");
                let events = journal.read("p", 1, u64::MAX, usize::MAX).unwrap();
                assert_eq!(events.len(), records - 1, "{what}");
                assert!(events.iter().all(|e| e.payload == payload("p", e.sequence_nr)), "{what}");
                assert_eq!(journal.metrics().repaired_tails, 1, "{what}");
                let torn = journal.torn_tails();
                assert_eq!(torn.len(), 1, "{what}");
                assert_eq!(torn[0].offset, starts[r], "{what}");
                journal.close().unwrap();
            }
            Err(Error::Corrupt { path, offset, .. }) => {
                assert!(r < records - 1, "{what}: the last record is a torn tail");
                assert!(path.ends_with("lmdb/wal"), "{what}: {path:?}");
                assert_eq!(offset, starts[r], "{what}");
                // Nothing was truncated or checkpointed past the damage: undone, every event is back.
                flip();
                let journal = Journal::open(&case_dir, Options::new()).unwrap();
                assert_eq!(journal.read("p", 1, u64::MAX, usize::MAX).unwrap().len(), records, "{what}");
                journal.close().unwrap();
            }
            Err(other) => panic!("{what}: {other}"),
        }
    }
}

#[test]
fn kill_9_never_loses_acknowledged_events_files() {
    crash_rounds(Backend::Files, 20);
}

#[test]
#[ignore = "soak: cargo test --release -p tidelog --test processes -- --ignored soak"]
fn soak_kill_9_200_rounds() {
    crash_rounds(Backend::Files, 200);
    crash_rounds(Backend::Lmdb, 200);
    crash_rounds_of("append-pad", Backend::Lmdb, 200);
}

#[test]
fn a_full_device_fails_the_write_with_storage_full_and_keeps_acknowledged_data() {
    for backend in [Backend::Files, Backend::Lmdb] {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("journal");
        let out = spawn_child("full", &path, backend).wait_with_output().unwrap();
        let text = String::from_utf8(out.stdout).unwrap();
        let line = text
            .lines()
            .find(|l| l.starts_with("full "))
            .unwrap_or_else(|| panic!("{backend:?}: child said {text:?}"));
        let mut parts = line.split(' ').skip(1);
        let kind = parts.next().unwrap();
        let acked: u64 = parts.next().unwrap().parse().unwrap();
        assert!(kind == "STORAGE_FULL", "{backend:?}: expected STORAGE_FULL, got {text}");
        assert!(acked > 0);
        assert!(
            text.contains(&format!("read {acked}")),
            "{backend:?}: reads after the failure: {text:?}"
        );
        let journal = Journal::open(&path, Options::new().backend(backend)).unwrap();
        let events = journal.read("big", 1, u64::MAX, usize::MAX).unwrap();
        assert_eq!(events.len() as u64, acked, "{backend:?}");
        assert!(events.iter().all(|e| e.payload == vec![7u8; 64 << 10]));
        // With space back, writing continues after the acknowledged events.
        assert_eq!(
            journal.append("big", vec![NewEvent::new(vec![1])]).unwrap().first_sequence_nr,
            acked + 1
        );
    }
}

#[test]
fn second_writer_process_gets_locked_and_first_keeps_working() {
    for backend in [Backend::Files, Backend::Lmdb] {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("journal");
        let journal = Journal::open(&path, Options::new().backend(backend)).unwrap();
        journal.append("p", vec![NewEvent::new(b"1".to_vec())]).unwrap();
        let child = spawn_child("lock", &path, backend);
        let out = child.wait_with_output().unwrap();
        let text = String::from_utf8(out.stdout).unwrap();
        assert!(
            text.contains(&format!("locked {}", path.join("LOCK").display())),
            "{backend:?}: child said {text:?}"
        );
        // Also refused inside this process, and the first writer is unaffected.
        assert!(matches!(
            Journal::open(&path, Options::new().backend(backend)),
            Err(Error::Locked { .. })
        ));
        assert_eq!(
            journal.append("p", vec![NewEvent::new(b"2".to_vec())]).unwrap().first_sequence_nr,
            2
        );
        journal.close().unwrap();
        // After close the lock is free.
        let child = spawn_child("lock", &path, backend);
        let text = String::from_utf8(child.wait_with_output().unwrap().stdout).unwrap();
        assert!(text.contains("opened"), "{backend:?}: {text:?}");
    }
}

#[test]
fn a_read_only_process_reads_beside_the_live_writer() {
    for backend in [Backend::Lmdb, Backend::Files] {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("journal");
        let journal = Journal::open(&path, Options::new().backend(backend)).unwrap();
        journal.append("p", (0..5).map(|i| NewEvent::new(vec![i])).collect()).unwrap();
        let out = spawn_child("read", &path, backend).wait_with_output().unwrap();
        let text = String::from_utf8(out.stdout).unwrap();
        assert!(text.contains("read 5 highest 5"), "{backend:?}: {text:?}");
        // The writer goes on; a new reader sees the new events.
        journal.append("p", vec![NewEvent::new(vec![5])]).unwrap();
        let text = String::from_utf8(spawn_child("read", &path, backend).wait_with_output().unwrap().stdout).unwrap();
        assert!(text.contains("read 6 highest 6"), "{backend:?}: {text:?}");
    }
}

#[test]
fn an_open_read_only_process_follows_the_writer_across_checkpoints() {
    use std::io::Write;
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("journal");
    let journal = Journal::open(&path, Options::new()).unwrap();
    journal.append("p", (0..5).map(|i| NewEvent::new(vec![i])).collect()).unwrap();
    let mut child = child_command("watch", &path, Backend::Lmdb).stdin(Stdio::piped()).spawn().unwrap();
    let mut stdin = child.stdin.take().unwrap();
    let mut lines = BufReader::new(child.stdout.take().unwrap()).lines();
    wait_ready(&mut lines);
    let mut report = |expected: &str| {
        writeln!(stdin, "check").unwrap();
        let line = lines.next().unwrap().unwrap();
        assert_eq!(line, expected);
    };
    // Still in the writer's log: read from it.
    report("seen 5 highest 5 all 5 gapless true ordered true");
    journal.append("p", vec![NewEvent::new(vec![5])]).unwrap();
    report("seen 6 highest 6 all 6 gapless true ordered true");
    // 6 MiB more: the log passes 4 MiB, a checkpoint moves it into LMDB and a new generation begins.
    for _ in 0..60 {
        journal.append("p", vec![NewEvent::new(vec![7; 100 << 10])]).unwrap();
    }
    report("seen 66 highest 66 all 66 gapless true ordered true");
    journal.append("q", vec![NewEvent::new(vec![8])]).unwrap();
    report("seen 66 highest 66 all 67 gapless true ordered true");
    // A deletion is a checkpoint too.
    journal.delete_to("q", 1).unwrap();
    journal.append("p", vec![NewEvent::new(vec![9])]).unwrap();
    report("seen 67 highest 67 all 67 gapless true ordered true");
    drop(stdin);
    child.wait().unwrap();
    journal.close().unwrap();
}

#[test]
fn an_open_read_only_process_follows_the_files_writer_across_segments() {
    use std::io::Write;
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("journal");
    // Small segments: each big append below rolls to a new one.
    let journal = Journal::open(&path, Options::new().backend(Backend::Files).segment_bytes(64 << 10)).unwrap();
    journal.append("p", (0..5).map(|i| NewEvent::new(vec![i])).collect()).unwrap();
    let mut child = child_command("watch", &path, Backend::Files).stdin(Stdio::piped()).spawn().unwrap();
    let mut stdin = child.stdin.take().unwrap();
    let mut lines = BufReader::new(child.stdout.take().unwrap()).lines();
    wait_ready(&mut lines);
    let mut report = |expected: &str| {
        writeln!(stdin, "check").unwrap();
        let line = lines.next().unwrap().unwrap();
        assert_eq!(line, expected);
    };
    report("seen 5 highest 5 all 5 gapless true ordered true");
    // In the segment the reader already knows.
    journal.append("p", vec![NewEvent::new(vec![5])]).unwrap();
    report("seen 6 highest 6 all 6 gapless true ordered true");
    // Across twenty new segments.
    for _ in 0..20 {
        journal.append("p", vec![NewEvent::new(vec![7; 100 << 10])]).unwrap();
    }
    report("seen 26 highest 26 all 26 gapless true ordered true");
    journal.append("q", vec![NewEvent::new(vec![8])]).unwrap();
    report("seen 26 highest 26 all 27 gapless true ordered true");
    // A deletion the reader must observe.
    journal.delete_to("q", 1).unwrap();
    report("seen 26 highest 26 all 26 gapless true ordered true");
    // Segments the reader never saw are created and reclaimed before it reads again: it reads
    // the journal again from its files.
    for _ in 0..5 {
        journal.append("r", vec![NewEvent::new(vec![9; 100 << 10])]).unwrap();
    }
    journal.delete_to("r", 5).unwrap();
    journal.append("p", vec![NewEvent::new(vec![10])]).unwrap();
    journal.flush().unwrap();
    let reclaimed = |_: ()| std::fs::read_dir(path.join("segments")).unwrap().count();
    let before = reclaimed(());
    for _ in 0..100 {
        if reclaimed(()) < before {
            break;
        }
        std::thread::sleep(std::time::Duration::from_millis(20));
    }
    report("seen 27 highest 27 all 27 gapless true ordered true");
    drop(stdin);
    child.wait().unwrap();
    journal.close().unwrap();
}

#[test]
fn a_read_only_backup_succeeds_while_another_process_grows_the_map() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("journal");
    let mut child = spawn_child("grow", &path, Backend::Lmdb);
    let mut lines = BufReader::new(child.stdout.take().unwrap()).lines();
    wait_ready(&mut lines);
    lines.by_ref().take(3).for_each(drop);
    let reader = Journal::open(&path, Options::new().read_only(true)).unwrap();
    // Let the writer grow the map well past what this reader mapped.
    let acked: u64 = lines
        .by_ref()
        .take(60)
        .last()
        .unwrap()
        .unwrap()
        .rsplit(' ')
        .next()
        .unwrap()
        .parse()
        .unwrap();
    let backup = dir.path().join("backup");
    reader.backup_to(&backup).unwrap();
    child.kill().unwrap();
    child.wait().unwrap();
    let restored = Journal::open(&backup, Options::new()).unwrap();
    let events = restored.read("big", 1, u64::MAX, usize::MAX).unwrap();
    assert!(
        events.len() as u64 >= acked,
        "backup holds {} events, {acked} were acknowledged before it",
        events.len()
    );
    assert!(events
        .iter()
        .enumerate()
        .all(|(i, e)| e.sequence_nr == i as u64 + 1 && e.payload.len() == 100 << 10));
}

#[test]
fn child_killed_while_holding_the_lock_releases_it() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("journal");
    let mut child = spawn_child("append", &path, Backend::Files);
    let mut lines = BufReader::new(child.stdout.take().unwrap()).lines();
    wait_ready(&mut lines);
    assert!(matches!(
        Journal::open(&path, Options::new().backend(Backend::Files)),
        Err(Error::Locked { .. })
    ));
    child.kill().unwrap();
    child.wait().unwrap();
    let deadline = Instant::now() + Duration::from_secs(10);
    loop {
        match Journal::open(&path, Options::new().backend(Backend::Files)) {
            Ok(j) => {
                j.close().unwrap();
                break;
            }
            Err(Error::Locked { .. }) if Instant::now() < deadline => std::thread::sleep(Duration::from_millis(20)),
            Err(e) => panic!("lock not released after SIGKILL: {e}"),
        }
    }
}

#[test]
fn a_zeroed_log_record_with_records_after_it_is_corrupt_and_nothing_is_lost_past_it() {
    use std::os::unix::fs::FileExt;
    let dir = tempfile::tempdir().unwrap();
    let (pristine, starts, log) = killed_after_ten_records(dir.path());
    drop(log);
    let records = starts.len() - 1;
    let case_dir = dir.path().join("case");
    for r in 0..records - 1 {
        let _ = std::fs::remove_dir_all(&case_dir);
        copy_journal(&pristine, &case_dir);
        let log = std::fs::OpenOptions::new()
            .read(true)
            .write(true)
            .open(case_dir.join("lmdb/wal"))
            .unwrap();
        let len = (starts[r + 1] - starts[r]) as usize;
        let mut original = vec![0u8; len];
        log.read_exact_at(&mut original, starts[r]).unwrap();
        log.write_all_at(&vec![0u8; len], starts[r]).unwrap(); // the whole record zeroed, as by a lost page
        match Journal::open(&case_dir, Options::new()) {
            Err(Error::Corrupt { path, offset, .. }) => {
                assert!(path.ends_with("lmdb/wal"), "record {r}: {path:?}");
                assert_eq!(offset, starts[r], "record {r}");
            }
            Ok(_) => panic!("record {r}: a zeroed record with records after it opened as a shorter log"),
            Err(other) => panic!("record {r}: {other}"),
        }
        // Nothing was checkpointed past the damage: restored, every event is back.
        log.write_all_at(&original, starts[r]).unwrap();
        let journal = Journal::open(&case_dir, Options::new()).unwrap();
        assert_eq!(journal.read("p", 1, u64::MAX, usize::MAX).unwrap().len(), records, "record {r}");
        journal.close().unwrap();
    }
}

#[test]
fn a_zeroed_first_page_of_the_log_is_corrupt_not_an_empty_log() {
    use std::os::unix::fs::FileExt;
    let dir = tempfile::tempdir().unwrap();
    let (path, starts, log) = killed_after_ten_records(dir.path());
    let end = *starts.last().unwrap();
    assert!(end + 16 <= 4096, "every record lies in the first page ({end} bytes)");
    // A lost write of the page: the records and the end marker after them read as zeros.
    log.write_all_at(&[0u8; 4096], 0).unwrap();
    drop(log);
    let reader = Journal::open(&path, Options::new().read_only(true)).unwrap();
    match reader.read("p", 1, u64::MAX, usize::MAX) {
        Err(Error::Corrupt { path: at, offset, .. }) => {
            assert!(at.ends_with("lmdb/wal"), "{at:?}");
            assert_eq!(offset, 0);
        }
        other => panic!("a reader: expected Corrupt, got {other:?}"),
    }
    reader.close().unwrap();
    match Journal::open(&path, Options::new()) {
        Err(Error::Corrupt { path: at, offset, .. }) => {
            assert!(at.ends_with("lmdb/wal"), "{at:?}");
            assert_eq!(offset, 0);
        }
        other => panic!("the writer: expected Corrupt, got {other:?}"),
    }
}

#[test]
fn the_log_ends_in_an_end_marker_and_a_missing_one_is_a_reported_torn_tail() {
    use std::os::unix::fs::FileExt;
    let dir = tempfile::tempdir().unwrap();
    let (path, starts, log) = killed_after_ten_records(dir.path());
    let end = *starts.last().unwrap();
    let mut marker = [0u8; 16];
    log.read_exact_at(&mut marker, end).unwrap();
    assert_eq!(&marker[..4], &u32::MAX.to_le_bytes(), "an end marker follows the last record");
    // The last record's write cut before its marker (zeros there): kept, and reported as a torn tail.
    log.write_all_at(&[0u8; 16], end).unwrap();
    drop(log);
    let journal = Journal::open(&path, Options::new()).unwrap();
    assert_eq!(journal.read("p", 1, u64::MAX, usize::MAX).unwrap().len(), starts.len() - 1);
    assert_eq!(journal.torn_tails().len(), 1);
    assert_eq!(journal.torn_tails()[0].offset, end);
    journal.close().unwrap();
    let journal = Journal::open(&path, Options::new()).unwrap();
    assert!(journal.torn_tails().is_empty());
    assert_eq!(journal.read("p", 1, u64::MAX, usize::MAX).unwrap().len(), starts.len() - 1);
    journal.close().unwrap();
}
