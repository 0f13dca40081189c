//! `export` and `import`: lossless between backends, strict about bad input.

use predicates::prelude::*;
use tidelog::{Backend, SnapshotCriteria};

use crate::{fixture, open, scratch, tidelog};

fn other(backend: Backend) -> Backend {
    match backend {
        Backend::Lmdb => Backend::Files,
        _ => Backend::Lmdb,
    }
}

#[test]
fn export_import_into_the_other_backend_export_is_byte_identical() {
    for backend in crate::BACKENDS {
        let (dir, path) = scratch();
        fixture(&path, backend);
        let first = dir.path().join("first.jsonl");
        let copy = dir.path().join("copy");
        let second = dir.path().join("second.jsonl");
        tidelog()
            .arg("export")
            .arg(&path)
            .arg(&first)
            .assert()
            .success()
            .stdout(predicate::str::contains("exported 7 events, 3 streams and 2 snapshots"));
        tidelog()
            .arg("import")
            .arg(&first)
            .arg(&copy)
            .args(["--backend", other(backend).name()])
            .assert()
            .success();
        assert_eq!(tidelog::detect_backend(&copy).unwrap(), Some(other(backend)));
        tidelog().arg("export").arg(&copy).arg(&second).assert().success();
        let (a, b) = (std::fs::read(&first).unwrap(), std::fs::read(&second).unwrap());
        assert!(
            a == b,
            "{backend:?}: exports differ:\n{}\n---\n{}",
            String::from_utf8_lossy(&a),
            String::from_utf8_lossy(&b)
        );

        // And the copy behaves like the original, not just exports like it.
        let (original, imported) = (open(&path), open(&copy));
        for id in ["order-1", "order-2", "gone-3"] {
            assert_eq!(original.stream_state(id).unwrap(), imported.stream_state(id).unwrap(), "{id}");
            assert_eq!(
                original.read(id, 1, u64::MAX, usize::MAX).unwrap(),
                imported.read(id, 1, u64::MAX, usize::MAX).unwrap(),
                "{id}"
            );
        }
        assert_eq!(
            original.all_events(1, usize::MAX).unwrap(),
            imported.all_events(1, usize::MAX).unwrap()
        );
        assert_eq!(
            original.events_by_tag("binary", 1, usize::MAX).unwrap(),
            imported.events_by_tag("binary", 1, usize::MAX).unwrap()
        );
        for id in ["order-1", "snap-only"] {
            assert_eq!(
                original.snapshots().load(id, SnapshotCriteria::latest()).unwrap(),
                imported.snapshots().load(id, SnapshotCriteria::latest()).unwrap()
            );
        }
        // New appends continue the imported streams.
        let receipt = imported.append("order-2", vec![tidelog::NewEvent::new("next")]).unwrap();
        assert_eq!(receipt.first_sequence_nr, 7);
        assert!(receipt.first_global_offset > original.all_events(1, usize::MAX).unwrap().last().unwrap().global_offset);
        original.close().unwrap();
        imported.close().unwrap();
    }
}

#[test]
fn export_to_stdout_matches_the_file() {
    let (dir, path) = scratch();
    fixture(&path, Backend::Lmdb);
    let file = dir.path().join("out.jsonl");
    tidelog().arg("export").arg(&path).arg(&file).assert().success();
    let stdout = tidelog()
        .arg("export")
        .arg(&path)
        .arg("-")
        .assert()
        .success()
        .get_output()
        .stdout
        .clone();
    assert_eq!(stdout, std::fs::read(&file).unwrap());
}

/// Writes an export of the fixture with line `n` (1-based) replaced.
fn export_with_line(n: usize, replacement: Option<&str>) -> (tempfile::TempDir, std::path::PathBuf) {
    let (dir, path) = scratch();
    fixture(&path, Backend::Lmdb);
    let file = dir.path().join("in.jsonl");
    tidelog().arg("export").arg(&path).arg(&file).assert().success();
    let text = std::fs::read_to_string(&file).unwrap();
    let mut lines: Vec<&str> = text.lines().collect();
    match replacement {
        Some(r) => lines[n - 1] = r,
        None => {
            lines.truncate(n - 1);
        }
    }
    std::fs::write(&file, lines.join("\n") + "\n").unwrap();
    (dir, file)
}

#[test]
fn a_bad_line_is_named_by_number_and_nothing_is_created() {
    let (dir, file) = export_with_line(4, Some("{\"type\":\"event\",\"persistence_id\": oops}"));
    let target = dir.path().join("target");
    tidelog()
        .arg("import")
        .arg(&file)
        .arg(&target)
        .assert()
        .code(1)
        .stderr(predicate::str::contains("line 4:").and(predicate::str::contains("not a valid export record")));
    assert!(!target.exists(), "a failed import leaves no journal behind");
    let leftovers: Vec<_> = std::fs::read_dir(dir.path())
        .unwrap()
        .map(|e| e.unwrap().file_name())
        .filter(|n| n.to_string_lossy().contains("importing"))
        .collect();
    assert!(leftovers.is_empty(), "{leftovers:?}");
}

