//! The options record (`core/docs/wire.md`, "Options record"): thirteen
//! unsigned 64-bit values. The first is a mask of the fields present (bit `i`
//! for field `i`); a field not present keeps the core's default.

use std::time::Duration;

use tidelog::{Backend, InvalidArgument, Options, SyncPolicy};

/// Field indexes of the record.
pub mod field {
    /// Bit `i` set: field `i` is present.
    pub const PRESENT: usize = 0;
    /// 0 LMDB, 1 files, 2 memory.
    pub const BACKEND: usize = 1;
    /// 0 always, 1 interval, 2 never.
    pub const SYNC: usize = 2;
    /// Flush period of the interval policy, µs (default 100 ms).
    pub const SYNC_INTERVAL_US: usize = 3;
    /// Most events in one group commit.
    pub const MAX_BATCH_EVENTS: usize = 4;
    /// Most bytes in one group commit.
    pub const MAX_BATCH_BYTES: usize = 5;
    /// How long the writer may wait for more work, µs.
    pub const MAX_BATCH_DELAY_US: usize = 6;
    /// Largest encoded event accepted.
    pub const MAX_EVENT_BYTES: usize = 7;
    /// Upper bound on close, µs.
    pub const CLOSE_TIMEOUT_US: usize = 8;
    /// Initial LMDB map size.
    pub const LMDB_MAP_SIZE: usize = 9;
    /// Segment size of the files backend.
    pub const SEGMENT_BYTES: usize = 10;
    /// Non-zero: open without the writer lock.
    pub const READ_ONLY: usize = 11;
    /// Non-zero: compress snapshot state.
    pub const SNAPSHOT_COMPRESSION: usize = 12;
    /// Number of values in a record.
    pub const COUNT: usize = 13;
    /// The mask with every field present.
    pub const ALL: u64 = ((1 << COUNT) - 1) & !1;
}

fn invalid(option: &'static str, reason: &'static str) -> tidelog::Error {
    InvalidArgument::Option { option, reason }.into()
}

/// The core options an options record describes.
pub fn decode_options(record: &[u64]) -> tidelog::Result<Options> {
    let Ok(v) = <&[u64; field::COUNT]>::try_from(record) else {
        return Err(invalid("options", "an options record holds 13 values"));
    };
    let has = |i: usize| v[field::PRESENT] & (1 << i) != 0;
    let get = |i: usize| has(i).then_some(v[i]);
    let size = |x: u64| usize::try_from(x).unwrap_or(usize::MAX);
    let mut o = Options::new();
    if let Some(b) = get(field::BACKEND) {
        o = o.backend(match b {
            0 => Backend::Lmdb,
            1 => Backend::Files,
            2 => Backend::Memory,
            // Chosen by a `postgresql://` location anyway; a host may name it too.
            3 => Backend::Postgres,
            _ => return Err(invalid("backend", "expected lmdb, files, memory or postgres")),
        });
    }
    if let Some(s) = get(field::SYNC) {
        let interval = get(field::SYNC_INTERVAL_US).map_or(Duration::from_millis(100), Duration::from_micros);
        o = o.sync(match s {
            0 => SyncPolicy::Always,
            1 => SyncPolicy::Interval(interval),
            2 => SyncPolicy::Never,
            _ => return Err(invalid("sync", "expected always, interval or never")),
        });
    }
    if let Some(x) = get(field::MAX_BATCH_EVENTS) {
        o = o.max_batch_events(size(x));
    }
    if let Some(x) = get(field::MAX_BATCH_BYTES) {
        o = o.max_batch_bytes(size(x));
    }
    if let Some(x) = get(field::MAX_BATCH_DELAY_US) {
        o = o.max_batch_delay(Duration::from_micros(x));
    }
    if let Some(x) = get(field::MAX_EVENT_BYTES) {
        o = o.max_event_bytes(size(x));
    }
    if let Some(x) = get(field::CLOSE_TIMEOUT_US) {
        o = o.close_timeout(Duration::from_micros(x));
    }
    if let Some(x) = get(field::LMDB_MAP_SIZE) {
        o = o.lmdb_map_size(size(x));
    }
    if let Some(x) = get(field::SEGMENT_BYTES) {
        o = o.segment_bytes(x);
    }
    if let Some(x) = get(field::READ_ONLY) {
        o = o.read_only(x != 0);
    }
    if let Some(x) = get(field::SNAPSHOT_COMPRESSION) {
        o = o.snapshot_compression(x != 0);
    }
    Ok(o)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn record(fields: &[(usize, u64)]) -> [u64; field::COUNT] {
        let mut r = [0; field::COUNT];
        for &(i, v) in fields {
            r[i] = v;
            r[field::PRESENT] |= 1 << i;
        }
        r
    }

    #[test]
    fn absent_fields_keep_the_core_defaults() {
        let decoded = decode_options(&record(&[])).unwrap();
        assert_eq!(format!("{decoded:?}"), format!("{:?}", Options::new()));
    }

    #[test]
    fn present_fields_are_applied_with_their_units() {
        let r = record(&[
            (field::BACKEND, 2),
            (field::SYNC, 1),
            (field::SYNC_INTERVAL_US, 250_000),
            (field::MAX_BATCH_EVENTS, 7),
            (field::MAX_BATCH_DELAY_US, 1_500),
            (field::CLOSE_TIMEOUT_US, 2_000_000),
            (field::READ_ONLY, 1),
        ]);
        let expected = Options::new()
            .backend(Backend::Memory)
            .sync(SyncPolicy::Interval(Duration::from_millis(250)))
            .max_batch_events(7)
            .max_batch_delay(Duration::from_micros(1_500))
            .close_timeout(Duration::from_secs(2))
            .read_only(true);
        assert_eq!(format!("{:?}", decode_options(&r).unwrap()), format!("{expected:?}"));
        // A value whose bit is clear is ignored.
        let mut ignored = r;
        ignored[field::PRESENT] &= !(1 << field::MAX_BATCH_EVENTS);
        assert_ne!(format!("{:?}", decode_options(&ignored).unwrap()), format!("{expected:?}"));
    }

    #[test]
    fn backend_code_3_is_postgres() {
        let options = decode_options(&record(&[(field::BACKEND, 3)])).unwrap();
        assert_eq!(format!("{options:?}"), format!("{:?}", Options::new().backend(Backend::Postgres)));
    }

    #[test]
    fn bad_codes_and_lengths_are_invalid_arguments() {
        for (r, option) in [
            (record(&[(field::BACKEND, 4)]).to_vec(), "backend"),
            (record(&[(field::SYNC, 9)]).to_vec(), "sync"),
            (vec![field::ALL; 12], "options"),
        ] {
            match decode_options(&r) {
                Err(tidelog::Error::InvalidArgument(InvalidArgument::Option { option: o, .. })) => assert_eq!(o, option),
                other => panic!("{option}: {other:?}"),
            }
        }
    }
}
