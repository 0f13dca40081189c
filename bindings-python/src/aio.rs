//! Completion plumbing for `AsyncJournal`.
//!
//! The core calls a write's callback on its writer thread. That thread must
//! never wait for the GIL, so the callback only sends the result down a
//! channel. A per-journal completion thread (a Rust thread, invisible to
//! Python's shutdown) drains the channel, attaches to the interpreter once per
//! drained batch, builds the results and hands each event loop one
//! `call_soon_threadsafe(_resolve_many, [...])` for all of its futures.
//!
//! Reads and snapshot operations are blocking in the core; they run on a
//! per-journal worker thread (again a Rust thread) and complete the same way,
//! so no Python thread is parked per call.
//!
//! Tried and measured, not kept (commit e219d6c and its follow-up): a
//! per-loop queue woken through `loop.add_reader`, so that no foreign thread
//! takes the GIL. With 100 asyncio writers on the files backend it was no
//! faster and often slower: woken by the writer thread, the loop resolved the
//! first few results of a commit at once, so commits held fewer events;
//! woken by the completion thread after draining, it was not measurably
//! better than `call_soon_threadsafe`. The completion thread drains whatever
//! has queued (usually a whole commit's results) before it wakes the loop.

use std::panic::{catch_unwind, AssertUnwindSafe};

use crossbeam_channel::{Receiver, Sender};
use parking_lot::Mutex;
use pyo3::exceptions::PyRuntimeError;
use pyo3::intern;
use pyo3::prelude::*;
use pyo3::sync::PyOnceLock;
use pyo3::types::{PyBool, PyList, PyTuple};
use tidelog::{Result, SnapshotInfo, WriteReceipt};

use crate::errors;
use crate::model::{self, Page, Snapshot};

/// Set (under this lock) by the `atexit` hook. Completion threads hold the
/// lock while attached, so once it is set no thread attaches to a finalizing
/// interpreter.
static EXITING: Mutex<bool> = Mutex::new(false);

static RESOLVER: PyOnceLock<Py<PyAny>> = PyOnceLock::new();

/// Registers `_resolve_many`, the function every loop runs to settle futures.
pub fn set_resolver(py: Python<'_>, resolver: Py<PyAny>) {
    let _ = RESOLVER.set(py, resolver);
}

/// `atexit` hook: stop delivering completions before the interpreter finalizes.
#[pyfunction]
pub fn _on_exit(py: Python<'_>) {
    // Release the GIL while taking the lock: a completion thread may hold it
    // while it waits for the GIL.
    py.detach(|| *EXITING.lock() = true);
}

/// Settles a batch of futures on their loop: `items` is `[(future, ok, value)]`.
/// Cancelled futures are skipped.
#[pyfunction]
pub fn _resolve_many(items: &Bound<'_, PyList>) -> PyResult<()> {
    let py = items.py();
    for item in items.iter() {
        let item = item.cast_into::<PyTuple>()?;
        let future = item.get_item(0)?;
        if future.call_method0(intern!(py, "done"))?.is_truthy()? {
            continue;
        }
        let value = item.get_item(2)?;
        if item.get_item(1)?.is_truthy()? {
            future.call_method1(intern!(py, "set_result"), (value,))?;
        } else {
            future.call_method1(intern!(py, "set_exception"), (value,))?;
        }
    }
    Ok(())
}

/// The result of one asynchronous operation, still in Rust.
pub enum Outcome {
    Receipt(Result<WriteReceipt>),
    Writes(Vec<Result<WriteReceipt>>),
    Unit(Result<()>),
    Page(Result<Page>),
    /// A subscription's batch (`Closed`: it ended).
    Events(Result<Vec<tidelog::Event>>),
    U64(Result<u64>),
    Count(Result<usize>),
    Bool(Result<bool>),
    Strings(Result<Vec<String>>),
    Snapshot(Result<Option<tidelog::Snapshot>>),
    SnapshotInfos(Result<Vec<SnapshotInfo>>),
    Panicked(String),
}

