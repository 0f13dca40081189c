//! `stats`, `ls`, `cat`, `tail`.

use std::time::{Duration, Instant};

use predicates::prelude::*;
use tidelog::{Backend, NewEvent};

use crate::{fixture, json_doc, json_lines, open, scratch, tidelog, BACKENDS, FIXTURE_EVENTS, MARKER};

#[test]
fn stats_reports_the_journal() {
    for backend in BACKENDS {
        let (_dir, path) = scratch();
        fixture(&path, backend);
        let out = tidelog()
            .args(["--json", "stats"])
            .arg(&path)
            .assert()
            .success()
            .get_output()
            .stdout
            .clone();
        let stats = json_doc(&out);
        assert_eq!(stats["backend"], backend.name());
        assert_eq!(stats["format_version"], tidelog::FORMAT_VERSION);
        assert_eq!(stats["streams"], 3, "{backend:?}");
        assert_eq!(stats["events"], FIXTURE_EVENTS, "{backend:?}");
        assert_eq!(stats["deleted_events"], 5, "{backend:?}");
        assert_eq!(stats["snapshots"], 2);
        assert_eq!(stats["oldest_timestamp"], 1_000, "the explicit timestamp is the oldest");
        assert!(stats["size_bytes"].as_u64().unwrap() > 0);
        tidelog()
            .arg("stats")
            .arg(&path)
            .assert()
            .success()
            .stdout(predicate::str::contains(backend.name()).and(predicate::str::contains("1970-01-01T00:00:01.000Z")));
    }
}

#[test]
fn ls_lists_every_stream_with_marks_and_snapshots() {
    for backend in BACKENDS {
        let (_dir, path) = scratch();
        fixture(&path, backend);
        let out = tidelog()
            .args(["ls", "--json"])
            .arg(&path)
            .assert()
            .success()
            .get_output()
            .stdout
            .clone();
        let rows = json_doc(&out);
        let rows = rows.as_array().unwrap();
        let ids: Vec<&str> = rows.iter().map(|r| r["persistence_id"].as_str().unwrap()).collect();
        assert_eq!(ids, ["gone-3", "order-1", "order-2", "snap-only"]);
        let row = |id: &str| rows.iter().find(|r| r["persistence_id"] == id).unwrap().clone();
        assert_eq!(
            (
                row("order-2")["events"].as_u64(),
                row("order-2")["highest_sequence_nr"].as_u64(),
                row("order-2")["deleted_to"].as_u64()
            ),
            (Some(4), Some(6), Some(2))
        );
        assert_eq!(
            (row("gone-3")["events"].as_u64(), row("gone-3")["deleted_to"].as_u64()),
            (Some(0), Some(3))
        );
        assert_eq!(row("order-1")["latest_snapshot_sequence_nr"], 2);
        assert_eq!(row("snap-only")["snapshots"], 1);
        tidelog()
            .arg("ls")
            .arg(&path)
            .assert()
            .success()
            .stdout(predicate::str::contains("order-2").and(predicate::str::contains("4 streams")));
    }
}

#[test]
fn cat_prints_a_stream_as_json_lines_or_a_table() {
    for backend in BACKENDS {
        let (_dir, path) = scratch();
        fixture(&path, backend);
        let out = tidelog()
            .args(["cat", "--json"])
            .arg(&path)
            .arg("order-1")
            .assert()
            .success()
            .get_output()
            .stdout
            .clone();
        let lines = json_lines(&out);
        let j = open(&path);
        let expected = j.read("order-1", 1, u64::MAX, usize::MAX).unwrap();
        j.close().unwrap();
        assert_eq!(lines.len(), expected.len());
        for (line, event) in lines.iter().zip(&expected) {
            assert_eq!(line["sequence_nr"], event.sequence_nr);
            assert_eq!(line["global_offset"], event.global_offset);
            assert_eq!(line["timestamp"], event.timestamp);
            assert_eq!(line["manifest"], event.manifest.as_str());
            assert_eq!(line["writer_id"], event.writer_id.as_str());
            let tags: Vec<&str> = line["tags"].as_array().unwrap().iter().map(|t| t.as_str().unwrap()).collect();
            assert_eq!(tags, event.tags);
        }
        assert_eq!(lines[0]["payload"], "created");
        assert_eq!(lines[0]["metadata"], "\u{1}\u{2}\u{3}", "valid UTF-8 stays text");
        assert_eq!(lines[1]["payload"]["base64"], "/wCA", "invalid UTF-8 is base64");

        let out = tidelog()
            .args(["cat", "--json", "--from", "4", "--to", "5"])
            .arg(&path)
            .arg("order-2")
            .assert()
            .success()
            .get_output()
            .stdout
            .clone();
        let seqs: Vec<u64> = json_lines(&out).iter().map(|l| l["sequence_nr"].as_u64().unwrap()).collect();
        assert_eq!(seqs, [4, 5]);
        tidelog()
            .arg("cat")
            .arg(&path)
            .arg("order-1")
            .assert()
            .success()
            .stdout(predicate::str::contains(MARKER).and(predicate::str::contains("3 events")));
    }
}

