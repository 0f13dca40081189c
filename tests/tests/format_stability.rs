//! Journals written by format version 1 are kept under `fixtures/v1/`, by version 2 under
//! `fixtures/v2/` (`lmdb-unclosed` is a copy taken while its writer was open, so its log holds
//! records to replay); they must open and verify with every later version of the library.

use std::path::Path;

use tidelog::{Error, Journal, Options};
use tidelog_compat::{open, Fixture};

fn copy_dir(from: &Path, to: &Path) {
    std::fs::create_dir_all(to).unwrap();
    for e in std::fs::read_dir(from).unwrap().flatten() {
        let target = to.join(e.file_name());
        if e.path().is_dir() {
            copy_dir(&e.path(), &target);
        } else {
            std::fs::copy(e.path(), target).unwrap();
        }
    }
}

fn fixture_dir(backend: &str) -> std::path::PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("fixtures/v1").join(backend)
}

#[test]
fn version_2_journals_open_and_verify() {
    let fixture = Fixture::load(&Fixture::default_path());
    for (name, backend) in [("lmdb", "lmdb"), ("lmdb-unclosed", "lmdb"), ("files", "files")] {
        let dir = tempfile::tempdir().unwrap();
        copy_dir(&Path::new(env!("CARGO_MANIFEST_DIR")).join("fixtures/v2").join(name), dir.path());
        let reader = Journal::open(dir.path(), Options::new().backend(backend.parse().unwrap()).read_only(true)).unwrap();
        fixture.verify(&reader).unwrap_or_else(|e| panic!("{name}, read-only: {e}"));
        reader.close().unwrap();
        assert!(format_marker(dir.path()).contains("format = 2"));
        // A writer seals LMDB's values with their checksums and upgrades the version.
        let journal = open(dir.path(), backend).unwrap();
        fixture.verify(&journal).unwrap_or_else(|e| panic!("{name}: {e}"));
        journal.close().unwrap();
        assert!(format_marker(dir.path()).contains(&format!("format = {}", tidelog::FORMAT_VERSION)));
        let journal = open(dir.path(), backend).unwrap();
        fixture.verify(&journal).unwrap_or_else(|e| panic!("{name} after the upgrade: {e}"));
        journal.close().unwrap();
    }
}

#[test]
fn version_1_journals_open_and_verify() {
    let fixture = Fixture::load(&Fixture::default_path());
    for backend in ["lmdb", "files"] {
        // Opened from a copy: opening writes lock files, and the checked-in journal must stay as it was.
        let dir = tempfile::tempdir().unwrap();
        copy_dir(&fixture_dir(backend), dir.path());
        // A reader leaves the version as it is.
        let reader = Journal::open(dir.path(), Options::new().backend(backend.parse().unwrap()).read_only(true)).unwrap();
        fixture.verify(&reader).unwrap_or_else(|e| panic!("{backend}, read-only: {e}"));
        reader.close().unwrap();
        assert!(format_marker(dir.path()).contains("format = 1"));
        let journal = open(dir.path(), backend).unwrap();
        fixture.verify(&journal).unwrap_or_else(|e| panic!("{backend}: {e}"));
        journal.close().unwrap();
        // A writer upgrades it, so that a version-1 library refuses what it could not read.
        assert!(format_marker(dir.path()).contains(&format!("format = {}", tidelog::FORMAT_VERSION)));
    }
}

fn format_marker(dir: &Path) -> String {
    std::fs::read_to_string(dir.join("FORMAT")).unwrap()
}

#[test]
fn the_fixture_round_trips_through_a_fresh_journal() {
    let fixture = Fixture::load(&Fixture::default_path());
    for backend in ["lmdb", "files"] {
        let dir = tempfile::tempdir().unwrap();
        let journal = open(dir.path(), backend).unwrap();
        fixture.write(&journal).unwrap();
        fixture.verify(&journal).unwrap();
        journal.close().unwrap();
        let journal = open(dir.path(), backend).unwrap();
        fixture.verify(&journal).unwrap_or_else(|e| panic!("{backend} after reopen: {e}"));
    }
}

#[test]
fn a_newer_format_is_refused_naming_both_versions() {
    let dir = tempfile::tempdir().unwrap();
    copy_dir(&fixture_dir("files"), dir.path());
    let (supported, newer) = (tidelog::FORMAT_VERSION, tidelog::FORMAT_VERSION + 1);
    std::fs::write(
        dir.path().join("FORMAT"),
        format!("tidelog journal\nbackend = files\nformat = {newer}\n"),
    )
    .unwrap();
    match Journal::open(dir.path(), Options::new().backend(tidelog::Backend::Files)) {
        Err(e @ Error::UnsupportedFormat { found, supported: s, .. }) if found == newer && s == supported => {
            let text = e.to_string();
            assert!(
                text.contains(&format!("format version {newer}")) && text.contains(&format!("up to {supported}")),
                "{text}"
            );
        }
        other => panic!("{other:?}"),
    }
}

/// Regenerates `fixtures/v1/` (only when the fixture itself changes; never for a new format).
#[test]
#[ignore = "regenerates checked-in fixtures: cargo test -p tidelog-compat -- --ignored regenerate"]
fn regenerate_fixture_journals() {
    let fixture = Fixture::load(&Fixture::default_path());
    for backend in ["lmdb", "files"] {
        let dir = fixture_dir(backend);
        let _ = std::fs::remove_dir_all(&dir);
        let journal = open(&dir, backend).unwrap();
        fixture.write(&journal).unwrap();
        journal.close().unwrap();
        let _ = std::fs::remove_file(dir.join("LOCK"));
        let _ = std::fs::remove_file(dir.join("lmdb/lock.mdb"));
    }
}
