//! # tidelog-ffi: the glue every byte-buffer binding shares
//!
//! The Node (napi-rs), JVM (jni) and C ABI crates are thin adapters over this
//! crate; the Python binding shares its status codes and builds Python objects
//! directly. What lives here, once:
//!
//! * [`wire`]: the byte formats of writes, event pages, results, completions,
//!   snapshots and string lists, specified in `core/docs/wire.md`;
//! * [`queue`]: the completion queue the core's writer-thread callbacks push
//!   into, and its wake-up contract;
//! * [`tail`]: subscriptions, their batches as event pages and the page queue;
//! * [`options`]: the options record every host encodes the same way;
//! * [`status`]: the stable numeric code of every [`tidelog::ErrorKind`].
//!
//! Nothing here calls into a host runtime, and nothing panics on bad input:
//! malformed buffers are [`wire::WireError`]s.

pub mod options;
pub mod queue;
pub mod tail;
pub mod wire;

pub use options::decode_options;
pub use queue::{Completion, CompletionQueue, Outcome, Queue};
pub use tail::{PageCompletion, PageQueue};

/// Stable status codes (`core/docs/wire.md`, "Status codes"): the C ABI's
/// `TM_*` constants, the `status` of result records, and what Python's and
/// every host's error tables are keyed on.
pub mod status {
    use tidelog::ErrorKind;

    /// Success.
    pub const OK: i32 = 0;
    /// A null, freed or unknown handle or buffer (C ABI only).
    pub const INVALID_HANDLE: i32 = 100;
    /// A caught panic inside the library: the operation did not complete.
    pub const INTERNAL: i32 = 101;

    /// The code of an error kind: its position in [`ErrorKind::ALL`] plus one
    /// (`CLOSED` = 1 ... `FAILED` = 9). The match is exhaustive, so a new kind
    /// cannot be missed; appending it to `ALL` keeps every older code.
    pub fn of_kind(kind: ErrorKind) -> i32 {
        match kind {
            ErrorKind::Closed => 1,
            ErrorKind::Locked => 2,
            ErrorKind::SequenceConflict => 3,
            ErrorKind::InvalidArgument => 4,
            ErrorKind::Corrupt => 5,
            ErrorKind::UnsupportedFormat => 6,
            ErrorKind::StorageFull => 7,
            ErrorKind::Io => 8,
            ErrorKind::Failed => 9,
        }
    }

    /// The flag bit a failure's status carries when retrying the call may succeed
    /// ([`tidelog::Error::is_retryable`]: a lost database connection, a server restarting).
    /// The code is `status & CODE_MASK`; hosts expose the bit as `retryable`.
    pub const RETRYABLE: i32 = 1 << 16;
    /// The bits of a status that hold its code.
    pub const CODE_MASK: i32 = RETRYABLE - 1;

    /// The status of a core error: its kind's code, with [`RETRYABLE`] set when it is.
    pub fn of_error(error: &tidelog::Error) -> i32 {
        of_kind(error.kind()) | if error.is_retryable() { RETRYABLE } else { 0 }
    }

    /// The code of a status, without its flags.
    pub fn code(status: i32) -> i32 {
        status & CODE_MASK
    }

    /// Whether a status carries the [`RETRYABLE`] flag.
    pub fn is_retryable(status: i32) -> bool {
        status > 0 && status & RETRYABLE != 0
    }

    /// The error kind of a status (flags ignored), `None` for `OK`, the FFI-only codes and unknown ones.
    pub fn kind(status: i32) -> Option<ErrorKind> {
        if status < 0 {
            return None;
        }
        ErrorKind::ALL.get(usize::try_from(code(status)).ok()?.checked_sub(1)?).copied()
    }

    /// The upper-snake-case name of a status's code (`"SEQUENCE_CONFLICT"`); `"UNKNOWN"` for others.
    pub fn name(status: i32) -> &'static str {
        if status < 0 {
            return "UNKNOWN";
        }
        match code(status) {
            OK => "OK",
            INVALID_HANDLE => "INVALID_HANDLE",
            INTERNAL => "INTERNAL",
            s => kind(s).map_or("UNKNOWN", ErrorKind::code),
        }
    }
}

/// A failure as an adapter reports it to its host: a status code, a message
/// and, for a sequence conflict, the expected and actual sequence numbers.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Failure {
    /// A status code ([`status`]).
    pub status: i32,
    /// What went wrong, for people.
    pub message: String,
    /// For a sequence conflict: the sequence number the journal expected.
    pub expected: u64,
    /// For a sequence conflict: the first sequence number the write carried.
    pub actual: u64,
}

impl Failure {
    /// A failure with no conflict details.
    pub fn new(status: i32, message: impl Into<String>) -> Self {
        Failure {
            status,
            message: message.into(),
            expected: 0,
            actual: 0,
        }
    }
}

