//! `demo`: simulated bank-account actors persist events and snapshots on an
//! LMDB journal, the journal is closed and reopened, and every actor recovers
//! from its latest snapshot plus the events after it. Prints what happened and
//! how fast. Running it again on the same directory continues the accounts.

use std::path::Path;
use std::process::ExitCode;
use std::time::{Duration, Instant};

use anyhow::{bail, Context};
use serde::{Deserialize, Serialize};
use tidelog::{Journal, NewEvent, Options, Snapshot, SnapshotCriteria};

use crate::inspect::{go_on, PAGE};
use crate::output;

/// Each actor snapshots after this many events.
const SNAPSHOT_EVERY: u64 = 300;
/// Largest atomic write an actor makes (like Akka's `persistAll`).
const MAX_WRITE: u64 = 8;

/// The state of one simulated account.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
struct Account {
    balance: i64,
    events: u64,
    /// Sequence number of the last event applied.
    sequence_nr: u64,
}

#[derive(Serialize, Deserialize)]
struct Amount {
    amount: i64,
}

impl Account {
    fn apply(&mut self, sequence_nr: u64, manifest: &str, payload: &[u8]) -> anyhow::Result<()> {
        let Amount { amount } = serde_json::from_slice(payload).with_context(|| format!("event {sequence_nr} has a bad payload"))?;
        match manifest {
            "Deposited" => self.balance += amount,
            "Withdrawn" => self.balance -= amount,
            other => bail!("event {sequence_nr} has an unknown manifest {other:?}"),
        }
        self.events += 1;
        self.sequence_nr = sequence_nr;
        Ok(())
    }
}

/// How one actor's recovery went.
#[derive(Debug, Clone, Copy, Default)]
struct Recovery {
    account: Account,
    snapshot_sequence_nr: Option<u64>,
    replayed: u64,
    elapsed: Duration,
}

/// Recovers an actor the way a persistence plugin does: latest snapshot, then replay.
fn recover(journal: &Journal, persistence_id: &str) -> anyhow::Result<Recovery> {
    let started = Instant::now();
    let snapshot = journal.snapshots().load(persistence_id, SnapshotCriteria::latest())?;
    let mut account: Account = match &snapshot {
        Some(s) => {
            serde_json::from_slice(&s.state).with_context(|| format!("snapshot {} of {persistence_id} does not decode", s.sequence_nr))?
        }
        None => Account::default(),
    };
    let mut replayed = 0;
    let mut failure = None;
    loop {
        let mut page = 0;
        journal.scan(persistence_id, account.sequence_nr + 1, u64::MAX, PAGE, |e| {
            page += 1;
            go_on(account.apply(e.sequence_nr, e.manifest, e.payload), &mut failure)
        })?;
        if let Some(err) = failure.take() {
            return Err(err.context(format!("replaying {persistence_id}")));
        }
        replayed += page;
        if page < PAGE as u64 {
            break;
        }
    }
    Ok(Recovery {
        account,
        snapshot_sequence_nr: snapshot.map(|s| s.sequence_nr),
        replayed,
        elapsed: started.elapsed(),
    })
}

/// A small deterministic generator (xorshift64*), so runs are reproducible.
struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        self.0 ^= self.0 >> 12;
        self.0 ^= self.0 << 25;
        self.0 ^= self.0 >> 27;
        self.0.wrapping_mul(0x2545_f491_4f6c_dd1d)
    }
    fn below(&mut self, n: u64) -> u64 {
        self.next() % n
    }
}

/// What one actor did while persisting.
#[derive(Debug, Default, Clone, Copy)]
struct Persisted {
    account: Account,
    writes: u64,
    events: u64,
    snapshots: u64,
}

