//! `Journal` (blocking, GIL released while waiting) and `SnapshotStore`, plus
//! the private `_*_async` entry points that `tidelog.AsyncJournal` awaits.

// Python methods take their options as keyword arguments.
#![allow(clippy::too_many_arguments)]

use std::path::PathBuf;
use std::sync::OnceLock;
use std::time::Duration;

use pyo3::exceptions::{PyRuntimeError, PyValueError};
use pyo3::prelude::*;
use pyo3::types::{PyDict, PyList, PyString};
use tidelog::{Backend, Options, SyncPolicy};

use crate::aio::{self, Outcome, Pending, Plumbing};
use crate::errors::to_py_err;
use crate::fork::Core;
use crate::model::{self, extract_events, extract_writes, max_arg, opt_u64_arg, u64_arg, Page, Snapshot, WriteReceipt};
use crate::subscription::Subscription;
use crate::wait::Slot;

fn seconds(value: f64, name: &str) -> PyResult<Duration> {
    Duration::try_from_secs_f64(value)
        .map_err(|_| PyValueError::new_err(format!("{name} must be a non-negative number of seconds, got {value}")))
}

fn options(
    backend: &str,
    sync: &str,
    sync_interval: f64,
    max_batch_events: usize,
    max_batch_bytes: usize,
    max_batch_delay: f64,
    max_event_bytes: usize,
    close_timeout: f64,
    lmdb_map_size: usize,
    segment_bytes: u64,
    read_only: bool,
    snapshot_compression: bool,
) -> PyResult<Options> {
    let backend: Backend = match backend {
        "lmdb" => Backend::Lmdb,
        "files" => Backend::Files,
        "memory" => Backend::Memory,
        // Chosen by a `postgresql://` path anyway; accepted so a backend parameter can name it.
        "postgres" => Backend::Postgres,
        other => {
            return Err(PyValueError::new_err(format!(
                "backend must be \"lmdb\", \"files\", \"memory\" or \"postgres\", got {other:?}"
            )))
        }
    };
    let sync = match sync {
        "always" => SyncPolicy::Always,
        "interval" => SyncPolicy::Interval(seconds(sync_interval, "sync_interval")?),
        "never" => SyncPolicy::Never,
        other => {
            return Err(PyValueError::new_err(format!(
                "sync must be \"always\", \"interval\" or \"never\", got {other:?}"
            )))
        }
    };
    Ok(Options::new()
        .backend(backend)
        .sync(sync)
        .max_batch_events(max_batch_events)
        .max_batch_bytes(max_batch_bytes)
        .max_batch_delay(seconds(max_batch_delay, "max_batch_delay")?)
        .max_event_bytes(max_event_bytes)
        .close_timeout(seconds(close_timeout, "close_timeout")?)
        .lmdb_map_size(lmdb_map_size)
        .segment_bytes(segment_bytes)
        .read_only(read_only)
        .snapshot_compression(snapshot_compression))
}

/// An open event journal (blocking API). See the package documentation.
#[pyclass(frozen, module = "tidelog")]
pub struct Journal {
    core: Core,
    plumbing: OnceLock<Plumbing>,
}

impl Journal {
    pub(crate) fn core(&self) -> &Core {
        &self.core
    }

    pub(crate) fn plumbing(&self) -> PyResult<&Plumbing> {
        if let Some(p) = self.plumbing.get() {
            return Ok(p);
        }
        let started =
            Plumbing::start().map_err(|e| PyRuntimeError::new_err(format!("cannot start the tidelog completion threads: {e}")))?;
        // A concurrent first use may have won; its plumbing is kept, ours dropped.
        let _ = self.plumbing.set(started);
        Ok(self.plumbing.get().expect("set above"))
    }

    fn scan_page(core: &tidelog::Journal, persistence_id: &str, from: u64, to: u64, max: usize) -> tidelog::Result<Page> {
        let mut page = Page::for_read(max);
        core.scan(persistence_id, from, to, max, |e| {
            page.push(e);
            true
        })?;
        Ok(page)
    }

    fn tag_page(core: &tidelog::Journal, tag: Option<&str>, from_offset: u64, max: usize) -> tidelog::Result<Page> {
        let mut page = Page::default();
        let visit = |e: tidelog::EventRef<'_>| {
            page.push(e);
            true
        };
        match tag {
            Some(tag) => core.scan_tag(tag, from_offset, max, visit)?,
            None => core.scan_all(from_offset, max, visit)?,
        }
        Ok(page)
    }
}

