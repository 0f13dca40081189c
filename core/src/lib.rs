//! # Tidelog
//!
//! An embedded, crash-safe event journal for actor systems. Each actor's events
//! form a stream per *persistence id* with gapless sequence numbers from 1;
//! snapshots keep recovery fast; a group-commit writer makes durable appends
//! cheap. Four backends share one behaviour: LMDB (default), append-only
//! segment files, memory, and PostgreSQL (a `postgresql://` URI where a
//! directory goes; one database shared by every writer of a cluster).
//!
//! ```
//! use tidelog::{Backend, Journal, NewEvent, Options, Snapshot, SnapshotCriteria};
//! let dir = std::env::temp_dir().join(format!("tidelog-doc-{}", std::process::id()));
//! let journal = Journal::open(&dir, Options::new())?; // LMDB, fsync on every commit
//! journal.append("cart-7", vec![NewEvent::new(b"item added".to_vec()).tag("cart")])?;
//! journal.snapshots().save(&Snapshot {
//!     persistence_id: "cart-7".into(), sequence_nr: 1, timestamp: 0,
//!     manifest: String::new(), metadata: vec![], state: b"1 item".to_vec(),
//! })?;
//! let snapshot = journal.snapshots().load("cart-7", SnapshotCriteria::latest())?.unwrap();
//! let replay = journal.read("cart-7", snapshot.sequence_nr + 1, u64::MAX, 1000)?;
//! assert!(replay.is_empty());
//! journal.close()?;
//! # std::fs::remove_dir_all(&dir).ok();
//! # Ok::<(), tidelog::Error>(())
//! ```
//!
//! Invariants the journal keeps (see `ARCHITECTURE.md`):
//! - sequence numbers of a stream are gapless and start at 1;
//! - global offsets are strictly increasing in commit order;
//! - issue order: for one persistence id, a read, `highest_sequence_nr`, `stream_state`, a
//!   deletion or a snapshot operation issued after a write observes that write's outcome, even
//!   when nobody awaited the write;
//! - with [`SyncPolicy::Always`], a write that returned `Ok` survives a crash or power loss;
//! - every byte on disk is covered by a CRC32.

#![warn(missing_docs)]

mod admin;
mod codec;
mod completion;
mod error;
mod fsutil;
mod journal;
mod layout;
mod metrics;
mod model;
mod options;
mod order;
mod snapshot;
mod storage;
mod tail;
mod writer;

pub use admin::{check_page_structure, compact};
pub use completion::{Callback, Completion};
pub use error::{CorruptReason, Error, ErrorKind, InvalidArgument, Result};
pub use journal::Journal;
pub use layout::{detect_backend, FORMAT_VERSION};
pub use metrics::{HistogramSnapshot, MetricsSnapshot};
pub use model::{
    validate_persistence_id, AtomicWrite, BodyPage, Event, EventRef, NewEvent, Snapshot, SnapshotCriteria, Tags, WriteReceipt,
    MAX_FIELD_LEN, MAX_PERSISTENCE_ID_LEN, MAX_TAGS,
};
pub use options::{Backend, Options, SyncPolicy};
pub use snapshot::{SnapshotFile, SnapshotInfo, SnapshotStore};
pub use storage::postgres::{is_uri as is_postgres_uri, redact as redact_uri, SCHEMA_VERSION as POSTGRES_SCHEMA_VERSION};
pub use storage::{StreamState, TornTail};
pub use tail::{Subscription, SubscriptionSource, FOLLOW_POLL};
