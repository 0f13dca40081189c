//! In-memory storage: same semantics as the persistent backends, nothing on disk.

use std::collections::{BTreeMap, HashMap};

use parking_lot::RwLock;

use super::{Op, Storage, StreamState, Visit};
use crate::codec;
use crate::error::{Error, Result};

#[derive(Default)]
struct Stream {
    highest: u64,
    deleted_to: u64,
    /// Live events by sequence number: their encoded bodies.
    events: BTreeMap<u64, Box<[u8]>>,
}

#[derive(Default)]
struct State {
    streams: HashMap<String, Stream>,
    /// Global offset -> (persistence id, sequence nr) of live events.
    global: BTreeMap<u64, (String, u64)>,
    next_offset: u64,
}

pub(crate) struct MemoryStorage {
    state: RwLock<State>,
}

impl MemoryStorage {
    pub(crate) fn new() -> Self {
        MemoryStorage {
            state: RwLock::new(State {
                next_offset: 1,
                ..Default::default()
            }),
        }
    }
}

fn corrupt(reason: crate::error::CorruptReason) -> Error {
    Error::corrupt("<memory>", 0, reason)
}

impl Storage for MemoryStorage {
    fn stream_state(&self, persistence_id: &str) -> Result<StreamState> {
        Ok(self
            .state
            .read()
            .streams
            .get(persistence_id)
            .map_or_else(StreamState::default, |s| StreamState {
                highest_sequence_nr: s.highest,
                deleted_to: s.deleted_to,
            }))
    }

    fn next_global_offset(&self) -> Result<u64> {
        Ok(self.state.read().next_offset)
    }

    fn scan_stream(&self, persistence_id: &str, from: u64, to: u64, max: usize, visit: &mut Visit<'_>) -> Result<()> {
        let state = self.state.read();
        let Some(stream) = state.streams.get(persistence_id) else {
            return Ok(());
        };
        if from > to {
            return Ok(());
        }
        for (_, body) in stream.events.range(from..=to).take(max) {
            let event = codec::decode_verified_event(persistence_id, body).map_err(corrupt)?;
            if !visit(event) {
                break;
            }
        }
        Ok(())
    }

    fn scan_global(&self, from_offset: u64, tag: Option<&str>, max: usize, visit: &mut Visit<'_>) -> Result<()> {
        let state = self.state.read();
        let mut seen = 0;
        for (pid, seq) in state.global.range(from_offset..).map(|(_, v)| v) {
            if seen >= max {
                break;
            }
            let body = &state.streams[pid].events[seq];
            let event = codec::decode_verified_event(pid, body).map_err(corrupt)?;
            if tag.is_some_and(|t| !event.tags.contains(t)) {
                continue;
            }
            seen += 1;
            if !visit(event) {
                break;
            }
        }
        Ok(())
    }

    fn persistence_ids(&self) -> Result<Vec<String>> {
        let mut ids: Vec<String> = self.state.read().streams.keys().cloned().collect();
        ids.sort_unstable();
        Ok(ids)
    }

    fn commit(&self, ops: &[Op<'_>], buffer: &[u8]) -> Result<()> {
        let mut state = self.state.write();
        for op in ops {
            match op {
                Op::Write(w) => {
                    let stream = state.streams.entry(w.persistence_id.to_owned()).or_default();
                    for (i, body) in w.bodies.iter().enumerate() {
                        stream.events.insert(w.first_sequence_nr + i as u64, buffer[body.clone()].into());
                    }
                    stream.highest = w.first_sequence_nr + w.bodies.len() as u64 - 1;
                    for i in 0..w.bodies.len() as u64 {
                        state
                            .global
                            .insert(w.first_global_offset + i, (w.persistence_id.to_owned(), w.first_sequence_nr + i));
                    }
                    state.next_offset = w.first_global_offset + w.bodies.len() as u64;
                }
                Op::SetState {
                    persistence_id,
                    highest,
                    deleted_to,
                } => {
                    let stream = state.streams.entry((*persistence_id).to_owned()).or_default();
                    stream.highest = *highest;
                    stream.deleted_to = *deleted_to;
                    let kept = stream.events.split_off(&(deleted_to + 1));
                    let removed = std::mem::replace(&mut stream.events, kept);
                    let offsets: Vec<u64> = removed
                        .values()
                        .filter_map(|body| codec::decode_header(body).ok().map(|h| h.global_offset))
                        .collect();
                    for offset in offsets {
                        state.global.remove(&offset);
                    }
                }
            }
        }
        Ok(())
    }

    fn copy_to(&self, _dest: &std::path::Path) -> Result<()> {
        Err(crate::error::InvalidArgument::Option {
            option: "backend",
            reason: "the memory backend has nothing on disk to copy",
        }
        .into())
    }

    fn sync(&self) -> Result<()> {
        Ok(())
    }

    fn close(&self) -> Result<()> {
        Ok(())
    }
}
