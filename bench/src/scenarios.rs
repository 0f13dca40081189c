//! The seven scenarios of issue 3. Each returns Markdown tables with
//! Tidelog's figure, the reference's figure, and their ratio.
//!
//! Tidelog and its references are measured interleaved (round by round, in
//! the same process) so that load from other processes on a shared machine
//! hits both alike; the tables report medians over rounds.

use std::collections::HashMap;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::{Duration, Instant};

use tidelog::{AtomicWrite, Backend, Journal, MetricsSnapshot, NewEvent, Options, Snapshot, SnapshotCriteria, SyncPolicy};

use crate::device::{self, Layout};
use crate::harness::{closed_loop, closed_loop_tasks, pipelined, timed, Throughput};
use crate::ideal::IdealGroupCommit;
use crate::peers::{self, lmdb_key, RawLmdb, SqliteBatched, SqlitePerEvent, SqliteSync};
use crate::report::{mbps, mean_us, median, ms, percent, rate, ratio, us, Latency, Table};

/// Payload size of every event (issue 3: 100-byte payloads).
pub const PAYLOAD: usize = 100;
/// Encoded size of one such event in the core's codec (36-byte header + payload).
pub const ENCODED_EVENT: usize = 36 + PAYLOAD;
/// On-disk bytes of a one-event commit in the segment-file backend: frame
/// header 16, entry header 7, an 8-byte persistence id, the encoded event.
/// The device references write exactly this many bytes per event.
pub const RECORD: usize = 16 + 7 + 8 + ENCODED_EVENT;
const DEVICE: &str = "device: write+fdatasync loop, 1 thread";
const SQLITE_PER_EVENT: &str = "SQLite WAL FULL, txn per event";
const SQLITE_BATCHED: &str = "SQLite WAL FULL, group commit";
const HEED: &str = "heed, txn per event";
const RAW_APPEND: &str = "raw write+fdatasync, extending the file";
const ROUND_TRIP: &str = "thread round trip, no I/O (channel + reply)";
const IDEAL_THREADS: &str = "ideal group commit (no journal), threads";
const IDEAL_TASKS: &str = "ideal group commit (no journal), async tasks";
/// Events per append in the multi-event pipelined rows of scenario 1b.
const MULTI_EVENTS: usize = 64;

fn task_name(backend: Backend) -> &'static str {
    match backend {
        Backend::Lmdb => "Tidelog LMDB, writers as async tasks",
        _ => "Tidelog files, writers as async tasks",
    }
}

fn multi_event_name(backend: Backend) -> &'static str {
    match backend {
        Backend::Lmdb => "Tidelog LMDB, 16 appends × 64 events",
        _ => "Tidelog files, 16 appends × 64 events",
    }
}

/// Streams used by pipelined runs.
const PIPELINE_STREAMS: usize = 64;

/// Sizes and durations of one benchmark run.
#[derive(Debug, Clone)]
pub struct Config {
    /// Reduced sizes (`--quick`).
    pub quick: bool,
    /// Scratch directory (removed afterwards).
    pub dir: PathBuf,
    /// Interleaved rounds per scenario; tables show medians.
    pub rounds: usize,
    /// Length of each closed-loop or pipelined measurement.
    pub run: Duration,
    /// Concurrent writers of scenario 1.
    pub writers: Vec<usize>,
    /// Appends in flight for pipelined runs.
    pub in_flight: usize,
    /// Raw write+fdatasync samples per round (the commit-latency reference).
    pub device_samples: usize,
    /// Bytes written for the sequential-bandwidth reference.
    pub seq_bytes: usize,
    /// Samples per system in scenario 2.
    pub latency_samples: usize,
    /// Events in the replay and recovery journals.
    pub replay_events: u64,
    /// Streams of the many-streams replay journal.
    pub streams: u64,
    /// Events queued before `close()` in scenario 6.
    pub close_events: usize,
    /// Saves and loads per variant in scenario 7.
    pub snapshot_reps: usize,
}

impl Config {
    /// Full sizes as issue 3 states them, or the `--quick` reduction.
    pub fn new(quick: bool, dir: PathBuf) -> Config {
        if quick {
            Config {
                quick,
                dir,
                rounds: 1,
                run: Duration::from_millis(1500),
                writers: vec![1, 8, 64],
                in_flight: 1024,
                device_samples: 200,
                seq_bytes: 64 << 20,
                latency_samples: 1000,
                replay_events: 100_000,
                streams: 1000,
                close_events: 10_000,
                snapshot_reps: 5,
            }
        } else {
            Config {
                quick,
                dir,
                rounds: 3,
                run: Duration::from_secs(4),
                writers: vec![1, 8, 64],
                in_flight: 1024,
                device_samples: 500,
                seq_bytes: 512 << 20,
                latency_samples: 10_000,
                replay_events: 1_000_000,
                streams: 1000,
                close_events: 10_000,
                snapshot_reps: 20,
            }
        }
    }
}

fn payload() -> Vec<u8> {
    (0..PAYLOAD).map(|i| (i * 7 + 3) as u8).collect()
}

fn event() -> Vec<NewEvent> {
    vec![NewEvent::new(payload())]
}

fn open(dir: &Path, backend: Backend, sync: SyncPolicy) -> Journal {
    let options = Options::new().backend(backend).sync(sync).lmdb_map_size(1 << 30);
    Journal::open(dir, options).unwrap_or_else(|e| panic!("open {} journal at {}: {e}", backend.name(), dir.display()))
}

const BACKENDS: [Backend; 2] = [Backend::Files, Backend::Lmdb];

fn name(backend: Backend) -> &'static str {
    match backend {
        Backend::Files => "Tidelog files",
        Backend::Lmdb => "Tidelog LMDB",
        Backend::Memory => "Tidelog memory",
        Backend::Postgres => "Tidelog PostgreSQL",
    }
}

/// Mean events per group commit and mean commit latency (µs) between two metric snapshots.
fn batching(before: &MetricsSnapshot, after: &MetricsSnapshot) -> (f64, f64) {
    let batches = after.batches.saturating_sub(before.batches).max(1) as f64;
    let events = after.events.saturating_sub(before.events) as f64;
    let commits = after.commit_latency_us.count.saturating_sub(before.commit_latency_us.count).max(1) as f64;
    let micros = after.commit_latency_us.sum.saturating_sub(before.commit_latency_us.sum) as f64;
    (events / batches, micros / commits)
}

fn median_nanos(samples: &[u64]) -> f64 {
    Latency::from_nanos(samples.to_vec()).p50 * 1000.0
}

/// Median of what was collected under `key`.
fn med<K: std::hash::Hash + Eq>(map: &HashMap<K, Vec<f64>>, key: &K) -> f64 {
    map.get(key).map(|v| median(v)).unwrap_or(0.0)
}

// ---- scenario 1 and 3 -----------------------------------------------------

