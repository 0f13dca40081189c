//! Statistics over samples and Markdown tables for the output.

use std::fmt::Write as _;

/// Nearest-rank percentile of already sorted samples (`q` in 0..=1).
/// Returns 0 for no samples.
pub fn percentile(sorted: &[u64], q: f64) -> u64 {
    if sorted.is_empty() {
        return 0;
    }
    let rank = (q * sorted.len() as f64).ceil() as usize;
    sorted[rank.clamp(1, sorted.len()) - 1]
}

/// Mean of samples in nanoseconds, in microseconds (0 for no samples).
pub fn mean_us(nanos: &[u64]) -> f64 {
    if nanos.is_empty() {
        return 0.0;
    }
    nanos.iter().sum::<u64>() as f64 / nanos.len() as f64 / 1000.0
}

/// Median of a set of measurements (mean of the middle two for an even count).
pub fn median(values: &[f64]) -> f64 {
    if values.is_empty() {
        return 0.0;
    }
    let mut v = values.to_vec();
    v.sort_by(f64::total_cmp);
    let mid = v.len() / 2;
    if v.len() % 2 == 1 {
        v[mid]
    } else {
        (v[mid - 1] + v[mid]) / 2.0
    }
}

/// Latency percentiles, in microseconds.
#[derive(Debug, Clone, Copy, Default, PartialEq)]
pub struct Latency {
    /// Median.
    pub p50: f64,
    /// 99th percentile.
    pub p99: f64,
    /// 99.9th percentile.
    pub p999: f64,
    /// Number of samples.
    pub count: usize,
}

impl Latency {
    /// Percentiles of samples given in nanoseconds.
    pub fn from_nanos(mut samples: Vec<u64>) -> Latency {
        samples.sort_unstable();
        let us = |q| percentile(&samples, q) as f64 / 1000.0;
        Latency {
            p50: us(0.5),
            p99: us(0.99),
            p999: us(0.999),
            count: samples.len(),
        }
    }
}

/// `a / b` as a ratio cell ("2.41×"), or "n/a" when `b` is zero.
pub fn ratio(a: f64, b: f64) -> String {
    if b <= 0.0 || !a.is_finite() || !b.is_finite() {
        return "n/a".into();
    }
    format!("{:.2}×", a / b)
}

/// `a / b` as a percentage cell ("81%").
pub fn percent(a: f64, b: f64) -> String {
    if b <= 0.0 {
        return "n/a".into();
    }
    format!("{:.0}%", 100.0 * a / b)
}

/// A count per second with a thousands unit ("12.3 k/s", "4.56 M/s").
pub fn rate(per_sec: f64) -> String {
    if per_sec >= 1e6 {
        format!("{:.2} M/s", per_sec / 1e6)
    } else if per_sec >= 1e3 {
        format!("{:.1} k/s", per_sec / 1e3)
    } else {
        format!("{per_sec:.0} /s")
    }
}

/// Bytes per second in MB/s (10^6).
pub fn mbps(bytes_per_sec: f64) -> String {
    format!("{:.1} MB/s", bytes_per_sec / 1e6)
}

/// Milliseconds with a sensible precision ("0.153 ms", "12.4 ms", "1203 ms").
pub fn ms(ms: f64) -> String {
    if ms < 1.0 {
        format!("{ms:.3} ms")
    } else if ms < 100.0 {
        format!("{ms:.1} ms")
    } else {
        format!("{ms:.0} ms")
    }
}

/// Microseconds ("153 µs").
pub fn us(us: f64) -> String {
    if us < 10.0 {
        format!("{us:.1} µs")
    } else {
        format!("{us:.0} µs")
    }
}

/// A titled Markdown table.
#[derive(Debug, Clone, Default)]
pub struct Table {
    title: String,
    headers: Vec<String>,
    rows: Vec<Vec<String>>,
    notes: Vec<String>,
}

