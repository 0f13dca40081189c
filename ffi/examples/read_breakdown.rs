//! Where a 100-event stream read spends its time in native code (issue 25): the core's scan
//! alone, the scan plus the event page, the scan plus the stream page, and the checksum alone, over the same events as
//! `bench/jvm/src/PerCallBench.java` (10,000 events of 100 bytes in one stream, LMDB backend).
//!   cargo run --release -p tidelog-ffi --example read_breakdown -- DIR
use std::hint::black_box;
use std::time::Instant;

use tidelog::{Backend, Journal, NewEvent, Options, SyncPolicy};
use tidelog_ffi::wire::{self, Scope};

fn best(rounds: usize, calls: usize, mut f: impl FnMut(usize)) -> f64 {
    (0..rounds)
        .map(|_| {
            let t = Instant::now();
            (0..calls).for_each(&mut f);
            t.elapsed().as_nanos() as f64 / calls as f64 / 1e3
        })
        .fold(f64::MAX, f64::min)
}

fn main() {
    let dir = std::env::args().nth(1).unwrap_or_else(|| "target/read-breakdown".into());
    let _ = std::fs::remove_dir_all(&dir);
    let options = Options::default().backend(Backend::Lmdb).sync(SyncPolicy::Never);
    let journal = Journal::open(&dir, options).unwrap();
    for _ in 0..10 {
        journal
            .append("actor-1", (0..1000).map(|_| NewEvent::new(vec![0u8; 100])).collect())
            .unwrap();
    }
    let keys: Vec<u64> = (0..5000u64).map(|i| (i * 7919) % 9900 + 1).collect();
    let (rounds, calls) = (7, 5000);
    let scan = best(rounds, calls, |i| {
        let mut n = 0u64;
        journal
            .scan("actor-1", keys[i], u64::MAX, 100, |e| {
                n += e.payload.len() as u64 + e.sequence_nr;
                true
            })
            .unwrap();
        black_box(n);
    });
    let one = best(rounds, calls, |i| {
        let mut n = 0u64;
        journal
            .scan("actor-1", keys[i], u64::MAX, 1, |e| {
                n += e.payload.len() as u64;
                true
            })
            .unwrap();
        black_box(n);
    });
    let mut buffer = Vec::new();
    let page = best(rounds, calls, |i| {
        let scope = Scope::Stream {
            persistence_id: "actor-1",
            from: keys[i],
            to: u64::MAX,
        };
        buffer = wire::read_page_into(&journal, scope, 100, 4 << 20, std::mem::take(&mut buffer)).unwrap();
        black_box(buffer.len());
    });
    let page_len = buffer.len();
    let mut array = vec![0u8; 64 << 10];
    let mut stream_page_len = 0;
    let stream_page = best(rounds, calls, |i| {
        stream_page_len = wire::read_stream_page_to(&journal, "actor-1", keys[i], u64::MAX, 100, 4 << 20, &mut array)
            .unwrap()
            .unwrap();
        black_box(&array);
    });
    let body = vec![7u8; 136];
    let crc = best(rounds, calls, |_| {
        for _ in 0..100 {
            black_box(crc32fast::hash(black_box(&body)));
        }
    });
    println!("per 100-event read, µs: core scan of 1 event {one:.2}, core scan {scan:.2}, scan + event page {page:.2} (page {page_len} bytes), scan + stream page {stream_page:.2} (page {stream_page_len} bytes), 100 x crc32 of 136 B {crc:.2}");
}
