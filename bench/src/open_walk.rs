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
    let journal = Journal::open(path, Options::new().sync(SyncPolicy::Never).lmdb_map_size((mib + 512) << 20)).unwrap();
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
    let (mut walk, mut reader, mut writer, mut raw) = (vec![], vec![], vec![], vec![]);
    for _ in 0..rounds {
        let t = Instant::now();
        tidelog::check_page_structure(&path).unwrap();
        walk.push(t.elapsed());

        let t = Instant::now();
        let j = Journal::open(&path, Options::new().read_only(true)).unwrap();
        j.close().unwrap();
        reader.push(t.elapsed());

        let t = Instant::now();
        let j = Journal::open(&path, Options::new()).unwrap();
        j.close().unwrap();
        writer.push(t.elapsed());

        let t = Instant::now();
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
        raw.push(t.elapsed());
    }
    let mut table = Table::new(
        format!(
            "Open of an LMDB journal with a {} MiB data.mdb (warm page cache, median of {rounds})",
            size >> 20
        ),
        &["what", "time", "vs raw heed open"],
    );
    let raw_median = median(raw.clone());
    for (what, times) in [
        ("page walk alone (check_page_structure)", walk),
        ("Journal::open read-only + close", reader),
        ("Journal::open writer + close", writer),
        ("raw heed: open env + 6 databases (no check)", raw),
    ] {
        let m = median(times);
        table.row(vec![
            what.to_owned(),
            ms(m),
            format!("{:.1}×", m.as_secs_f64() / raw_median.as_secs_f64().max(1e-9)),
        ]);
    }
    table
}
