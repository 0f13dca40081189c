//! Error exits: missing paths, non-journals, locked journals, usage errors.

use predicates::prelude::*;
use tidelog::Backend;

use crate::{fixture, open, scratch, tidelog, BACKENDS};

/// Every command that takes an existing journal as its first argument, with the rest of its arguments.
fn commands_on(path: &std::path::Path, scratch_dir: &std::path::Path) -> Vec<Vec<std::ffi::OsString>> {
    let p = path.as_os_str().to_owned();
    let out = scratch_dir.join("out").into_os_string();
    vec![
        vec!["stats".into(), p.clone()],
        vec!["ls".into(), p.clone()],
        vec!["cat".into(), p.clone(), "order-1".into()],
        vec!["tail".into(), p.clone()],
        vec!["verify".into(), p.clone()],
        vec!["export".into(), p.clone(), out.clone()],
        vec!["backup".into(), p.clone(), out],
        vec!["compact".into(), p],
    ]
}

#[test]
fn a_missing_path_exits_5_and_says_so() {
    let (dir, path) = scratch();
    for args in commands_on(&path, dir.path()) {
        tidelog()
            .args(&args)
            .assert()
            .code(5)
            .stderr(predicate::str::contains("no such file or directory"));
        assert!(!path.exists(), "{args:?} must not create the journal");
    }
}

#[test]
fn a_directory_without_a_journal_exits_5() {
    let (dir, path) = scratch();
    std::fs::create_dir(&path).unwrap();
    std::fs::write(path.join("notes.txt"), "not a journal").unwrap();
    for args in commands_on(&path, dir.path()) {
        tidelog()
            .args(&args)
            .assert()
            .code(5)
            .stderr(predicate::str::contains("is not a Tidelog journal"));
    }
}

#[test]
fn compact_of_a_locked_journal_exits_4_with_a_clear_message() {
    for backend in BACKENDS {
        let (_dir, path) = scratch();
        fixture(&path, backend);
        let writer = open(&path); // this process holds the writer lock
        tidelog()
            .arg("compact")
            .arg(&path)
            .assert()
            .code(4)
            .stderr(predicate::str::contains("locked by another process").and(predicate::str::contains("stop that process first")));
        writer.close().unwrap();
        tidelog().arg("compact").arg(&path).assert().success();
    }
}

#[test]
fn a_locked_journal_from_another_process_is_reported_too() {
    let (_dir, path) = scratch();
    fixture(&path, Backend::Files);
    let mut writer = crate::Writer::spawn(&path, Backend::Files, "w");
    writer.wait_acks(1);
    tidelog()
        .arg("compact")
        .arg(&path)
        .assert()
        .code(4)
        .stderr(predicate::str::contains("LOCK"));
    writer.stop();
}

#[test]
fn an_unknown_stream_exits_5() {
    let (_dir, path) = scratch();
    fixture(&path, Backend::Files);
    tidelog()
        .arg("cat")
        .arg(&path)
        .arg("nobody")
        .assert()
        .code(5)
        .stderr(predicate::str::contains("has no stream \"nobody\""));
}

#[test]
fn a_journal_from_a_newer_format_is_refused() {
    let (_dir, path) = scratch();
    fixture(&path, Backend::Files);
    std::fs::write(path.join("FORMAT"), "tidelog journal\nbackend = files\nformat = 99\n").unwrap();
    tidelog()
        .arg("ls")
        .arg(&path)
        .assert()
        .code(1)
        .stderr(predicate::str::contains("format version 99").and(predicate::str::contains("newer tidelog")));
}

#[test]
fn verify_counts_a_journal_of_a_newer_format_as_a_problem() {
    // It cannot vouch for what it cannot read, and a damaged marker looks just like a newer one.
    let (_dir, path) = scratch();
    fixture(&path, Backend::Files);
    std::fs::write(path.join("FORMAT"), "tidelog journal\nbackend = files\nformat = 99\n").unwrap();
    tidelog()
        .arg("verify")
        .arg(&path)
        .assert()
        .code(3)
        .stdout(predicate::str::contains("format version 99").and(predicate::str::contains("newer tidelog")));
}

#[test]
fn usage_errors_exit_2() {
    tidelog().assert().code(2);
    tidelog().args(["cat", "only-a-path"]).assert().code(2);
    tidelog().args(["frobnicate"]).assert().code(2);
    tidelog()
        .arg("--help")
        .assert()
        .success()
        .stdout(predicate::str::contains("verify").and(predicate::str::contains("backup")));
}