#[test]
fn tail_shows_the_feed_a_tag_and_the_newest_events() {
    for backend in BACKENDS {
        let (_dir, path) = scratch();
        fixture(&path, backend);
        let j = open(&path);
        let all = j.all_events(1, usize::MAX).unwrap();
        let tagged = j.events_by_tag("lines", 1, usize::MAX).unwrap();
        j.close().unwrap();
        let offsets = |out: &[u8]| {
            json_lines(out)
                .iter()
                .map(|l| l["global_offset"].as_u64().unwrap())
                .collect::<Vec<_>>()
        };

        let out = tidelog()
            .args(["tail", "--json", "--from-offset", "1"])
            .arg(&path)
            .assert()
            .success()
            .get_output()
            .stdout
            .clone();
        assert_eq!(offsets(&out), all.iter().map(|e| e.global_offset).collect::<Vec<_>>());
        let out = tidelog()
            .args(["tail", "--json", "--from-offset", "1", "--tag", "lines"])
            .arg(&path)
            .assert()
            .success()
            .get_output()
            .stdout
            .clone();
        assert_eq!(offsets(&out), tagged.iter().map(|e| e.global_offset).collect::<Vec<_>>());
        let out = tidelog()
            .args(["tail", "--json", "-n", "2"])
            .arg(&path)
            .assert()
            .success()
            .get_output()
            .stdout
            .clone();
        assert_eq!(
            offsets(&out),
            all[all.len() - 2..].iter().map(|e| e.global_offset).collect::<Vec<_>>()
        );
        let out = tidelog()
            .args(["tail", "--json", "--from-offset", "1", "--limit", "3"])
            .arg(&path)
            .assert()
            .success()
            .get_output()
            .stdout
            .clone();
        assert_eq!(offsets(&out).len(), 3);
        tidelog()
            .arg("tail")
            .arg(&path)
            .assert()
            .success()
            .stdout(predicate::str::contains("order-2#6"));
    }
}

/// Runs `tail --follow` beside a writer in this process and checks it prints events committed later.
fn tail_follow_sees_new_commits(backend: Backend) {
    let (_dir, path) = scratch();
    fixture(&path, backend);
    let child = std::process::Command::new(env!("CARGO_BIN_EXE_tidelog"))
        .args([
            "tail",
            "--json",
            "--follow",
            "--poll-ms",
            "50",
            "--tag",
            "late",
            "--from-offset",
            "1",
            "--limit",
            "2",
        ])
        .arg(&path)
        .stdout(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    std::thread::sleep(Duration::from_millis(300));
    let j = open(&path);
    j.append("late-1", vec![NewEvent::new("one").tag("late")]).unwrap();
    j.append("late-2", vec![NewEvent::new("two").tag("late")]).unwrap();
    let deadline = Instant::now() + Duration::from_secs(30);
    let mut guard = crate::KillOnDrop(Some(child));
    while guard.0.as_mut().unwrap().try_wait().unwrap().is_none() {
        assert!(Instant::now() < deadline, "tail --follow did not print the new events");
        std::thread::sleep(Duration::from_millis(50));
    }
    j.close().unwrap();
    let out = guard.0.take().unwrap().wait_with_output().unwrap();
    assert!(out.status.success());
    let payloads: Vec<String> = json_lines(&out.stdout)
        .iter()
        .map(|l| l["payload"].as_str().unwrap().to_owned())
        .collect();
    assert_eq!(payloads, ["one", "two"]);
}

#[test]
fn tail_follow_sees_new_commits_files() {
    tail_follow_sees_new_commits(Backend::Files);
}

#[test]
fn tail_follow_sees_new_commits_lmdb() {
    tail_follow_sees_new_commits(Backend::Lmdb);
}

/// Read-only commands run while another process holds the writer lock.
fn read_only_commands_run_beside_a_live_writer(backend: Backend) {
    let (_dir, path) = scratch();
    fixture(&path, backend);
    let mut writer = crate::Writer::spawn(&path, backend, "live-1");
    writer.wait_acks(5);
    tidelog()
        .arg("ls")
        .arg(&path)
        .assert()
        .success()
        .stdout(predicate::str::contains("order-1"));
    tidelog().arg("stats").arg(&path).assert().success();
    tidelog().arg("cat").arg(&path).arg("order-1").assert().success();
    tidelog().args(["tail", "-n", "1"]).arg(&path).assert().success();
    tidelog().arg("verify").arg(&path).assert().success();
    writer.stop();
}

#[test]
fn read_only_commands_run_beside_a_live_writer_files() {
    read_only_commands_run_beside_a_live_writer(Backend::Files);
}

#[test]
fn read_only_commands_run_beside_a_live_writer_lmdb() {
    read_only_commands_run_beside_a_live_writer(Backend::Lmdb);
}
