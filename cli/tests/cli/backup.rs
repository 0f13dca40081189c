//! `backup`, `restore` and `compact`.

use std::path::{Path, PathBuf};

use predicates::prelude::*;
use tidelog::{Backend, SnapshotCriteria};

use crate::{fixture, json_doc, open, scratch, tidelog, Writer, BACKENDS};

/// Every file under `dir` whose name ends with `suffix`.
pub fn files_with_suffix(dir: &Path, suffix: &str) -> Vec<PathBuf> {
    let mut out = Vec::new();
    let mut stack = vec![dir.to_path_buf()];
    while let Some(d) = stack.pop() {
        for entry in std::fs::read_dir(&d).unwrap() {
            let p = entry.unwrap().path();
            if p.is_dir() {
                stack.push(p);
            } else if p.to_string_lossy().ends_with(suffix) {
                out.push(p);
            }
        }
    }
    out.sort();
    out
}

#[test]
fn backup_and_restore_round_trip_with_a_checked_manifest() {
    for backend in BACKENDS {
        let (dir, path) = scratch();
        fixture(&path, backend);
        let backup = dir.path().join("backup");
        let restored = dir.path().join("restored");
        let out = tidelog()
            .args(["backup", "--json"])
            .arg(&path)
            .arg(&backup)
            .assert()
            .success()
            .get_output()
            .stdout
            .clone();
        let report = json_doc(&out);
        assert_eq!(report["backend"], backend.name());
        assert_eq!(report["events"], crate::FIXTURE_EVENTS);
        let manifest = std::fs::read_to_string(backup.join("MANIFEST.sha256")).unwrap();
        assert!(
            manifest.lines().any(|l| l.ends_with("  FORMAT")) && manifest.lines().any(|l| l.ends_with("  BACKUP.json")),
            "{manifest}"
        );
        assert!(
            manifest.lines().all(|l| l.len() > 66 && l.as_bytes()[64] == b' '),
            "sha256sum format: {manifest}"
        );

        tidelog()
            .arg("restore")
            .arg(&backup)
            .arg(&restored)
            .assert()
            .success()
            .stdout(predicate::str::contains("every sha256 matched"));
        tidelog().arg("verify").arg(&restored).assert().success();
        let (a, b) = (open(&path), open(&restored));
        assert_eq!(a.all_events(1, usize::MAX).unwrap(), b.all_events(1, usize::MAX).unwrap());
        assert_eq!(a.stream_state("gone-3").unwrap(), b.stream_state("gone-3").unwrap());
        assert_eq!(
            a.snapshots().load("order-1", SnapshotCriteria::latest()).unwrap(),
            b.snapshots().load("order-1", SnapshotCriteria::latest()).unwrap()
        );
        a.close().unwrap();
        b.close().unwrap();
    }
}

#[test]
fn a_damaged_backup_is_refused_and_nothing_is_restored() {
    for backend in BACKENDS {
        let (dir, path) = scratch();
        fixture(&path, backend);
        let backup = dir.path().join("backup");
        tidelog().arg("backup").arg(&path).arg(&backup).assert().success();
        let snapshot = files_with_suffix(&backup.join("snapshots"), ".snap")[0].clone();
        let mut bytes = std::fs::read(&snapshot).unwrap();
        let last = bytes.len() - 1;
        bytes[last] ^= 1;
        std::fs::write(&snapshot, bytes).unwrap();
        let restored = dir.path().join("restored");
        tidelog().arg("restore").arg(&backup).arg(&restored).assert().code(3).stderr(
            predicate::str::contains("does not match its manifest")
                .and(predicate::str::contains(snapshot.file_name().unwrap().to_string_lossy().as_ref())),
        );
        assert!(!restored.exists());

        // A missing file and an unlisted file are found too.
        std::fs::remove_file(&snapshot).unwrap();
        std::fs::write(backup.join("stray"), b"x").unwrap();
        tidelog()
            .arg("restore")
            .arg(&backup)
            .arg(&restored)
            .assert()
            .code(3)
            .stderr(predicate::str::contains("missing").and(predicate::str::contains("not listed")));
        assert!(!restored.exists());
    }
}

#[test]
fn backup_and_restore_refuse_bad_paths() {
    let (dir, path) = scratch();
    fixture(&path, Backend::Lmdb);
    tidelog()
        .arg("backup")
        .arg(&path)
        .arg(&path)
        .assert()
        .code(1)
        .stderr(predicate::str::contains("already exists"));
    tidelog()
        .arg("backup")
        .arg(dir.path().join("nope"))
        .arg(dir.path().join("b"))
        .assert()
        .code(5);
    tidelog()
        .arg("restore")
        .arg(dir.path().join("nope"))
        .arg(dir.path().join("r"))
        .assert()
        .code(5);
    // A directory without a manifest is not a backup.
    tidelog()
        .arg("restore")
        .arg(&path)
        .arg(dir.path().join("r"))
        .assert()
        .code(5)
        .stderr(predicate::str::contains("MANIFEST.sha256"));
    let backup = dir.path().join("backup");
    tidelog().arg("backup").arg(&path).arg(&backup).assert().success();
    tidelog()
        .arg("restore")
        .arg(&backup)
        .arg(&path)
        .assert()
        .code(1)
        .stderr(predicate::str::contains("already exists"));
}

