//! Helpers shared by the integration tests.
#![allow(dead_code)]

use std::path::Path;

use tidelog::{Backend, Journal, NewEvent, Options};

pub const BACKENDS: [Backend; 3] = [Backend::Memory, Backend::Lmdb, Backend::Files];

pub fn open(dir: &Path, backend: Backend) -> Journal {
    Journal::open(dir.join("journal"), Options::new().backend(backend)).expect("open journal")
}

pub fn ev(payload: &str) -> NewEvent {
    NewEvent::new(payload.as_bytes().to_vec())
}

pub fn payloads(events: &[tidelog::Event]) -> Vec<String> {
    events.iter().map(|e| String::from_utf8(e.payload.clone()).unwrap()).collect()
}
