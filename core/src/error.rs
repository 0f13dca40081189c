//! The one error type of the crate.
//!
//! Every failure a caller can observe is a variant of [`Error`]; bindings map
//! each variant to their language's idiom through [`Error::kind`], so adding a
//! variant touches one table per binding.

use std::fmt;
use std::io;
use std::path::PathBuf;
use std::sync::Arc;

/// Result alias used throughout the crate.
pub type Result<T, E = Error> = std::result::Result<T, E>;

/// Everything that can go wrong in Tidelog.
///
/// `Error` is `Clone` because one failed group commit fails every caller in
/// that batch with the same error.
#[derive(Debug, Clone, thiserror::Error)]
#[non_exhaustive]
pub enum Error {
    /// The journal (or snapshot store) was closed; no further operation is accepted.
    #[error("journal is closed")]
    Closed,

    /// Another process (or another open handle in this process) holds the writer lock.
    #[error("journal at {path} is locked by another writer")]
    Locked {
        /// The lock file that could not be acquired.
        path: PathBuf,
    },

    /// An explicit write did not continue its stream: its first sequence number
    /// must be `highest + 1`.
    #[error("sequence conflict for persistence id {persistence_id:?}: expected sequence nr {expected}, got {actual}")]
    SequenceConflict {
        /// The stream the write was for.
        persistence_id: String,
        /// The sequence number the journal expected (`highest + 1`).
        expected: u64,
        /// The first sequence number the write carried.
        actual: u64,
    },

    /// The caller passed something the journal cannot accept.
    #[error("invalid argument: {0}")]
    InvalidArgument(#[from] InvalidArgument),

    /// Stored data failed a checksum or could not be decoded.
    #[error("corrupt data in {path} at offset {offset}: {reason}")]
    Corrupt {
        /// The file holding the damaged data.
        path: PathBuf,
        /// Byte offset of the damaged record within that file (for LMDB, 0).
        offset: u64,
        /// What was wrong with it.
        reason: CorruptReason,
    },

    /// The journal was written by a newer (or unknown) on-disk format.
    #[error("{path} has format version {found}, this library supports up to {supported}")]
    UnsupportedFormat {
        /// The file or directory whose format is not supported.
        path: PathBuf,
        /// The version found on disk.
        found: u32,
        /// The newest version this library reads.
        supported: u32,
    },

    /// The device is full (`ENOSPC`, `EDQUOT`, `EFBIG`); nothing of the failed operation was acknowledged.
    #[error("no space left while writing {path}")]
    StorageFull {
        /// The file being written.
        path: PathBuf,
    },

    /// An I/O error from the operating system.
    #[error("I/O error during {operation} on {path}: {source}")]
    Io {
        /// What the journal was doing (`"open"`, `"fsync"`, ...).
        operation: &'static str,
        /// The file concerned.
        path: PathBuf,
        /// The OS error.
        #[source]
        source: Arc<io::Error>,
    },

    /// An error reported by LMDB.
    #[error("LMDB error during {operation}: {message}")]
    Lmdb {
        /// What the journal was doing.
        operation: &'static str,
        /// LMDB's description.
        message: String,
    },

    /// An error from the PostgreSQL server or the connection to it. `retryable` marks the
    /// failures a caller may simply retry (a lost connection, a server shutting down or
    /// restarting, too many connections): nothing of the failed call was acknowledged, and the
    /// journal connects again by itself.
    #[error("PostgreSQL error during {operation}: {message}")]
    Database {
        /// What the journal was doing.
        operation: &'static str,
        /// The server's or client's description (never the connection's password).
        message: String,
        /// Whether retrying the call may succeed.
        retryable: bool,
    },

    /// A previous storage failure (for example a failed fsync) left the journal
    /// in a state where acknowledging further writes would be unsafe. Reopen it.
    #[error("journal failed earlier and must be reopened: {0}")]
    Failed(Arc<Error>),
}

/// Why an argument was refused.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum InvalidArgument {
    /// A persistence id must not be empty.
    #[error("persistence id is empty")]
    EmptyPersistenceId,
    /// A persistence id is longer than [`crate::MAX_PERSISTENCE_ID_LEN`] bytes.
    #[error("persistence id is {len} bytes long, the limit is {max}")]
    PersistenceIdTooLong {
        /// Its length in bytes.
        len: usize,
        /// The limit.
        max: usize,
    },
    /// A persistence id, tag, manifest or writer id contains a NUL character.
    #[error("{field} contains a NUL character")]
    ContainsNul {
        /// Which field.
        field: &'static str,
    },
    /// A tag is empty.
    #[error("tag is empty")]
    EmptyTag,
    /// A string field is longer than its limit.
    #[error("{field} is {len} bytes long, the limit is {max}")]
    FieldTooLong {
        /// Which field.
        field: &'static str,
        /// Its length in bytes.
        len: usize,
        /// The limit.
        max: usize,
    },
    /// An event is larger than [`crate::Options::max_event_bytes`].
    #[error("event of {size} bytes exceeds the limit of {max} bytes")]
    EventTooLarge {
        /// Encoded size of the event.
        size: usize,
        /// The configured limit.
        max: usize,
    },
    /// A write holds no events.
    #[error("a write must hold at least one event")]
    EmptyWrite,
    /// A sequence number of 0 (sequence numbers start at 1).
    #[error("sequence numbers start at 1, got 0")]
    ZeroSequenceNr,
    /// A write on a journal opened with [`crate::Options::read_only`].
    #[error("journal was opened read-only")]
    ReadOnly,
    /// The directory holds a journal of another backend.
    #[error("the journal at this path uses the {on_disk} backend, not {requested}")]
    BackendMismatch {
        /// Backend found on disk.
        on_disk: &'static str,
        /// Backend requested in the options.
        requested: &'static str,
    },
    /// A directory that is not a Tidelog journal (read-only open of a missing journal, say).
    #[error("{0} is not a Tidelog journal")]
    NotAJournal(PathBuf),
    /// `import_stream_state` would lower a stream's marks or hide live events.
    #[error("a stream's highest and deleted-to marks can only move forward, with deleted_to <= highest and no live events skipped")]
    StreamStateRegression,
    /// Imported events must come in increasing global-offset order above the journal's next offset.
    #[error("imported global offset {offset} is below the journal's next offset {next}")]
    ImportOffsetNotIncreasing {
        /// The offending offset.
        offset: u64,
        /// The lowest offset still allowed.
        next: u64,
    },
    /// [`crate::Journal::check_options`]: the journal is open with another value of this option.
    #[error("the journal is already open with {option} = {open}, not {wanted}")]
    OptionDiffers {
        /// The option's name, as its [`crate::Options`] builder method is called.
        option: &'static str,
        /// The value the journal was opened with.
        open: String,
        /// The value asked for.
        wanted: String,
    },
    /// A subscription already has an asynchronous request pending.
    #[error("the subscription already has a pending request; await it first")]
    SubscriptionBusy,
    /// An option value outside its allowed range.
    #[error("option {option}: {reason}")]
    Option {
        /// The option's name.
        option: &'static str,
        /// What is wrong with it.
        reason: &'static str,
    },
}