fn metrics_dict<'py>(py: Python<'py>, m: &tidelog::MetricsSnapshot) -> PyResult<Bound<'py, PyDict>> {
    let d = PyDict::new(py);
    for (k, v) in [
        ("appends", m.appends),
        ("events", m.events),
        ("bytes", m.bytes),
        ("batches", m.batches),
        ("fsyncs", m.fsyncs),
        ("failed_writes", m.failed_writes),
        ("sequence_conflicts", m.sequence_conflicts),
        ("repaired_tails", m.repaired_tails),
        ("repaired_bytes", m.repaired_bytes),
        ("skipped_corrupt_snapshots", m.skipped_corrupt_snapshots),
        ("lmdb_map_resizes", m.lmdb_map_resizes),
        ("segments_reclaimed", m.segments_reclaimed),
    ] {
        d.set_item(k, v)?;
    }
    for (k, h) in [("commit_latency_us", &m.commit_latency_us), ("batch_events", &m.batch_events)] {
        let hd = PyDict::new(py);
        hd.set_item("count", h.count)?;
        hd.set_item("sum", h.sum)?;
        hd.set_item("max", h.max)?;
        hd.set_item("mean", h.mean())?;
        hd.set_item("p50", h.quantile_upper_bound(0.5))?;
        hd.set_item("p99", h.quantile_upper_bound(0.99))?;
        hd.set_item("buckets", h.buckets.clone())?;
        d.set_item(k, hd)?;
    }
    Ok(d)
}