/// Scenario 1: durable appends, closed-loop writers and 1,024 in flight.
pub fn durable_appends(cfg: &Config) -> Vec<Table> {
    let root = cfg.dir.join("s1");
    std::fs::create_dir_all(&root).expect("scratch dir");
    let journals: Vec<(Backend, Journal)> = BACKENDS
        .iter()
        .map(|&b| (b, open(&root.join(b.name()), b, SyncPolicy::Always)))
        .collect();
    let sqlite = SqlitePerEvent::open(&root.join("sqlite-per-event.db"), SqliteSync::Full).expect("sqlite");
    let sqlite_batched = SqliteBatched::open(&root.join("sqlite-batched.db"), SqliteSync::Full, 4096).expect("sqlite");
    let heed = RawLmdb::open(&root.join("heed"), 1 << 30).expect("heed");
    let payload = payload();
    let body = vec![7u8; ENCODED_EVENT];
    let record = vec![5u8; RECORD];

    // (system, writers) -> events/s per round, fraction of that round's bound; plus batching figures.
    let mut rates: HashMap<(&str, usize), Vec<f64>> = HashMap::new();
    let mut of_bound: HashMap<(&str, usize), Vec<f64>> = HashMap::new();
    let mut bounds: HashMap<(&str, usize), Vec<f64>> = HashMap::new();
    let mut batch_size: HashMap<(&str, usize), Vec<f64>> = HashMap::new();
    let mut commit_us: HashMap<(&str, usize), Vec<f64>> = HashMap::new();
    let mut own_bound: HashMap<(&str, usize), Vec<f64>> = HashMap::new();
    let mut fdatasync_us: Vec<f64> = Vec::new();
    let mut fdatasync_p50_us: Vec<f64> = Vec::new();
    let mut heed_commit_us: Vec<f64> = Vec::new();
    // Tidelog's share of the bound computed from a one-record commit (the stricter figure), and the
    // log-append latency of a whole ideal batch per writer count.
    let mut one_record_bound: HashMap<(&str, usize), Vec<f64>> = HashMap::new();
    let mut log_commit_us: HashMap<usize, Vec<f64>> = HashMap::new();
    let mut bandwidth: Vec<f64> = Vec::new();
    let mut writer_id = 0u64;
    let cores = std::thread::available_parallelism().map_or(2, |n| n.get());

    for round in 0..cfg.rounds {
        for &w in &cfg.writers {
            let pids: Vec<String> = (0..w).map(|i| format!("r{round}w{w}-{i}")).collect();
            let task_pids: Arc<Vec<String>> = Arc::new((0..w).map(|i| format!("r{round}w{w}t-{i}")).collect());
            // This block's commit latencies: means, since throughput is events ÷ mean latency.
            let dev = device::write_fdatasync(&root, "device.bin", &record, cfg.device_samples, Layout::Preallocated).expect("device");
            let dev_us = mean_us(&dev);
            fdatasync_us.push(dev_us);
            fdatasync_p50_us.push(median_nanos(&dev) / 1000.0);
            let base = writer_id;
            writer_id += w as u64 + 1;
            let lmdb = timed(cfg.device_samples / 2, |i| {
                heed.put_one(&lmdb_key(base + w as u64, i as u64), &body)
            });
            let lmdb_us = mean_us(&lmdb);
            heed_commit_us.push(lmdb_us);
            let mut record_rate = |system: &'static str, per_sec: f64, commit_latency_us: f64, writers: usize| {
                let bound = writers as f64 * 1e6 / commit_latency_us;
                rates.entry((system, w)).or_default().push(per_sec);
                of_bound.entry((system, w)).or_default().push(per_sec / bound);
                bounds.entry((system, w)).or_default().push(bound);
            };
            record_rate(DEVICE, 1e6 / dev_us, dev_us, 1);
            // The bound of an ideal group commit: every commit carries all `w` writers, i.e. one
            // append of `w` records to a log and one fdatasync, commits back to back. Measured right
            // before and right after each Tidelog run (interleaved with the systems).
            let log_append = vec![5u8; RECORD * w];
            let log_samples = |samples: &mut Vec<u64>| {
                samples.extend(
                    device::write_fdatasync(
                        &root,
                        "log.bin",
                        &log_append,
                        (cfg.device_samples / 4).max(20),
                        Layout::Preallocated,
                    )
                    .expect("device"),
                )
            };
            for (backend, journal) in &journals {
                let mut log = Vec::new();
                log_samples(&mut log);
                let before = journal.metrics();
                let t = closed_loop(w, cfg.run, |i, _| {
                    journal.append(&pids[i], vec![NewEvent::new(payload.clone())]).expect("append");
                    1
                });
                let (b, c) = batching(&before, &journal.metrics());
                log_samples(&mut log);
                let log_us = mean_us(&log);
                log_commit_us.entry(w).or_default().push(log_us);
                // Both backends acknowledge after one flush of an appended record (LMDB's write-ahead log).
                record_rate(name(*backend), t.per_sec(), log_us, w);
                one_record_bound
                    .entry((name(*backend), w))
                    .or_default()
                    .push(t.per_sec() / (w as f64 * 1e6 / dev_us));
                batch_size.entry((name(*backend), w)).or_default().push(b);
                commit_us.entry((name(*backend), w)).or_default().push(c);
                // The same bound from Tidelog's own commit latency over the same interval,
                // immune to the disk's latency drifting between blocks.
                own_bound
                    .entry((name(*backend), w))
                    .or_default()
                    .push(t.per_sec() * c / 1e6 / w as f64);

                // The same writers as asynchronous tasks on a runtime with one worker per
                // core: an acknowledgement wakes a task, not a blocked OS thread.
                let system = task_name(*backend);
                let mut log = Vec::new();
                log_samples(&mut log);
                let before = journal.metrics();
                let (j, p, e) = (journal.clone(), task_pids.clone(), payload.clone());
                let t = closed_loop_tasks(w, cores, cfg.run, move |i, _| {
                    let done = j.append_async(&p[i], vec![NewEvent::new(e.clone())]);
                    async move {
                        done.await.expect("append");
                        1
                    }
                });
                let (b, c) = batching(&before, &journal.metrics());
                log_samples(&mut log);
                let log_us = mean_us(&log);
                record_rate(system, t.per_sec(), log_us, w);
                batch_size.entry((system, w)).or_default().push(b);
                commit_us.entry((system, w)).or_default().push(c);
                own_bound.entry((system, w)).or_default().push(t.per_sec() * c / 1e6 / w as f64);
            }
            // The ceiling of any group commit for these writers on this machine: every commit
            // carries all of them, and costs only their wake-ups, one write and one fdatasync.
            for tasks in [false, true] {
                let ideal = Arc::new(IdealGroupCommit::start(&root, w, RECORD).expect("ideal group commit"));
                let mut log = Vec::new();
                log_samples(&mut log);
                let t = if tasks {
                    let ideal = ideal.clone();
                    closed_loop_tasks(w, cores, cfg.run, move |_, _| {
                        let durable = ideal.append_async();
                        async move {
                            durable.await;
                            1
                        }
                    })
                } else {
                    closed_loop(w, cfg.run, |_, _| {
                        ideal.append();
                        1
                    })
                };
                log_samples(&mut log);
                let log_us = mean_us(&log);
                record_rate(if tasks { IDEAL_TASKS } else { IDEAL_THREADS }, t.per_sec(), log_us, w);
            }
            let t = closed_loop(w, cfg.run, |i, n| {
                sqlite.append(&pids[i], n + 1, &payload);
                1
            });
            record_rate(SQLITE_PER_EVENT, t.per_sec(), dev_us, w);
            let t = closed_loop(w, cfg.run, |i, n| {
                sqlite_batched
                    .submit(pids[i].clone(), n + 1, payload.clone())
                    .recv()
                    .expect("sqlite ack");
                1
            });
            record_rate(SQLITE_BATCHED, t.per_sec(), dev_us, w);
            let t = closed_loop(w, cfg.run, |i, n| {
                heed.put_one(&lmdb_key(base + i as u64, n), &body);
                1
            });
            record_rate(HEED, t.per_sec(), lmdb_us, w);
        }

        // 1,024 appends in flight from one pipelining submitter.
        bandwidth.push(device::sequential_bandwidth(&root, cfg.seq_bytes).expect("bandwidth"));
        let streams: Vec<String> = (0..PIPELINE_STREAMS).map(|i| format!("r{round}p-{i}")).collect();
        for (backend, journal) in &journals {
            let before = journal.metrics();
            let t = pipelined(
                cfg.in_flight,
                cfg.run,
                |n| journal.append_async(&streams[n as usize % PIPELINE_STREAMS], vec![NewEvent::new(payload.clone())]),
                |c| {
                    c.wait().expect("append");
                },
            );
            let (b, c) = batching(&before, &journal.metrics());
            own_bound
                .entry((name(*backend), 0))
                .or_default()
                .push(t.per_sec() * c / 1e6 / cfg.in_flight as f64);
            rates.entry((name(*backend), 0)).or_default().push(t.per_sec());
            batch_size.entry((name(*backend), 0)).or_default().push(b);
            commit_us.entry((name(*backend), 0)).or_default().push(c);

            // The same 1,024 events in flight, but as 16 appends of 64 events each
            // (an actor persisting a batch, or a binding coalescing calls): one
            // request, one completion and one allocation set per 64 events.
            let key = multi_event_name(*backend);
            let before = journal.metrics();
            let per_call = MULTI_EVENTS;
            let t = pipelined(
                (cfg.in_flight / per_call).max(1),
                cfg.run,
                |n| {
                    journal.append_async(
                        &streams[n as usize % PIPELINE_STREAMS],
                        (0..per_call).map(|_| NewEvent::new(payload.clone())).collect(),
                    )
                },
                |c| {
                    c.wait().expect("append");
                },
            );
            let t = Throughput {
                events: t.events * per_call as u64,
                secs: t.secs,
            };
            let (b, c) = batching(&before, &journal.metrics());
            own_bound
                .entry((key, 0))
                .or_default()
                .push(t.per_sec() * c / 1e6 / cfg.in_flight as f64);
            rates.entry((key, 0)).or_default().push(t.per_sec());
            batch_size.entry((key, 0)).or_default().push(b);
            commit_us.entry((key, 0)).or_default().push(c);
        }
        let t = pipelined(
            cfg.in_flight,
            cfg.run,
            |n| {
                sqlite_batched.submit(
                    streams[n as usize % PIPELINE_STREAMS].clone(),
                    n / PIPELINE_STREAMS as u64 + 1,
                    payload.clone(),
                )
            },
            |rx| rx.recv().expect("sqlite ack"),
        );
        rates.entry((SQLITE_BATCHED, 0)).or_default().push(t.per_sec());
    }
    for (_, j) in &journals {
        j.close().expect("close");
    }

    let fsync_us = median(&fdatasync_us);
    let lmdb_us = median(&heed_commit_us);
    let mut closed = Table::new(
        "Scenario 1a: durable appends (sync=always), 100-byte payloads, writers awaiting each acknowledgement",
        &[
            "writers",
            "system",
            "events/s",
            "bound = writers ÷ device commit latency",
            "% of bound",
            "% of one-record bound",
            "% of own bound (writers ÷ own commit latency, same interval)",
            "vs SQLite txn/event",
            "events per commit",
            "commit latency (Tidelog metric, mean)",
        ],
    );
    for &w in &cfg.writers {
        let sqlite_rate = med(&rates, &(SQLITE_PER_EVENT, w));
        for system in [
            DEVICE,
            "Tidelog files",
            "Tidelog LMDB",
            task_name(Backend::Files),
            task_name(Backend::Lmdb),
            IDEAL_THREADS,
            IDEAL_TASKS,
            SQLITE_PER_EVENT,
            SQLITE_BATCHED,
            HEED,
        ] {
            let r = med(&rates, &(system, w));
            let (batch, commit) = (med(&batch_size, &(system, w)), med(&commit_us, &(system, w)));
            closed.row(vec![
                w.to_string(),
                system.into(),
                rate(r),
                rate(med(&bounds, &(system, w))),
                format!("{:.0}%", 100.0 * med(&of_bound, &(system, w))),
                if one_record_bound.contains_key(&(system, w)) {
                    format!("{:.0}%", 100.0 * med(&one_record_bound, &(system, w)))
                } else {
                    String::new()
                },
                if own_bound.contains_key(&(system, w)) {
                    format!("{:.0}%", 100.0 * med(&own_bound, &(system, w)))
                } else {
                    String::new()
                },
                ratio(r, sqlite_rate),
                if batch > 0.0 { format!("{batch:.1}") } else { String::new() },
                if commit > 0.0 { us(commit) } else { String::new() },
            ]);
        }
    }
    closed.note(format!(
        "Bound for both Tidelog backends: an ideal group commit carries every writer, so it is writers ÷ the latency of one append of `writers` records ({RECORD} B each) to a pre-zeroed log file + one fdatasync, measured right before and right after each Tidelog run (mean: {}). \"% of one-record bound\" uses a one-record ({RECORD} B) write + fdatasync instead, measured at the start of each block: mean {} (p50 {}), also the bound for SQLite and the device row. heed one-put durable transaction, mean {}: the bound for raw heed (two flushes). % of bound is computed per block, then the median taken.",
        cfg.writers
            .iter()
            .map(|w| format!("{w} writers {}", us(med(&log_commit_us, w))))
            .collect::<Vec<_>>()
            .join(", "),
        us(fsync_us),
        us(median(&fdatasync_p50_us)),
        us(lmdb_us)
    ));
    closed.note("Targets: Tidelog ≥ 80% of bound; Tidelog ≥ 5× SQLite txn-per-event at the same durability. \"Own bound\" = events/s × Tidelog's mean commit latency ÷ writers over the same interval: the share of the ideal (every commit carries every writer, commits back to back) actually reached; it does not move when the disk's latency drifts between blocks, which the device bound does on a shared machine.");
    closed.note(format!(
        "\"Writers as async tasks\": the same writers as tasks on a tokio runtime with {cores} worker threads (one per core), each awaiting `append_async`, the way actor systems run actors on a dispatcher; the other Tidelog rows are OS threads blocked in `append`. Same bound, measured around each run."
    ));
    closed.note(format!(
        "{} round(s) of {:.1} s per cell, medians; all systems interleaved within each round.",
        cfg.rounds,
        cfg.run.as_secs_f64()
    ));

    let bw = median(&bandwidth);
    let bound = bw / RECORD as f64;
    let mut piped = Table::new(
        format!(
            "Scenario 1b: durable appends, {} events in flight from one pipelining submitter ({PIPELINE_STREAMS} streams)",
            cfg.in_flight
        ),
        &[
            "system",
            "events/s",
            "payload MB/s",
            "bound = seq. bandwidth ÷ record",
            "% of bound",
            "% of in-flight ÷ own commit latency",
            "vs SQLite group commit",
            "events per commit",
            "commit latency",
        ],
    );
    let sqlite_rate = med(&rates, &(SQLITE_BATCHED, 0));
    for system in [
        "Tidelog files",
        "Tidelog LMDB",
        multi_event_name(Backend::Files),
        multi_event_name(Backend::Lmdb),
        SQLITE_BATCHED,
    ] {
        let r = med(&rates, &(system, 0));
        let (batch, commit) = (med(&batch_size, &(system, 0)), med(&commit_us, &(system, 0)));
        piped.row(vec![
            system.into(),
            rate(r),
            mbps(r * PAYLOAD as f64),
            rate(bound),
            percent(r, bound),
            if own_bound.contains_key(&(system, 0)) {
                format!("{:.0}%", 100.0 * med(&own_bound, &(system, 0)))
            } else {
                String::new()
            },
            ratio(r, sqlite_rate),
            if batch > 0.0 { format!("{batch:.1}") } else { String::new() },
            if commit > 0.0 { us(commit) } else { String::new() },
        ]);
    }
    piped.note(format!(
        "Sequential write bandwidth of this disk (1 MiB writes + one fdatasync, {} MiB): {}; bound = that ÷ {RECORD} B per event.",
        cfg.seq_bytes >> 20,
        mbps(bw)
    ));
    piped.note(format!(
        "Target: Tidelog ≥ 40% of the bandwidth bound. For scale, Little's law with {} in flight and the measured commit latency gives {} when every commit carries the whole window (both backends flush one appended record per commit).",
        cfg.in_flight,
        rate(cfg.in_flight as f64 * 1e6 / fsync_us),
    ));
    let mut acceptance = Table::new(
        "Issue 25 acceptance (this run)",
        &["criterion", "Tidelog files", "Tidelog LMDB", "target", "met"],
    );
    let mut accept = |criterion: String, files: f64, lmdb: f64, target: f64, show: &dyn Fn(f64) -> String| {
        let met = match (files >= target, lmdb >= target) {
            (true, true) => "both",
            (true, false) => "files only",
            (false, true) => "LMDB only",
            (false, false) => "no",
        };
        acceptance.row(vec![criterion, show(files), show(lmdb), show(target), met.into()]);
    };
    let pct = |v: f64| format!("{:.0}%", 100.0 * v);
    for (w, target) in [(64, 0.6), (8, 0.7)] {
        if cfg.writers.contains(&w) {
            accept(
                format!("{w} awaiting writers, % of the commit-latency bound"),
                med(&of_bound, &("Tidelog files", w)),
                med(&of_bound, &("Tidelog LMDB", w)),
                target,
                &pct,
            );
        }
    }
    for (w, target) in [(64, 0.6), (8, 0.7)] {
        if cfg.writers.contains(&w) {
            accept(
                format!("{w} awaiting writers as async tasks ({cores} runtime threads), % of the commit-latency bound"),
                med(&of_bound, &(task_name(Backend::Files), w)),
                med(&of_bound, &(task_name(Backend::Lmdb), w)),
                target,
                &pct,
            );
        }
    }
    let times = |v: f64| format!("{v:.2}×");
    accept(
        format!("{} in flight, × SQLite group commit", cfg.in_flight),
        med(&rates, &("Tidelog files", 0)) / sqlite_rate,
        med(&rates, &("Tidelog LMDB", 0)) / sqlite_rate,
        5.0,
        &times,
    );
    acceptance.note(format!(
        "Medians over {} interleaved round(s); from the tables of scenario 1a and 1b above.",
        cfg.rounds
    ));
    let mut ceilings = Vec::new();
    for (system, how) in [(IDEAL_THREADS, "threads"), (IDEAL_TASKS, "async tasks")] {
        for w in [64, 8].into_iter().filter(|w| cfg.writers.contains(w)) {
            ceilings.push(format!("{w} {how} {:.0}%", 100.0 * med(&of_bound, &(system, w))));
        }
    }
    acceptance.note(format!(
        "The ceiling on this machine: the ideal group commit of scenario 1a (no journal: every commit carries every writer and costs only their wake-ups, one write and one fdatasync) reached {} of the same bound.",
        ceilings.join(", ")
    ));
    vec![closed, piped, acceptance]
}

