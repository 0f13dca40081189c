//! The `tidelog._tidelog` extension module: glue between the Tidelog core
//! and Python. It converts types, errors and completions; every storage rule
//! lives in the core.
//!
//! - [`journal`]: the blocking `Journal` and `SnapshotStore` (GIL released while waiting).
//! - [`aio`]: completion and worker threads that settle asyncio futures.
//! - [`subscription`]: `Subscription`, a live follow (blocking iterator; `_next_async` for asyncio).
//! - [`model`]: `Event`, `NewEvent`, `AtomicWrite`, `WriteReceipt`, `Snapshot`, page encoding.
//! - [`errors`]: the one mapping from core error kinds to exception classes.
//! - [`wait`]: how a blocking call waits for the writer thread.
//! - [`fork`]: journals opened before `os.fork()` refuse calls in the child.

use pyo3::prelude::*;

mod aio;
mod errors;
mod fork;
mod journal;
mod model;
mod subscription;
mod wait;

#[pymodule]
fn _tidelog(m: &Bound<'_, PyModule>) -> PyResult<()> {
    let py = m.py();
    m.add("__version__", env!("CARGO_PKG_VERSION"))?;
    m.add_class::<journal::Journal>()?;
    m.add_class::<journal::SnapshotStore>()?;
    m.add_class::<journal::EventIterator>()?;
    m.add_class::<subscription::Subscription>()?;
    m.add_class::<model::Event>()?;
    m.add_class::<model::NewEvent>()?;
    m.add_class::<model::AtomicWrite>()?;
    m.add_class::<model::WriteReceipt>()?;
    m.add_class::<model::Snapshot>()?;
    m.add_function(wrap_pyfunction!(errors::_error_kinds, m)?)?;
    m.add_function(wrap_pyfunction!(wait::_set_spin_micros, m)?)?;
    let resolver = wrap_pyfunction!(aio::_resolve_many, m)?;
    aio::set_resolver(py, resolver.clone().into_any().unbind());
    m.add_function(resolver)?;
    let on_exit = wrap_pyfunction!(aio::_on_exit, m)?;
    py.import("atexit")?.call_method1("register", (&on_exit,))?;
    m.add_function(on_exit)?;
    let after_fork = wrap_pyfunction!(fork::_after_fork_in_child, m)?;
    let os = py.import("os")?;
    if os.hasattr("register_at_fork")? {
        let kwargs = pyo3::types::PyDict::new(py);
        kwargs.set_item("after_in_child", &after_fork)?;
        os.call_method("register_at_fork", (), Some(&kwargs))?;
    }
    m.add_function(after_fork)?;
    Ok(())
}