fn settle<'py, T>(py: Python<'py>, r: Result<T>, ok: impl FnOnce(T) -> PyResult<Bound<'py, PyAny>>) -> PyResult<(bool, Bound<'py, PyAny>)> {
    match r {
        Ok(v) => Ok((true, ok(v)?)),
        Err(e) => Ok((false, errors::exception(py, &e))),
    }
}

impl Outcome {
    /// `(ok, value)`: the result, or the exception to set.
    fn into_py(self, py: Python<'_>) -> PyResult<(bool, Bound<'_, PyAny>)> {
        match self {
            Outcome::Receipt(r) => settle(py, r, |v| Ok(Bound::new(py, model::WriteReceipt::from(v))?.into_any())),
            Outcome::Writes(rs) => Ok((true, write_results(py, rs)?.into_any())),
            Outcome::Unit(r) => settle(py, r, |()| Ok(py.None().into_bound(py))),
            Outcome::Page(r) => settle(py, r, |p| Ok(p.into_list(py)?.into_any())),
            Outcome::Events(r) => settle(py, r, |v| Ok(Page::of_events(&v).into_list(py)?.into_any())),
            Outcome::U64(r) => settle(py, r, |v| Ok(v.into_pyobject(py)?.into_any())),
            Outcome::Count(r) => settle(py, r, |v| Ok(v.into_pyobject(py)?.into_any())),
            Outcome::Bool(r) => settle(py, r, |v| Ok(PyBool::new(py, v).to_owned().into_any())),
            Outcome::Strings(r) => settle(py, r, |v| Ok(PyList::new(py, v)?.into_any())),
            Outcome::Snapshot(r) => settle(py, r, |v| match v {
                Some(s) => Ok(Bound::new(py, Snapshot::from_core(py, s))?.into_any()),
                None => Ok(py.None().into_bound(py)),
            }),
            Outcome::SnapshotInfos(r) => settle(py, r, |v| Ok(snapshot_infos(py, v)?.into_any())),
            Outcome::Panicked(msg) => Ok((false, PyRuntimeError::new_err(msg).into_value(py).into_bound(py).into_any())),
        }
    }
}

