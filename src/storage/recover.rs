//! Rebuilding a [`FileStorage`](super::FileStorage)'s log from its segment
//! files, telling a crash's torn tail (cut off, reported) from damage
//! (refused, with the file and offset).
//!
//! What a crash can do to the log: lose, tear or garble what was written
//! to the last segment after its last completed fsync. Nothing else. So:
//!
//! - below a segment's sync mark every record must be whole and check,
//!   and the file must reach the mark;
//! - a segment followed by another (or sealed) was fsynced whole before
//!   the next began: it must hold only whole records and be exactly as
//!   long as its successor's header says;
//! - segments chain: sequence numbers without gaps, each starting at the
//!   index where its predecessor's replay ends, the last one not sealed;
//! - a bad record with a valid record after it is corruption wherever it is.
//!
//! Past the mark of the last segment, a bad record with nothing valid after
//! it is a torn tail: it is cut off, and [`TornTail`] says so.

use std::fs::{self, OpenOptions};
use std::path::Path;

use super::file::{Segment, TornTail, segment_name};
use super::format::{self, Frame, Record, io_err};
use super::log_state::{LogState, Replay};
use super::segment::{self, HEADER_LEN, Mark};
use super::{Result, StorageError};
use crate::raft::Index;

/// What the replay found.
pub(super) struct Replayed {
    /// The log.
    pub(super) log: LogState,
    /// The segments, oldest first.
    pub(super) segments: Vec<Segment>,
    /// The last segment's sync mark.
    pub(super) mark: Mark,
    /// A torn tail, cut off.
    pub(super) torn_tail: Option<TornTail>,
    /// Segments with a successor but no seal (a crash came between
    /// creating the successor and sealing): path, length and mark.
    pub(super) unsealed: Vec<(std::path::PathBuf, u64, Mark)>,
}