#[test]
fn a_wrong_record_type_bad_base64_and_a_truncated_file_are_refused() {
    let (dir, file) = export_with_line(3, Some("{\"type\":\"mystery\"}"));
    tidelog()
        .arg("import")
        .arg(&file)
        .arg(dir.path().join("t1"))
        .assert()
        .code(1)
        .stderr(predicate::str::contains("line 3:"));
    let (dir, file) = export_with_line(
        2,
        Some("{\"type\":\"event\",\"persistence_id\":\"x\",\"sequence_nr\":1,\"global_offset\":1,\"timestamp\":1,\"manifest\":\"\",\"writer_id\":\"\",\"tags\":[],\"metadata\":\"\",\"payload\":{\"base64\":\"***\"}}"),
    );
    tidelog()
        .arg("import")
        .arg(&file)
        .arg(dir.path().join("t2"))
        .assert()
        .code(1)
        .stderr(predicate::str::contains("line 2: payload: bad base64"));
    let (dir, file) = export_with_line(5, None);
    tidelog()
        .arg("import")
        .arg(&file)
        .arg(dir.path().join("t3"))
        .assert()
        .code(1)
        .stderr(predicate::str::contains("truncated"));
    assert!(!dir.path().join("t3").exists());
}

#[test]
fn events_out_of_offset_order_are_refused_by_the_core_with_their_lines() {
    let (dir, path) = scratch();
    fixture(&path, Backend::Files);
    let file = dir.path().join("in.jsonl");
    tidelog().arg("export").arg(&path).arg(&file).assert().success();
    let text = std::fs::read_to_string(&file).unwrap();
    let mut lines: Vec<&str> = text.lines().collect();
    lines.swap(1, 2);
    std::fs::write(&file, lines.join("\n") + "\n").unwrap();
    tidelog()
        .arg("import")
        .arg(&file)
        .arg(dir.path().join("t"))
        .assert()
        .failure()
        .stderr(predicate::str::contains("lines 2-"));
    assert!(!dir.path().join("t").exists());
}

#[test]
fn import_refuses_an_existing_journal_and_a_missing_input() {
    let (dir, path) = scratch();
    fixture(&path, Backend::Lmdb);
    let file = dir.path().join("in.jsonl");
    tidelog().arg("export").arg(&path).arg(&file).assert().success();
    tidelog()
        .arg("import")
        .arg(&file)
        .arg(&path)
        .assert()
        .code(1)
        .stderr(predicate::str::contains("already exists"));
    tidelog()
        .arg("import")
        .arg(dir.path().join("missing.jsonl"))
        .arg(dir.path().join("t"))
        .assert()
        .code(5);
    tidelog()
        .arg("import")
        .arg(&file)
        .arg(dir.path().join("t"))
        .args(["--backend", "memory"])
        .assert()
        .code(2);
}

/// Exporting beside a live writer gives a consistent image: it imports, verifies,
/// and every stream's marks match its exported events.
#[test]
fn export_beside_a_live_writer_is_a_consistent_cut() {
    for backend in crate::BACKENDS {
        let (dir, path) = scratch();
        fixture(&path, backend);
        let mut writer = crate::Writer::spawn(&path, backend, "live-1");
        let acked = writer.wait_acks(20);
        let file = dir.path().join("live.jsonl");
        tidelog().arg("export").arg(&path).arg(&file).assert().success();
        writer.wait_acks(5);
        writer.stop();
        let text = std::fs::read_to_string(&file).unwrap();
        let lines: Vec<serde_json::Value> = text.lines().map(|l| serde_json::from_str(l).unwrap()).collect();
        let live: Vec<u64> = lines
            .iter()
            .filter(|l| l["type"] == "event" && l["persistence_id"] == "live-1")
            .map(|l| l["sequence_nr"].as_u64().unwrap())
            .collect();
        assert!(
            live.len() as u64 >= acked,
            "{backend:?}: {} events exported, {acked} acknowledged before",
            live.len()
        );
        assert_eq!(live, (1..=live.len() as u64).collect::<Vec<_>>());
        let stream = lines
            .iter()
            .find(|l| l["type"] == "stream" && l["persistence_id"] == "live-1")
            .unwrap();
        assert_eq!(stream["highest_sequence_nr"].as_u64(), Some(live.len() as u64));
        let copy = dir.path().join("copy");
        tidelog()
            .arg("import")
            .arg(&file)
            .arg(&copy)
            .args(["--backend", other(backend).name()])
            .assert()
            .success();
        tidelog().arg("verify").arg(&copy).assert().success();
    }
}

