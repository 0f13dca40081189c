//! Snapshot file format, version 1 (see `docs/format.md`).

use crate::error::CorruptReason;
use crate::model::Snapshot;

// On-disk magic bytes: compatibility constants from before the rename (TM: the former name); never change them.
pub(crate) const MAGIC: &[u8; 4] = b"TMSN";
pub(crate) const VERSION: u8 = 1;
const FLAG_ZSTD: u8 = 1;
/// magic, version, flags, reserved(2), crc32.
const HEADER: usize = 4 + 1 + 1 + 2 + 4;

pub(crate) fn encode(snapshot: &Snapshot, compress: bool) -> Vec<u8> {
    let (flags, state): (u8, std::borrow::Cow<[u8]>) = if compress {
        compressed(&snapshot.state)
    } else {
        (0, (&snapshot.state[..]).into())
    };
    let mut out =
        Vec::with_capacity(HEADER + 40 + snapshot.persistence_id.len() + snapshot.manifest.len() + snapshot.metadata.len() + state.len());
    out.extend_from_slice(MAGIC);
    out.push(VERSION);
    out.push(flags);
    out.extend_from_slice(&[0, 0, 0, 0, 0, 0]);
    out.extend_from_slice(&snapshot.sequence_nr.to_le_bytes());
    out.extend_from_slice(&snapshot.timestamp.to_le_bytes());
    out.extend_from_slice(&(snapshot.persistence_id.len() as u32).to_le_bytes());
    out.extend_from_slice(snapshot.persistence_id.as_bytes());
    out.extend_from_slice(&(snapshot.manifest.len() as u32).to_le_bytes());
    out.extend_from_slice(snapshot.manifest.as_bytes());
    out.extend_from_slice(&(snapshot.metadata.len() as u32).to_le_bytes());
    out.extend_from_slice(&snapshot.metadata);
    out.extend_from_slice(&(snapshot.state.len() as u64).to_le_bytes());
    out.extend_from_slice(&state);
    let crc = checksum(&out);
    out[8..12].copy_from_slice(&crc.to_le_bytes());
    out
}

/// CRC32 over everything but the checksum field itself (version and flags included).
fn checksum(bytes: &[u8]) -> u32 {
    let mut hasher = crc32fast::Hasher::new();
    hasher.update(&bytes[4..8]);
    hasher.update(&bytes[HEADER..]);
    hasher.finalize()
}

#[cfg(feature = "zstd")]
fn compressed(state: &[u8]) -> (u8, std::borrow::Cow<'_, [u8]>) {
    match zstd::bulk::compress(state, 3) {
        Ok(c) => (FLAG_ZSTD, c.into()),
        Err(_) => (0, state.into()),
    }
}

#[cfg(not(feature = "zstd"))]
fn compressed(state: &[u8]) -> (u8, std::borrow::Cow<'_, [u8]>) {
    (0, state.into())
}

/// Decodes and verifies a snapshot file's bytes.
pub(crate) fn decode(bytes: &[u8]) -> Result<Snapshot, CorruptReason> {
    if bytes.len() < HEADER {
        return Err(CorruptReason::Truncated);
    }
    if &bytes[..4] != MAGIC {
        return Err(CorruptReason::BadMagic);
    }
    let stored = crate::codec::le_u32(&bytes[8..12]);
    let computed = checksum(bytes);
    if stored != computed {
        return Err(CorruptReason::Checksum { stored, computed });
    }
    if bytes[4] != VERSION {
        return Err(CorruptReason::Malformed("unknown snapshot format version"));
    }
    let flags = bytes[5];
    let mut r = Reader { bytes, pos: HEADER };
    let sequence_nr = r.u64()?;
    let timestamp = r.u64()?;
    let persistence_id = r.string()?;
    let manifest = r.string()?;
    let len = r.u32()? as usize;
    let metadata = r.take(len)?.to_vec();
    let state_len = r.u64()? as usize;
    let rest = &bytes[r.pos..];
    let state = if flags & FLAG_ZSTD != 0 {
        decompress(rest, state_len)?
    } else {
        rest.to_vec()
    };
    if state.len() != state_len {
        return Err(CorruptReason::Malformed("state length mismatch"));
    }
    Ok(Snapshot {
        persistence_id,
        sequence_nr,
        timestamp,
        manifest,
        metadata,
        state,
    })
}

#[cfg(feature = "zstd")]
fn decompress(data: &[u8], len: usize) -> Result<Vec<u8>, CorruptReason> {
    zstd::bulk::decompress(data, len).map_err(|_| CorruptReason::Malformed("zstd stream does not decode"))
}

#[cfg(not(feature = "zstd"))]
fn decompress(_: &[u8], _: usize) -> Result<Vec<u8>, CorruptReason> {
    Err(CorruptReason::Malformed(
        "snapshot is zstd-compressed; built without the zstd feature",
    ))
}

struct Reader<'a> {
    bytes: &'a [u8],
    pos: usize,
}

impl<'a> Reader<'a> {
    fn take(&mut self, n: usize) -> Result<&'a [u8], CorruptReason> {
        let s = self
            .bytes
            .get(self.pos..self.pos.checked_add(n).ok_or(CorruptReason::Truncated)?)
            .ok_or(CorruptReason::Truncated)?;
        self.pos += n;
        Ok(s)
    }
    fn u32(&mut self) -> Result<u32, CorruptReason> {
        Ok(crate::codec::le_u32(self.take(4)?))
    }
    fn u64(&mut self) -> Result<u64, CorruptReason> {
        Ok(crate::codec::le_u64(self.take(8)?))
    }
    fn string(&mut self) -> Result<String, CorruptReason> {
        let len = self.u32()? as usize;
        String::from_utf8(self.take(len)?.to_vec()).map_err(|_| CorruptReason::Malformed("string is not UTF-8"))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn sample() -> Snapshot {
        Snapshot {
            persistence_id: "p-1".into(),
            sequence_nr: 9,
            timestamp: 77,
            manifest: "State".into(),
            metadata: vec![1, 2],
            state: vec![5; 10_000],
        }
    }

    #[test]
    fn round_trips_plain_and_compressed() {
        for compress in [false, true] {
            let bytes = encode(&sample(), compress);
            assert_eq!(decode(&bytes).unwrap(), sample());
        }
        assert!(encode(&sample(), true).len() < encode(&sample(), false).len() || cfg!(not(feature = "zstd")));
    }

    #[test]
    fn any_flipped_byte_is_detected() {
        let bytes = encode(&sample(), false);
        for i in (0..bytes.len()).filter(|i| !(8..12).contains(i)).step_by(97).chain([4, 5, 6, 7, 8]) {
            let mut bad = bytes.clone();
            bad[i] ^= 0x10;
            assert!(decode(&bad).is_err(), "byte {i}");
        }
    }
}
