//! The cost of the PostgreSQL backend's global order, measured on raw SQL with one client.
//!
//! Tidelog's PostgreSQL writer takes one counter row `FOR UPDATE` at the start of each batch
//! transaction and releases it at commit, so offsets are handed out in commit order (a reader
//! can never pass an offset that commits later). The price is that batches of all writers
//! commit one after another. This program measures that price: K connections ("nodes") each
//! commit batches of B events for a while, in two shapes against the same server and tables:
//!
//! * `counter lock`: BEGIN; SELECT next_offset ... FOR UPDATE; one multi-row INSERT; UPDATE
//!   the counter; COMMIT (what the backend does);
//! * `sequence`: BEGIN; one multi-row INSERT taking offsets from a sequence (`nextval`); COMMIT:
//!   no serialization, and exactly the shape that loses events (offsets become visible out of
//!   order), which is what akka-persistence-jdbc #96 and Marten #4964 shipped.
//!
//! Usage: `TIDELOG_TEST_POSTGRES=postgresql://... cargo run --release -p tidelog-bench --bin
//! pg_order_cost [-- SECONDS]` (`tests/postgres.sh run` starts a throwaway server).

use std::time::{Duration, Instant};

use postgres::{Client, NoTls};

const SCHEMA: &str = "tidelog_order_cost";

fn connect(uri: &str) -> Client {
    let mut c = Client::connect(uri, NoTls).expect("connect");
    c.batch_execute("SET synchronous_commit = on").unwrap();
    c
}

fn setup(uri: &str) {
    let mut c = connect(uri);
    c.batch_execute(&format!(
        "DROP SCHEMA IF EXISTS {SCHEMA} CASCADE; CREATE SCHEMA {SCHEMA};
         CREATE TABLE {SCHEMA}.counter (id smallint PRIMARY KEY, next_offset bigint NOT NULL);
         INSERT INTO {SCHEMA}.counter VALUES (1, 1);
         CREATE SEQUENCE {SCHEMA}.offsets;
         CREATE TABLE {SCHEMA}.events (global_offset bigint PRIMARY KEY, persistence_id text NOT NULL,
             sequence_nr bigint NOT NULL, body bytea NOT NULL, UNIQUE (persistence_id, sequence_nr));"
    ))
    .unwrap();
}

#[derive(Clone, Copy, PartialEq)]
enum Shape {
    CounterLock,
    Sequence,
}

/// Events per second committed by `nodes` connections with batches of `batch` events.
fn run(uri: &str, shape: Shape, nodes: usize, batch: usize, duration: Duration) -> f64 {
    let mut c = connect(uri);
    c.batch_execute(&format!("TRUNCATE {SCHEMA}.events; UPDATE {SCHEMA}.counter SET next_offset = 1"))
        .unwrap();
    let start = Instant::now() + Duration::from_millis(200);
    let threads: Vec<_> = (0..nodes)
        .map(|node| {
            let uri = uri.to_owned();
            std::thread::spawn(move || {
                let mut c = connect(&uri);
                let insert_locked = c
                    .prepare(&format!(
                        "WITH ev AS (INSERT INTO {SCHEMA}.events SELECT $1::bigint + i - 1, $2, $3::bigint + i - 1, $4 FROM generate_series(1, $5::int) i) \
                         UPDATE {SCHEMA}.counter SET next_offset = $1::bigint + $5 WHERE id = 1"
                    ))
                    .unwrap();
                let insert_sequence = c
                    .prepare(&format!(
                        "INSERT INTO {SCHEMA}.events SELECT nextval('{SCHEMA}.offsets'), $1, $2::bigint + i - 1, $3 FROM generate_series(1, $4::int) i"
                    ))
                    .unwrap();
                let body = vec![7u8; 100];
                let pid = format!("node-{node}");
                let mut seq: i64 = 1;
                let mut events = 0u64;
                while Instant::now() < start {
                    std::thread::sleep(Duration::from_millis(1));
                }
                let until = start + duration;
                while Instant::now() < until {
                    let n = batch as i32;
                    match shape {
                        Shape::CounterLock => {
                            let rows = c
                                .simple_query(&format!("BEGIN; SELECT next_offset FROM {SCHEMA}.counter WHERE id = 1 FOR UPDATE"))
                                .unwrap();
                            let next: i64 = rows
                                .iter()
                                .find_map(|m| match m {
                                    postgres::SimpleQueryMessage::Row(r) => r.get(0).map(|v| v.parse().unwrap()),
                                    _ => None,
                                })
                                .unwrap();
                            c.execute(&insert_locked, &[&next, &pid, &seq, &body, &n]).unwrap();
                        }
                        Shape::Sequence => {
                            c.batch_execute("BEGIN").unwrap();
                            c.execute(&insert_sequence, &[&pid, &seq, &body, &n]).unwrap();
                        }
                    }
                    c.batch_execute("COMMIT").unwrap();
                    seq += batch as i64;
                    events += batch as u64;
                }
                events
            })
        })
        .collect();
    let events: u64 = threads.into_iter().map(|t| t.join().unwrap()).sum();
    events as f64 / duration.as_secs_f64()
}

fn main() {
    let uri = std::env::var("TIDELOG_TEST_POSTGRES").expect("TIDELOG_TEST_POSTGRES=postgresql://...");
    let seconds: f64 = std::env::args().nth(1).and_then(|s| s.parse().ok()).unwrap_or(3.0);
    let duration = Duration::from_secs_f64(seconds);
    setup(&uri);
    println!("| nodes | events per batch | counter lock (events/s) | sequence (events/s) | lock / sequence |");
    println!("|---:|---:|---:|---:|---:|");
    for nodes in [1, 4, 16] {
        for batch in [1, 16, 256] {
            let locked = run(&uri, Shape::CounterLock, nodes, batch, duration);
            let sequence = run(&uri, Shape::Sequence, nodes, batch, duration);
            println!("| {nodes} | {batch} | {locked:.0} | {sequence:.0} | {:.2} |", locked / sequence);
        }
    }
    connect(&uri).batch_execute(&format!("DROP SCHEMA {SCHEMA} CASCADE")).unwrap();
}
