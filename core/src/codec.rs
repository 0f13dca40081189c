//! Binary encoding of one stored event (format version 1; see `docs/format.md`).
//!
//! The persistence id is not part of the body: each backend keys it separately.
//! Every body starts with the CRC32 of the rest, so both backends detect damage
//! on every read, not only at open.

use crate::error::CorruptReason;
use crate::model::{EventRef, NewEvent, Tags};

/// Bytes before the variable-length fields.
const FIXED: usize = 4 + 8 + 8 + 8 + 2 + 2 + 2 + 2;

/// Size of the body [`encode_event`] writes for `event`.
pub(crate) fn encoded_len(event: &NewEvent) -> usize {
    FIXED
        + event.manifest.len()
        + event.writer_id.len()
        + event.metadata.len()
        + event.tags.iter().map(|t| 2 + t.len()).sum::<usize>()
        + event.payload.len()
}

/// Appends the encoded body of `event` to `out`. Fields must have been validated
/// (lengths fit in `u16`).
pub(crate) fn encode_event(out: &mut Vec<u8>, event: &NewEvent, sequence_nr: u64, global_offset: u64, timestamp: u64) {
    let start = out.len();
    out.reserve(encoded_len(event));
    out.extend_from_slice(&[0; 4]);
    out.extend_from_slice(&sequence_nr.to_le_bytes());
    out.extend_from_slice(&global_offset.to_le_bytes());
    out.extend_from_slice(&timestamp.to_le_bytes());
    out.extend_from_slice(&(event.manifest.len() as u16).to_le_bytes());
    out.extend_from_slice(&(event.writer_id.len() as u16).to_le_bytes());
    out.extend_from_slice(&(event.metadata.len() as u16).to_le_bytes());
    out.extend_from_slice(&(event.tags.len() as u16).to_le_bytes());
    out.extend_from_slice(event.manifest.as_bytes());
    out.extend_from_slice(event.writer_id.as_bytes());
    out.extend_from_slice(&event.metadata);
    for tag in &event.tags {
        out.extend_from_slice(&(tag.len() as u16).to_le_bytes());
        out.extend_from_slice(tag.as_bytes());
    }
    out.extend_from_slice(&event.payload);
    let crc = crc32fast::hash(&out[start + 4..]);
    out[start..start + 4].copy_from_slice(&crc.to_le_bytes());
}

/// The fields every index needs without decoding the whole body.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct EventHeader {
    pub sequence_nr: u64,
    pub global_offset: u64,
}

/// Reads sequence number and global offset (no checksum verification).
pub(crate) fn decode_header(body: &[u8]) -> Result<EventHeader, CorruptReason> {
    if body.len() < FIXED {
        return Err(CorruptReason::Truncated);
    }
    Ok(EventHeader {
        sequence_nr: le_u64(&body[4..12]),
        global_offset: le_u64(&body[12..20]),
    })
}

/// The tag count a body's header states, unchecked (0 for a body too short to hold one): lets a
/// caller that needs only the tags skip decoding, and checksumming, the bodies that have none.
pub(crate) fn stated_tag_count(body: &[u8]) -> usize {
    body.get(34..FIXED).map_or(0, le_u16)
}

/// Verifies the checksum and decodes a body into a borrowed [`EventRef`].
///
/// Inlined into each scan loop: the event is then built where the visitor takes it, instead
/// of being copied (about 130 bytes) through each call's return (measured: a third of a
/// 100-event read's core time went to those copies; `bench/RESULTS.md`, issue 25).
#[inline(always)]
pub(crate) fn decode_event<'a>(persistence_id: &'a str, body: &'a [u8]) -> Result<EventRef<'a>, CorruptReason> {
    if body.len() < FIXED {
        return Err(CorruptReason::Truncated);
    }
    let stored = u32::from_le_bytes([body[0], body[1], body[2], body[3]]);
    let computed = checksum(&body[4..]);
    if stored != computed {
        return Err(CorruptReason::Checksum { stored, computed });
    }
    decode_verified_event(persistence_id, body)
}

