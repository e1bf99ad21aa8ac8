//! The bytes of [`FileStorage`](super::FileStorage)'s files: framed log
//! records, and the small checksummed files (meta, hard
//! state, snapshots) that are replaced atomically. Pure encoding and
//! decoding plus the two file operations every writer shares (atomic
//! replace, directory fsync); the file store decides what to write when.

use std::fs::{self, File};
use std::io::Write;
use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};

use super::log_state::CompactKind;
use super::{Result, StorageError};
use crate::raft::{Entry, Index, SnapshotMeta};

/// The on-disk format version this build writes and reads.
/// Version 2: snapshot metadata carries the cluster configuration, and log
/// entries may be configuration changes. Version 3: segment headers name
/// their sequence, first index and predecessor's length, and carry a sync
/// mark (see [`super::segment`]), so damage is told from a torn tail.
pub(super) const VERSION: u32 = 3;
/// First bytes of a log segment.
pub(super) const SEGMENT_MAGIC: [u8; 8] = *b"RLABLOG\0";
/// Record frame: payload length (u32 LE), CRC32 of the payload (u32 LE).
pub(super) const FRAME_LEN: usize = 8;
/// No record is larger; a length above it is a corrupt frame.
pub(super) const MAX_RECORD: usize = 1 << 30;
/// Checked file header: magic (8), version (u32), length (u64), CRC32 (u32).
const CHECKED_HEADER_LEN: usize = 24;

/// First bytes of the meta file.
pub(super) const META_MAGIC: [u8; 8] = *b"RLABMETA";
/// First bytes of the hard state file.
pub(super) const HARD_STATE_MAGIC: [u8; 8] = *b"RLABHARD";
/// First bytes of a snapshot file.
pub(super) const SNAPSHOT_MAGIC: [u8; 8] = *b"RLABSNAP";

/// A log record as written (borrowing the entries, so appending does not
/// copy them). Encodes exactly like [`Record`].
#[derive(Serialize)]
pub(super) enum RecordRef<'a> {
    /// A `LogWrite`: keep entries below `from`, drop the rest, append.
    Write { from: Index, entries: &'a [Entry] },
    /// A compaction, with its decision (`keep`: the entries after `meta`
    /// stay; otherwise the whole log goes) and the log's last index after
    /// it, which lets a replay that starts mid-history know when it has
    /// the whole picture.
    Compact {
        meta: SnapshotMeta,
        keep: bool,
        last: Index,
    },
}

/// A log record as read back.
#[derive(Deserialize)]
pub(super) enum Record {
    /// See [`RecordRef::Write`].
    Write { from: Index, entries: Vec<Entry> },
    /// See [`RecordRef::Compact`].
    Compact {
        meta: SnapshotMeta,
        keep: bool,
        last: Index,
    },
}

impl Record {
    pub(super) fn compact_kind(keep: bool) -> CompactKind {
        if keep {
            CompactKind::Keep
        } else {
            CompactKind::Reset
        }
    }
}

/// The cluster and node a data directory belongs to (the meta payload).
#[derive(Serialize, Deserialize)]
pub(super) struct Meta {
    pub(super) cluster_id: u64,
    pub(super) node_id: u64,
}

/// Appends the framed `record` to `buf`.
pub(super) fn encode_record(record: &RecordRef<'_>, buf: &mut Vec<u8>) -> Result<(), String> {
    let start = buf.len();
    buf.extend_from_slice(&[0; FRAME_LEN]);
    let buf_taken = std::mem::take(buf);
    let mut out = postcard::to_extend(record, buf_taken).map_err(|e| e.to_string())?;
    let len = out.len() - start - FRAME_LEN;
    if len > MAX_RECORD {
        out.truncate(start);
        *buf = out;
        return Err(format!(
            "record of {len} bytes exceeds the limit of {MAX_RECORD}"
        ));
    }
    let crc = crc32fast::hash(&out[start + FRAME_LEN..]);
    out[start..start + 4].copy_from_slice(&(len as u32).to_le_bytes());
    out[start + 4..start + 8].copy_from_slice(&crc.to_le_bytes());
    *buf = out;
    Ok(())
}

/// What is found at an offset of a segment.
pub(super) enum Frame {
    /// A valid record and the offset just past it.
    Record(Record, usize),
    /// No valid record starts here; why.
    Bad(String),
    /// The frame checks but the payload does not decode: corrupt for sure
    /// (a torn write cannot produce a matching checksum).
    Undecodable(String),
}

/// Reads the frame at `at` of `bytes`.
pub(super) fn read_frame(bytes: &[u8], at: usize) -> Frame {
    let rest = &bytes[at.min(bytes.len())..];
    if rest.len() < FRAME_LEN {
        return Frame::Bad(format!(
            "{} bytes left, a record frame needs {FRAME_LEN}",
            rest.len()
        ));
    }
    let len = u32::from_le_bytes([rest[0], rest[1], rest[2], rest[3]]) as usize;
    let crc = u32::from_le_bytes([rest[4], rest[5], rest[6], rest[7]]);
    if len == 0 || len > MAX_RECORD {
        return Frame::Bad(format!("record length {len} is not in 1..={MAX_RECORD}"));
    }
    if rest.len() - FRAME_LEN < len {
        return Frame::Bad(format!(
            "record of {len} bytes runs past the end of the file ({} bytes left)",
            rest.len() - FRAME_LEN
        ));
    }
    let payload = &rest[FRAME_LEN..FRAME_LEN + len];
    let actual = crc32fast::hash(payload);
    if actual != crc {
        return Frame::Bad(format!("checksum {actual:#010x}, expected {crc:#010x}"));
    }
    match postcard::from_bytes::<Record>(payload) {
        Ok(record) => Frame::Record(record, at + FRAME_LEN + len),
        Err(e) => Frame::Undecodable(format!("record does not decode: {e}")),
    }
}

