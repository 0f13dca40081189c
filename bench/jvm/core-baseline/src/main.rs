//! No-sync `append_with` through the Rust core directly: caller-side cost and end-to-end
//! time per append, one 16-byte event per call, 64 streams, up to 65,536 appends in flight.
//! The same workload as the JVM benchmark's "no-sync append" line, without JNI.

use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;
use std::time::Instant;
use tidelog::{Backend, Journal, NewEvent, Options, SyncPolicy};
fn main() {
    for backend in [Backend::Memory, Backend::Lmdb, Backend::Files] {
        let dir = std::env::temp_dir().join(format!("corebench-{}", backend.name()));
        let _ = std::fs::remove_dir_all(&dir);
        let j = Journal::open(&dir, Options::new().backend(backend).sync(SyncPolicy::Never).lmdb_map_size(1 << 30)).unwrap();
        let done = Arc::new(AtomicU64::new(0));
        let n = 1_000_000u64;
        let pids: Vec<String> = (0..64).map(|i| format!("p{i}")).collect();
        let t0 = Instant::now();
        let mut inside = 0u128;
        for i in 0..n {
            let d = done.clone();
            let s = Instant::now();
            j.append_with(&pids[(i & 63) as usize], vec![NewEvent::new(vec![0u8; 16])], move |_| { d.fetch_add(1, Ordering::Relaxed); });
            inside += s.elapsed().as_nanos();
            while i >= 65536 && done.load(Ordering::Relaxed) < i - 65536 { std::hint::spin_loop(); }
        }
        while done.load(Ordering::Relaxed) < n { std::thread::yield_now(); }
        let dt = t0.elapsed();
        println!("{}: append_with {:.0} ns/call on caller, {:.0} ns/append end to end", backend.name(), inside as f64 / n as f64, dt.as_nanos() as f64 / n as f64);
        j.close().unwrap();
    }
}