/// The test server's URI with a schema of its own, or `None` (after saying so) when no server
/// is configured; under `CI=true` a missing server fails instead.
fn postgres_journal(schema: &str) -> Option<String> {
    match std::env::var("TIDELOG_TEST_POSTGRES") {
        Ok(uri) if !uri.is_empty() => {
            let sep = if uri.contains('?') { '&' } else { '?' };
            let unique = format!("{schema}_{}_{}", std::process::id(), rand::random::<u32>());
            Some(format!("{uri}{sep}tidelog_schema={unique}"))
        }
        _ if std::env::var("CI").is_ok_and(|v| v == "true") => panic!("CI=true but TIDELOG_TEST_POSTGRES is unset"),
        _ => {
            eprintln!("SKIPPED (PostgreSQL): TIDELOG_TEST_POSTGRES is unset; `tests/postgres.sh run cargo test` sets it");
            None
        }
    }
}

#[test]
fn copy_between_every_backend_and_postgres_keeps_everything() {
    if postgres_journal("probe").is_none() {
        return;
    }
    let password = std::env::var("TIDELOG_TEST_POSTGRES")
        .ok()
        .and_then(|u| Some(u.split_once("://")?.1.split_once('@')?.0.split_once(':')?.1.to_owned()));
    for backend in crate::BACKENDS {
        let database = postgres_journal("cli_copy").expect("checked above");
        let (dir, path) = scratch();
        fixture(&path, backend);
        let back = dir.path().join("back");
        let copied = tidelog()
            .arg("copy")
            .arg(&path)
            .arg(&database)
            .assert()
            .success()
            .stdout(predicate::str::contains("copied 7 events, 3 streams and 2 snapshots"));
        let out = String::from_utf8_lossy(&copied.get_output().stdout).into_owned();
        if let Some(password) = &password {
            assert!(!out.contains(password.as_str()), "the password was shown: {out}");
        }
        // A second copy into the same, now non-empty, database journal is refused.
        tidelog()
            .arg("copy")
            .arg(&path)
            .arg(&database)
            .assert()
            .failure()
            .stderr(predicate::str::contains("not empty"));
        tidelog()
            .arg("copy")
            .arg(&database)
            .arg(&back)
            .args(["--backend", other(backend).name()])
            .assert()
            .success();
        assert_eq!(tidelog::detect_backend(&back).unwrap(), Some(other(backend)));
        let exports: Vec<Vec<u8>> = [path.as_os_str(), std::ffi::OsStr::new(&database), back.as_os_str()]
            .iter()
            .enumerate()
            .map(|(i, from)| {
                let out = dir.path().join(format!("{i}.jsonl"));
                tidelog().arg("export").arg(from).arg(&out).assert().success();
                std::fs::read(out).unwrap()
            })
            .collect();
        assert!(
            exports[0] == exports[1] && exports[1] == exports[2],
            "{backend:?}: a copy differs from the original"
        );
        let original = open(&path);
        let (via_db, copy) = (tidelog::Journal::open(&database, tidelog::Options::new()).unwrap(), open(&back));
        for id in ["order-1", "order-2", "gone-3"] {
            assert_eq!(original.stream_state(id).unwrap(), via_db.stream_state(id).unwrap(), "{id}");
            assert_eq!(original.stream_state(id).unwrap(), copy.stream_state(id).unwrap(), "{id}");
        }
        via_db.close().unwrap();
        tidelog().arg("verify").arg(&database).assert().success();
    }
}

#[test]
fn a_postgres_journal_backs_up_and_restores_through_an_lmdb_directory() {
    let Some(database) = postgres_journal("cli_backup") else { return };
    let (dir, path) = scratch();
    fixture(&path, Backend::Lmdb);
    tidelog().arg("copy").arg(&path).arg(&database).assert().success();
    let (backup, restored) = (dir.path().join("backup"), dir.path().join("restored"));
    tidelog().arg("backup").arg(&database).arg(&backup).assert().success();
    if let Some(password) = std::env::var("TIDELOG_TEST_POSTGRES")
        .ok()
        .and_then(|u| Some(u.split_once("://")?.1.split_once('@')?.0.split_once(':')?.1.to_owned()))
    {
        let description = std::fs::read_to_string(backup.join("BACKUP.json")).unwrap();
        assert!(!description.contains(&password), "BACKUP.json holds the password");
    }
    tidelog().arg("restore").arg(&backup).arg(&restored).assert().success();
    let exports: Vec<Vec<u8>> = [path.as_os_str(), std::ffi::OsStr::new(&database), restored.as_os_str()]
        .iter()
        .enumerate()
        .map(|(i, from)| {
            let out = dir.path().join(format!("{i}.jsonl"));
            tidelog().arg("export").arg(from).arg(&out).assert().success();
            std::fs::read(out).unwrap()
        })
        .collect();
    assert!(exports[0] == exports[1] && exports[1] == exports[2], "the restored backup differs");
}