fn run_actor(journal: &Journal, index: usize, events: u64) -> anyhow::Result<Persisted> {
    let persistence_id = format!("account-{index:02}");
    let mut account = recover(journal, &persistence_id)?.account;
    let mut rng = Rng(0x9e37_79b9_7f4a_7c15 ^ ((index as u64 + 1) << 32) ^ account.sequence_nr.wrapping_add(1));
    let mut done = Persisted::default();
    let mut since_snapshot = account.sequence_nr % SNAPSHOT_EVERY;
    while done.events < events {
        let n = (1 + rng.below(MAX_WRITE)).min(events - done.events);
        let batch: Vec<NewEvent> = (0..n)
            .map(|_| {
                let amount = 1 + rng.below(500) as i64;
                // Withdraw only what the account (roughly) holds, like a real aggregate would.
                let (manifest, tag) = if rng.below(3) == 0 && account.balance > 500 {
                    ("Withdrawn", "withdrawal")
                } else {
                    ("Deposited", "deposit")
                };
                let payload = serde_json::to_vec(&Amount { amount }).expect("serializable");
                NewEvent::new(payload)
                    .manifest(manifest)
                    .writer_id(format!("demo-{}", std::process::id()))
                    .tag("account")
                    .tag(tag)
            })
            .collect();
        let applied: Vec<(String, Vec<u8>)> = batch.iter().map(|e| (e.manifest.clone(), e.payload.clone())).collect();
        let receipt = journal
            .append(&persistence_id, batch)
            .with_context(|| format!("persisting events of {persistence_id}"))?;
        for (i, (manifest, payload)) in applied.iter().enumerate() {
            account.apply(receipt.first_sequence_nr + i as u64, manifest, payload)?;
        }
        done.writes += 1;
        done.events += n;
        since_snapshot += n;
        if since_snapshot >= SNAPSHOT_EVERY {
            since_snapshot = 0;
            let snapshot = Snapshot {
                persistence_id: persistence_id.clone(),
                sequence_nr: account.sequence_nr,
                timestamp: std::time::SystemTime::now()
                    .duration_since(std::time::UNIX_EPOCH)
                    .map(|d| d.as_millis() as u64)
                    .unwrap_or(0),
                manifest: "AccountState".into(),
                metadata: Vec::new(),
                state: serde_json::to_vec(&account).expect("serializable"),
            };
            journal
                .snapshots()
                .save(&snapshot)
                .with_context(|| format!("saving a snapshot of {persistence_id}"))?;
            done.snapshots += 1;
        }
    }
    done.account = account;
    Ok(done)
}

/// The demo's summary (printed as JSON with `--json`).
#[derive(Debug, Serialize)]
struct Summary {
    path: String,
    backend: &'static str,
    actors: usize,
    events_persisted: u64,
    atomic_writes: u64,
    snapshots_saved: u64,
    persist_seconds: f64,
    events_per_second: f64,
    group_commits: u64,
    events_per_commit: f64,
    fsyncs: u64,
    commit_latency_mean_us: f64,
    commit_latency_p99_us_upper_bound: u64,
    reopen_seconds: f64,
    recovery_seconds: f64,
    recovered_from_snapshot: usize,
    events_replayed: u64,
    replay_events_per_second: f64,
    slowest_actor_recovery_ms: f64,
    total_events_in_journal: u64,
    states_match: bool,
}