/// [`decode_event`] without its checksum, for a body whose bytes were verified when they entered
/// the process's own memory and have not left it since: the LMDB log's tail, which holds what this
/// writer encoded or what it parsed from records whose CRC covers every body, so a read need not
/// check each body again. Lengths and UTF-8 are still checked.
#[inline]
pub(crate) fn decode_verified_event<'a>(persistence_id: &'a str, body: &'a [u8]) -> Result<EventRef<'a>, CorruptReason> {
    if body.len() < FIXED {
        return Err(CorruptReason::Truncated);
    }
    let manifest_len = le_u16(&body[28..30]);
    let writer_len = le_u16(&body[30..32]);
    let metadata_len = le_u16(&body[32..34]);
    let tag_count = le_u16(&body[34..36]) as u16;
    let mut pos = FIXED;
    let mut take = |len: usize| -> Result<&'a [u8], CorruptReason> {
        let slice = body.get(pos..pos + len).ok_or(CorruptReason::Truncated)?;
        pos += len;
        Ok(slice)
    };
    let manifest = utf8(take(manifest_len)?)?;
    let writer_id = utf8(take(writer_len)?)?;
    let metadata = take(metadata_len)?;
    let tags_start = pos;
    for _ in 0..tag_count {
        let len = body.get(pos..pos + 2).ok_or(CorruptReason::Truncated)?;
        let len = le_u16(len);
        let tag = body.get(pos + 2..pos + 2 + len).ok_or(CorruptReason::Truncated)?;
        utf8(tag)?;
        pos += 2 + len;
    }
    let tags = Tags {
        count: tag_count,
        raw: &body[tags_start..pos],
    };
    Ok(EventRef {
        persistence_id,
        sequence_nr: le_u64(&body[4..12]),
        global_offset: le_u64(&body[12..20]),
        timestamp: le_u64(&body[20..28]),
        manifest,
        writer_id,
        tags,
        metadata,
        payload: &body[pos..],
        body: &body[4..],
    })
}

/// CRC32 of `bytes`, from a hasher made once: `crc32fast::hash` detects the CPU's features on
/// every call (a few percent of a stream read, where every event is checked).
#[inline]
fn checksum(bytes: &[u8]) -> u32 {
    static PROTOTYPE: std::sync::OnceLock<crc32fast::Hasher> = std::sync::OnceLock::new();
    let mut hasher = PROTOTYPE.get_or_init(crc32fast::Hasher::new).clone();
    hasher.update(bytes);
    hasher.finalize()
}

#[inline]
fn utf8(bytes: &[u8]) -> Result<&str, CorruptReason> {
    // Most manifests and writer ids are empty: no call for those.
    if bytes.is_empty() {
        return Ok("");
    }
    std::str::from_utf8(bytes).map_err(|_| CorruptReason::Malformed("string field is not UTF-8"))
}

#[inline]
pub(crate) fn le_u64(b: &[u8]) -> u64 {
    u64::from_le_bytes(b[..8].try_into().expect("8 bytes"))
}

#[inline]
pub(crate) fn be_u64(b: &[u8]) -> u64 {
    u64::from_be_bytes(b[..8].try_into().expect("8 bytes"))
}

#[inline]
pub(crate) fn le_u32(b: &[u8]) -> u32 {
    u32::from_le_bytes(b[..4].try_into().expect("4 bytes"))
}

#[inline]
fn le_u16(b: &[u8]) -> usize {
    u16::from_le_bytes([b[0], b[1]]) as usize
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn round_trips_every_field() {
        let ev = NewEvent::new(vec![0xff, 0, 1])
            .manifest("Added")
            .writer_id("w-1")
            .tag("a")
            .tag("bé")
            .metadata(vec![7]);
        let mut buf = Vec::new();
        encode_event(&mut buf, &ev, 42, 7, 1234);
        assert_eq!(buf.len(), encoded_len(&ev));
        let got = decode_event("pid", &buf).unwrap();
        assert_eq!(got.sequence_nr, 42);
        assert_eq!(got.global_offset, 7);
        assert_eq!(got.timestamp, 1234);
        assert_eq!(got.manifest, "Added");
        assert_eq!(got.writer_id, "w-1");
        assert_eq!(got.tags.iter().collect::<Vec<_>>(), vec!["a", "bé"]);
        assert_eq!(got.metadata, &[7]);
        assert_eq!(got.payload, &[0xff, 0, 1]);
        assert_eq!(
            decode_header(&buf).unwrap(),
            EventHeader {
                sequence_nr: 42,
                global_offset: 7
            }
        );
    }

    #[test]
    fn every_flipped_bit_is_detected() {
        let ev = NewEvent::new(b"payload".to_vec()).tag("t");
        let mut buf = Vec::new();
        encode_event(&mut buf, &ev, 1, 1, 1);
        for bit in 0..buf.len() * 8 {
            let mut bad = buf.clone();
            bad[bit / 8] ^= 1 << (bit % 8);
            assert!(decode_event("p", &bad).is_err(), "bit {bit} not detected");
        }
    }

    #[test]
    fn truncated_bodies_are_rejected() {
        let mut buf = Vec::new();
        encode_event(&mut buf, &NewEvent::new(b"x".to_vec()).tag("tag"), 1, 1, 1);
        for len in 0..buf.len() {
            assert!(decode_event("p", &buf[..len]).is_err());
        }
    }
}
