//! Counters and histograms, readable as a struct and as Prometheus text.
//!
//! Everything is a relaxed atomic: metrics never take a lock on the write path.

use std::fmt::Write as _;
use std::sync::atomic::{AtomicU64, Ordering::Relaxed};
use std::time::Duration;

/// Live metrics of one journal. Read them with [`crate::Journal::metrics`].
#[derive(Debug, Default)]
pub(crate) struct Metrics {
    pub appends: AtomicU64,
    pub events: AtomicU64,
    pub bytes: AtomicU64,
    pub batches: AtomicU64,
    pub fsyncs: AtomicU64,
    pub failed_writes: AtomicU64,
    pub sequence_conflicts: AtomicU64,
    pub repaired_tails: AtomicU64,
    pub repaired_bytes: AtomicU64,
    pub skipped_corrupt_snapshots: AtomicU64,
    pub lmdb_map_resizes: AtomicU64,
    pub segments_reclaimed: AtomicU64,
    pub commit_latency_us: Histogram,
    pub batch_events: Histogram,
}

impl Metrics {
    pub(crate) fn snapshot(&self) -> MetricsSnapshot {
        MetricsSnapshot {
            appends: self.appends.load(Relaxed),
            events: self.events.load(Relaxed),
            bytes: self.bytes.load(Relaxed),
            batches: self.batches.load(Relaxed),
            fsyncs: self.fsyncs.load(Relaxed),
            failed_writes: self.failed_writes.load(Relaxed),
            sequence_conflicts: self.sequence_conflicts.load(Relaxed),
            repaired_tails: self.repaired_tails.load(Relaxed),
            repaired_bytes: self.repaired_bytes.load(Relaxed),
            skipped_corrupt_snapshots: self.skipped_corrupt_snapshots.load(Relaxed),
            lmdb_map_resizes: self.lmdb_map_resizes.load(Relaxed),
            segments_reclaimed: self.segments_reclaimed.load(Relaxed),
            commit_latency_us: self.commit_latency_us.snapshot(),
            batch_events: self.batch_events.snapshot(),
        }
    }

    pub(crate) fn add(counter: &AtomicU64, n: u64) {
        counter.fetch_add(n, Relaxed);
    }
}

/// A point-in-time copy of a journal's metrics.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct MetricsSnapshot {
    /// Successful atomic writes (each `append` is one).
    pub appends: u64,
    /// Events committed.
    pub events: u64,
    /// Encoded event bytes committed.
    pub bytes: u64,
    /// Group commits.
    pub batches: u64,
    /// Flushes to stable storage.
    pub fsyncs: u64,
    /// Writes failed by a storage error.
    pub failed_writes: u64,
    /// Writes refused with `SequenceConflict`.
    pub sequence_conflicts: u64,
    /// Torn tails truncated when opening (segment-file backend).
    pub repaired_tails: u64,
    /// Bytes removed by those repairs.
    pub repaired_bytes: u64,
    /// Snapshots skipped because their checksum failed.
    pub skipped_corrupt_snapshots: u64,
    /// Times the LMDB map was grown.
    pub lmdb_map_resizes: u64,
    /// Segment files deleted after `delete_to`.
    pub segments_reclaimed: u64,
    /// Commit latency (write + flush) in microseconds.
    pub commit_latency_us: HistogramSnapshot,
    /// Events per group commit.
    pub batch_events: HistogramSnapshot,
}

impl MetricsSnapshot {
    /// Names of [`MetricsSnapshot::values`], in order: every counter, then count,
    /// sum and max of each histogram. Bindings cross the metrics as one array.
    pub const NAMES: [&'static str; 18] = [
        "appends",
        "events",
        "bytes",
        "batches",
        "fsyncs",
        "failed_writes",
        "sequence_conflicts",
        "repaired_tails",
        "repaired_bytes",
        "skipped_corrupt_snapshots",
        "lmdb_map_resizes",
        "segments_reclaimed",
        "commit_latency_us_count",
        "commit_latency_us_sum",
        "commit_latency_us_max",
        "batch_events_count",
        "batch_events_sum",
        "batch_events_max",
    ];

    /// The values named by [`MetricsSnapshot::NAMES`], in the same order.
    pub fn values(&self) -> [u64; 18] {
        [
            self.appends,
            self.events,
            self.bytes,
            self.batches,
            self.fsyncs,
            self.failed_writes,
            self.sequence_conflicts,
            self.repaired_tails,
            self.repaired_bytes,
            self.skipped_corrupt_snapshots,
            self.lmdb_map_resizes,
            self.segments_reclaimed,
            self.commit_latency_us.count,
            self.commit_latency_us.sum,
            self.commit_latency_us.max,
            self.batch_events.count,
            self.batch_events.sum,
            self.batch_events.max,
        ]
    }

