//! `compact`: reclaim the space deleted events still occupy.

use std::path::Path;
use std::process::ExitCode;
use std::time::Instant;

use anyhow::Context;
use serde::Serialize;
use tidelog::Options;

use crate::output;
use crate::store;

/// `tidelog compact PATH`. The core rewrites the journal in place under the
/// writer lock, so this fails with exit code 4 while a writer is running.
pub fn run(path: &Path, json: bool) -> anyhow::Result<ExitCode> {
    let backend = store::backend_of(path)?;
    let before = store::size_on_disk(path)?;
    let started = Instant::now();
    let bar = output::spinner("compacting");
    let result = store::retry_locked(|| tidelog::compact(path, Options::new().backend(backend)))
        .with_context(|| format!("compacting {}", path.display()));
    bar.finish_and_clear();
    result?;
    let after = store::size_on_disk(path)?;
    let elapsed = started.elapsed();
    if json {
        #[derive(Serialize)]
        struct Report<'a> {
            path: &'a Path,
            backend: &'static str,
            bytes_before: u64,
            bytes_after: u64,
            seconds: f64,
        }
        output::print_json(&Report {
            path,
            backend: backend.name(),
            bytes_before: before,
            bytes_after: after,
            seconds: elapsed.as_secs_f64(),
        })?;
    } else {
        println!(
            "compacted {} ({} backend): {} -> {} ({} reclaimed) in {:.2?}",
            path.display(),
            backend.name(),
            output::size(before),
            output::size(after),
            output::size(before.saturating_sub(after)),
            elapsed
        );
    }
    Ok(ExitCode::SUCCESS)
}
