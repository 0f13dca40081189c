//! Quick pipeline profile: N appends in flight, sync=never. Not a benchmark (see bench/).
use tidelog::{Backend, Journal, NewEvent, Options, SyncPolicy};
fn main() {
    let backend: Backend = std::env::args().nth(1).unwrap_or("files".into()).parse().unwrap();
    let dir = tempfile::tempdir_in("/work").unwrap();
    let sync = if std::env::args().nth(2).as_deref() == Some("always") {
        SyncPolicy::Always
    } else {
        SyncPolicy::Never
    };
    let j = Journal::open(dir.path().join("j"), Options::new().backend(backend).sync(sync)).unwrap();
    let n: usize = std::env::var("N").ok().and_then(|v| v.parse().ok()).unwrap_or(300_000);
    let t = std::time::Instant::now();
    let mut pending = std::collections::VecDeque::new();
    for i in 0..n {
        pending.push_back(j.append_async(&format!("p{}", i % 100), vec![NewEvent::new(vec![7u8; 100])]));
        if pending.len() >= 1000 {
            pending.pop_front().unwrap().wait().unwrap();
        }
    }
    for p in pending {
        p.wait().unwrap();
    }
    let el = t.elapsed();
    println!(
        "{backend:?}: {:.0} appends/s, {:.2} us/append, batches {}",
        n as f64 / el.as_secs_f64(),
        el.as_secs_f64() * 1e6 / n as f64,
        j.metrics().batches
    );
    let t = std::time::Instant::now();
    let mut c = 0;
    for p in 0..100 {
        j.scan(&format!("p{p}"), 1, u64::MAX, usize::MAX, |_| {
            c += 1;
            true
        })
        .unwrap();
    }
    println!("scan {:.0} events/s", c as f64 / t.elapsed().as_secs_f64());
}