#[pymethods]
impl Journal {
    /// Opens (creating if needed) the journal at `path`.
    #[staticmethod]
    #[pyo3(signature = (path, *, backend = "lmdb".to_string(), sync = "always".to_string(), sync_interval = 0.1, max_batch_events = 4096,
        max_batch_bytes = 4 << 20, max_batch_delay = 0.0, max_event_bytes = 64 << 20, close_timeout = 5.0,
        lmdb_map_size = 64 << 20, segment_bytes = 64 << 20, read_only = false, snapshot_compression = false),
        text_signature = "(path, *, backend='lmdb', sync='always', sync_interval=0.1, max_batch_events=4096, max_batch_bytes=4194304, max_batch_delay=0.0, max_event_bytes=67108864, close_timeout=5.0, lmdb_map_size=67108864, segment_bytes=67108864, read_only=False, snapshot_compression=False)")]
    fn open(
        py: Python<'_>,
        path: PathBuf,
        backend: String,
        sync: String,
        sync_interval: f64,
        max_batch_events: usize,
        max_batch_bytes: usize,
        max_batch_delay: f64,
        max_event_bytes: usize,
        close_timeout: f64,
        lmdb_map_size: usize,
        segment_bytes: u64,
        read_only: bool,
        snapshot_compression: bool,
    ) -> PyResult<Journal> {
        let options = options(
            &backend,
            &sync,
            sync_interval,
            max_batch_events,
            max_batch_bytes,
            max_batch_delay,
            max_event_bytes,
            close_timeout,
            lmdb_map_size,
            segment_bytes,
            read_only,
            snapshot_compression,
        )?;
        let core = py
            .detach(|| tidelog::Journal::open(&path, options))
            .map_err(|e| to_py_err(py, &e))?;
        Ok(Journal {
            core: Core::new(core),
            plumbing: OnceLock::new(),
        })
    }

    /// The journal's directory (for PostgreSQL, use `location`: a URI is no path).
    #[getter]
    fn path(&self) -> PathBuf {
        self.core.path().to_path_buf()
    }

    /// Where the journal lives, as given to `open`: its directory, or its PostgreSQL
    /// connection URI without the password.
    #[getter]
    fn location(&self) -> String {
        self.core.path().to_string_lossy().into_owned()
    }

    /// The backend in use: `"lmdb"`, `"files"`, `"memory"` or `"postgres"`.
    #[getter]
    fn backend(&self) -> &'static str {
        self.core.backend().name()
    }

    /// True once `close` was called.
    #[getter]
    fn closed(&self) -> bool {
        self.core.is_closed()
    }

    /// Appends events to a stream as one atomic write.
    fn append(&self, py: Python<'_>, persistence_id: String, events: &Bound<'_, PyAny>) -> PyResult<WriteReceipt> {
        self.core.check(py)?;
        let events = extract_events(events)?;
        // The core's blocking append commits on this thread when the writer is idle
        // (no hand-off), so the whole call runs without the GIL.
        py.detach(|| self.core.append(&persistence_id, events))
            .map(WriteReceipt::from)
            .map_err(|e| to_py_err(py, &e))
    }

    /// Commits explicit atomic writes in one group commit; one result per write.
    fn write<'py>(&self, py: Python<'py>, writes: &Bound<'py, PyAny>) -> PyResult<Bound<'py, PyList>> {
        self.core.check(py)?;
        let writes = extract_writes(writes)?;
        let (slot, callback) = Slot::new();
        self.core.write_with(writes, callback);
        let results = py.detach(|| slot.wait()).ok_or_else(|| to_py_err(py, &tidelog::Error::Closed))?;
        aio::write_results(py, results)
    }

    /// Events of a stream with `from_sequence_nr <= sequence_nr <= to_sequence_nr`, oldest first.
    #[pyo3(signature = (persistence_id, from_sequence_nr = None, to_sequence_nr = None, max = None))]
    fn read<'py>(
        &self,
        py: Python<'py>,
        persistence_id: &Bound<'py, PyString>,
        from_sequence_nr: Option<&Bound<'py, PyAny>>,
        to_sequence_nr: Option<&Bound<'py, PyAny>>,
        max: Option<&Bound<'py, PyAny>>,
    ) -> PyResult<Bound<'py, PyList>> {
        self.core.check(py)?;
        let pid = persistence_id.to_cow()?;
        let from = opt_u64_arg(from_sequence_nr, "from_sequence_nr", 1)?;
        let to = opt_u64_arg(to_sequence_nr, "to_sequence_nr", u64::MAX)?;
        let max = max_arg(max)?;
        let page = py
            .detach(|| Self::scan_page(&self.core, &pid, from, to, max))
            .map_err(|e| to_py_err(py, &e))?;
        page.into_list_of(py, Some(persistence_id))
    }

    /// Iterates over a stream's events, reading `page_size` events per call
    /// into the core (each page is read without the GIL). Events committed
    /// while iterating are included if they fall in the range.
    #[pyo3(signature = (persistence_id, from_sequence_nr = None, to_sequence_nr = None, page_size = 10_000))]
    fn iter_events(
        &self,
        persistence_id: String,
        from_sequence_nr: Option<&Bound<'_, PyAny>>,
        to_sequence_nr: Option<&Bound<'_, PyAny>>,
        page_size: usize,
    ) -> PyResult<EventIterator> {
        if page_size == 0 {
            return Err(PyValueError::new_err("page_size must be at least 1"));
        }
        Ok(EventIterator {
            core: self.core.clone(),
            persistence_id,
            next_from: opt_u64_arg(from_sequence_nr, "from_sequence_nr", 1)?,
            to: opt_u64_arg(to_sequence_nr, "to_sequence_nr", u64::MAX)?,
            page_size,
            state: parking_lot::Mutex::new(IterState {
                page: None,
                index: 0,
                done: false,
            }),
        })
    }

    /// Highest sequence number ever written to the stream (0 if none); survives `delete_to`.
    fn highest_sequence_nr(&self, py: Python<'_>, persistence_id: String) -> PyResult<u64> {
        self.core.check(py)?;
        py.detach(|| self.core.highest_sequence_nr(&persistence_id))
            .map_err(|e| to_py_err(py, &e))
    }

    /// The global offset the next committed event will get (1 for an empty journal).
    fn next_global_offset(&self, py: Python<'_>) -> PyResult<u64> {
        self.core.check(py)?;
        py.detach(|| self.core.next_global_offset()).map_err(|e| to_py_err(py, &e))
    }

    /// Deletes the stream's events up to and including `to_sequence_nr`.
    fn delete_to(&self, py: Python<'_>, persistence_id: String, to_sequence_nr: &Bound<'_, PyAny>) -> PyResult<()> {
        self.core.check(py)?;
        let to = u64_arg(to_sequence_nr, "to_sequence_nr")?;
        let (slot, callback) = Slot::new();
        self.core.delete_to_with(&persistence_id, to, callback);
        py.detach(|| slot.wait().unwrap_or(Err(tidelog::Error::Closed)))
            .map_err(|e| to_py_err(py, &e))
    }

    /// Every persistence id ever written, sorted.
    fn persistence_ids(&self, py: Python<'_>) -> PyResult<Vec<String>> {
        self.core.check(py)?;
        py.detach(|| self.core.persistence_ids()).map_err(|e| to_py_err(py, &e))
    }

    /// Events carrying `tag` with `global_offset >= from_offset`, in commit order.
    #[pyo3(signature = (tag, from_offset = None, max = None))]
    fn events_by_tag<'py>(
        &self,
        py: Python<'py>,
        tag: String,
        from_offset: Option<&Bound<'py, PyAny>>,
        max: Option<&Bound<'py, PyAny>>,
    ) -> PyResult<Bound<'py, PyList>> {
        self.core.check(py)?;
        let from = opt_u64_arg(from_offset, "from_offset", 0)?;
        let max = max_arg(max)?;
        let page = py
            .detach(|| Self::tag_page(&self.core, Some(&tag), from, max))
            .map_err(|e| to_py_err(py, &e))?;
        page.into_list(py)
    }

    /// Every live event with `global_offset >= from_offset`, in commit order.
    #[pyo3(signature = (from_offset = None, max = None))]
    fn all_events<'py>(
        &self,
        py: Python<'py>,
        from_offset: Option<&Bound<'py, PyAny>>,
        max: Option<&Bound<'py, PyAny>>,
    ) -> PyResult<Bound<'py, PyList>> {
        self.core.check(py)?;
        let from = opt_u64_arg(from_offset, "from_offset", 0)?;
        let max = max_arg(max)?;
        let page = py
            .detach(|| Self::tag_page(&self.core, None, from, max))
            .map_err(|e| to_py_err(py, &e))?;
        page.into_list(py)
    }

    /// Waits until everything submitted before is committed and on stable storage.
    fn flush(&self, py: Python<'_>) -> PyResult<()> {
        self.core.check(py)?;
        let (slot, callback) = Slot::new();
        self.core.flush_with(callback);
        py.detach(|| slot.wait().unwrap_or(Err(tidelog::Error::Closed)))
            .map_err(|e| to_py_err(py, &e))
    }

    /// Current metrics as a dict of counters and histograms.
    fn metrics<'py>(&self, py: Python<'py>) -> PyResult<Bound<'py, PyDict>> {
        self.core.check(py)?;
        metrics_dict(py, &self.core.metrics())
    }

    /// Current metrics in the Prometheus text format.
    fn metrics_prometheus(&self) -> String {
        self.core.metrics().to_prometheus()
    }

    /// The journal's snapshot store.
    #[getter]
    fn snapshots(&self) -> SnapshotStore {
        SnapshotStore { core: self.core.clone() }
    }

    /// Follows every event from global offset `from_offset` live: a blocking iterator
    /// (`AsyncJournal.subscribe_all` for `async for`). See `Subscription`.
    #[pyo3(signature = (from_offset = None, *, batch_size = 1000))]
    fn subscribe_all(slf: &Bound<'_, Self>, from_offset: Option<&Bound<'_, PyAny>>, batch_size: usize) -> PyResult<Subscription> {
        let from_offset = opt_u64_arg(from_offset, "from_offset", 0)?;
        Subscription::open(slf, tidelog::SubscriptionSource::All { from_offset }, batch_size)
    }

    /// Follows the events carrying `tag` from global offset `from_offset` live.
    #[pyo3(signature = (tag, from_offset = None, *, batch_size = 1000))]
    fn subscribe_tag(
        slf: &Bound<'_, Self>,
        tag: String,
        from_offset: Option<&Bound<'_, PyAny>>,
        batch_size: usize,
    ) -> PyResult<Subscription> {
        let from_offset = opt_u64_arg(from_offset, "from_offset", 0)?;
        Subscription::open(slf, tidelog::SubscriptionSource::Tag { tag, from_offset }, batch_size)
    }

    /// Follows one stream from sequence number `from_sequence_nr` live.
    #[pyo3(signature = (persistence_id, from_sequence_nr = None, *, batch_size = 1000))]
    fn subscribe_stream(
        slf: &Bound<'_, Self>,
        persistence_id: String,
        from_sequence_nr: Option<&Bound<'_, PyAny>>,
        batch_size: usize,
    ) -> PyResult<Subscription> {
        let from_sequence_nr = opt_u64_arg(from_sequence_nr, "from_sequence_nr", 1)?;
        Subscription::open(
            slf,
            tidelog::SubscriptionSource::Stream {
                persistence_id,
                from_sequence_nr,
            },
            batch_size,
        )
    }

    /// Commits what is queued (within `close_timeout`), fails the rest with
    /// `ClosedError`, and releases the files. Idempotent.
    fn close(&self, py: Python<'_>) -> PyResult<()> {
        if !self.core.owned_here() {
            return Ok(()); // a forked child: the parent's journal is not ours to close
        }
        py.detach(|| self.core.close()).map_err(|e| to_py_err(py, &e))
    }

    fn __enter__(slf: Py<Self>) -> Py<Self> {
        slf
    }

    fn __exit__(&self, py: Python<'_>, _exc_type: &Bound<'_, PyAny>, _exc: &Bound<'_, PyAny>, _tb: &Bound<'_, PyAny>) -> PyResult<bool> {
        self.close(py)?;
        Ok(false)
    }

    fn __repr__(&self) -> String {
        format!(
            "Journal(path={:?}, backend={:?}, closed={})",
            self.core.path().display().to_string(),
            self.core.backend().name(),
            self.core.is_closed()
        )
    }

    /// Benchmark helper (private): `n` blocking core appends of `payload`
    /// from Rust, without crossing into Python per call. Returns the seconds
    /// taken, so benchmarks can separate the binding's cost from the core's.
    fn _core_append_loop(&self, py: Python<'_>, persistence_id: String, payload: Vec<u8>, n: u64) -> PyResult<f64> {
        self.core.check(py)?;
        py.detach(|| {
            let start = std::time::Instant::now();
            for _ in 0..n {
                self.core.append(&persistence_id, vec![tidelog::NewEvent::new(payload.clone())])?;
            }
            Ok(start.elapsed().as_secs_f64())
        })
        .map_err(|e: tidelog::Error| to_py_err(py, &e))
    }

    // ---- entry points for tidelog.AsyncJournal ---------------------------
    // Each takes the running loop and a future created on it, starts the
    // operation and returns at once; the completion thread settles the future.

    fn _append_async(
        &self,
        event_loop: &Bound<'_, PyAny>,
        future: &Bound<'_, PyAny>,
        persistence_id: String,
        events: &Bound<'_, PyAny>,
    ) -> PyResult<()> {
        self.core.check(event_loop.py())?;
        let events = extract_events(events)?;
        let callback = self.plumbing()?.callback(Pending::new(event_loop, future), Outcome::Receipt);
        self.core.append_with(&persistence_id, events, callback);
        Ok(())
    }

    fn _write_async(&self, event_loop: &Bound<'_, PyAny>, future: &Bound<'_, PyAny>, writes: &Bound<'_, PyAny>) -> PyResult<()> {
        self.core.check(event_loop.py())?;
        let writes = extract_writes(writes)?;
        let callback = self.plumbing()?.callback(Pending::new(event_loop, future), Outcome::Writes);
        self.core.write_with(writes, callback);
        Ok(())
    }

    fn _delete_to_async(
        &self,
        event_loop: &Bound<'_, PyAny>,
        future: &Bound<'_, PyAny>,
        persistence_id: String,
        to_sequence_nr: &Bound<'_, PyAny>,
    ) -> PyResult<()> {
        self.core.check(event_loop.py())?;
        let to = u64_arg(to_sequence_nr, "to_sequence_nr")?;
        let callback = self.plumbing()?.callback(Pending::new(event_loop, future), Outcome::Unit);
        self.core.delete_to_with(&persistence_id, to, callback);
        Ok(())
    }

    fn _flush_async(&self, event_loop: &Bound<'_, PyAny>, future: &Bound<'_, PyAny>) -> PyResult<()> {
        self.core.check(event_loop.py())?;
        let callback = self.plumbing()?.callback(Pending::new(event_loop, future), Outcome::Unit);
        self.core.flush_with(callback);
        Ok(())
    }

    #[pyo3(signature = (event_loop, future, persistence_id, from_sequence_nr = None, to_sequence_nr = None, max = None))]
    fn _read_async(
        &self,
        event_loop: &Bound<'_, PyAny>,
        future: &Bound<'_, PyAny>,
        persistence_id: String,
        from_sequence_nr: Option<&Bound<'_, PyAny>>,
        to_sequence_nr: Option<&Bound<'_, PyAny>>,
        max: Option<&Bound<'_, PyAny>>,
    ) -> PyResult<()> {
        self.core.check(event_loop.py())?;
        let from = opt_u64_arg(from_sequence_nr, "from_sequence_nr", 1)?;
        let to = opt_u64_arg(to_sequence_nr, "to_sequence_nr", u64::MAX)?;
        let max = max_arg(max)?;
        let core = self.core.clone();
        self.plumbing()?.run(Pending::new(event_loop, future), move || {
            Outcome::Page(Self::scan_page(&core, &persistence_id, from, to, max))
        });
        Ok(())
    }

    #[pyo3(signature = (event_loop, future, tag, from_offset = None, max = None))]
    fn _events_by_tag_async(
        &self,
        event_loop: &Bound<'_, PyAny>,
        future: &Bound<'_, PyAny>,
        tag: Option<String>,
        from_offset: Option<&Bound<'_, PyAny>>,
        max: Option<&Bound<'_, PyAny>>,
    ) -> PyResult<()> {
        self.core.check(event_loop.py())?;
        let from = opt_u64_arg(from_offset, "from_offset", 0)?;
        let max = max_arg(max)?;
        let core = self.core.clone();
        self.plumbing()?.run(Pending::new(event_loop, future), move || {
            Outcome::Page(Self::tag_page(&core, tag.as_deref(), from, max))
        });
        Ok(())
    }

    fn _highest_sequence_nr_async(&self, event_loop: &Bound<'_, PyAny>, future: &Bound<'_, PyAny>, persistence_id: String) -> PyResult<()> {
        self.core.check(event_loop.py())?;
        let core = self.core.clone();
        self.plumbing()?.run(Pending::new(event_loop, future), move || {
            Outcome::U64(core.highest_sequence_nr(&persistence_id))
        });
        Ok(())
    }

    fn _next_global_offset_async(&self, event_loop: &Bound<'_, PyAny>, future: &Bound<'_, PyAny>) -> PyResult<()> {
        self.core.check(event_loop.py())?;
        let core = self.core.clone();
        self.plumbing()?
            .run(Pending::new(event_loop, future), move || Outcome::U64(core.next_global_offset()));
        Ok(())
    }

    fn _persistence_ids_async(&self, event_loop: &Bound<'_, PyAny>, future: &Bound<'_, PyAny>) -> PyResult<()> {
        self.core.check(event_loop.py())?;
        let core = self.core.clone();
        self.plumbing()?
            .run(Pending::new(event_loop, future), move || Outcome::Strings(core.persistence_ids()));
        Ok(())
    }

    fn _close_async(&self, event_loop: &Bound<'_, PyAny>, future: &Bound<'_, PyAny>) -> PyResult<()> {
        self.core.check(event_loop.py())?;
        let core = self.core.clone();
        self.plumbing()?
            .run(Pending::new(event_loop, future), move || Outcome::Unit(core.close()));
        Ok(())
    }

    /// Runs a snapshot operation on the worker thread: `op` is the
    /// `SnapshotStore` method name, `args` its positional arguments.
    #[pyo3(signature = (event_loop, future, op, persistence_id, *args, **kwargs))]
    fn _snapshot_async(
        &self,
        event_loop: &Bound<'_, PyAny>,
        future: &Bound<'_, PyAny>,
        op: String,
        persistence_id: Option<String>,
        args: &Bound<'_, pyo3::types::PyTuple>,
        kwargs: Option<&Bound<'_, PyDict>>,
    ) -> PyResult<()> {
        self.core.check(event_loop.py())?;
        let kw = |name: &str| -> PyResult<Option<Bound<'_, PyAny>>> {
            match kwargs {
                Some(k) => k.get_item(name),
                None => Ok(None),
            }
        };
        let arg = |i: usize| args.get_item(i);
        let pid = persistence_id.unwrap_or_default();
        let core = self.core.clone();
        let job: Box<dyn FnOnce() -> Outcome + Send> = match op.as_str() {
            "save" => {
                let snapshot = model::new_snapshot(
                    pid,
                    &arg(0)?,
                    &arg(1)?,
                    kw("timestamp")?.as_ref(),
                    kw("manifest")?.map(|m| m.extract()).transpose()?.unwrap_or_default(),
                    kw("metadata")?.as_ref(),
                )?;
                Box::new(move || Outcome::Unit(core.snapshots().save(&snapshot)))
            }
            "load" | "delete_matching" => {
                let c = model::criteria(
                    kw("max_sequence_nr")?.as_ref(),
                    kw("max_timestamp")?.as_ref(),
                    kw("min_sequence_nr")?.as_ref(),
                    kw("min_timestamp")?.as_ref(),
                )?;
                if op == "load" {
                    Box::new(move || Outcome::Snapshot(core.snapshots().load(&pid, c)))
                } else {
                    Box::new(move || Outcome::Count(core.snapshots().delete_matching(&pid, c)))
                }
            }
            "list" => Box::new(move || Outcome::SnapshotInfos(core.snapshots().list(&pid))),
            "delete" => {
                let seq = u64_arg(&arg(0)?, "sequence_nr")?;
                Box::new(move || Outcome::Bool(core.snapshots().delete(&pid, seq)))
            }
            "prune" => {
                let keep = usize::try_from(u64_arg(&arg(0)?, "keep_last_n")?).unwrap_or(usize::MAX);
                Box::new(move || Outcome::Count(core.snapshots().prune(&pid, keep)))
            }
            "persistence_ids" => Box::new(move || Outcome::Strings(core.snapshots().persistence_ids())),
            other => return Err(PyValueError::new_err(format!("unknown snapshot operation {other:?}"))),
        };
        self.plumbing()?.run(Pending::new(event_loop, future), job);
        Ok(())
    }
}

