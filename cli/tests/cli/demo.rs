//! `demo`: the README's main job.

use predicates::prelude::*;

use crate::{json_doc, open, tidelog};

#[test]
fn demo_persists_recovers_and_prints_its_summary() {
    let dir = tempfile::tempdir().unwrap();
    let data = dir.path().join("tidelog-data");
    tidelog()
        .arg("demo")
        .arg(&data)
        .args(["--actors", "4", "--events", "700"])
        .assert()
        .success()
        .stdout(
            predicate::str::contains("persisted 2800 events")
                .and(predicate::str::contains("events/s"))
                .and(predicate::str::contains("recovered 4 actors"))
                .and(predicate::str::contains("every actor recovered exactly the state it persisted")),
        );
    assert_eq!(tidelog::detect_backend(&data).unwrap(), Some(tidelog::Backend::Lmdb));

    // A second run continues the same accounts from their snapshots.
    let out = tidelog()
        .args(["demo", "--json", "--actors", "4", "--events", "100"])
        .arg(&data)
        .assert()
        .success()
        .get_output()
        .stdout
        .clone();
    let summary = json_doc(&out);
    assert_eq!(summary["states_match"], true);
    assert_eq!(summary["events_persisted"], 400);
    assert_eq!(summary["total_events_in_journal"], 3200);
    assert_eq!(summary["recovered_from_snapshot"], 4);
    let j = open(&data);
    assert_eq!(j.persistence_ids().unwrap().len(), 4);
    assert_eq!(j.stream_state("account-00").unwrap().highest_sequence_nr, 800);
    assert!(!j.snapshots().list("account-00").unwrap().is_empty());
    j.close().unwrap();
    tidelog().arg("verify").arg(&data).assert().success();
}