/// Scenario 3: non-durable appends (sync=never), 1,024 in flight.
pub fn non_durable(cfg: &Config) -> Vec<Table> {
    let root = cfg.dir.join("s3");
    std::fs::create_dir_all(&root).expect("scratch dir");
    let journals: Vec<(Backend, Journal)> = BACKENDS
        .iter()
        .map(|&b| (b, open(&root.join(b.name()), b, SyncPolicy::Never)))
        .collect();
    let sqlite = SqliteBatched::open(&root.join("sqlite.db"), SqliteSync::Off, 4096).expect("sqlite");
    let payload = payload();
    let record = vec![5u8; RECORD];
    let mut rates: HashMap<&str, Vec<f64>> = HashMap::new();
    let mut batch_size: HashMap<&str, Vec<f64>> = HashMap::new();
    for round in 0..cfg.rounds {
        let device_count = if cfg.quick { 500_000 } else { 2_000_000 };
        rates
            .entry("raw buffered write")
            .or_default()
            .push(device::buffered_appends(&root, &record, device_count).expect("device"));
        let streams: Vec<String> = (0..PIPELINE_STREAMS).map(|i| format!("r{round}n-{i}")).collect();
        for (backend, journal) in &journals {
            let before = journal.metrics();
            let t = pipelined(
                cfg.in_flight,
                cfg.run,
                |n| journal.append_async(&streams[n as usize % PIPELINE_STREAMS], vec![NewEvent::new(payload.clone())]),
                |c| {
                    c.wait().expect("append");
                },
            );
            rates.entry(name(*backend)).or_default().push(t.per_sec());
            batch_size
                .entry(name(*backend))
                .or_default()
                .push(batching(&before, &journal.metrics()).0);
        }
        let t: Throughput = pipelined(
            cfg.in_flight,
            cfg.run,
            |n| {
                sqlite.submit(
                    streams[n as usize % PIPELINE_STREAMS].clone(),
                    n / PIPELINE_STREAMS as u64 + 1,
                    payload.clone(),
                )
            },
            |rx| rx.recv().expect("sqlite ack"),
        );
        rates.entry("SQLite WAL sync=OFF, group commit").or_default().push(t.per_sec());
    }
    for (_, j) in &journals {
        j.close().expect("close");
    }
    let device_rate = med(&rates, &"raw buffered write");
    let sqlite_rate = med(&rates, &"SQLite WAL sync=OFF, group commit");
    let mut t = Table::new(
        format!("Scenario 3: non-durable appends (sync=never), {} in flight", cfg.in_flight),
        &[
            "system",
            "events/s",
            "payload MB/s",
            "vs raw buffered write",
            "vs SQLite sync=OFF",
            "events per commit",
        ],
    );
    for system in [
        "raw buffered write",
        "Tidelog files",
        "Tidelog LMDB",
        "SQLite WAL sync=OFF, group commit",
    ] {
        let r = med(&rates, &system);
        let b = med(&batch_size, &system);
        t.row(vec![
            system.into(),
            rate(r),
            mbps(r * PAYLOAD as f64),
            ratio(r, device_rate),
            ratio(r, sqlite_rate),
            if b > 0.0 { format!("{b:.1}") } else { String::new() },
        ]);
    }
    t.note(format!(
        "raw buffered write = one {RECORD}-byte write(2) per event into the page cache, no flush."
    ));
    vec![t]
}

