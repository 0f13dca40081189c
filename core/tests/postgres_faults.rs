//! Faults under load on the PostgreSQL backend: the server terminates the journal's
//! connections, and the server restarts (an immediate stop: a crash). No acknowledged event may
//! be lost or duplicated, failed calls get typed (retryable) errors, and the journal reconnects
//! by itself. A test binary of its own: it terminates every `tidelog` connection to the test
//! database, which would disturb other tests running beside it.
//!
//! Needs `TIDELOG_TEST_POSTGRES`; the restart rounds also `TIDELOG_TEST_POSTGRES_CTL` and
//! `TIDELOG_TEST_POSTGRES_DIR` (all set by `tests/postgres.sh run`).

mod common;

use std::collections::{BTreeMap, HashMap};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::time::Duration;

use common::{journal_path, postgres_uri};
use tidelog::{Backend, Error, ErrorKind, Journal, NewEvent, Options};

const STREAMS: usize = 6;

#[derive(Default)]
struct Tally {
    /// Acknowledged events: payload -> (persistence id, sequence nr).
    acked: HashMap<String, (String, u64)>,
    failed: usize,
    /// Failures whose commit outcome was unknown (typed, not retryable): these may be stored.
    unknown: usize,
    /// Failures of any other kind than a database error.
    untyped: Vec<String>,
}

/// Appends from four threads, four appends in flight each, until `stop`.
fn load(journal: Journal, stop: Arc<AtomicBool>, thread: usize) -> Tally {
    let mut tally = Tally::default();
    let mut n = 0;
    while !stop.load(Ordering::SeqCst) {
        let pending: Vec<_> = (0..4)
            .map(|_| {
                n += 1;
                let pid = format!("fault-{}", (n + thread) % STREAMS);
                let payload = format!("t{thread}-{n}");
                let done = journal.append_async(&pid, vec![NewEvent::new(payload.clone().into_bytes()).tag("f")]);
                (pid, payload, done)
            })
            .collect();
        let mut failed = false;
        for (pid, payload, done) in pending {
            match done.wait() {
                Ok(r) => {
                    assert!(tally.acked.insert(payload, (pid, r.first_sequence_nr)).is_none());
                }
                Err(e) => {
                    failed = true;
                    tally.failed += 1;
                    match &e {
                        Error::Database { retryable: true, .. } => {}
                        Error::Database {
                            retryable: false, message, ..
                        } if message.contains("is unknown") => tally.unknown += 1,
                        _ => tally.untyped.push(e.to_string()),
                    }
                    assert_eq!(e.kind(), ErrorKind::Io);
                }
            }
        }
        if failed {
            std::thread::sleep(Duration::from_millis(20));
        }
    }
    tally
}

fn terminate_journal_connections(admin_uri: &str) {
    let mut admin = postgres::Client::connect(admin_uri, postgres::NoTls).expect("admin connection");
    admin
        .execute(
            "SELECT pg_terminate_backend(pid) FROM pg_stat_activity \
             WHERE application_name = 'tidelog' AND datname = current_database() AND pid <> pg_backend_pid()",
            &[],
        )
        .unwrap();
}

fn restart_server(ctl: &str, dir: &str) {
    let status = std::process::Command::new(ctl).args(["restart", dir]).status().unwrap();
    assert!(status.success(), "restarting the test server failed");
}

