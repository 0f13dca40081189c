//! `verify`: a clean journal passes; damage is reported with its location and exit code 3.

use std::path::{Path, PathBuf};

use predicates::prelude::*;
use tidelog::{Backend, NewEvent};

use crate::{fixture, json_doc, open, scratch, tidelog, BACKENDS, FIXTURE_EVENTS, MARKER};

/// Flips one byte inside every occurrence of `needle` in `file` (LMDB may keep
/// stale copies of a page in its free list, so the live one is not always the first).
fn flip_inside(file: &Path, needle: &[u8]) {
    let mut bytes = std::fs::read(file).unwrap();
    let found: Vec<usize> = bytes
        .windows(needle.len())
        .enumerate()
        .filter(|(_, w)| *w == needle)
        .map(|(i, _)| i)
        .collect();
    assert!(!found.is_empty(), "{needle:?} not found in {}", file.display());
    for at in found {
        bytes[at + needle.len() / 2] ^= 0x20;
    }
    std::fs::write(file, bytes).unwrap();
}

fn data_files(path: &Path, backend: Backend) -> Vec<PathBuf> {
    let dir = path.join(match backend {
        Backend::Lmdb => "lmdb",
        _ => "segments",
    });
    let mut files: Vec<PathBuf> = std::fs::read_dir(dir)
        .unwrap()
        .map(|e| e.unwrap().path())
        .filter(|p| p.extension().is_some_and(|e| e == "mdb" || e == "seg"))
        .collect();
    files.sort();
    files.retain(|f| !f.ends_with("lock.mdb"));
    files
}

/// `verify --json` of a damaged journal: it must exit 3; its report.
fn failed_verify_report(path: &Path) -> serde_json::Value {
    let out = tidelog()
        .args(["verify", "--json"])
        .arg(path)
        .assert()
        .code(3)
        .get_output()
        .stdout
        .clone();
    json_doc(&out)
}

#[test]
fn a_clean_journal_passes() {
    for backend in BACKENDS {
        let (_dir, path) = scratch();
        fixture(&path, backend);
        let out = tidelog()
            .args(["verify", "--json"])
            .arg(&path)
            .assert()
            .success()
            .get_output()
            .stdout
            .clone();
        let report = json_doc(&out);
        assert_eq!(report["ok"], true);
        assert_eq!(report["events"], FIXTURE_EVENTS);
        assert_eq!(report["global_index_entries"], FIXTURE_EVENTS);
        assert_eq!(report["snapshots"], 2);
        assert_eq!(report["tags"], 3, "orders, binary, lines");
        tidelog()
            .arg("verify")
            .arg(&path)
            .assert()
            .success()
            .stdout(predicate::str::contains("OK: no problems found"));
    }
}

#[test]
fn a_corrupt_lmdb_record_is_reported_with_its_stream_and_sequence_nr() {
    let (_dir, path) = scratch();
    fixture(&path, Backend::Lmdb);
    flip_inside(&data_files(&path, Backend::Lmdb)[0], MARKER.as_bytes());
    let report = failed_verify_report(&path);
    assert_eq!(report["ok"], false);
    let problems = report["problems"].as_array().unwrap();
    let located = problems
        .iter()
        .find(|p| p["location"] == "stream \"order-1\" sequence nr 3")
        .unwrap_or_else(|| panic!("no problem at order-1 #3 in {problems:?}"));
    assert!(located["problem"].as_str().unwrap().contains("checksum"), "{located}");
    // The other events are still checked and the rest of the report is complete.
    assert_eq!(report["events"], FIXTURE_EVENTS - 1);
    tidelog()
        .arg("verify")
        .arg(&path)
        .assert()
        .code(3)
        .stdout(predicate::str::contains("FAILED").and(predicate::str::contains("stream \"order-1\" sequence nr 3")));
}