// ---- scenario 2 -----------------------------------------------------------

/// Scenario 2: single-writer durable append latency.
pub fn latency(cfg: &Config) -> Vec<Table> {
    let root = cfg.dir.join("s2");
    std::fs::create_dir_all(&root).expect("scratch dir");
    let journals: Vec<(Backend, Journal)> = BACKENDS
        .iter()
        .map(|&b| (b, open(&root.join(b.name()), b, SyncPolicy::Always)))
        .collect();
    let sqlite = SqlitePerEvent::open(&root.join("sqlite.db"), SqliteSync::Full).expect("sqlite");
    let heed = RawLmdb::open(&root.join("heed"), 1 << 30).expect("heed");
    let payload = payload();
    let body = vec![7u8; ENCODED_EVENT];
    let record = vec![5u8; RECORD];
    let chunk = 100;
    let mut samples: HashMap<&str, Vec<u64>> = HashMap::new();
    // A thread round trip with no I/O: the hand-off to a writer thread and the
    // completion back, which every Tidelog append pays on top of its flush.
    let (to_echo, echo_rx) = crossbeam_channel::unbounded::<crossbeam_channel::Sender<()>>();
    let echo = std::thread::spawn(move || {
        for reply in echo_rx {
            let _ = reply.send(());
        }
    });
    let mut done = 0;
    let mut seq = 0u64;
    while done < cfg.latency_samples {
        let n = chunk.min(cfg.latency_samples - done);
        samples
            .entry("raw write+fdatasync")
            .or_default()
            .extend(device::write_fdatasync(&root, "device.bin", &record, n, Layout::Preallocated).expect("device"));
        samples.entry(ROUND_TRIP).or_default().extend(timed(n, |_| {
            let (reply, done) = crossbeam_channel::bounded(1);
            to_echo.send(reply).expect("echo thread");
            done.recv().expect("echo reply");
        }));
        samples
            .entry(RAW_APPEND)
            .or_default()
            .extend(device::write_fdatasync(&root, "device-append.bin", &record, n, Layout::Append).expect("device"));
        for (backend, journal) in &journals {
            samples.entry(name(*backend)).or_default().extend(timed(n, |_| {
                journal.append("latency", event()).expect("append");
            }));
        }
        samples
            .entry("heed, txn per event")
            .or_default()
            .extend(timed(n, |i| heed.put_one(&lmdb_key(0, seq + i as u64), &body)));
        samples
            .entry("SQLite WAL FULL, txn per event")
            .or_default()
            .extend(timed(n, |i| sqlite.append("latency", seq + i as u64 + 1, &payload)));
        seq += n as u64;
        done += n;
    }
    for (_, j) in &journals {
        j.close().expect("close");
    }
    drop(to_echo);
    echo.join().expect("echo thread");
    let raw = Latency::from_nanos(samples.remove("raw write+fdatasync").unwrap_or_default());
    let mut t = Table::new(
        "Scenario 2: single-writer durable append latency (sync=always)",
        &["system", "p50", "p99", "p99.9", "p50 vs raw write+fdatasync p50", "p99 vs raw p99"],
    );
    t.row(vec![
        "raw write+fdatasync".into(),
        us(raw.p50),
        us(raw.p99),
        us(raw.p999),
        "1.00×".into(),
        "1.00×".into(),
    ]);
    for system in [
        RAW_APPEND,
        ROUND_TRIP,
        "Tidelog files",
        "Tidelog LMDB",
        "heed, txn per event",
        "SQLite WAL FULL, txn per event",
    ] {
        let l = Latency::from_nanos(samples.remove(system).unwrap_or_default());
        t.row(vec![
            system.into(),
            us(l.p50),
            us(l.p99),
            us(l.p999),
            ratio(l.p50, raw.p50),
            ratio(l.p99, raw.p99),
        ]);
    }
    t.note(format!(
        "{} samples per system, taken in interleaved chunks of {chunk}; raw = {RECORD}-byte write + fdatasync into a file pre-filled with zeros (no size change: the device's best case, and what the segment backend does), on the same disk; the extending variant is shown for comparison. Target: Tidelog p50 ≤ 1.3× raw p50.",
        cfg.latency_samples
    ));
    vec![t]
}

