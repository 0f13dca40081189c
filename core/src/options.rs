//! Journal configuration: a builder with documented defaults.

use std::time::Duration;

use crate::error::{InvalidArgument, Result};

/// Where events are stored.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum Backend {
    /// LMDB through `heed` (default): one memory-mapped B-tree file.
    #[default]
    Lmdb,
    /// Append-only segment files with CRC32-framed records.
    Files,
    /// In-process memory, for tests. Nothing survives `close`.
    Memory,
    /// A PostgreSQL database shared by every writer of a cluster. Chosen by opening a
    /// `postgresql://` (or `postgres://`) connection URI where a journal directory goes.
    Postgres,
}

impl Backend {
    /// The name used in options and on the command line: `lmdb`, `files`, `memory`, `postgres`.
    pub fn name(self) -> &'static str {
        match self {
            Backend::Lmdb => "lmdb",
            Backend::Files => "files",
            Backend::Memory => "memory",
            Backend::Postgres => "postgres",
        }
    }
}

impl std::str::FromStr for Backend {
    type Err = crate::Error;
    fn from_str(s: &str) -> Result<Self> {
        match s {
            "lmdb" => Ok(Backend::Lmdb),
            "files" | "segments" => Ok(Backend::Files),
            "memory" => Ok(Backend::Memory),
            "postgres" | "postgresql" => Ok(Backend::Postgres),
            _ => Err(InvalidArgument::Option {
                option: "backend",
                reason: "expected lmdb, files, memory or postgres",
            }
            .into()),
        }
    }
}

/// When a write becomes durable relative to its acknowledgement.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum SyncPolicy {
    /// Acknowledge only after the batch is on stable storage (default).
    #[default]
    Always,
    /// Acknowledge after the write reaches the OS; flush at most this often.
    /// A power loss may lose up to this much acknowledged time; a process crash loses nothing.
    /// Only the log's flush waits for the interval: LMDB's checkpoints stay durable, since
    /// LMDB survives a power loss intact only if its pages reach the disk before the meta page
    /// that points at them.
    Interval(Duration),
    /// Never flush explicitly (tests and benchmarks). A process crash loses nothing; a power
    /// loss may lose any write, and on LMDB may leave a file that no longer opens.
    Never,
}

/// Options for [`crate::Journal::open`].
///
/// ```
/// use std::time::Duration;
/// use tidelog::{Backend, Options, SyncPolicy};
/// let options = Options::new()
///     .backend(Backend::Files)
///     .sync(SyncPolicy::Always)
///     .close_timeout(Duration::from_secs(2));
/// ```
#[derive(Debug, Clone)]
pub struct Options {
    pub(crate) backend: Backend,
    pub(crate) sync: SyncPolicy,
    pub(crate) max_batch_events: usize,
    pub(crate) max_batch_bytes: usize,
    pub(crate) max_batch_delay: Duration,
    pub(crate) max_event_bytes: usize,
    pub(crate) close_timeout: Duration,
    pub(crate) lmdb_map_size: usize,
    pub(crate) segment_bytes: u64,
    pub(crate) read_only: bool,
    pub(crate) snapshot_compression: bool,
    pub(crate) postgres_schema: Option<String>,
    pub(crate) postgres_table_prefix: Option<String>,
    pub(crate) postgres_pool_size: usize,
}

impl Default for Options {
    fn default() -> Self {
        Options {
            backend: Backend::Lmdb,
            sync: SyncPolicy::Always,
            max_batch_events: 4096,
            max_batch_bytes: 4 << 20,
            max_batch_delay: Duration::ZERO,
            max_event_bytes: 64 << 20,
            close_timeout: Duration::from_secs(5),
            lmdb_map_size: 64 << 20,
            segment_bytes: 64 << 20,
            read_only: false,
            snapshot_compression: false,
            postgres_schema: None,
            postgres_table_prefix: None,
            postgres_pool_size: 8,
        }
    }
}

impl Options {
    /// Defaults: LMDB, `SyncPolicy::Always`, batches of up to 4096 events / 4 MiB,
    /// no batch delay, events up to 64 MiB, 5 s close timeout, a 64 MiB initial
    /// LMDB map (grown automatically), 64 MiB segments.
    pub fn new() -> Self {
        Self::default()
    }
    /// Storage backend (default [`Backend::Lmdb`]).
    pub fn backend(mut self, backend: Backend) -> Self {
        self.backend = backend;
        self
    }
    /// Sync policy (default [`SyncPolicy::Always`]).
    pub fn sync(mut self, sync: SyncPolicy) -> Self {
        self.sync = sync;
        self
    }
    /// Most events committed in one group commit (default 4096).
    pub fn max_batch_events(mut self, n: usize) -> Self {
        self.max_batch_events = n;
        self
    }
    /// Most bytes committed in one group commit (default 4 MiB). A single larger
    /// write is still committed, alone.
    pub fn max_batch_bytes(mut self, n: usize) -> Self {
        self.max_batch_bytes = n;
        self
    }
    /// How long the writer may wait for more work before committing a batch
    /// (default zero: a lone caller never waits).
    pub fn max_batch_delay(mut self, delay: Duration) -> Self {
        self.max_batch_delay = delay;
        self
    }
    /// Largest encoded event accepted (default 64 MiB).
    pub fn max_event_bytes(mut self, n: usize) -> Self {
        self.max_event_bytes = n;
        self
    }
    /// Upper bound on [`crate::Journal::close`] (default 5 s): queued writes not
    /// committed by then fail with [`crate::Error::Closed`].
    pub fn close_timeout(mut self, timeout: Duration) -> Self {
        self.close_timeout = timeout;
        self
    }
    /// Initial LMDB map size in bytes (default 64 MiB); the map grows by itself.
    pub fn lmdb_map_size(mut self, bytes: usize) -> Self {
        self.lmdb_map_size = bytes;
        self
    }
    /// Size at which the segment-file backend starts a new segment (default 64 MiB).
    pub fn segment_bytes(mut self, bytes: u64) -> Self {
        self.segment_bytes = bytes;
        self
    }
    /// Opens without the writer lock; every write fails with `InvalidArgument`.
    /// Lets readers (and the CLI) run beside a live writer.
    ///
    /// A read-only handle follows a live writer on both persistent backends: every read sees
    /// the writer's latest commit (LMDB's handle reads on in the write-ahead log; the
    /// segment-file handle reads the frames and segments written since its last read).
    pub fn read_only(mut self, read_only: bool) -> Self {
        self.read_only = read_only;
        self
    }
    /// Compress snapshot state with zstd (default off; needs the `zstd` feature).
    pub fn snapshot_compression(mut self, on: bool) -> Self {
        self.snapshot_compression = on;
        self
    }