/// Acceptance: a backup taken while another process appends restores to a
/// journal that passes `verify` and holds every event acknowledged before it started.
fn hot_backup_holds_every_acknowledged_event(backend: Backend) {
    let (dir, path) = scratch();
    let mut writer = Writer::spawn(&path, backend, "hot-1");
    writer.wait_acks(50);
    let acked_before = writer.last_acked;
    let backup = dir.path().join("backup");
    tidelog().arg("backup").arg(&path).arg(&backup).assert().success();
    // The writer kept going during the backup.
    let acked_after = writer.wait_acks(20);
    assert!(acked_after > acked_before);
    writer.stop();

    let restored = dir.path().join("restored");
    tidelog().arg("restore").arg(&backup).arg(&restored).assert().success();
    tidelog().arg("verify").arg(&restored).assert().success();
    let j = open(&restored);
    let events = j.read("hot-1", 1, u64::MAX, usize::MAX).unwrap();
    j.close().unwrap();
    assert!(
        events.len() as u64 >= acked_before,
        "{} events restored, {acked_before} were acknowledged before the backup",
        events.len()
    );
    for (i, e) in events.iter().enumerate() {
        assert_eq!(e.sequence_nr, i as u64 + 1);
        assert_eq!(e.payload, format!("load event {}", i + 1).into_bytes());
    }
}

#[test]
fn hot_backup_holds_every_acknowledged_event_files() {
    hot_backup_holds_every_acknowledged_event(Backend::Files);
}

#[test]
fn hot_backup_holds_every_acknowledged_event_lmdb() {
    hot_backup_holds_every_acknowledged_event(Backend::Lmdb);
}

/// The writer grows the LMDB map past what the backup's reader mapped when it
/// opened (64 MiB); the copy must still succeed and hold every acknowledged event.
#[test]
fn hot_backup_while_the_lmdb_map_grows() {
    let (dir, path) = scratch();
    let mut writer = Writer::spawn_with(&path, Backend::Lmdb, "big-1", 1 << 20);
    let acked_before = writer.wait_acks(56);
    let backup = dir.path().join("backup");
    // Opened at ~56 MiB; the pause lets the writer pass 64 MiB before the copy starts.
    tidelog()
        .env("TIDELOG_TEST_BACKUP_DELAY_MS", "3000")
        .arg("backup")
        .arg(&path)
        .arg(&backup)
        .assert()
        .success();
    writer.stop();
    let restored = dir.path().join("restored");
    tidelog().arg("restore").arg(&backup).arg(&restored).assert().success();
    tidelog().arg("verify").arg(&restored).assert().success();
    let j = open(&restored);
    let highest = j.stream_state("big-1").unwrap().highest_sequence_nr;
    let mut seen = 0;
    j.scan("big-1", 1, u64::MAX, usize::MAX, |e| {
        seen += 1;
        assert_eq!(e.sequence_nr, seen);
        assert!(e.payload.starts_with(format!("load event {seen} ").as_bytes()));
        true
    })
    .unwrap();
    j.close().unwrap();
    assert!(
        highest >= acked_before && seen == highest,
        "restored {seen} of highest {highest}; {acked_before} acknowledged before the backup"
    );
}

#[test]
fn compact_reclaims_deleted_events_and_keeps_the_rest() {
    for backend in BACKENDS {
        let (_dir, path) = scratch();
        fixture(&path, backend);
        let j = open(&path);
        let big = vec![b'x'; 64 << 10];
        for _ in 0..32 {
            j.append("bulky", vec![tidelog::NewEvent::new(big.clone())]).unwrap();
        }
        j.delete_to("bulky", 32).unwrap();
        let before = j.all_events(1, usize::MAX).unwrap();
        j.close().unwrap();
        let out = tidelog()
            .args(["compact", "--json"])
            .arg(&path)
            .assert()
            .success()
            .get_output()
            .stdout
            .clone();
        let report = json_doc(&out);
        let (was, is) = (report["bytes_before"].as_u64().unwrap(), report["bytes_after"].as_u64().unwrap());
        assert!(is < was, "{backend:?}: {was} -> {is}");
        tidelog().arg("verify").arg(&path).assert().success();
        let j = open(&path);
        assert_eq!(j.all_events(1, usize::MAX).unwrap(), before);
        assert_eq!(j.stream_state("bulky").unwrap().highest_sequence_nr, 32);
        j.close().unwrap();
    }
}