// ---- scenarios 4 and 5 ----------------------------------------------------

fn populate(journal: &Journal, persistence_id: &str, count: u64, chunk: u64) {
    let mut seq = 1;
    while seq <= count {
        let n = chunk.min(count - seq + 1);
        let events: Vec<NewEvent> = (0..n).map(|_| NewEvent::new(payload())).collect();
        for r in journal.write(vec![AtomicWrite::new(persistence_id, seq, events)]).expect("write") {
            r.expect("populate");
        }
        seq += n;
    }
}

/// (events, payload bytes) of one stream read with `scan` in one call.
fn scan_all(journal: &Journal, persistence_id: &str) -> (u64, u64) {
    let (mut n, mut bytes) = (0u64, 0u64);
    journal
        .scan(persistence_id, 1, u64::MAX, usize::MAX, |e| {
            n += 1;
            bytes += e.payload.len() as u64;
            true
        })
        .expect("scan");
    (n, bytes)
}

/// Events of one stream read with `read` (owned events) in pages of `page`, as a binding would.
fn read_paged(journal: &Journal, persistence_id: &str, page: usize) -> u64 {
    let mut from = 1;
    let mut n = 0;
    loop {
        let events = journal.read(persistence_id, from, u64::MAX, page).expect("read");
        let Some(last) = events.last() else { return n };
        from = last.sequence_nr + 1;
        n += events.len() as u64;
    }
}