/// What a checksum or decoder found wrong with stored data.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum CorruptReason {
    /// The stored CRC32 does not match the data.
    #[error("checksum mismatch (stored {stored:#010x}, computed {computed:#010x})")]
    Checksum {
        /// The checksum on disk.
        stored: u32,
        /// The checksum of the bytes read.
        computed: u32,
    },
    /// A record ends before its declared length.
    #[error("record truncated")]
    Truncated,
    /// A header does not start with the expected magic bytes.
    #[error("bad magic bytes")]
    BadMagic,
    /// A field has an impossible value.
    #[error("malformed record: {0}")]
    Malformed(&'static str),
}

/// A stable, binding-facing classification of [`Error`].
///
/// Bindings switch on this (not on the `Error` variant) so that new variants
/// surface as a compile error in exactly one place per binding.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum ErrorKind {
    /// [`Error::Closed`]
    Closed,
    /// [`Error::Locked`]
    Locked,
    /// [`Error::SequenceConflict`]
    SequenceConflict,
    /// [`Error::InvalidArgument`]
    InvalidArgument,
    /// [`Error::Corrupt`]
    Corrupt,
    /// [`Error::UnsupportedFormat`]
    UnsupportedFormat,
    /// [`Error::StorageFull`]
    StorageFull,
    /// [`Error::Io`], [`Error::Lmdb`] and [`Error::Database`]
    Io,
    /// [`Error::Failed`]
    Failed,
}

impl ErrorKind {
    /// Every kind, for bindings' exhaustiveness tests.
    pub const ALL: [ErrorKind; 9] = [
        ErrorKind::Closed,
        ErrorKind::Locked,
        ErrorKind::SequenceConflict,
        ErrorKind::InvalidArgument,
        ErrorKind::Corrupt,
        ErrorKind::UnsupportedFormat,
        ErrorKind::StorageFull,
        ErrorKind::Io,
        ErrorKind::Failed,
    ];

    /// A stable upper-snake-case code (`"SEQUENCE_CONFLICT"`), used by the JS and C bindings.
    pub fn code(self) -> &'static str {
        match self {
            ErrorKind::Closed => "CLOSED",
            ErrorKind::Locked => "LOCKED",
            ErrorKind::SequenceConflict => "SEQUENCE_CONFLICT",
            ErrorKind::InvalidArgument => "INVALID_ARGUMENT",
            ErrorKind::Corrupt => "CORRUPT",
            ErrorKind::UnsupportedFormat => "UNSUPPORTED_FORMAT",
            ErrorKind::StorageFull => "STORAGE_FULL",
            ErrorKind::Io => "IO",
            ErrorKind::Failed => "FAILED",
        }
    }
}