impl From<tidelog::Error> for Failure {
    fn from(e: tidelog::Error) -> Self {
        let (expected, actual) = match &e {
            tidelog::Error::SequenceConflict { expected, actual, .. } => (*expected, *actual),
            _ => (0, 0),
        };
        Failure {
            expected,
            actual,
            ..Failure::new(status::of_error(&e), e.to_string())
        }
    }
}

impl From<wire::WireError> for Failure {
    fn from(e: wire::WireError) -> Self {
        Failure::new(status::of_kind(tidelog::ErrorKind::InvalidArgument), e.to_string())
    }
}

/// Runs `f`; a panic becomes an `INTERNAL` failure, so none unwinds into a host.
pub fn catch<T>(f: impl FnOnce() -> Result<T, Failure>) -> Result<T, Failure> {
    std::panic::catch_unwind(std::panic::AssertUnwindSafe(f)).unwrap_or_else(|panic| {
        Err(Failure::new(
            status::INTERNAL,
            format!("internal error (panic): {}", panic_message(panic.as_ref())),
        ))
    })
}

/// The message of a caught panic payload, for the adapters' panic guards.
pub fn panic_message(panic: &(dyn std::any::Any + Send)) -> String {
    panic
        .downcast_ref::<&str>()
        .map(|s| s.to_string())
        .or_else(|| panic.downcast_ref::<String>().cloned())
        .unwrap_or_default()
}

#[cfg(test)]
mod tests {
    use super::status;
    use tidelog::ErrorKind;

    #[test]
    fn every_kind_has_a_distinct_code_that_maps_back_and_is_named_by_the_core_code() {
        let mut seen = std::collections::HashSet::new();
        for (i, kind) in ErrorKind::ALL.into_iter().enumerate() {
            let code = status::of_kind(kind);
            assert_eq!(code, i as i32 + 1, "{kind:?}: code must be its position in ALL plus one");
            assert!(seen.insert(code));
            assert_eq!(status::kind(code), Some(kind));
            assert_eq!(status::name(code), kind.code());
        }
        for other in [status::OK, status::INVALID_HANDLE, status::INTERNAL, -1, 10, i32::MAX] {
            assert_eq!(status::kind(other), None);
        }
        assert_eq!(status::name(status::INTERNAL), "INTERNAL");
        assert_eq!(status::name(42), "UNKNOWN");
    }

    #[test]
    fn a_retryable_database_error_sets_the_flag_on_the_io_code_and_others_do_not() {
        let database = |retryable| tidelog::Error::Database {
            operation: "commit",
            message: "connection closed".into(),
            retryable,
        };
        let io = status::of_kind(ErrorKind::Io);
        let f = super::Failure::from(database(true));
        assert_eq!(f.status, io | status::RETRYABLE);
        assert!(status::is_retryable(f.status));
        assert_eq!(status::code(f.status), io);
        assert_eq!(status::kind(f.status), Some(ErrorKind::Io));
        assert_eq!(status::name(f.status), "IO");
        let f = super::Failure::from(database(false));
        assert_eq!(f.status, io);
        assert!(!status::is_retryable(f.status));
        assert!(!status::is_retryable(status::of_error(&tidelog::Error::Closed)));
        assert!(!status::is_retryable(-1));
        for kind in ErrorKind::ALL {
            assert_eq!(status::of_kind(kind) & status::RETRYABLE, 0, "{kind:?}");
        }
    }

    #[test]
    fn failures_carry_the_status_and_conflict_details_and_panics_become_internal() {
        let conflict = tidelog::Error::SequenceConflict {
            persistence_id: "p".into(),
            expected: 4,
            actual: 9,
        };
        let f = super::Failure::from(conflict);
        assert_eq!((f.status, f.expected, f.actual), (3, 4, 9));
        let f = super::Failure::from(super::wire::WireError::Trailing { bytes: 2 });
        assert_eq!(f.status, status::of_kind(ErrorKind::InvalidArgument));
        let f = super::catch::<()>(|| panic!("boom")).unwrap_err();
        assert_eq!(f.status, status::INTERNAL);
        assert!(f.message.ends_with("boom"), "{}", f.message);
        assert_eq!(super::catch(|| Ok(7)), Ok(7));
    }

    #[test]
    fn panic_messages_of_both_payload_types() {
        let caught = std::panic::catch_unwind(|| panic!("static")).unwrap_err();
        assert_eq!(super::panic_message(caught.as_ref()), "static");
        let caught = std::panic::catch_unwind(|| panic!("formatted {}", 1)).unwrap_err();
        assert_eq!(super::panic_message(caught.as_ref()), "formatted 1");
    }
}