/// Scenarios 4 and 5: replay one stream and 1,000 streams; recovery of a 1M-event journal.
pub fn replay_and_recovery(cfg: &Config) -> Vec<Table> {
    let root = cfg.dir.join("s4");
    std::fs::create_dir_all(&root).expect("scratch dir");
    let total = cfg.replay_events;
    let per_stream = total / cfg.streams;
    let stream_ids: Vec<String> = (0..cfg.streams).map(|i| format!("stream-{i:04}")).collect();
    let payload = payload();

    // Populate (not timed against a target; printed for information).
    let mut populate_secs: HashMap<&str, f64> = HashMap::new();
    for backend in BACKENDS {
        let t = Instant::now();
        let j = open(&root.join(format!("{}-one", backend.name())), backend, SyncPolicy::Never);
        populate(&j, "one", total, 1000);
        j.close().expect("close");
        let j = open(&root.join(format!("{}-many", backend.name())), backend, SyncPolicy::Never);
        for id in &stream_ids {
            populate(&j, id, per_stream, 1000);
        }
        j.close().expect("close");
        populate_secs.insert(name(backend), t.elapsed().as_secs_f64());
    }
    let t = Instant::now();
    {
        let mut one = peers::sqlite_open(&root.join("sqlite-one.db"), SqliteSync::Off).expect("sqlite");
        peers::sqlite_populate(&mut one, "one", total, &payload, 10_000).expect("sqlite populate");
        let mut many = peers::sqlite_open(&root.join("sqlite-many.db"), SqliteSync::Off).expect("sqlite");
        for id in &stream_ids {
            peers::sqlite_populate(&mut many, id, per_stream, &payload, 10_000).expect("sqlite populate");
        }
    }
    populate_secs.insert("SQLite", t.elapsed().as_secs_f64());

    // Scenario 5 first (the journals have not been opened since they were written).
    let mut recovery: HashMap<&str, Vec<(f64, f64, f64)>> = HashMap::new();
    let mut rates: HashMap<(&str, &str), Vec<f64>> = HashMap::new();
    for round in 0..cfg.rounds {
        for backend in BACKENDS {
            let dir = root.join(format!("{}-many", backend.name()));
            let t = Instant::now();
            let j = open(&dir, backend, SyncPolicy::Always);
            let opened = t.elapsed().as_secs_f64();
            let ids = j.persistence_ids().expect("ids");
            let highest: u64 = ids.iter().map(|id| j.highest_sequence_nr(id).expect("highest")).sum();
            assert_eq!(highest, total + round as u64, "recovered highest sequence numbers");
            let scanned = t.elapsed().as_secs_f64();
            j.append(&stream_ids[0], event()).expect("first append");
            let first_append = t.elapsed().as_secs_f64();
            recovery.entry(name(backend)).or_default().push((opened, scanned, first_append));

            // Scenario 4, many streams, on the same open journal.
            let t = Instant::now();
            let mut n = 0;
            for id in &stream_ids {
                n += scan_all(&j, id).0;
            }
            assert_eq!(n, total + round as u64 + 1);
            rates
                .entry((name(backend), "1,000 streams, scan"))
                .or_default()
                .push(n as f64 / t.elapsed().as_secs_f64());
            j.close().expect("close");

            let j = open(&root.join(format!("{}-one", backend.name())), backend, SyncPolicy::Always);
            let t = Instant::now();
            let (n, _) = scan_all(&j, "one");
            assert_eq!(n, total);
            rates
                .entry((name(backend), "1 stream, first scan after open"))
                .or_default()
                .push(n as f64 / t.elapsed().as_secs_f64());
            let t = Instant::now();
            let (n, _) = scan_all(&j, "one");
            rates
                .entry((name(backend), "1 stream, scan (one call)"))
                .or_default()
                .push(n as f64 / t.elapsed().as_secs_f64());
            let t = Instant::now();
            let mut n = 0;
            let mut from = 1;
            while n < total {
                let mut got = 0;
                j.scan("one", from, u64::MAX, 1000, |e| {
                    got += 1;
                    from = e.sequence_nr + 1;
                    std::hint::black_box(e.payload);
                    true
                })
                .expect("scan page");
                n += got;
            }
            rates
                .entry((name(backend), "1 stream, scan pages of 1,000"))
                .or_default()
                .push(n as f64 / t.elapsed().as_secs_f64());
            let t = Instant::now();
            let n = read_paged(&j, "one", 1000);
            assert_eq!(n, total);
            rates
                .entry((name(backend), "1 stream, read pages of 1,000 (owned)"))
                .or_default()
                .push(n as f64 / t.elapsed().as_secs_f64());
            j.close().expect("close");
        }

        // SQLite reference.
        let t = Instant::now();
        let conn = peers::sqlite_open(&root.join("sqlite-many.db"), SqliteSync::Full).expect("sqlite");
        let opened = t.elapsed().as_secs_f64();
        let highest: u64 = peers::sqlite_highest_all(&conn).expect("highest").values().sum();
        assert_eq!(highest, total + round as u64);
        let scanned = t.elapsed().as_secs_f64();
        conn.execute(
            "INSERT INTO event_journal (persistence_id, sequence_nr, is_deleted, manifest, timestamp, payload, tags, serializer_id) VALUES (?1, ?2, 0, '', 0, ?3, NULL, 1)",
            rusqlite::params![stream_ids[0], (per_stream + round as u64 + 1) as i64, payload],
        )
        .expect("sqlite first insert");
        let first_append = t.elapsed().as_secs_f64();
        recovery.entry("SQLite WAL FULL").or_default().push((opened, scanned, first_append));
        let t = Instant::now();
        let mut n = 0;
        for id in &stream_ids {
            n += peers::sqlite_replay(&conn, id).expect("replay").0;
        }
        rates
            .entry(("SQLite", "1,000 streams, scan"))
            .or_default()
            .push(n as f64 / t.elapsed().as_secs_f64());
        drop(conn);
        let conn = peers::sqlite_open(&root.join("sqlite-one.db"), SqliteSync::Full).expect("sqlite");
        let t = Instant::now();
        let (n, _) = peers::sqlite_replay(&conn, "one").expect("replay");
        assert_eq!(n, total);
        rates
            .entry(("SQLite", "1 stream, scan (one call)"))
            .or_default()
            .push(n as f64 / t.elapsed().as_secs_f64());
    }

    let mut replay = Table::new(
        format!("Scenario 4: replay {total} events (warm page cache)"),
        &[
            "read",
            "Tidelog files",
            "Tidelog LMDB",
            "SQLite (SELECT … ORDER BY sequence_nr)",
            "files vs SQLite",
            "LMDB vs SQLite",
        ],
    );
    for kind in [
        "1 stream, first scan after open",
        "1 stream, scan (one call)",
        "1 stream, scan pages of 1,000",
        "1 stream, read pages of 1,000 (owned)",
        "1,000 streams, scan",
    ] {
        let f = med(&rates, &("Tidelog files", kind));
        let l = med(&rates, &("Tidelog LMDB", kind));
        let s = med(&rates, &("SQLite", kind));
        let sqlite_cell = if s > 0.0 { rate(s) } else { "—".into() };
        let (fr, lr) = if s > 0.0 {
            (ratio(f, s), ratio(l, s))
        } else {
            ("—".into(), "—".into())
        };
        replay.row(vec![kind.into(), rate(f), rate(l), sqlite_cell, fr, lr]);
    }
    replay.note("Target: ≥ 5,000,000 events/s for one stream.");
    replay.note(format!(
        "Populating (sync=never, write() of 1,000-event atomic writes; not a target): {}.",
        ["Tidelog files", "Tidelog LMDB", "SQLite"]
            .iter()
            .map(|k| format!("{k} {:.1} s for 2 × {total}", populate_secs.get(k).copied().unwrap_or(0.0)))
            .collect::<Vec<_>>()
            .join(", ")
    ));

    let mut rec = Table::new(
        format!(
            "Scenario 5: recovery of a journal holding {total} events in {} streams (warm page cache)",
            cfg.streams
        ),
        &[
            "system",
            "open",
            "open + highest of all streams",
            "time to first durable append",
            "vs SQLite (first append)",
        ],
    );
    let summarize = |v: &Vec<(f64, f64, f64)>| {
        let (a, b, c): (Vec<f64>, Vec<f64>, Vec<f64>) = (
            v.iter().map(|x| x.0).collect(),
            v.iter().map(|x| x.1).collect(),
            v.iter().map(|x| x.2).collect(),
        );
        (median(&a), median(&b), median(&c))
    };
    let sqlite_first = summarize(recovery.get("SQLite WAL FULL").unwrap_or(&Vec::new())).2;
    for system in ["Tidelog files", "Tidelog LMDB", "SQLite WAL FULL"] {
        let (o, h, f) = summarize(recovery.get(system).unwrap_or(&Vec::new()));
        rec.row(vec![system.into(), ms(o * 1e3), ms(h * 1e3), ms(f * 1e3), ratio(f, sqlite_first)]);
    }
    rec.note("Target: ≤ 1 s (open + highest sequence numbers + first append). Ratio < 1 means faster than SQLite.");
    vec![replay, rec]
}

