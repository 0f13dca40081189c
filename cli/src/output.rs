//! Presentation: JSON records, tables, timestamps, sizes and progress bars.

use std::io::Write;
use std::time::Duration;

use base64::Engine;
use comfy_table::{presets::UTF8_FULL_CONDENSED, ContentArrangement, Table};
use indicatif::{ProgressBar, ProgressDrawTarget, ProgressStyle};
use serde::{Deserialize, Serialize};
use tidelog::EventRef;

/// Bytes as JSON: a string when they are valid UTF-8, else `{"base64": "..."}`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(untagged)]
pub enum Bytes {
    /// Valid UTF-8, stored as is.
    Text(String),
    /// Anything else, base64 (standard alphabet, padded).
    Base64 {
        /// The encoded bytes.
        base64: String,
    },
}

impl Bytes {
    /// Encodes bytes, preferring text.
    pub fn encode(bytes: &[u8]) -> Bytes {
        match std::str::from_utf8(bytes) {
            Ok(text) => Bytes::Text(text.to_owned()),
            Err(_) => Bytes::Base64 {
                base64: base64::engine::general_purpose::STANDARD.encode(bytes),
            },
        }
    }

    /// The original bytes.
    pub fn decode(&self) -> Result<Vec<u8>, base64::DecodeError> {
        match self {
            Bytes::Text(text) => Ok(text.as_bytes().to_vec()),
            Bytes::Base64 { base64 } => base64::engine::general_purpose::STANDARD.decode(base64),
        }
    }

    /// A one-line preview for tables, at most `max` characters.
    pub fn preview(bytes: &[u8], max: usize) -> String {
        let text = match Bytes::encode(bytes) {
            Bytes::Text(t) => t.replace(['\n', '\r', '\t'], " "),
            Bytes::Base64 { base64 } => format!("base64:{base64}"),
        };
        if text.chars().count() > max {
            let cut: String = text.chars().take(max.saturating_sub(1)).collect();
            format!("{cut}…")
        } else {
            text
        }
    }
}

/// An event as printed by `cat --json` and `tail --json` (and stored by `export`).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct EventRecord {
    /// The stream.
    pub persistence_id: String,
    /// Position in the stream.
    pub sequence_nr: u64,
    /// Position in the journal.
    pub global_offset: u64,
    /// Unix milliseconds.
    pub timestamp: u64,
    /// Event type name.
    pub manifest: String,
    /// Writer instance id.
    pub writer_id: String,
    /// Tags.
    pub tags: Vec<String>,
    /// Adapter-specific metadata bytes.
    pub metadata: Bytes,
    /// Payload bytes.
    pub payload: Bytes,
}

impl EventRecord {
    /// Copies a borrowed event into a record.
    pub fn from_ref(e: &EventRef<'_>) -> EventRecord {
        EventRecord {
            persistence_id: e.persistence_id.to_owned(),
            sequence_nr: e.sequence_nr,
            global_offset: e.global_offset,
            timestamp: e.timestamp,
            manifest: e.manifest.to_owned(),
            writer_id: e.writer_id.to_owned(),
            tags: e.tags.iter().map(str::to_owned).collect(),
            metadata: Bytes::encode(e.metadata),
            payload: Bytes::encode(e.payload),
        }
    }
}

/// Prints one JSON document (pretty) to stdout.
pub fn print_json<T: Serialize>(value: &T) -> anyhow::Result<()> {
    let mut out = std::io::stdout().lock();
    serde_json::to_writer_pretty(&mut out, value)?;
    writeln!(out)?;
    Ok(())
}

/// A table with the house style.
pub fn table(header: &[&str]) -> Table {
    let mut table = Table::new();
    table
        .load_preset(UTF8_FULL_CONDENSED)
        .set_content_arrangement(ContentArrangement::Disabled)
        .set_header(header.iter().copied());
    table
}