/// Runs `rounds` faults under load, then checks the journal against what was acknowledged.
fn fault_rounds(name: &str, rounds: usize, fault: impl Fn()) {
    let dir = tempfile::tempdir().unwrap();
    let uri = journal_path(dir.path().join(name), Backend::Postgres);
    let journal = Journal::open(&uri, Options::new()).unwrap();
    let stop = Arc::new(AtomicBool::new(false));
    let threads: Vec<_> = (0..4)
        .map(|t| {
            let (journal, stop) = (journal.clone(), stop.clone());
            std::thread::spawn(move || load(journal, stop, t))
        })
        .collect();
    for _ in 0..rounds {
        std::thread::sleep(Duration::from_millis(150));
        fault();
    }
    std::thread::sleep(Duration::from_millis(500));
    stop.store(true, Ordering::SeqCst);
    let mut all = Tally::default();
    for t in threads {
        let tally = t.join().unwrap();
        all.failed += tally.failed;
        all.unknown += tally.unknown;
        all.untyped.extend(tally.untyped);
        all.acked.extend(tally.acked);
    }
    assert!(
        all.untyped.is_empty(),
        "failures without a retryable database error: {:?}",
        &all.untyped[..all.untyped.len().min(3)]
    );

    // The same handle reconnected by itself: it writes and reads after the last fault.
    let after = journal.append("fault-after", vec![NewEvent::new(b"after".to_vec())]).unwrap();
    assert_eq!(after.first_sequence_nr, 1);

    let mut stored: BTreeMap<String, (String, u64)> = BTreeMap::new();
    for s in 0..STREAMS {
        let pid = format!("fault-{s}");
        let events = journal.read(&pid, 1, u64::MAX, usize::MAX).unwrap();
        let seqs: Vec<u64> = events.iter().map(|e| e.sequence_nr).collect();
        assert_eq!(seqs, (1..=seqs.len() as u64).collect::<Vec<_>>(), "{pid} is gapless");
        for e in events {
            let payload = String::from_utf8(e.payload).unwrap();
            assert!(
                stored.insert(payload.clone(), (pid.clone(), e.sequence_nr)).is_none(),
                "{payload} stored twice"
            );
        }
    }
    for (payload, at) in &all.acked {
        assert_eq!(stored.get(payload), Some(at), "acknowledged event {payload} lost or moved");
    }
    // Only a call whose commit outcome was reported unknown may be stored without an acknowledgement
    // (the server committed it, then went away before it could be asked).
    let unacknowledged = stored.len() - all.acked.len();
    assert!(
        unacknowledged <= all.unknown,
        "{unacknowledged} failed calls were stored; {} reported an unknown outcome",
        all.unknown
    );
    let tagged = journal.events_by_tag("f", 0, usize::MAX).unwrap();
    assert_eq!(tagged.len(), stored.len(), "every stored event is in the tag feed once");
    eprintln!(
        "{name}: {rounds} rounds, {} acknowledged, {} failed ({} with an unknown outcome), {unacknowledged} of the failed stored",
        all.acked.len(),
        all.failed,
        all.unknown
    );
    journal.close().unwrap();
}

#[test]
fn terminated_connections_and_server_restarts_lose_and_duplicate_nothing() {
    let Some(admin) = postgres_uri() else { return };
    let rounds: usize = std::env::var("TIDELOG_PG_FAULT_ROUNDS")
        .ok()
        .and_then(|s| s.parse().ok())
        .unwrap_or(20);
    fault_rounds("terminate", rounds, || terminate_journal_connections(&admin));
    match (
        std::env::var("TIDELOG_TEST_POSTGRES_CTL"),
        std::env::var("TIDELOG_TEST_POSTGRES_DIR"),
    ) {
        (Ok(ctl), Ok(dir)) => fault_rounds("restart", rounds, || restart_server(&ctl, &dir)),
        _ if std::env::var("CI").is_ok_and(|v| v == "true") => panic!("CI=true needs TIDELOG_TEST_POSTGRES_CTL and _DIR"),
        _ => eprintln!("SKIPPED (PostgreSQL restarts): TIDELOG_TEST_POSTGRES_CTL/_DIR unset; tests/postgres.sh run sets them"),
    }
}

/// A failed call is typed: a journal whose server is gone fails appends with a retryable error
/// (not a hang, not a panic), and `Error::Database` never shows the password.
#[test]
fn errors_are_typed_and_never_show_the_password() {
    let Some(uri) = postgres_uri() else { return };
    // The same server with a wrong password: open fails with a database error.
    let wrong = match uri
        .split_once("://")
        .and_then(|(s, rest)| rest.split_once('@').map(|(u, h)| (s, u, h)))
    {
        Some((scheme, userinfo, host)) => {
            let user = userinfo.split(':').next().unwrap();
            format!("{scheme}://{user}:not-the-password-x9@{host}")
        }
        None => return,
    };
    let err = Journal::open(&wrong, Options::new()).unwrap_err();
    assert!(matches!(err, Error::Database { .. }), "{err:?}");
    assert!(!format!("{err} {err:?}").contains("not-the-password-x9"));
    let journal = Journal::open(
        journal_path(std::path::PathBuf::from("typed-errors"), Backend::Postgres),
        Options::new(),
    )
    .unwrap();
    let password = uri
        .split_once("://")
        .unwrap()
        .1
        .split_once('@')
        .unwrap()
        .0
        .split_once(':')
        .map(|(_, p)| p.to_owned());
    if let Some(password) = password {
        assert!(!format!("{journal:?} {}", journal.path().display()).contains(&password));
    }
    journal.close().unwrap();
}