    /// Renders the metrics in the Prometheus text exposition format.
    pub fn to_prometheus(&self) -> String {
        let mut out = String::new();
        let counters = [
            ("appends", "Atomic writes committed", self.appends),
            ("events", "Events committed", self.events),
            ("bytes", "Encoded event bytes committed", self.bytes),
            ("batches", "Group commits", self.batches),
            ("fsyncs", "Flushes to stable storage", self.fsyncs),
            ("failed_writes", "Writes failed by a storage error", self.failed_writes),
            (
                "sequence_conflicts",
                "Writes refused with a sequence conflict",
                self.sequence_conflicts,
            ),
            ("repaired_tails", "Torn tails truncated at open", self.repaired_tails),
            ("repaired_bytes", "Bytes truncated by tail repair", self.repaired_bytes),
            (
                "skipped_corrupt_snapshots",
                "Snapshots skipped for a bad checksum",
                self.skipped_corrupt_snapshots,
            ),
            ("lmdb_map_resizes", "LMDB map growths", self.lmdb_map_resizes),
            (
                "segments_reclaimed",
                "Segment files deleted after delete_to",
                self.segments_reclaimed,
            ),
        ];
        for (name, help, value) in counters {
            let _ = writeln!(
                out,
                "# HELP tidelog_{name}_total {help}\n# TYPE tidelog_{name}_total counter\ntidelog_{name}_total {value}"
            );
        }
        self.commit_latency_us
            .write_prometheus(&mut out, "tidelog_commit_latency_microseconds", "Group commit latency");
        self.batch_events
            .write_prometheus(&mut out, "tidelog_batch_events", "Events per group commit");
        out
    }
}

const BUCKETS: usize = 40;

/// A lock-free histogram with power-of-two buckets: bucket `i` counts values in `[2^(i-1), 2^i)`.
#[derive(Debug)]
pub(crate) struct Histogram {
    buckets: [AtomicU64; BUCKETS],
    count: AtomicU64,
    sum: AtomicU64,
    max: AtomicU64,
}

impl Default for Histogram {
    fn default() -> Self {
        Histogram {
            buckets: std::array::from_fn(|_| AtomicU64::new(0)),
            count: AtomicU64::new(0),
            sum: AtomicU64::new(0),
            max: AtomicU64::new(0),
        }
    }
}

impl Histogram {
    pub(crate) fn record(&self, value: u64) {
        let bucket = ((u64::BITS - value.leading_zeros()) as usize).min(BUCKETS - 1);
        self.buckets[bucket].fetch_add(1, Relaxed);
        self.count.fetch_add(1, Relaxed);
        self.sum.fetch_add(value, Relaxed);
        self.max.fetch_max(value, Relaxed);
    }

    pub(crate) fn record_duration(&self, d: Duration) {
        self.record(d.as_micros() as u64);
    }

    fn snapshot(&self) -> HistogramSnapshot {
        HistogramSnapshot {
            buckets: self.buckets.iter().map(|b| b.load(Relaxed)).collect(),
            count: self.count.load(Relaxed),
            sum: self.sum.load(Relaxed),
            max: self.max.load(Relaxed),
        }
    }
}

/// A copy of a histogram: counts per power-of-two bucket.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct HistogramSnapshot {
    /// `buckets[i]` counts values `v` with `2^(i-1) <= v < 2^i` (`buckets[0]` counts zeros).
    pub buckets: Vec<u64>,
    /// Number of values recorded.
    pub count: u64,
    /// Sum of the values.
    pub sum: u64,
    /// Largest value recorded.
    pub max: u64,
}

impl HistogramSnapshot {
    /// Mean of the recorded values (0 when empty).
    pub fn mean(&self) -> f64 {
        if self.count == 0 {
            0.0
        } else {
            self.sum as f64 / self.count as f64
        }
    }

    /// Upper bound of the bucket holding quantile `q` (0.0..=1.0); exact to a factor of two.
    pub fn quantile_upper_bound(&self, q: f64) -> u64 {
        let target = (q.clamp(0.0, 1.0) * self.count as f64).ceil() as u64;
        let mut seen = 0;
        for (i, n) in self.buckets.iter().enumerate() {
            seen += n;
            if seen >= target.max(1) {
                return if i == 0 { 0 } else { (1u64 << i) - 1 }.min(self.max);
            }
        }
        self.max
    }

    fn write_prometheus(&self, out: &mut String, name: &str, help: &str) {
        let _ = writeln!(out, "# HELP {name} {help}\n# TYPE {name} histogram");
        let mut cumulative = 0;
        for (i, n) in self.buckets.iter().enumerate() {
            cumulative += n;
            let le = if i == 0 { 0 } else { (1u64 << i) - 1 };
            let _ = writeln!(out, "{name}_bucket{{le=\"{le}\"}} {cumulative}");
        }
        let _ = writeln!(
            out,
            "{name}_bucket{{le=\"+Inf\"}} {}\n{name}_sum {}\n{name}_count {}",
            self.count, self.sum, self.count
        );
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn histogram_buckets_by_power_of_two() {
        let h = Histogram::default();
        for v in [0, 1, 2, 3, 4, 1000] {
            h.record(v);
        }
        let s = h.snapshot();
        assert_eq!(s.count, 6);
        assert_eq!(s.sum, 1010);
        assert_eq!(s.buckets[0], 1);
        assert_eq!(s.buckets[1], 1);
        assert_eq!(s.buckets[2], 2);
        assert_eq!(s.buckets[3], 1);
        assert_eq!(s.buckets[10], 1);
        assert_eq!(s.quantile_upper_bound(0.5), 3);
        assert_eq!(s.quantile_upper_bound(1.0), 1000);
    }

    #[test]
    fn prometheus_text_has_every_counter() {
        let m = Metrics::default();
        Metrics::add(&m.events, 5);
        m.batch_events.record(5);
        let text = m.snapshot().to_prometheus();
        assert!(text.contains("tidelog_events_total 5"));
        assert!(text.contains("tidelog_batch_events_count 1"));
        assert!(text.contains("tidelog_skipped_corrupt_snapshots_total 0"));
    }
}