#[test]
fn a_corrupt_segment_frame_is_reported_with_its_file_and_offset() {
    let (_dir, path) = scratch();
    fixture(&path, Backend::Files);
    // A later frame makes the damaged one corruption, not a torn tail.
    let j = open(&path);
    j.append("after", vec![NewEvent::new("later frame")]).unwrap();
    j.close().unwrap();
    let segment = data_files(&path, Backend::Files)[0].clone();
    flip_inside(&segment, MARKER.as_bytes());
    let report = failed_verify_report(&path);
    let problem = &report["problems"][0];
    let location = problem["location"].as_str().unwrap();
    assert!(
        location.contains(&*segment.file_name().unwrap().to_string_lossy()) && location.contains("byte offset"),
        "{location}"
    );
    assert!(problem["problem"].as_str().unwrap().contains("checksum"), "{problem}");
}

#[test]
fn a_corrupt_snapshot_is_reported_with_its_file() {
    for backend in BACKENDS {
        let (_dir, path) = scratch();
        fixture(&path, backend);
        let snapshot = crate::backup::files_with_suffix(&path.join("snapshots"), ".snap")
            .into_iter()
            .find(|f| std::fs::read(f).unwrap().windows(7).any(|w| w == b"{\"n\":7}"))
            .unwrap();
        flip_inside(&snapshot, b"{\"n\":7}");
        let report = failed_verify_report(&path);
        let problems = report["problems"].as_array().unwrap();
        assert_eq!(problems.len(), 1, "{problems:?}");
        assert_eq!(problems[0]["location"], snapshot.display().to_string());
    }
}

#[test]
fn damage_inside_lmdb_s_write_ahead_log_is_reported_with_its_offset() {
    use std::os::unix::fs::FileExt;
    let (_dir, path) = scratch();
    // A writer killed mid-stream leaves its last commits in the log, not yet checkpointed into LMDB.
    let mut writer = crate::Writer::spawn(&path, Backend::Lmdb, "p");
    writer.wait_acks(50);
    writer.stop();
    let log_path = path.join("lmdb/wal");
    let log = std::fs::read(&log_path).unwrap();
    let mut starts = Vec::new();
    let mut at = 0usize;
    while at + 16 <= log.len() && ![0, u32::MAX].contains(&u32::from_le_bytes(log[at..at + 4].try_into().unwrap())) {
        starts.push(at);
        at += 16 + u32::from_le_bytes(log[at..at + 4].try_into().unwrap()) as usize;
    }
    assert!(starts.len() >= 3, "expected several log records, found {}", starts.len());
    // Damage the first record: whole records follow it, so it is not a torn tail.
    let file = std::fs::OpenOptions::new().read(true).write(true).open(&log_path).unwrap();
    let mut byte = [0u8; 1];
    file.read_exact_at(&mut byte, starts[0] as u64 + 20).unwrap();
    file.write_all_at(&[byte[0] ^ 0x01], starts[0] as u64 + 20).unwrap();
    let report = failed_verify_report(&path);
    assert_eq!(report["ok"], false);
    let problems = report["problems"].as_array().unwrap();
    assert!(
        problems
            .iter()
            .any(|p| p["location"].as_str().unwrap().contains("lmdb/wal at byte offset 0")),
        "{problems:?}"
    );
}

/// The start of each record of LMDB's write-ahead log.
fn log_record_starts(log_path: &Path) -> Vec<usize> {
    let log = std::fs::read(log_path).unwrap();
    let mut starts = Vec::new();
    let mut at = 0usize;
    while at + 16 <= log.len() && ![0, u32::MAX].contains(&u32::from_le_bytes(log[at..at + 4].try_into().unwrap())) {
        starts.push(at);
        at += 16 + u32::from_le_bytes(log[at..at + 4].try_into().unwrap()) as usize;
    }
    starts
}