/// Unix milliseconds as an RFC 3339 UTC timestamp (`2026-11-24T20:31:05.123Z`).
pub fn timestamp(millis: u64) -> String {
    let secs = millis / 1000;
    let days = (secs / 86_400) as i64;
    let rem = secs % 86_400;
    // Howard Hinnant's civil_from_days.
    let z = days + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z.rem_euclid(146_097);
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let day = doy - (153 * mp + 2) / 5 + 1;
    let month = if mp < 10 { mp + 3 } else { mp - 9 };
    let year = yoe + era * 400 + i64::from(month <= 2);
    format!(
        "{year:04}-{month:02}-{day:02}T{:02}:{:02}:{:02}.{:03}Z",
        rem / 3600,
        rem % 3600 / 60,
        rem % 60,
        millis % 1000
    )
}

/// A byte count for humans (`1.5 MiB`).
pub fn size(bytes: u64) -> String {
    const UNITS: [&str; 5] = ["B", "KiB", "MiB", "GiB", "TiB"];
    let mut value = bytes as f64;
    let mut unit = 0;
    while value >= 1024.0 && unit < UNITS.len() - 1 {
        value /= 1024.0;
        unit += 1;
    }
    if unit == 0 {
        format!("{bytes} B")
    } else {
        format!("{value:.1} {}", UNITS[unit])
    }
}

/// A rate for humans (`12,345 events/s`).
pub fn rate(count: u64, elapsed: Duration) -> f64 {
    let secs = elapsed.as_secs_f64();
    if secs > 0.0 {
        count as f64 / secs
    } else {
        0.0
    }
}

/// A progress bar on stderr with a known total; hidden when stderr is not a terminal.
pub fn progress(total: u64, what: &str) -> ProgressBar {
    let bar = ProgressBar::with_draw_target(Some(total), ProgressDrawTarget::stderr());
    bar.set_style(
        ProgressStyle::with_template("{msg:>12} [{bar:40}] {human_pos}/{human_len} ({per_sec}, {eta})")
            .expect("valid template")
            .progress_chars("=> "),
    );
    bar.set_message(what.to_owned());
    bar
}

/// A spinner on stderr for work of unknown length; hidden when stderr is not a terminal.
pub fn spinner(what: &str) -> ProgressBar {
    let bar = ProgressBar::with_draw_target(None, ProgressDrawTarget::stderr());
    bar.set_style(ProgressStyle::with_template("{spinner} {msg} {human_pos} ({elapsed})").expect("valid template"));
    bar.set_message(what.to_owned());
    bar.enable_steady_tick(Duration::from_millis(120));
    bar
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn timestamps_are_rfc3339() {
        assert_eq!(timestamp(0), "1970-01-01T00:00:00.000Z");
        assert_eq!(timestamp(951_782_400_123), "2000-02-29T00:00:00.123Z");
        assert_eq!(timestamp(1_795_984_265_007), "2026-11-29T20:31:05.007Z");
    }

    #[test]
    fn bytes_round_trip_as_text_or_base64() {
        for sample in [b"hello".to_vec(), vec![0xff, 0x00, 0x80], Vec::new(), "é\n".as_bytes().to_vec()] {
            let encoded = Bytes::encode(&sample);
            assert_eq!(matches!(encoded, Bytes::Text(_)), std::str::from_utf8(&sample).is_ok());
            let json = serde_json::to_string(&encoded).unwrap();
            let back: Bytes = serde_json::from_str(&json).unwrap();
            assert_eq!(back.decode().unwrap(), sample);
        }
        assert_eq!(serde_json::to_string(&Bytes::encode(&[0xff])).unwrap(), r#"{"base64":"/w=="}"#);
    }

    #[test]
    fn previews_are_bounded() {
        assert_eq!(Bytes::preview(b"abcdef", 4), "abc…");
        assert_eq!(Bytes::preview(b"a\nb", 10), "a b");
        assert_eq!(size(512), "512 B");
        assert_eq!(size(1536), "1.5 KiB");
    }
}