// ---- scenario 6 -----------------------------------------------------------

/// Scenario 6: `close()` with 10,000 queued durable appends.
pub fn close_latency(cfg: &Config) -> Vec<Table> {
    let root = cfg.dir.join("s6");
    std::fs::create_dir_all(&root).expect("scratch dir");
    let mut close_ms: HashMap<&str, Vec<f64>> = HashMap::new();
    let mut queued_at_close: HashMap<&str, Vec<f64>> = HashMap::new();
    let mut failed: HashMap<&str, u64> = HashMap::new();
    let mut commits_in_close: HashMap<&str, Vec<f64>> = HashMap::new();
    let mut commit_ms_in_close: HashMap<&str, Vec<f64>> = HashMap::new();
    let bytes = vec![5u8; RECORD * cfg.close_events];
    for round in 0..cfg.rounds.max(3) {
        let ns = device::write_fdatasync(&root, "device.bin", &bytes, 1, Layout::Preallocated).expect("device")[0];
        close_ms.entry("raw").or_default().push(ns as f64 / 1e6);
        for backend in BACKENDS {
            let j = open(&root.join(format!("{}-{round}", backend.name())), backend, SyncPolicy::Always);
            let ids: Vec<String> = (0..100).map(|i| format!("c-{i}")).collect();
            let pending: Vec<_> = (0..cfg.close_events)
                .map(|i| j.append_async(&ids[i % ids.len()], event()))
                .collect();
            let before = j.metrics();
            let committed_before = before.events;
            let t = Instant::now();
            j.close().expect("close");
            close_ms.entry(name(backend)).or_default().push(t.elapsed().as_secs_f64() * 1e3);
            // Where close() went: the group commits it ran and their summed latency (write + flush).
            let after = j.metrics();
            commits_in_close
                .entry(name(backend))
                .or_default()
                .push(after.batches.saturating_sub(before.batches) as f64);
            let commit_ms = after.commit_latency_us.sum.saturating_sub(before.commit_latency_us.sum) as f64 / 1e3;
            commit_ms_in_close.entry(name(backend)).or_default().push(commit_ms);
            queued_at_close
                .entry(name(backend))
                .or_default()
                .push((cfg.close_events as u64).saturating_sub(committed_before) as f64);
            *failed.entry(name(backend)).or_default() +=
                pending.into_iter().map(|c| c.wait().is_err()).filter(|failed| *failed).count() as u64;
        }
    }
    let raw = median(close_ms.get("raw").unwrap_or(&Vec::new()));
    let mut t = Table::new(
        format!("Scenario 6: close() with {} durable appends queued", cfg.close_events),
        &[
            "system",
            "close()",
            "still queued when close() began (median)",
            "vs raw write+fdatasync of the same bytes",
            "appends failed with Closed",
            "group commits during close()",
            "time inside those commits",
        ],
    );
    t.row(vec![
        "raw: one write of all records + fdatasync".into(),
        ms(raw),
        String::new(),
        "1.00×".into(),
        String::new(),
        String::new(),
        String::new(),
    ]);
    for backend in BACKENDS {
        let n = name(backend);
        let c = median(close_ms.get(n).unwrap_or(&Vec::new()));
        let q = median(queued_at_close.get(n).unwrap_or(&Vec::new()));
        t.row(vec![
            n.into(),
            ms(c),
            format!("{q:.0}"),
            ratio(c, raw),
            failed.get(n).copied().unwrap_or(0).to_string(),
            format!("{:.0}", median(commits_in_close.get(n).unwrap_or(&Vec::new()))),
            ms(median(commit_ms_in_close.get(n).unwrap_or(&Vec::new()))),
        ]);
    }
    t.note("Target: ≤ 50 ms. close() commits what is queued (within close_timeout, default 5 s) and flushes.");
    vec![t]
}

// ---- scenario 7 -----------------------------------------------------------

/// 1 MiB of JSON-like state: compressible the way real actor state is, not a constant.
pub fn snapshot_state(len: usize) -> Vec<u8> {
    let mut out = Vec::with_capacity(len + 128);
    let mut x: u64 = 0x2545_f491_4f6c_dd1d;
    let mut i = 0u64;
    while out.len() < len {
        x ^= x << 13;
        x ^= x >> 7;
        x ^= x << 17;
        let line = format!(
            "{{\"id\":{i},\"sku\":\"item-{:06}\",\"qty\":{},\"price_cents\":{},\"note\":\"{:016x}\"}},",
            x % 1_000_000,
            x % 17,
            x % 100_000,
            x
        );
        out.extend_from_slice(line.as_bytes());
        i += 1;
    }
    out.truncate(len);
    out
}

fn dir_bytes(dir: &Path) -> u64 {
    std::fs::read_dir(dir)
        .map(|entries| {
            entries
                .flatten()
                .map(|e| match e.metadata() {
                    Ok(m) if m.is_dir() => dir_bytes(&e.path()),
                    Ok(m) => m.len(),
                    Err(_) => 0,
                })
                .sum()
        })
        .unwrap_or(0)
}