struct IterState {
    page: Option<Py<PyList>>,
    index: usize,
    done: bool,
}

/// Iterator over a stream's events, one page per crossing (`Journal.iter_events`).
#[pyclass(frozen, module = "tidelog")]
pub struct EventIterator {
    core: Core,
    persistence_id: String,
    next_from: u64,
    to: u64,
    page_size: usize,
    state: parking_lot::Mutex<IterState>,
}

#[pymethods]
impl EventIterator {
    fn __iter__(slf: Py<Self>) -> Py<Self> {
        slf
    }

    fn __next__(&self, py: Python<'_>) -> PyResult<Option<Py<PyAny>>> {
        self.core.check(py)?;
        // Never wait for this lock: its holder may be waiting for the GIL we hold.
        let mut guard = self
            .state
            .try_lock()
            .ok_or_else(|| PyRuntimeError::new_err("EventIterator is being advanced by another thread"))?;
        let state = &mut *guard;
        loop {
            if let Some(page) = &state.page {
                let page = page.bind(py);
                if state.index < page.len() {
                    let event = page.get_item(state.index)?;
                    state.index += 1;
                    return Ok(Some(event.unbind()));
                }
            }
            if state.done {
                return Ok(None);
            }
            // Resume after the last event handed out.
            let last = state.page.as_ref().and_then(|p| p.bind(py).iter().last());
            let from = match last {
                Some(last) => last.cast::<model::Event>()?.get().sequence_nr().saturating_add(1),
                None => self.next_from,
            };
            if from > self.to || from == u64::MAX {
                state.done = true;
                continue;
            }
            let (core, pid, to, size) = (&self.core, &self.persistence_id, self.to, self.page_size);
            let page = py
                .detach(|| Journal::scan_page(core, pid, from, to, size))
                .map_err(|e| to_py_err(py, &e))?;
            let list = page.into_list(py)?;
            state.done = list.len() < self.page_size;
            state.page = Some(list.unbind());
            state.index = 0;
        }
    }
}