/// Replays every segment in order, cutting off a torn tail of the last.
/// No segment at all is damage: a directory with `meta` always has one.
pub(super) fn replay_segments(dir: &Path, seqs: &[u64]) -> Result<Replayed> {
    let Some(&last_seq) = seqs.last() else {
        return Err(StorageError::Damaged {
            path: dir.join(segment_name(1)),
            offset: 0,
            expected: "at least one log segment (one is created with the directory)".into(),
            found: "no log-*.seg file: the log was deleted".into(),
        });
    };
    let mut replay = if seqs[0] == 1 {
        Replay::anchored()
    } else {
        Replay::default()
    };
    let mut segments: Vec<Segment> = Vec::with_capacity(seqs.len());
    // The previous segment's length and mark.
    let mut prev: Option<(u64, Mark)> = None;
    let mut lens_marks: Vec<(u64, Mark)> = Vec::with_capacity(seqs.len());
    let mut torn_tail = None;
    for &seq in seqs {
        let path = dir.join(segment_name(seq));
        if let Some(prev) = segments.last().map(|s| s.seq)
            && seq != prev + 1
        {
            return Err(StorageError::Damaged {
                path: dir.join(segment_name(prev + 1)),
                offset: 0,
                expected: format!("segment {} after segment {prev}", prev + 1),
                found: format!("the file is missing: the log jumps to segment {seq}"),
            });
        }
        let is_last = seq == last_seq;
        let bytes = fs::read(&path).map_err(io_err(&path, "read"))?;
        let (header, mark) = segment::decode(&path, &bytes)?;
        let damaged = |offset: u64, expected: String, found: String| StorageError::Damaged {
            path: path.clone(),
            offset,
            expected,
            found,
        };
        if header.seq != seq {
            return Err(damaged(
                12,
                format!("sequence number {seq}, as the file name says"),
                format!("sequence number {}", header.seq),
            ));
        }
        if let (Some(before), Some((prev_len, _))) = (segments.last(), prev) {
            if header.prev_len != prev_len {
                return Err(StorageError::Damaged {
                    path: before.path.clone(),
                    offset: prev_len.min(header.prev_len),
                    expected: format!(
                        "{} bytes, synced before segment {seq} began (its header says so)",
                        header.prev_len
                    ),
                    found: format!("{prev_len} bytes"),
                });
            }
            let next = replay.state.last() + 1;
            if replay.anchored && header.first_index != next {
                return Err(damaged(
                    20,
                    format!("the log to resume at index {}", header.first_index),
                    format!("the segments before it end at index {}", next - 1),
                ));
            }
        }
        // Fsynced whole before its successor was created.
        let whole = !is_last || mark.sealed;
        let mut max_index = 0;
        let mut at = HEADER_LEN as usize;
        while at < bytes.len() {
            let corrupt = |reason: String| StorageError::Corrupt {
                path: path.clone(),
                offset: at as u64,
                reason,
            };
            match format::read_frame(&bytes, at) {
                Frame::Record(record, next) => {
                    let applied = match record {
                        Record::Write { from, entries } => {
                            let end = from.saturating_add(entries.len() as Index);
                            max_index = max_index.max(end.saturating_sub(1));
                            replay.write(from, &entries)
                        }
                        Record::Compact { meta, keep, last } => {
                            replay.compact(meta, Record::compact_kind(keep), last)
                        }
                    };
                    applied.map_err(corrupt)?;
                    at = next;
                }
                Frame::Undecodable(reason) => return Err(corrupt(reason)),
                Frame::Bad(reason) => {
                    if (at as u64) < mark.synced {
                        return Err(damaged(
                            at as u64,
                            format!(
                                "a whole record: the segment was synced up to byte {}",
                                mark.synced
                            ),
                            reason,
                        ));
                    }
                    if whole {
                        return Err(damaged(
                            at as u64,
                            "a whole record: the segment was synced whole before the next began"
                                .into(),
                            reason,
                        ));
                    }
                    if format::valid_record_after(&bytes, at) {
                        return Err(corrupt(format!("{reason}, and valid records follow it")));
                    }
                    truncate(&path, at as u64)?;
                    torn_tail = Some(TornTail {
                        path: path.clone(),
                        offset: at as u64,
                        dropped: (bytes.len() - at) as u64,
                    });
                    break;
                }
            }
        }
        let len = at as u64;
        if len < mark.synced {
            return Err(damaged(
                len,
                format!(
                    "records up to byte {}, which were synced (and may have been acknowledged)",
                    mark.synced
                ),
                format!("the file ends at byte {len}: it was truncated"),
            ));
        }
        segments.push(Segment {
            seq,
            path,
            max_index,
        });
        prev = Some((len, mark));
        lens_marks.push((len, mark));
    }
    let mark = prev.map_or_else(Mark::new, |(_, mark)| mark);
    let unsealed = segments
        .iter()
        .zip(&lens_marks)
        .take(segments.len().saturating_sub(1))
        .filter(|(_, (_, m))| !m.sealed)
        .map(|(s, &(len, m))| (s.path.clone(), len, m))
        .collect();
    if let Some(last) = segments.last()
        && mark.sealed
    {
        return Err(StorageError::Damaged {
            path: dir.join(segment_name(last.seq + 1)),
            offset: 0,
            expected: format!(
                "segment {} (segment {} was sealed once it had been created)",
                last.seq + 1,
                last.seq
            ),
            found: "the file is missing".into(),
        });
    }
    if !replay.anchored {
        return Err(StorageError::Damaged {
            path: dir.join(segment_name(seqs[0].saturating_sub(1))),
            offset: 0,
            expected: format!(
                "the segments before segment {}, or a compaction record in it that accounts for them",
                seqs[0]
            ),
            found: "the files are missing and no compaction record accounts for them".into(),
        });
    }
    Ok(Replayed {
        log: replay.state,
        segments,
        mark,
        torn_tail,
        unsealed,
    })
}

/// Cuts `path` to `len` bytes, durably.
fn truncate(path: &Path, len: u64) -> Result<()> {
    let file = OpenOptions::new()
        .write(true)
        .open(path)
        .map_err(io_err(path, "open"))?;
    file.set_len(len).map_err(io_err(path, "truncate"))?;
    file.sync_all().map_err(io_err(path, "fsync"))
}
