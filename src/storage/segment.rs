//! A log segment's header: who the segment is (its sequence number, the
//! index it started at, how long its predecessor was) and how far the
//! segment is known to be durable (its *sync mark*).
//!
//! A crash may leave the end of the last segment torn: records written
//! since the last fsync may be missing, half there, or garbage. That is
//! harmless, since nothing unsynced was acknowledged. Damage is not: a
//! record that *was* synced (and so may have been acknowledged to a
//! leader, which counted it toward commit) and is now missing or bad.
//! Records alone cannot tell the two apart: a log truncated at a record
//! boundary looks exactly like one whose last batch never reached the
//! disk. So each segment carries, in its header, the byte offset up to
//! which an fsync of it has completed.
//!
//! The mark is rewritten in place after every successful sync, without an
//! fsync of its own: the next batch's fsync (which flushes every dirty page
//! of the file) makes it durable, and so does the process ending normally
//! or being killed (the page cache keeps it). Only a power cut right after
//! a sync can leave the previous mark on disk, and then the mark still
//! never claims more than was synced. Two slots take turns, each with its
//! own counter and checksum, so a torn write of one leaves the other.
//!
//! A segment is created under a temporary name, fsynced and renamed, so a
//! segment file with its final name always had a whole header: one that is
//! now shorter, or fails its checksum, is damaged. When a segment is full,
//! the next one is created first and then the full one is *sealed* (its
//! mark says so, fsynced): a sealed segment without a successor has lost it.
//!
//! Layout (little endian), [`HEADER_LEN`] bytes:
//!
//! ```text
//!  0  magic "RLABLOG\0"         8
//!  8  format version (u32)      4
//! 12  sequence number (u64)     8
//! 20  first index (u64)         8   the log's last index + 1 when it began
//! 28  predecessor length (u64)  8   bytes of segment seq - 1 then (0 for 1)
//! 36  CRC32 of bytes 0..36      4
//! 40  mark slot 0              24   counter (u64), synced (u64),
//! 64  mark slot 1              24   sealed (u32), CRC32 of the 20 bytes
//! ```

use std::path::Path;

use super::format::{SEGMENT_MAGIC, VERSION};
use super::{Result, StorageError};
use crate::raft::Index;

/// Bytes of a segment header; the first record starts here.
pub(super) const HEADER_LEN: u64 = 88;
/// Bytes of the fixed part, before its checksum.
const FIXED_LEN: usize = 36;
/// Where the first mark slot starts.
const SLOTS_AT: usize = 40;
/// Bytes of one mark slot.
const SLOT_LEN: usize = 24;

/// The fixed part of a segment header, written once at creation.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(super) struct Header {
    /// The segment's sequence number (1 for the first segment ever).
    pub(super) seq: u64,
    /// The log's last index + 1 when the segment began: the index the
    /// replay must have reached at its start.
    pub(super) first_index: Index,
    /// The predecessor's length in bytes when this segment began.
    pub(super) prev_len: u64,
}

/// How far a segment is known to be durable.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(super) struct Mark {
    /// Counts rewrites; the slot with the higher counter is current.
    pub(super) counter: u64,
    /// Every byte below this offset was fsynced before the mark was
    /// written.
    pub(super) synced: u64,
    /// The segment is full and its successor was durably created.
    pub(super) sealed: bool,
}

impl Mark {
    /// The mark of a new segment: its header is durable, nothing more.
    pub(super) fn new() -> Mark {
        Mark {
            counter: 0,
            synced: HEADER_LEN,
            sealed: false,
        }
    }

    /// The next mark, saying `synced` (and `sealed`).
    pub(super) fn next(self, synced: u64, sealed: bool) -> Mark {
        Mark {
            counter: self.counter + 1,
            synced,
            sealed,
        }
    }

    /// Byte offset of the slot this mark is written to.
    pub(super) fn offset(self) -> u64 {
        (SLOTS_AT + SLOT_LEN * (self.counter % 2) as usize) as u64
    }

    /// The slot's bytes.
    pub(super) fn encode(self) -> [u8; SLOT_LEN] {
        let mut out = [0; SLOT_LEN];
        out[..8].copy_from_slice(&self.counter.to_le_bytes());
        out[8..16].copy_from_slice(&self.synced.to_le_bytes());
        out[16..20].copy_from_slice(&u32::from(self.sealed).to_le_bytes());
        let crc = crc32fast::hash(&out[..20]);
        out[20..].copy_from_slice(&crc.to_le_bytes());
        out
    }

    fn decode(slot: &[u8]) -> Option<Mark> {
        if slot.len() != SLOT_LEN || crc32fast::hash(&slot[..20]) != u32_at(slot, 20) {
            return None;
        }
        let sealed = match u32_at(slot, 16) {
            0 => false,
            1 => true,
            _ => return None,
        };
        Some(Mark {
            counter: u64_at(slot, 0),
            synced: u64_at(slot, 8),
            sealed,
        })
    }
}

