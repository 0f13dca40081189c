//! `Subscription`: a live follow of the journal (`Journal.subscribe_all`, `subscribe_tag`,
//! `subscribe_stream`). Glue only: ordering, exactly-once and the wake-ups live in the core.
//!
//! - Blocking iteration (`for event in subscription`) waits with the GIL released, in slices
//!   of [`SIGNAL_CHECK`] so that Ctrl-C still interrupts it.
//! - `AsyncSubscription` (in `_aio.py`) awaits `_next_async`: the core calls back on the
//!   caller's thread or its tail thread; the journal's completion thread settles the future on
//!   its loop, like every other asynchronous operation.
//! - `close()` (and dropping the object) cancels the core subscription: a blocked iteration
//!   ends, a pending future gets `ClosedError`, which `AsyncSubscription` turns into the end.

use std::time::Duration;

use parking_lot::Mutex;
use pyo3::exceptions::PyRuntimeError;
use pyo3::prelude::*;
use pyo3::types::PyList;

use crate::aio::{Outcome, Pending};
use crate::errors::to_py_err;
use crate::journal::Journal;
use crate::model::{opt_u64_arg, Page};

/// How long a blocking wait runs before it looks for a pending signal (Ctrl-C).
const SIGNAL_CHECK: Duration = Duration::from_millis(100);

#[derive(Default)]
struct Buffered {
    page: Option<Py<PyList>>,
    index: usize,
}

/// A live follow of the journal: catches up from storage, then yields each newly committed
/// event, in order, exactly once. Iterate it (blocking) or wrap it in `AsyncSubscription`.
#[pyclass(frozen, module = "tidelog")]
pub struct Subscription {
    journal: Py<Journal>,
    core: tidelog::Subscription,
    batch_size: usize,
    buffered: Mutex<Buffered>,
}

impl Subscription {
    pub fn open(journal: &Bound<'_, Journal>, source: tidelog::SubscriptionSource, batch_size: usize) -> PyResult<Subscription> {
        let py = journal.py();
        let j = journal.get();
        j.core().check(py)?;
        let core = py.detach(|| j.core().subscribe(source)).map_err(|e| to_py_err(py, &e))?;
        Ok(Subscription {
            journal: journal.clone().unbind(),
            core,
            batch_size: batch_size.max(1),
            buffered: Mutex::default(),
        })
    }

    fn check(&self, py: Python<'_>) -> PyResult<()> {
        self.journal.get().core().check(py)
    }

    /// Blocks (GIL released) for the next batch; `None` at the end (closed or cancelled).
    fn wait_batch(&self, py: Python<'_>, max: usize, timeout: Option<Duration>) -> PyResult<Option<Vec<tidelog::Event>>> {
        let deadline = timeout.map(|t| std::time::Instant::now() + t);
        loop {
            let slice = match deadline {
                Some(d) => d.saturating_duration_since(std::time::Instant::now()).min(SIGNAL_CHECK),
                None => SIGNAL_CHECK,
            };
            match py.detach(|| self.core.next_batch_timeout(max, slice)) {
                Ok(batch) if !batch.is_empty() => return Ok(Some(batch)),
                Ok(_) if deadline.is_some_and(|d| std::time::Instant::now() >= d) => return Ok(Some(Vec::new())),
                Ok(_) => py.check_signals()?,
                Err(tidelog::Error::Closed) => return Ok(None),
                Err(e) => return Err(to_py_err(py, &e)),
            }
        }
    }
}

#[pymethods]
impl Subscription {
    fn __iter__(slf: Py<Self>) -> Py<Self> {
        slf
    }

    /// The next event; blocks until one is committed. Ends (`StopIteration`) once the
    /// subscription or its journal is closed.
    fn __next__(&self, py: Python<'_>) -> PyResult<Option<Py<PyAny>>> {
        self.check(py)?;
        // Never wait for this lock: its holder may be waiting for the GIL we hold.
        let mut state = self
            .buffered
            .try_lock()
            .ok_or_else(|| PyRuntimeError::new_err("Subscription is being advanced by another thread"))?;
        loop {
            if let Some(page) = &state.page {
                let page = page.bind(py);
                if state.index < page.len() {
                    let event = page.get_item(state.index)?;
                    state.index += 1;
                    return Ok(Some(event.unbind()));
                }
            }
            match self.wait_batch(py, self.batch_size, None)? {
                None => return Ok(None),
                Some(batch) => {
                    state.page = Some(Page::of_events(&batch).into_list(py)?.unbind());
                    state.index = 0;
                }
            }
        }
    }