/// `tidelog demo [DIR]`.
pub fn run(dir: &Path, actors: usize, events: usize, json: bool) -> anyhow::Result<ExitCode> {
    anyhow::ensure!(actors > 0 && events > 0, "--actors and --events must be at least 1");
    let events = events as u64;
    let quiet = json;
    let say = |line: String| {
        if !quiet {
            println!("{line}");
        }
    };
    say(format!(
        "Tidelog demo: {actors} simulated bank-account actors on an LMDB journal at {}",
        dir.display()
    ));
    say(format!("  each persists {events} events in atomic writes of 1-{MAX_WRITE}, fsync'd (SyncPolicy::Always), snapshotting every {SNAPSHOT_EVERY} events"));

    // 1. Persist from one thread per actor: their appends meet in group commits.
    let journal = Journal::open(dir, Options::new()).with_context(|| format!("opening {}", dir.display()))?;
    let bar = output::progress(events * actors as u64, "persisting");
    let started = Instant::now();
    let results: Vec<anyhow::Result<Persisted>> = std::thread::scope(|scope| {
        let handles: Vec<_> = (0..actors)
            .map(|i| {
                let journal = &journal;
                let bar = &bar;
                scope.spawn(move || {
                    let result = run_actor(journal, i, events);
                    bar.inc(events);
                    result
                })
            })
            .collect();
        handles
            .into_iter()
            .map(|h| h.join().unwrap_or_else(|_| Err(anyhow::anyhow!("an actor thread panicked"))))
            .collect()
    });
    let persist_elapsed = started.elapsed();
    bar.finish_and_clear();
    let persisted: Vec<Persisted> = results.into_iter().collect::<anyhow::Result<_>>()?;
    let metrics = journal.metrics();
    journal.close()?;
    let total_events: u64 = persisted.iter().map(|p| p.events).sum();
    let writes: u64 = persisted.iter().map(|p| p.writes).sum();
    let snapshots: u64 = persisted.iter().map(|p| p.snapshots).sum();
    say(format!(
        "persisted {total_events} events in {writes} atomic writes and {snapshots} snapshots in {:.2?}: {:.0} events/s",
        persist_elapsed,
        output::rate(total_events, persist_elapsed)
    ));
    say(format!(
        "  {} group commits ({:.1} events each), {} fsyncs, commit latency mean {:.0} us, p99 <= {} us",
        metrics.batches,
        metrics.events as f64 / metrics.batches.max(1) as f64,
        metrics.fsyncs,
        metrics.commit_latency_us.mean(),
        metrics.commit_latency_us.quantile_upper_bound(0.99)
    ));

    // 2. Reopen, as after a restart, and recover every actor.
    let started = Instant::now();
    let journal = Journal::open(dir, Options::new()).with_context(|| format!("reopening {}", dir.display()))?;
    let reopen_elapsed = started.elapsed();
    say(format!("closed and reopened the journal in {reopen_elapsed:.2?}"));
    let started = Instant::now();
    let mut recoveries = Vec::with_capacity(actors);
    for i in 0..actors {
        recoveries.push(recover(&journal, &format!("account-{i:02}"))?);
    }
    let recovery_elapsed = started.elapsed();
    let mut in_journal = 0;
    for id in journal.persistence_ids()? {
        let state = journal.stream_state(&id)?;
        in_journal += state.highest_sequence_nr - state.deleted_to;
    }
    journal.close()?;

    let replayed: u64 = recoveries.iter().map(|r| r.replayed).sum();
    let from_snapshot = recoveries.iter().filter(|r| r.snapshot_sequence_nr.is_some()).count();
    let slowest = recoveries.iter().map(|r| r.elapsed).max().unwrap_or_default();
    let mismatches: Vec<String> = persisted
        .iter()
        .zip(&recoveries)
        .enumerate()
        .filter(|(_, (p, r))| p.account != r.account)
        .map(|(i, (p, r))| format!("account-{i:02}: persisted {:?}, recovered {:?}", p.account, r.account))
        .collect();
    say(format!(
        "recovered {actors} actors in {recovery_elapsed:.2?}: {from_snapshot} from a snapshot, {replayed} events replayed ({:.0} events/s), slowest actor {slowest:.2?}",
        output::rate(replayed, recovery_elapsed)
    ));
    if !quiet {
        let mut table = output::table(&["actor", "balance", "events", "last seq", "snapshot at", "replayed", "recovery"]);
        for (i, r) in recoveries.iter().enumerate().take(8) {
            table.add_row(vec![
                format!("account-{i:02}"),
                r.account.balance.to_string(),
                r.account.events.to_string(),
                r.account.sequence_nr.to_string(),
                r.snapshot_sequence_nr.map_or_else(|| "-".into(), |s| s.to_string()),
                r.replayed.to_string(),
                format!("{:.2?}", r.elapsed),
            ]);
        }
        println!("{table}");
        if actors > 8 {
            println!("  ... and {} more actors", actors - 8);
        }
    }
    let summary = Summary {
        path: dir.display().to_string(),
        backend: "lmdb",
        actors,
        events_persisted: total_events,
        atomic_writes: writes,
        snapshots_saved: snapshots,
        persist_seconds: persist_elapsed.as_secs_f64(),
        events_per_second: output::rate(total_events, persist_elapsed),
        group_commits: metrics.batches,
        events_per_commit: metrics.events as f64 / metrics.batches.max(1) as f64,
        fsyncs: metrics.fsyncs,
        commit_latency_mean_us: metrics.commit_latency_us.mean(),
        commit_latency_p99_us_upper_bound: metrics.commit_latency_us.quantile_upper_bound(0.99),
        reopen_seconds: reopen_elapsed.as_secs_f64(),
        recovery_seconds: recovery_elapsed.as_secs_f64(),
        recovered_from_snapshot: from_snapshot,
        events_replayed: replayed,
        replay_events_per_second: output::rate(replayed, recovery_elapsed),
        slowest_actor_recovery_ms: slowest.as_secs_f64() * 1000.0,
        total_events_in_journal: in_journal,
        states_match: mismatches.is_empty(),
    };
    if json {
        output::print_json(&summary)?;
    }
    if !mismatches.is_empty() {
        bail!("recovered state differs from the persisted state:\n  {}", mismatches.join("\n  "));
    }
    say(format!(
        "every actor recovered exactly the state it persisted; the journal holds {in_journal} events in total"
    ));
    say(format!(
        "look inside: tidelog stats {0} | tidelog ls {0} | tidelog verify {0}",
        dir.display()
    ));
    Ok(ExitCode::SUCCESS)
}