/// A new segment's header bytes, its first mark in slot 0.
pub(super) fn encode(header: Header) -> [u8; HEADER_LEN as usize] {
    let mut out = [0; HEADER_LEN as usize];
    out[..8].copy_from_slice(&SEGMENT_MAGIC);
    out[8..12].copy_from_slice(&VERSION.to_le_bytes());
    out[12..20].copy_from_slice(&header.seq.to_le_bytes());
    out[20..28].copy_from_slice(&header.first_index.to_le_bytes());
    out[28..36].copy_from_slice(&header.prev_len.to_le_bytes());
    let crc = crc32fast::hash(&out[..FIXED_LEN]);
    out[FIXED_LEN..SLOTS_AT].copy_from_slice(&crc.to_le_bytes());
    out[SLOTS_AT..SLOTS_AT + SLOT_LEN].copy_from_slice(&Mark::new().encode());
    out
}

/// Reads the header at the start of `bytes` (the whole segment file) and
/// its current mark. A short or unchecked header is damage, since segments
/// are renamed into place only once their header is durable.
pub(super) fn decode(path: &Path, bytes: &[u8]) -> Result<(Header, Mark)> {
    let damaged = |offset: u64, expected: String, found: String| StorageError::Damaged {
        path: path.to_path_buf(),
        offset,
        expected,
        found,
    };
    if bytes.len() >= 8 && bytes[..8] != SEGMENT_MAGIC {
        return Err(StorageError::Corrupt {
            path: path.to_path_buf(),
            offset: 0,
            reason: "the file does not start with the magic number \"RLABLOG\\0\"".into(),
        });
    }
    if bytes.len() >= 12 {
        let found = u32_at(bytes, 8);
        if found != VERSION {
            return Err(StorageError::Version {
                path: path.to_path_buf(),
                found,
                expected: VERSION,
            });
        }
    }
    if (bytes.len() as u64) < HEADER_LEN {
        return Err(damaged(
            bytes.len() as u64,
            format!(
                "a segment header of {HEADER_LEN} bytes, made durable when the segment was created"
            ),
            format!(
                "the file ends at byte {}: it was truncated or emptied",
                bytes.len()
            ),
        ));
    }
    let crc = u32_at(bytes, FIXED_LEN);
    let actual = crc32fast::hash(&bytes[..FIXED_LEN]);
    if actual != crc {
        return Err(damaged(
            0,
            format!("a segment header with checksum {crc:#010x}"),
            format!("checksum {actual:#010x}"),
        ));
    }
    let header = Header {
        seq: u64_at(bytes, 12),
        first_index: u64_at(bytes, 20),
        prev_len: u64_at(bytes, 28),
    };
    let slots = [0, 1].map(|i| {
        let at = SLOTS_AT + SLOT_LEN * i;
        Mark::decode(&bytes[at..at + SLOT_LEN])
    });
    let mark = match slots {
        [Some(a), Some(b)] => {
            if a.counter >= b.counter {
                a
            } else {
                b
            }
        }
        [Some(m), None] | [None, Some(m)] => m,
        [None, None] => {
            return Err(damaged(
                SLOTS_AT as u64,
                "a sync mark with a valid checksum in one of its two slots".into(),
                "neither slot checks".into(),
            ));
        }
    };
    Ok((header, mark))
}

fn u32_at(bytes: &[u8], at: usize) -> u32 {
    let mut b = [0; 4];
    b.copy_from_slice(&bytes[at..at + 4]);
    u32::from_le_bytes(b)
}

fn u64_at(bytes: &[u8], at: usize) -> u64 {
    let mut b = [0; 8];
    b.copy_from_slice(&bytes[at..at + 8]);
    u64::from_le_bytes(b)
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::path::PathBuf;

    fn header() -> Header {
        Header {
            seq: 7,
            first_index: 42,
            prev_len: 1000,
        }
    }

    #[test]
    fn a_header_reads_back_with_its_newest_mark() {
        let path = PathBuf::from("log");
        let mut bytes = encode(header()).to_vec();
        assert_eq!(decode(&path, &bytes).unwrap(), (header(), Mark::new()));
        let m1 = Mark::new().next(500, false);
        let m2 = m1.next(900, true);
        for m in [m1, m2] {
            let at = m.offset() as usize;
            bytes[at..at + SLOT_LEN].copy_from_slice(&m.encode());
        }
        assert_eq!(decode(&path, &bytes).unwrap().1, m2);
        // A torn rewrite of the newest slot leaves the one before.
        bytes[m2.offset() as usize + 3] ^= 0xff;
        assert_eq!(decode(&path, &bytes).unwrap().1, m1);
        bytes[m1.offset() as usize + 9] ^= 0xff;
        assert!(matches!(
            decode(&path, &bytes),
            Err(StorageError::Damaged { offset: 40, .. })
        ));
    }

    #[test]
    fn a_short_or_unchecked_header_is_damage() {
        let path = PathBuf::from("log");
        let bytes = encode(header());
        for len in [0, 5, 12, 87] {
            let err = decode(&path, &bytes[..len]).unwrap_err();
            assert!(
                matches!(&err, StorageError::Damaged { offset, .. } if *offset == len as u64),
                "{err}"
            );
        }
        let mut flipped = bytes;
        flipped[14] ^= 1;
        assert!(matches!(
            decode(&path, &flipped),
            Err(StorageError::Damaged { offset: 0, .. })
        ));
        let mut old = bytes;
        old[8..12].copy_from_slice(&2u32.to_le_bytes());
        assert!(matches!(
            decode(&path, &old),
            Err(StorageError::Version { found: 2, .. })
        ));
    }
}