impl fmt::Display for ErrorKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.code())
    }
}

impl Error {
    /// The binding-facing classification of this error.
    pub fn kind(&self) -> ErrorKind {
        match self {
            Error::Closed => ErrorKind::Closed,
            Error::Locked { .. } => ErrorKind::Locked,
            Error::SequenceConflict { .. } => ErrorKind::SequenceConflict,
            Error::InvalidArgument(_) => ErrorKind::InvalidArgument,
            Error::Corrupt { .. } => ErrorKind::Corrupt,
            Error::UnsupportedFormat { .. } => ErrorKind::UnsupportedFormat,
            Error::StorageFull { .. } => ErrorKind::StorageFull,
            Error::Io { .. } | Error::Lmdb { .. } | Error::Database { .. } => ErrorKind::Io,
            Error::Failed(_) => ErrorKind::Failed,
        }
    }

    /// Whether retrying the failed call may succeed: a lost or refused database connection,
    /// a server restarting. The journal reconnects by itself; nothing was acknowledged.
    pub fn is_retryable(&self) -> bool {
        matches!(self, Error::Database { retryable: true, .. })
    }

    /// Wraps an I/O error, classifying a full device as [`Error::StorageFull`].
    pub(crate) fn io(operation: &'static str, path: impl Into<PathBuf>, source: io::Error) -> Error {
        let path = path.into();
        // ENOSPC = 28, EDQUOT = 122, EFBIG = 27 on Linux.
        if matches!(
            source.kind(),
            io::ErrorKind::StorageFull | io::ErrorKind::FileTooLarge | io::ErrorKind::QuotaExceeded
        ) || matches!(source.raw_os_error(), Some(28) | Some(122) | Some(27))
        {
            return Error::StorageFull { path };
        }
        Error::Io {
            operation,
            path,
            source: Arc::new(source),
        }
    }

    pub(crate) fn lmdb(operation: &'static str, err: heed::Error) -> Error {
        Error::lmdb_at(operation, None, err)
    }

    /// Classifies an LMDB error; OS errors (a full device, say) keep their meaning.
    pub(crate) fn lmdb_at(operation: &'static str, path: Option<&std::path::Path>, err: heed::Error) -> Error {
        let path = || path.map(|p| p.to_path_buf()).unwrap_or_default();
        match err {
            heed::Error::Io(io) => Error::io(operation, path(), io),
            heed::Error::Mdb(heed::MdbError::Other(code)) if code > 0 => Error::io(operation, path(), io::Error::from_raw_os_error(code)),
            // LMDB found its own structure damaged: a page it cannot find or whose contents are
            // impossible, a file that is not an environment, database flags that changed. Also
            // `KeyExist`: the journal only appends keys it knows are new (it never asks LMDB not
            // to overwrite), so LMDB refusing one as not past its last key means a tree's keys
            // contradict the journal's records: a damaged page (found by the fuzz suite).
            heed::Error::Mdb(
                heed::MdbError::Corrupted
                | heed::MdbError::PageNotFound
                | heed::MdbError::Invalid
                | heed::MdbError::Incompatible
                | heed::MdbError::KeyExist,
            ) => Error::Corrupt {
                path: Some(path())
                    .filter(|p| !p.as_os_str().is_empty())
                    .unwrap_or_else(|| PathBuf::from("data.mdb")),
                offset: 0,
                reason: CorruptReason::Malformed("LMDB's page structure is damaged"),
            },
            // A value that failed its checksum or checks inside a transaction.
            heed::Error::Decoding(e) if e.is::<CorruptReason>() => Error::Corrupt {
                path: path(),
                offset: 0,
                reason: *e.downcast::<CorruptReason>().expect("checked above"),
            },
            other => Error::Lmdb {
                operation,
                message: other.to_string(),
            },
        }
    }

    pub(crate) fn corrupt(path: impl Into<PathBuf>, offset: u64, reason: CorruptReason) -> Error {
        Error::Corrupt {
            path: path.into(),
            offset,
            reason,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn lmdb_errors_that_mean_a_damaged_tree_are_corrupt_and_os_errors_keep_their_kind() {
        let kind = |e| Error::lmdb("commit", heed::Error::Mdb(e)).kind();
        // KeyExist: an append of a key the journal knows is new, refused because a damaged
        // page makes the tree's last key larger (TIDELOG_FUZZ_SEED=6176919243658456969, LMDB).
        for damaged in [
            heed::MdbError::Corrupted,
            heed::MdbError::PageNotFound,
            heed::MdbError::Invalid,
            heed::MdbError::Incompatible,
            heed::MdbError::KeyExist,
        ] {
            assert_eq!(kind(damaged), ErrorKind::Corrupt);
        }
        #[cfg(unix)]
        assert_eq!(kind(heed::MdbError::Other(28 /* ENOSPC */)), ErrorKind::StorageFull);
    }
}