impl Table {
    /// A table with a title and column headers.
    pub fn new(title: impl Into<String>, headers: &[&str]) -> Table {
        Table {
            title: title.into(),
            headers: headers.iter().map(|h| h.to_string()).collect(),
            ..Default::default()
        }
    }

    /// Adds a row; missing cells are left empty, extra cells are an error in the caller.
    pub fn row(&mut self, cells: Vec<String>) {
        assert!(cells.len() <= self.headers.len(), "row has more cells than the table has columns");
        self.rows.push(cells);
    }

    /// Adds a line printed under the table.
    pub fn note(&mut self, note: impl Into<String>) {
        self.notes.push(note.into());
    }

    /// True when the table has no rows.
    pub fn is_empty(&self) -> bool {
        self.rows.is_empty()
    }

    /// The table as Markdown: a `###` title, a pipe table, then its notes.
    pub fn markdown(&self) -> String {
        let mut out = String::new();
        let _ = writeln!(out, "### {}\n", self.title);
        let _ = writeln!(out, "| {} |", self.headers.join(" | "));
        let _ = writeln!(out, "|{}", "---|".repeat(self.headers.len()));
        for row in &self.rows {
            let mut cells = row.clone();
            cells.resize(self.headers.len(), String::new());
            let _ = writeln!(out, "| {} |", cells.join(" | "));
        }
        if !self.notes.is_empty() {
            out.push('\n');
            for note in &self.notes {
                let _ = writeln!(out, "- {note}");
            }
        }
        out
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn percentiles_use_nearest_rank() {
        let samples: Vec<u64> = (1..=1000).collect();
        assert_eq!(percentile(&samples, 0.5), 500);
        assert_eq!(percentile(&samples, 0.99), 990);
        assert_eq!(percentile(&samples, 0.999), 999);
        assert_eq!(percentile(&samples, 1.0), 1000);
        assert_eq!(percentile(&samples, 0.0), 1);
        assert_eq!(percentile(&[], 0.5), 0);
    }

    #[test]
    fn mean_us_converts_nanoseconds() {
        assert_eq!(mean_us(&[1_000, 2_000, 6_000]), 3.0);
        assert_eq!(mean_us(&[]), 0.0);
        assert_eq!(percentile(&[7], 0.999), 7);
    }

    #[test]
    fn latency_sorts_and_converts_to_microseconds() {
        let l = Latency::from_nanos(vec![3_000, 1_000, 2_000]);
        assert_eq!(l.p50, 2.0);
        assert_eq!(l.p999, 3.0);
        assert_eq!(l.count, 3);
    }

    #[test]
    fn median_of_odd_and_even_counts() {
        assert_eq!(median(&[3.0, 1.0, 2.0]), 2.0);
        assert_eq!(median(&[4.0, 1.0, 2.0, 3.0]), 2.5);
        assert_eq!(median(&[]), 0.0);
    }

    #[test]
    fn ratio_and_units() {
        assert_eq!(ratio(5.0, 2.0), "2.50×");
        assert_eq!(ratio(1.0, 0.0), "n/a");
        assert_eq!(percent(1.0, 4.0), "25%");
        assert_eq!(rate(1_500.0), "1.5 k/s");
        assert_eq!(rate(2_500_000.0), "2.50 M/s");
        assert_eq!(rate(12.0), "12 /s");
        assert_eq!(ms(0.1534), "0.153 ms");
        assert_eq!(ms(1203.4), "1203 ms");
    }

    #[test]
    fn markdown_pads_short_rows_and_lists_notes() {
        let mut t = Table::new("T", &["a", "b"]);
        t.row(vec!["1".into()]);
        t.note("n");
        let md = t.markdown();
        assert!(md.starts_with("### T\n"));
        assert!(md.contains("| a | b |\n|---|---|\n| 1 |  |\n"));
        assert!(md.ends_with("- n\n"));
        assert!(!t.is_empty());
    }

    #[test]
    #[should_panic(expected = "more cells")]
    fn rows_wider_than_the_header_are_rejected() {
        Table::new("T", &["a"]).row(vec!["1".into(), "2".into()]);
    }
}