#[test]
fn damage_to_the_last_log_record_is_reported_as_a_torn_tail() {
    use std::os::unix::fs::FileExt;
    let (_dir, path) = scratch();
    let mut writer = crate::Writer::spawn(&path, Backend::Lmdb, "p");
    writer.wait_acks(20);
    writer.stop();
    let log_path = path.join("lmdb/wal");
    let starts = log_record_starts(&log_path);
    let last = *starts.last().unwrap() as u64;
    let file = std::fs::OpenOptions::new().read(true).write(true).open(&log_path).unwrap();
    let mut byte = [0u8; 1];
    file.read_exact_at(&mut byte, last + 20).unwrap();
    file.write_all_at(&[byte[0] ^ 0x01], last + 20).unwrap();
    let report = failed_verify_report(&path);
    let problems = report["problems"].as_array().unwrap();
    assert!(
        problems.iter().any(
            |p| p["location"].as_str().unwrap().contains(&format!("lmdb/wal at byte offset {last}"))
                && p["problem"].as_str().unwrap().contains("torn tail")
        ),
        "{problems:?}"
    );
}

#[test]
fn a_truncated_data_mdb_is_a_located_problem_not_a_crash() {
    let (_dir, path) = scratch();
    fixture(&path, Backend::Lmdb);
    let data = path.join("lmdb/data.mdb");
    let len = std::fs::metadata(&data).unwrap().len();
    for cut in [len / 2, 3 * 4096, 4096, 100] {
        let file = std::fs::OpenOptions::new().write(true).open(&data).unwrap();
        file.set_len(cut).unwrap();
        let report = failed_verify_report(&path);
        let problems = report["problems"].as_array().unwrap();
        assert!(
            problems.iter().any(|p| p["location"].as_str().unwrap().contains("data.mdb")),
            "cut at {cut}: {problems:?}"
        );
    }
}

#[test]
fn a_checking_process_that_dies_is_a_reported_problem() {
    let (_dir, path) = scratch();
    fixture(&path, Backend::Lmdb);
    // The test hook makes the child abort, as damage LMDB cannot detect may make it crash.
    let out = tidelog()
        .args(["verify", "--json"])
        .arg(&path)
        .env("TIDELOG_VERIFY_TEST_ABORT", "1")
        .assert()
        .code(3)
        .get_output()
        .stdout
        .clone();
    let report = json_doc(&out);
    assert_eq!(report["ok"], false);
    assert!(report["problems"][0]["problem"].as_str().unwrap().contains("signal"), "{report}");
}

#[test]
fn a_damaged_stream_record_fails_its_checksum_in_verify_and_deep_verify() {
    let (_dir, path) = scratch();
    fixture(&path, Backend::Lmdb);
    tidelog().args(["verify", "--deep"]).arg(&path).assert().success();
    // The stream record of "order-2" (its persistence id is the key, its marks the value).
    let data = path.join("lmdb/data.mdb");
    let mut bytes = std::fs::read(&data).unwrap();
    let key = b"order-2";
    let mut flipped = 0;
    for at in 0..bytes.len() - key.len() - 28 {
        // A leaf node: data size u32 (28: marks and checksum), flags u16, key size u16 (7), key, value.
        if &bytes[at + 8..at + 8 + key.len()] == key
            && bytes[at..at + 4] == 28u32.to_le_bytes()
            && bytes[at + 6..at + 8] == 7u16.to_le_bytes()
        {
            bytes[at + 8 + key.len() + 17] ^= 0x01; // a bit of deleted_to
            flipped += 1;
        }
    }
    assert!(flipped > 0, "the stream record was not found");
    std::fs::write(&data, bytes).unwrap();
    let out = tidelog()
        .args(["verify", "--deep", "--json"])
        .arg(&path)
        .assert()
        .code(3)
        .get_output()
        .stdout
        .clone();
    let report = json_doc(&out);
    let problems = report["problems"].as_array().unwrap();
    assert!(
        problems.iter().any(|p| p["problem"].as_str().unwrap().contains("checksum")),
        "{problems:?}"
    );
}