/// Whether a valid record starts anywhere after `at`: tells a corrupt
/// record followed by data (an error) from a torn last write (truncated).
pub(super) fn valid_record_after(bytes: &[u8], at: usize) -> bool {
    (at + 1..bytes.len().saturating_sub(FRAME_LEN - 1))
        .any(|p| matches!(read_frame(bytes, p), Frame::Record(..)))
}

/// Checks magic and version at the start of a file.
fn check_header(path: &Path, bytes: &[u8], magic: &[u8; 8]) -> Result<()> {
    if bytes.len() < 12 || &bytes[..8] != magic {
        return Err(StorageError::Corrupt {
            path: path.to_path_buf(),
            offset: 0,
            reason: format!(
                "the file does not start with the magic number {:?}",
                String::from_utf8_lossy(magic)
            ),
        });
    }
    let found = u32::from_le_bytes([bytes[8], bytes[9], bytes[10], bytes[11]]);
    if found != VERSION {
        return Err(StorageError::Version {
            path: path.to_path_buf(),
            found,
            expected: VERSION,
        });
    }
    Ok(())
}

/// Encodes a checked file: header (magic, version, length, CRC) + payload.
pub(super) fn encode_checked(magic: &[u8; 8], payload: &[u8]) -> Vec<u8> {
    let mut out = Vec::with_capacity(CHECKED_HEADER_LEN + payload.len());
    out.extend_from_slice(magic);
    out.extend_from_slice(&VERSION.to_le_bytes());
    out.extend_from_slice(&(payload.len() as u64).to_le_bytes());
    out.extend_from_slice(&crc32fast::hash(payload).to_le_bytes());
    out.extend_from_slice(payload);
    out
}

/// Reads and checks a checked file and decodes its payload.
pub(super) fn read_checked<T: for<'de> Deserialize<'de>>(
    path: &Path,
    magic: &[u8; 8],
) -> Result<T> {
    let bytes = fs::read(path).map_err(|source| StorageError::Io {
        path: path.to_path_buf(),
        op: "read",
        source,
    })?;
    check_header(path, &bytes, magic)?;
    let corrupt = |offset: u64, reason: String| StorageError::Corrupt {
        path: path.to_path_buf(),
        offset,
        reason,
    };
    if bytes.len() < CHECKED_HEADER_LEN {
        return Err(corrupt(
            12,
            format!(
                "{} bytes, the header needs {CHECKED_HEADER_LEN}",
                bytes.len()
            ),
        ));
    }
    let mut len8 = [0; 8];
    len8.copy_from_slice(&bytes[12..20]);
    let len = u64::from_le_bytes(len8);
    let crc = u32::from_le_bytes([bytes[20], bytes[21], bytes[22], bytes[23]]);
    let payload = &bytes[CHECKED_HEADER_LEN..];
    if payload.len() as u64 != len {
        return Err(corrupt(
            12,
            format!("payload of {} bytes, the header says {len}", payload.len()),
        ));
    }
    let actual = crc32fast::hash(payload);
    if actual != crc {
        return Err(corrupt(
            20,
            format!("checksum {actual:#010x}, expected {crc:#010x}"),
        ));
    }
    postcard::from_bytes(payload).map_err(|e| {
        corrupt(
            CHECKED_HEADER_LEN as u64,
            format!("payload does not decode: {e}"),
        )
    })
}

/// An IO error with its file and operation.
pub(super) fn io_err(path: &Path, op: &'static str) -> impl FnOnce(std::io::Error) -> StorageError {
    let path = path.to_path_buf();
    move |source| StorageError::Io { path, op, source }
}

/// Fsyncs a directory, so the names created, renamed or removed in it
/// survive a crash (a file's own fsync does not cover its name).
pub(super) fn sync_dir(dir: &Path) -> Result<()> {
    File::open(dir)
        .and_then(|d| d.sync_all())
        .map_err(io_err(dir, "fsync directory"))
}

/// Replaces `dir/name` with `bytes` atomically and durably: write a temp
/// file, fsync it, rename it over the old one, fsync the directory. A crash
/// at any point leaves either the old file or the new one, never a mix.
pub(super) fn write_atomic(dir: &Path, name: &str, bytes: &[u8]) -> Result<PathBuf> {
    let path = dir.join(name);
    let tmp = dir.join(format!("{name}.tmp"));
    let mut file = File::create(&tmp).map_err(io_err(&tmp, "create"))?;
    file.write_all(bytes).map_err(io_err(&tmp, "write"))?;
    file.sync_all().map_err(io_err(&tmp, "fsync"))?;
    drop(file);
    fs::rename(&tmp, &path).map_err(io_err(&path, "rename a temp file to"))?;
    sync_dir(dir)?;
    Ok(path)
}