/// `Journal.write`'s result list: a `WriteReceipt` or an exception instance per write.
pub fn write_results(py: Python<'_>, results: Vec<Result<WriteReceipt>>) -> PyResult<Bound<'_, PyList>> {
    let list = PyList::empty(py);
    for r in results {
        match r {
            Ok(receipt) => list.append(Bound::new(py, model::WriteReceipt::from(receipt))?)?,
            Err(e) => list.append(errors::exception(py, &e))?,
        }
    }
    Ok(list)
}

/// `[(sequence_nr, timestamp)]`, oldest first.
pub fn snapshot_infos(py: Python<'_>, infos: Vec<SnapshotInfo>) -> PyResult<Bound<'_, PyList>> {
    PyList::new(py, infos.into_iter().map(|i| (i.sequence_nr, i.timestamp)))
}

/// The asyncio future an operation completes, and its loop.
pub struct Pending {
    event_loop: Py<PyAny>,
    future: Py<PyAny>,
}

impl Pending {
    pub fn new(event_loop: &Bound<'_, PyAny>, future: &Bound<'_, PyAny>) -> Pending {
        Pending {
            event_loop: event_loop.clone().unbind(),
            future: future.clone().unbind(),
        }
    }
}

struct Done {
    pending: Pending,
    outcome: Outcome,
}

type Job = Box<dyn FnOnce() -> Outcome + Send + 'static>;

/// The per-journal completion and worker threads, started on first async use.
/// Both end when the journal object is gone and their queues are drained.
pub struct Plumbing {
    done: Sender<Done>,
    jobs: Sender<(Pending, Job)>,
}

impl Plumbing {
    pub fn start() -> std::io::Result<Plumbing> {
        let (done, done_rx) = crossbeam_channel::unbounded::<Done>();
        let (jobs, jobs_rx) = crossbeam_channel::unbounded::<(Pending, Job)>();
        std::thread::Builder::new()
            .name("tidelog-py-complete".into())
            .spawn(move || complete_loop(done_rx))?;
        let worker_done = done.clone();
        std::thread::Builder::new()
            .name("tidelog-py-worker".into())
            .spawn(move || work_loop(jobs_rx, worker_done))?;
        Ok(Plumbing { done, jobs })
    }

    /// A core callback that posts its result to the completion thread. It
    /// never blocks and never touches Python, so the writer thread may call it.
    pub fn callback<T: Send + 'static>(&self, pending: Pending, wrap: fn(T) -> Outcome) -> impl FnOnce(T) + Send + 'static {
        let done = self.done.clone();
        move |result| {
            // The completion thread outlives every sender; a failed send means
            // the process is tearing down, and there is no one left to tell.
            let _ = done.send(Done {
                pending,
                outcome: wrap(result),
            });
        }
    }

    /// Runs blocking work on the worker thread and completes `pending` with its outcome.
    pub fn run(&self, pending: Pending, job: impl FnOnce() -> Outcome + Send + 'static) {
        if let Err(crossbeam_channel::SendError((pending, _))) = self.jobs.send((pending, Box::new(job))) {
            let _ = self.done.send(Done {
                pending,
                outcome: Outcome::Panicked("tidelog worker thread is gone".into()),
            });
        }
    }
}

fn work_loop(jobs: Receiver<(Pending, Job)>, done: Sender<Done>) {
    for (pending, job) in jobs {
        let outcome = catch_unwind(AssertUnwindSafe(job))
            .unwrap_or_else(|_| Outcome::Panicked("tidelog: internal error (panic) in a blocking operation".into()));
        let _ = done.send(Done { pending, outcome });
    }
}

fn complete_loop(done: Receiver<Done>) {
    while let Ok(first) = done.recv() {
        let mut batch = vec![first];
        batch.extend(done.try_iter().take(16 * 1024));
        let exiting = EXITING.lock();
        if *exiting {
            // The interpreter is finalizing: its objects must not be touched,
            // not even to drop them.
            std::mem::forget(batch);
            continue;
        }
        // A panic here must not unwind into Python nor kill the thread silently.
        let _ = catch_unwind(AssertUnwindSafe(|| Python::attach(|py| deliver(py, batch))));
        drop(exiting);
    }
}

/// Resolves a batch: one `call_soon_threadsafe` per event loop.
fn deliver(py: Python<'_>, batch: Vec<Done>) {
    let Some(resolver) = RESOLVER.get(py) else { return };
    let mut groups: Vec<(Py<PyAny>, Bound<'_, PyList>)> = Vec::new();
    for d in batch {
        let (ok, value) = match d.outcome.into_py(py) {
            Ok(v) => v,
            Err(e) => (false, e.into_value(py).into_bound(py).into_any()),
        };
        let Ok(item) = PyTuple::new(
            py,
            [d.pending.future.into_bound(py), PyBool::new(py, ok).to_owned().into_any(), value],
        ) else {
            continue;
        };
        match groups.iter().find(|(l, _)| l.as_ptr() == d.pending.event_loop.as_ptr()) {
            Some((_, list)) => {
                let _ = list.append(item);
            }
            None => {
                let list = PyList::empty(py);
                let _ = list.append(item);
                groups.push((d.pending.event_loop, list));
            }
        }
    }
    for (event_loop, list) in groups {
        // Fails only when the loop is closed: nobody is waiting any more.
        let _ = event_loop
            .bind(py)
            .call_method1(intern!(py, "call_soon_threadsafe"), (resolver.bind(py), list));
    }
}