/// The snapshots of one journal (blocking; the GIL is released during file I/O).
#[pyclass(frozen, module = "tidelog")]
pub struct SnapshotStore {
    core: Core,
}

#[pymethods]
impl SnapshotStore {
    /// Stores a snapshot atomically and durably; one with the same sequence number is replaced.
    #[pyo3(signature = (persistence_id, sequence_nr, state, *, timestamp = None, manifest = String::new(), metadata = None))]
    fn save(
        &self,
        py: Python<'_>,
        persistence_id: String,
        sequence_nr: &Bound<'_, PyAny>,
        state: &Bound<'_, PyAny>,
        timestamp: Option<&Bound<'_, PyAny>>,
        manifest: String,
        metadata: Option<&Bound<'_, PyAny>>,
    ) -> PyResult<()> {
        self.core.check(py)?;
        let snapshot = model::new_snapshot(persistence_id, sequence_nr, state, timestamp, manifest, metadata)?;
        py.detach(|| self.core.snapshots().save(&snapshot)).map_err(|e| to_py_err(py, &e))
    }

    /// The newest snapshot matching the criteria (`None` bounds are open), or `None`.
    #[pyo3(signature = (persistence_id, *, max_sequence_nr = None, max_timestamp = None, min_sequence_nr = None, min_timestamp = None))]
    fn load(
        &self,
        py: Python<'_>,
        persistence_id: String,
        max_sequence_nr: Option<&Bound<'_, PyAny>>,
        max_timestamp: Option<&Bound<'_, PyAny>>,
        min_sequence_nr: Option<&Bound<'_, PyAny>>,
        min_timestamp: Option<&Bound<'_, PyAny>>,
    ) -> PyResult<Option<Snapshot>> {
        self.core.check(py)?;
        let c = model::criteria(max_sequence_nr, max_timestamp, min_sequence_nr, min_timestamp)?;
        let found = py
            .detach(|| self.core.snapshots().load(&persistence_id, c))
            .map_err(|e| to_py_err(py, &e))?;
        Ok(found.map(|s| Snapshot::from_core(py, s)))
    }

