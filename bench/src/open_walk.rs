//! `--open-walk MIB`: what the page walk at open costs on a large LMDB journal (issue 20). Builds
//! a journal of about MIB MiB of events once (kept in the scratch directory of the run), then
//! times, warm page cache, interleaved rounds:
//! - the walk alone (`tidelog::check_page_structure`, what every open now runs first);
//! - a read-only `Journal::open` and `close` (the walk, then LMDB's open and the log's read);
//! - a writer's `Journal::open` and `close`;
//! - raw heed opening the same environment read-only and its six databases (the peer: an open
//!   without any check).

use std::path::Path;
use std::time::{Duration, Instant};

use heed::types::Bytes;
use heed::{Database, EnvFlags, EnvOpenOptions};
use tidelog::{Journal, NewEvent, Options, SyncPolicy};

use crate::report::Table;

fn build(path: &Path, mib: u64) {
    let journal = Journal::open(
        path,
        Options::new().sync(SyncPolicy::Never).lmdb_map_size(((mib + 512) << 20) as usize),
    )
    .unwrap();
    let payload = vec![0x5a_u8; 1000];
    let batches = (mib << 20) / (1000 * 1000);
    for b in 0..batches {
        let pid = format!("stream-{}", b % 1000);
        let events = (0..1000)
            .map(|i| NewEvent::new(payload.clone()).tag(if i % 2 == 0 { "even" } else { "odd" }))
            .collect();
        journal.append(&pid, events).unwrap();
    }
    journal.close().unwrap();
}

/// CPU time (user + system) this thread has used, from `/proc/thread-self/stat` (10 ms ticks):
/// on a loaded machine the wall time mostly measures the wait for a core.
fn thread_cpu() -> Duration {
    let stat = std::fs::read_to_string("/proc/thread-self/stat").unwrap_or_default();
    let fields: Vec<&str> = stat.rsplit(')').next().unwrap_or("").split_whitespace().collect();
    let ticks: u64 = [11, 12].iter().filter_map(|&i| fields.get(i)?.parse::<u64>().ok()).sum();
    Duration::from_millis(ticks * 10)
}

/// Runs `f`, returning its wall time and the CPU time this thread spent in it.
fn timed(f: impl FnOnce()) -> (Duration, Duration) {
    let (t, cpu) = (Instant::now(), thread_cpu());
    f();
    (t.elapsed(), thread_cpu().saturating_sub(cpu))
}

fn median(mut v: Vec<Duration>) -> Duration {
    v.sort_unstable();
    v[v.len() / 2]
}

fn ms(d: Duration) -> String {
    format!("{:.1} ms", d.as_secs_f64() * 1e3)
}

pub fn run(scratch: &Path, mib: u64, rounds: usize) -> Table {
    let path = scratch.join("open-walk");
    let started = Instant::now();
    build(&path, mib);
    let size = std::fs::metadata(path.join("lmdb/data.mdb")).map(|m| m.len()).unwrap_or(0);
    eprintln!("built {} MiB data.mdb in {:.0?}", size >> 20, started.elapsed());
    let (mut walk, mut reader, mut writer, mut raw): (Vec<(Duration, Duration)>, Vec<_>, Vec<_>, Vec<_>) = (vec![], vec![], vec![], vec![]);
    for _ in 0..rounds {
        walk.push(timed(|| tidelog::check_page_structure(&path).unwrap()));
        reader.push(timed(|| {
            Journal::open(&path, Options::new().read_only(true)).unwrap().close().unwrap()
        }));
        writer.push(timed(|| Journal::open(&path, Options::new()).unwrap().close().unwrap()));
        raw.push(timed(|| {
            let mut builder = EnvOpenOptions::new().read_txn_without_tls();
            builder.max_dbs(8).map_size(((mib + 512) << 20) as usize);
            // SAFETY: the journal is closed; nothing else opens it during this bench.
            let env = unsafe {
                builder.flags(EnvFlags::READ_ONLY);
                builder.open(path.join("lmdb"))
            }
            .unwrap();
            {
                let txn = env.read_txn().unwrap();
                for name in ["meta", "streams", "names", "events", "global", "tags"] {
                    let db: Option<Database<Bytes, Bytes>> = env.open_database(&txn, Some(name)).unwrap();
                    assert!(db.is_some());
                }
            }
            env.prepare_for_closing().wait();
        }));
    }
    let mut table = Table::new(
        format!(
            "Open of an LMDB journal with a {} MiB data.mdb (warm page cache, median of {rounds})",
            size >> 20
        ),
        &["what", "wall time", "CPU time (10 ms ticks)", "per MiB of data.mdb (CPU)"],
    );
    for (what, times) in [
        ("page walk alone (check_page_structure)", walk),
        ("Journal::open read-only + close", reader),
        ("Journal::open writer + close", writer),
        ("raw heed: open env + 6 databases (no check)", raw),
    ] {
        let wall = median(times.iter().map(|t| t.0).collect());
        let cpu = median(times.iter().map(|t| t.1).collect());
        table.row(vec![
            what.to_owned(),
            ms(wall),
            ms(cpu),
            format!("{:.1} µs", cpu.as_secs_f64() * 1e6 / (size >> 20).max(1) as f64),
        ]);
    }
    table
}
