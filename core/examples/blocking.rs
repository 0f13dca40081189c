//! Quick latency check of lone blocking appends (sync=never). Not a benchmark (see bench/).
use tidelog::{Backend, Journal, NewEvent, Options, SyncPolicy};
fn main() {
    for backend in [Backend::Memory, Backend::Files, Backend::Lmdb] {
        let dir = tempfile::tempdir_in("/work").unwrap();
        let j = Journal::open(dir.path().join("j"), Options::new().backend(backend).sync(SyncPolicy::Never)).unwrap();
        let n = 100_000;
        let t = std::time::Instant::now();
        for _ in 0..n {
            j.append("p", vec![NewEvent::new(vec![7u8; 100])]).unwrap();
        }
        println!(
            "{backend:?}: {:.2} us per blocking append",
            t.elapsed().as_secs_f64() * 1e6 / n as f64
        );
    }
}
