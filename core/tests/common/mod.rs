//! Helpers shared by the integration tests.
#![allow(dead_code)]

use std::path::Path;

use tidelog::{Backend, Journal, NewEvent, Options};

pub const BACKENDS: [Backend; 3] = [Backend::Memory, Backend::Lmdb, Backend::Files];

pub fn open(dir: &Path, backend: Backend) -> Journal {
    Journal::open(journal_path(dir.join("journal"), backend), Options::new().backend(backend)).expect("open journal")
}

/// The test server's URI (`tests/postgres.sh` sets `TIDELOG_TEST_POSTGRES`), or `None` after
/// saying the test is skipped. In CI (`CI=true`) a missing server fails the test instead.
pub fn postgres_uri() -> Option<String> {
    match std::env::var("TIDELOG_TEST_POSTGRES") {
        Ok(uri) if !uri.is_empty() => Some(uri),
        _ if std::env::var("CI").is_ok_and(|v| v == "true") => {
            panic!("CI=true but TIDELOG_TEST_POSTGRES is unset: run the tests through tests/postgres.sh")
        }
        _ => {
            eprintln!("SKIPPED (PostgreSQL): TIDELOG_TEST_POSTGRES is unset; `tests/postgres.sh run cargo test` sets it");
            None
        }
    }
}

/// Where a test journal at `path` lives: `path` itself, or for PostgreSQL the test server with
/// a schema of its own named after `path` (so reopening `path` finds the same journal).
pub fn journal_path(path: std::path::PathBuf, backend: Backend) -> std::path::PathBuf {
    if backend != Backend::Postgres {
        return path;
    }
    use std::hash::{Hash, Hasher};
    let uri = postgres_uri().expect("a PostgreSQL test runs only with a server");
    let mut hasher = std::collections::hash_map::DefaultHasher::new();
    path.hash(&mut hasher);
    let sep = if uri.contains('?') { '&' } else { '?' };
    format!("{uri}{sep}tidelog_schema=t{:016x}", hasher.finish()).into()
}

pub fn ev(payload: &str) -> NewEvent {
    NewEvent::new(payload.as_bytes().to_vec())
}

pub fn payloads(events: &[tidelog::Event]) -> Vec<String> {
    events.iter().map(|e| String::from_utf8(e.payload.clone()).unwrap()).collect()
}
