//! The hidden `load` command: a separate writer process for the integration
//! tests (backup beside a live writer, locked journals, `tail --follow`).

use std::io::Write;
use std::path::Path;
use std::process::ExitCode;

use anyhow::Context;
use tidelog::{Backend, Journal, NewEvent, Options};

/// Appends one event at a time to `persistence_id`, printing `acked <seq>` on
/// stdout after each acknowledged (durable) append, until `count` or until killed.
/// Payloads are padded with spaces to `payload_bytes`.
pub fn run(path: &Path, persistence_id: &str, count: Option<u64>, backend: &str, payload_bytes: usize) -> anyhow::Result<ExitCode> {
    let backend = match tidelog::detect_backend(path).ok().flatten() {
        Some(on_disk) => on_disk,
        None => backend.parse::<Backend>()?,
    };
    let journal = Journal::open(path, Options::new().backend(backend)).with_context(|| format!("opening {}", path.display()))?;
    let mut out = std::io::stdout().lock();
    writeln!(out, "ready")?;
    out.flush()?;
    let mut n = 0;
    while count.is_none_or(|c| n < c) {
        n += 1;
        let mut payload = format!("load event {n}");
        if payload.len() < payload_bytes {
            payload.extend(std::iter::repeat_n(' ', payload_bytes - payload.len()));
        }
        let receipt = journal.append(
            persistence_id,
            vec![NewEvent::new(payload.into_bytes()).manifest("LoadEvent").tag("load")],
        )?;
        if writeln!(out, "acked {}", receipt.last_sequence_nr)
            .and_then(|()| out.flush())
            .is_err()
        {
            break; // the reader went away
        }
    }
    journal.close()?;
    Ok(ExitCode::SUCCESS)
}