    /// `[(sequence_nr, timestamp)]` of the stream's snapshots, oldest first.
    fn list<'py>(&self, py: Python<'py>, persistence_id: String) -> PyResult<Bound<'py, PyList>> {
        self.core.check(py)?;
        let infos = py
            .detach(|| self.core.snapshots().list(&persistence_id))
            .map_err(|e| to_py_err(py, &e))?;
        aio::snapshot_infos(py, infos)
    }

    /// Deletes the snapshot with this sequence number; returns whether one existed.
    fn delete(&self, py: Python<'_>, persistence_id: String, sequence_nr: &Bound<'_, PyAny>) -> PyResult<bool> {
        self.core.check(py)?;
        let seq = u64_arg(sequence_nr, "sequence_nr")?;
        py.detach(|| self.core.snapshots().delete(&persistence_id, seq))
            .map_err(|e| to_py_err(py, &e))
    }

    /// Deletes every snapshot matching the criteria; returns how many.
    #[pyo3(signature = (persistence_id, *, max_sequence_nr = None, max_timestamp = None, min_sequence_nr = None, min_timestamp = None))]
    fn delete_matching(
        &self,
        py: Python<'_>,
        persistence_id: String,
        max_sequence_nr: Option<&Bound<'_, PyAny>>,
        max_timestamp: Option<&Bound<'_, PyAny>>,
        min_sequence_nr: Option<&Bound<'_, PyAny>>,
        min_timestamp: Option<&Bound<'_, PyAny>>,
    ) -> PyResult<usize> {
        self.core.check(py)?;
        let c = model::criteria(max_sequence_nr, max_timestamp, min_sequence_nr, min_timestamp)?;
        py.detach(|| self.core.snapshots().delete_matching(&persistence_id, c))
            .map_err(|e| to_py_err(py, &e))
    }

    /// Keeps the `keep_last_n` newest snapshots and deletes the rest; returns how many were deleted.
    fn prune(&self, py: Python<'_>, persistence_id: String, keep_last_n: &Bound<'_, PyAny>) -> PyResult<usize> {
        self.core.check(py)?;
        let keep = usize::try_from(u64_arg(keep_last_n, "keep_last_n")?).unwrap_or(usize::MAX);
        py.detach(|| self.core.snapshots().prune(&persistence_id, keep))
            .map_err(|e| to_py_err(py, &e))
    }

    /// Every persistence id that has at least one snapshot.
    fn persistence_ids(&self, py: Python<'_>) -> PyResult<Vec<String>> {
        self.core.check(py)?;
        py.detach(|| self.core.snapshots().persistence_ids()).map_err(|e| to_py_err(py, &e))
    }
}