    /// PostgreSQL schema holding the journal's tables (default: the URI's `tidelog_schema`
    /// parameter, else the environment's `TIDELOG_POSTGRES_SCHEMA`, else `public`). Lower-case
    /// letters, digits and `_`; created on first open.
    pub fn postgres_schema(mut self, schema: impl Into<String>) -> Self {
        self.postgres_schema = Some(schema.into());
        self
    }
    /// Prefix of the journal's table names (default: the URI's `tidelog_table_prefix`
    /// parameter, else `TIDELOG_POSTGRES_TABLE_PREFIX`, else `tidelog_`), so that several
    /// journals can share one schema.
    pub fn postgres_table_prefix(mut self, prefix: impl Into<String>) -> Self {
        self.postgres_table_prefix = Some(prefix.into());
        self
    }
    /// Most connections the journal's readers and snapshot store hold at once (default 8);
    /// the writer has one more of its own.
    pub fn postgres_pool_size(mut self, n: usize) -> Self {
        self.postgres_pool_size = n;
        self
    }

    /// The configured backend.
    pub fn backend_kind(&self) -> Backend {
        self.backend
    }

    /// The first option in which `other` differs from `self`, as (name, self's value, other's value).
    /// Every option counts: two components sharing one open journal must agree on all of them.
    pub(crate) fn first_difference(&self, other: &Options) -> Option<(&'static str, String, String)> {
        fn differs<T: PartialEq + std::fmt::Debug>(name: &'static str, a: T, b: T) -> Option<(&'static str, String, String)> {
            (a != b).then(|| (name, format!("{a:?}"), format!("{b:?}")))
        }
        let sync = |s: SyncPolicy| match s {
            SyncPolicy::Always => "always".to_string(),
            SyncPolicy::Never => "never".to_string(),
            SyncPolicy::Interval(d) => format!("every {d:?}"),
        };
        let backend = (self.backend != other.backend).then(|| ("backend", self.backend.name().into(), other.backend.name().into()));
        backend
            .or_else(|| (self.sync != other.sync).then(|| ("sync", sync(self.sync), sync(other.sync))))
            .or_else(|| differs("max_batch_events", self.max_batch_events, other.max_batch_events))
            .or_else(|| differs("max_batch_bytes", self.max_batch_bytes, other.max_batch_bytes))
            .or_else(|| differs("max_batch_delay", self.max_batch_delay, other.max_batch_delay))
            .or_else(|| differs("max_event_bytes", self.max_event_bytes, other.max_event_bytes))
            .or_else(|| differs("close_timeout", self.close_timeout, other.close_timeout))
            .or_else(|| differs("lmdb_map_size", self.lmdb_map_size, other.lmdb_map_size))
            .or_else(|| differs("segment_bytes", self.segment_bytes, other.segment_bytes))
            .or_else(|| differs("read_only", self.read_only, other.read_only))
            .or_else(|| differs("snapshot_compression", self.snapshot_compression, other.snapshot_compression))
            .or_else(|| differs("postgres_schema", &self.postgres_schema, &other.postgres_schema))
            .or_else(|| differs("postgres_table_prefix", &self.postgres_table_prefix, &other.postgres_table_prefix))
            .or_else(|| differs("postgres_pool_size", self.postgres_pool_size, other.postgres_pool_size))
    }

    pub(crate) fn validate(&self) -> Result<()> {
        let bad = |option, reason| Err(InvalidArgument::Option { option, reason }.into());
        if self.max_batch_events == 0 {
            return bad("max_batch_events", "must be at least 1");
        }
        if self.max_batch_bytes == 0 {
            return bad("max_batch_bytes", "must be at least 1");
        }
        if self.max_event_bytes == 0 || self.max_event_bytes > (u32::MAX as usize) {
            return bad("max_event_bytes", "must be between 1 and 4 GiB");
        }
        if self.lmdb_map_size < 64 << 10 {
            return bad("lmdb_map_size", "must be at least 64 KiB");
        }
        if self.segment_bytes < 4096 {
            return bad("segment_bytes", "must be at least 4 KiB");
        }
        if let SyncPolicy::Interval(d) = self.sync {
            if d.is_zero() {
                return bad("sync", "interval must be positive");
            }
        }
        if self.postgres_pool_size == 0 {
            return bad("postgres_pool_size", "must be at least 1");
        }
        if cfg!(not(feature = "zstd")) && self.snapshot_compression {
            return bad("snapshot_compression", "built without the zstd feature");
        }
        Ok(())
    }
}