/// Scenario 7: snapshot save/load of 1 MiB state, with and without zstd.
pub fn snapshots(cfg: &Config) -> Vec<Table> {
    let root = cfg.dir.join("s7");
    std::fs::create_dir_all(&root).expect("scratch dir");
    let state = snapshot_state(1 << 20);
    let journals: Vec<(bool, Journal)> = [false, true]
        .iter()
        .map(|&zstd| {
            let options = Options::new().backend(Backend::Files).snapshot_compression(zstd);
            (zstd, Journal::open(root.join(format!("zstd-{zstd}")), options).expect("open"))
        })
        .collect();
    let mut save: HashMap<&str, Vec<f64>> = HashMap::new();
    let mut load: HashMap<&str, Vec<f64>> = HashMap::new();
    let raw_dir = root.join("raw");
    std::fs::create_dir_all(&raw_dir).expect("raw dir");
    for i in 0..cfg.snapshot_reps {
        let ns = device::durable_file_write(&raw_dir, &format!("{i}.snap"), &state).expect("raw save");
        save.entry("raw").or_default().push(ns as f64 / 1e6);
        let ns = device::file_read(&raw_dir.join(format!("{i}.snap"))).expect("raw load");
        load.entry("raw").or_default().push(ns as f64 / 1e6);
        for (zstd, j) in &journals {
            let key = if *zstd { "Tidelog, zstd" } else { "Tidelog, uncompressed" };
            let snapshot = Snapshot {
                persistence_id: "snap".into(),
                sequence_nr: i as u64 + 1,
                timestamp: i as u64,
                manifest: "State".into(),
                metadata: vec![],
                state: state.clone(),
            };
            let t = Instant::now();
            j.snapshots().save(&snapshot).expect("save");
            save.entry(key).or_default().push(t.elapsed().as_secs_f64() * 1e3);
            let t = Instant::now();
            let loaded = j
                .snapshots()
                .load("snap", SnapshotCriteria::latest())
                .expect("load")
                .expect("snapshot");
            load.entry(key).or_default().push(t.elapsed().as_secs_f64() * 1e3);
            assert_eq!(loaded.state.len(), state.len());
        }
    }
    let mut sizes = HashMap::new();
    for (zstd, j) in &journals {
        let path = j.snapshots().path().expect("file snapshots").to_owned();
        sizes.insert(*zstd, dir_bytes(&path) as f64 / cfg.snapshot_reps as f64);
        j.close().expect("close");
    }
    let (raw_save, raw_load) = (median(&save["raw"]), median(&load["raw"]));
    let mut t = Table::new(
        "Scenario 7: snapshot save / load of 1 MiB state",
        &[
            "system",
            "save (durable)",
            "save vs raw",
            "load",
            "load vs raw",
            "bytes on disk per snapshot",
        ],
    );
    t.row(vec![
        "raw: temp file + fsync + rename + dir fsync / read".into(),
        ms(raw_save),
        "1.00×".into(),
        ms(raw_load),
        "1.00×".into(),
        (1u64 << 20).to_string(),
    ]);
    for (zstd, key) in [(false, "Tidelog, uncompressed"), (true, "Tidelog, zstd")] {
        let (s, l) = (median(&save[key]), median(&load[key]));
        t.row(vec![
            key.into(),
            ms(s),
            ratio(s, raw_save),
            ms(l),
            ratio(l, raw_load),
            format!("{:.0}", sizes[&zstd]),
        ]);
    }
    t.note(format!(
        "{} saves and loads each, medians; the state is JSON-like text (see `snapshot_state`). Ratios > 1 mean slower than raw.",
        cfg.snapshot_reps
    ));
    vec![t]
}

// ---- profiling ------------------------------------------------------------

/// One Tidelog workload alone, for `perf record` / `valgrind --tool=callgrind`:
/// `writers` closed-loop writers, or (`writers == 0`) one submitter keeping
/// `cfg.in_flight` appends in flight. Returns a one-row table.
pub fn profile(cfg: &Config, backend: Backend, sync: SyncPolicy, writers: usize, tasks: bool) -> Table {
    let j = open(&cfg.dir.join("profile"), backend, sync);
    let before = j.metrics();
    let t = if writers == 0 {
        let streams: Vec<String> = (0..PIPELINE_STREAMS).map(|i| format!("p-{i}")).collect();
        pipelined(
            cfg.in_flight,
            cfg.run,
            |n| j.append_async(&streams[n as usize % PIPELINE_STREAMS], event()),
            |c| {
                c.wait().expect("append");
            },
        )
    } else if tasks {
        let pids: Arc<Vec<String>> = Arc::new((0..writers).map(|i| format!("w-{i}")).collect());
        let j = j.clone();
        let cores = std::thread::available_parallelism().map_or(2, |n| n.get());
        closed_loop_tasks(writers, cores, cfg.run, move |i, _| {
            let done = j.append_async(&pids[i], event());
            async move {
                done.await.expect("append");
                1
            }
        })
    } else {
        let pids: Vec<String> = (0..writers).map(|i| format!("w-{i}")).collect();
        closed_loop(writers, cfg.run, |i, _| {
            j.append(&pids[i], event()).expect("append");
            1
        })
    };
    let (b, c) = batching(&before, &j.metrics());
    j.close().expect("close");
    let mut table = Table::new(
        "Profile workload",
        &[
            "backend",
            "sync",
            "writers (0 = pipelined, t = async tasks)",
            "events/s",
            "events per commit",
            "commit latency",
        ],
    );
    table.row(vec![
        backend.name().into(),
        format!("{sync:?}"),
        format!("{writers}{}", if tasks { "t" } else { "" }),
        rate(t.per_sec()),
        format!("{b:.1}"),
        us(c),
    ]);
    table
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn snapshot_state_has_the_length_asked_and_is_not_constant() {
        let s = snapshot_state(4096);
        assert_eq!(s.len(), 4096);
        assert!(s.iter().any(|b| *b != s[0]));
    }

    #[test]
    fn record_matches_a_one_event_frame() {
        assert_eq!(ENCODED_EVENT, 136);
        assert_eq!(RECORD, 167);
    }

    #[test]
    fn quick_config_is_smaller_than_full() {
        let q = Config::new(true, PathBuf::from("/tmp"));
        let f = Config::new(false, PathBuf::from("/tmp"));
        assert!(q.replay_events < f.replay_events && q.rounds <= f.rounds && q.run <= f.run);
        assert_eq!(f.replay_events, 1_000_000);
        assert_eq!(f.writers, vec![1, 8, 64]);
    }

    #[test]
    fn populate_and_read_back_in_memory() {
        let j = Journal::open("unused", Options::new().backend(Backend::Memory)).unwrap();
        populate(&j, "p", 2500, 1000);
        assert_eq!(scan_all(&j, "p"), (2500, 2500 * PAYLOAD as u64));
        assert_eq!(read_paged(&j, "p", 1000), 2500);
        j.close().unwrap();
    }
}