    /// Up to `max` events (default: the batch size): blocks until at least one is committed,
    /// or `timeout` seconds passed (then `[]`). `[]` also once the subscription ended; check
    /// `closed` to tell them apart.
    #[pyo3(signature = (max = None, timeout = None))]
    fn next_batch<'py>(&self, py: Python<'py>, max: Option<&Bound<'py, PyAny>>, timeout: Option<f64>) -> PyResult<Bound<'py, PyList>> {
        self.check(py)?;
        let max = usize::try_from(opt_u64_arg(max, "max", self.batch_size as u64)?).unwrap_or(usize::MAX);
        let timeout = timeout
            .map(|t| {
                Duration::try_from_secs_f64(t)
                    .map_err(|_| pyo3::exceptions::PyValueError::new_err("timeout must be a non-negative number of seconds"))
            })
            .transpose()?;
        let batch = self.wait_batch(py, max, timeout)?.unwrap_or_default();
        Page::of_events(&batch).into_list(py)
    }

    /// The events committed and not yet delivered, up to `max`, without waiting.
    #[pyo3(signature = (max = None))]
    fn try_next_batch<'py>(&self, py: Python<'py>, max: Option<&Bound<'py, PyAny>>) -> PyResult<Bound<'py, PyList>> {
        self.check(py)?;
        let max = usize::try_from(opt_u64_arg(max, "max", self.batch_size as u64)?).unwrap_or(usize::MAX);
        match py.detach(|| self.core.try_next_batch(max)) {
            Ok(batch) => Page::of_events(&batch).into_list(py),
            Err(tidelog::Error::Closed) => Ok(PyList::empty(py)),
            Err(e) => Err(to_py_err(py, &e)),
        }
    }

    /// Ends the subscription (idempotent, from any thread): a blocked iteration stops, a
    /// pending `_next_async` fails with `ClosedError`.
    fn close(&self) {
        self.core.cancel();
    }

    /// True once closed, or once its journal closed.
    #[getter]
    fn closed(&self) -> bool {
        self.core.is_ended()
    }

    /// Where to resume: the next global offset (everything, tag) or sequence number (stream)
    /// this subscription would deliver.
    #[getter]
    fn position(&self) -> u64 {
        self.core.position()
    }

    /// The batch size iteration asks for.
    #[getter]
    fn batch_size(&self) -> usize {
        self.batch_size
    }

    fn __enter__(slf: Py<Self>) -> Py<Self> {
        slf
    }

    fn __exit__(&self, _exc_type: &Bound<'_, PyAny>, _exc: &Bound<'_, PyAny>, _tb: &Bound<'_, PyAny>) -> bool {
        self.core.cancel();
        false
    }

    fn __repr__(&self) -> String {
        format!(
            "<tidelog.Subscription {:?} position={} closed={}>",
            self.core.source(),
            self.core.position(),
            self.core.is_ended()
        )
    }

    /// The next batch for asyncio: settles `future` on `event_loop` with `list[Event]`
    /// (or `ClosedError` at the end). One request at a time.
    #[pyo3(signature = (event_loop, future, max = None))]
    fn _next_async(
        &self,
        py: Python<'_>,
        event_loop: &Bound<'_, PyAny>,
        future: &Bound<'_, PyAny>,
        max: Option<&Bound<'_, PyAny>>,
    ) -> PyResult<()> {
        self.check(py)?;
        let max = usize::try_from(opt_u64_arg(max, "max", self.batch_size as u64)?).unwrap_or(usize::MAX);
        let callback = self
            .journal
            .get()
            .plumbing()?
            .callback(Pending::new(event_loop, future), Outcome::Events);
        // May read a page at once: without the GIL.
        py.detach(|| self.core.next_batch_with(max, callback));
        Ok(())
    }
}
