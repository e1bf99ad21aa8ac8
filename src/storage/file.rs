//! [`FileStorage`]: a node's storage in files under `DATA_DIR/node-<id>/`.
//!
//! The directory holds:
//!
//! - `meta` — written once when the directory is created: cluster id and
//!   node id, so a directory from another cluster or node, or from another
//!   format version, is refused with an error naming the file.
//! - `hardstate` — term and vote, replaced atomically (temp file, fsync,
//!   rename, directory fsync) on every change. A file of its own rather
//!   than a log record: votes change rarely, and a record would have to be
//!   carried forward whenever compaction deletes old segments.
//! - `snapshot-<index>-<term>.snap` (numbers zero-padded to 20 digits) —
//!   written atomically the same way; the two latest are kept.
//! - `log-<seq>.seg` — the write-ahead log, in segments numbered 1, 2, …
//!   in the order they were written (numbered by sequence rather than by
//!   first index, because a later truncation may rewrite indexes below the
//!   ones a segment started with). A new segment is started once the active
//!   one would grow past [`FileOptions::segment_bytes`]. Segment 1 is
//!   created before `meta`, so a directory with `meta` always has a log.
//!
//! `meta`, `hardstate` and snapshots share one layout: magic (8 bytes),
//! format version (u32 LE), payload length (u64 LE), CRC32 of the payload
//! (u32 LE), payload (postcard). A segment starts with magic `RLABLOG\0`
//! and the version (u32 LE), its sequence number, first index and
//! predecessor's length, and a sync mark (the layout is in
//! [`super::segment`]), then holds records, each framed as payload
//! length (u32 LE), CRC32 of the payload (u32 LE), payload (postcard of a
//! record). There are two kinds of record: *Write* `{from, entries}` is one
//! whole [`LogWrite`] (truncation and append in one record, so a torn
//! record loses the write whole), and *Compact* `{meta, keep, last}` is
//! a compaction with its decision (keep the entries after `meta`, or drop
//! the log) and the log's last index after it. Recovery replays the records in order.
//!
//! Appends only write (group commit): [`LogStorage::sync`] fsyncs the
//! active segment once for all of them, then rewrites the segment's sync
//! mark in place, unsynced (the next fsync carries it). Starting a segment
//! costs fsyncs of its own: the new file is created under a temporary name,
//! fsynced and renamed, then the full one is sealed. Compaction writes its
//! record; when leading segments hold nothing above the compaction point,
//! it syncs and deletes them, otherwise the record waits for the next sync
//! (lost in a crash, it costs nothing: recovery drops what the durable
//! snapshot covers anyway). Snapshots older than the two latest are
//! removed without a directory fsync (one that comes back is only stale).
//!
//! On open ([`super::recover`]), a torn or partial record past the last
//! segment's sync mark with nothing valid after it (what a crash mid-write
//! leaves) is cut off and reported in [`Recovery::torn_tail`]. Anything
//! missing or bad that was synced — below a mark, in a segment that has a
//! successor, a segment or header gone — is [`StorageError::Damaged`], and
//! a bad record followed by a valid one is [`StorageError::Corrupt`], each
//! with the file and offset: the node does not start from it.
//!
//! The live log is also kept in memory (compaction bounds it), so reads
//! never touch the files.

use std::fs::{self, File, OpenOptions};
use std::io::{self, Seek, SeekFrom, Write};
use std::path::{Path, PathBuf};

use super::format::{self, HARD_STATE_MAGIC, META_MAGIC, Meta, RecordRef, SNAPSHOT_MAGIC, io_err};
use super::log_state::{CompactKind, LogState};
use super::recover::{self, Replayed};
use super::segment::{self, HEADER_LEN, Header, Mark};
use super::{LogStorage, Result, StateStorage, StorageError};
use crate::raft::{DurableState, Entry, HardState, Index, LogWrite, Snapshot, SnapshotMeta, Term};

const META_FILE: &str = "meta";
const HARD_STATE_FILE: &str = "hardstate";

/// Tunables of a [`FileStorage`].
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct FileOptions {
    /// Start a new segment once the active one would grow past this many
    /// bytes (a single larger record still gets a segment of its own).
    pub segment_bytes: u64,
}

impl Default for FileOptions {
    /// 8 MiB segments.
    fn default() -> FileOptions {
        FileOptions {
            segment_bytes: 8 << 20,
        }
    }
}

/// A torn last record that recovery cut off the log.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct TornTail {
    /// The segment file.
    pub path: PathBuf,
    /// Where the torn record started; the file now ends here.
    pub offset: u64,
    /// How many bytes were cut off.
    pub dropped: u64,
}

impl std::fmt::Display for TornTail {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(
            f,
            "cut a torn last record off {} at byte {} ({} bytes): an unacknowledged write lost in a crash",
            self.path.display(),
            self.offset,
            self.dropped
        )
    }
}

/// What [`FileStorage::open`] found.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Recovery {
    /// What the node restarts with (as [`StateStorage::load`] gives it).
    pub durable: DurableState,
    /// A torn last record, cut off (an unacknowledged write lost in a crash).
    pub torn_tail: Option<TornTail>,
}

/// The directory of node `node_id` under `data_dir`: `data_dir/node-<id>`.
pub fn node_dir(data_dir: &Path, node_id: u64) -> PathBuf {
    data_dir.join(format!("node-{node_id}"))
}

/// One segment file and the highest index any of its records wrote.
#[derive(Debug)]
pub(super) struct Segment {
    pub(super) seq: u64,
    pub(super) path: PathBuf,
    pub(super) max_index: Index,
}

/// A node's storage in files; see the module documentation for the format.
#[derive(Debug)]
pub struct FileStorage {
    dir: PathBuf,
    options: FileOptions,
    log: LogState,
    hard_state: HardState,
    /// The latest snapshot saved.
    snapshot: Option<Snapshot>,
    /// Every segment file, oldest first; the last one is active.
    segments: Vec<Segment>,
    /// The active segment, opened for appending.
    active: File,
    /// The active segment again, opened for rewriting its sync mark (an
    /// appending handle writes only at the end).
    marks: File,
    /// Its length: where the next record goes, and where a failed write
    /// is rolled back to.
    active_len: u64,
    /// The active segment's sync mark as last written.
    mark: Mark,
    /// Records written since the last fsync.
    unsynced: bool,
    /// Set when an fsync failed (or a failed write could not be rolled
    /// back): the files can no longer be trusted until reopened.
    poisoned: Option<&'static str>,
    /// Fault injection: the next record write stops half way and fails.
    fail_write: bool,
    /// Reused encoding buffer.
    buf: Vec<u8>,
    /// What recovery repaired at open, for [`StateStorage::recovery_notes`].
    notes: Vec<String>,
}

pub(super) fn segment_name(seq: u64) -> String {
    format!("log-{seq:020}.seg")
}

fn snapshot_name(meta: SnapshotMeta) -> String {
    format!("snapshot-{:020}-{:020}.snap", meta.index, meta.term)
}

fn parse_segment_name(name: &str) -> Option<u64> {
    name.strip_prefix("log-")?
        .strip_suffix(".seg")?
        .parse()
        .ok()
}

fn parse_snapshot_name(name: &str) -> Option<SnapshotMeta> {
    let rest = name.strip_prefix("snapshot-")?.strip_suffix(".snap")?;
    let (index, term) = rest.split_once('-')?;
    Some(SnapshotMeta::at(index.parse().ok()?, term.parse().ok()?))
}

/// The files of a node directory, by kind.
#[derive(Default)]
struct Listing {
    meta: bool,
    hard_state: bool,
    segments: Vec<u64>,
    snapshots: Vec<SnapshotMeta>,
    temps: Vec<PathBuf>,
}

fn list(dir: &Path) -> Result<Listing> {
    let mut listing = Listing::default();
    for item in fs::read_dir(dir).map_err(io_err(dir, "read directory"))? {
        let item = item.map_err(io_err(dir, "read directory"))?;
        let name = item.file_name();
        let Some(name) = name.to_str() else { continue };
        if name == META_FILE {
            listing.meta = true;
        } else if name == HARD_STATE_FILE {
            listing.hard_state = true;
        } else if name.ends_with(".tmp") {
            listing.temps.push(item.path());
        } else if let Some(seq) = parse_segment_name(name) {
            listing.segments.push(seq);
        } else if let Some(meta) = parse_snapshot_name(name) {
            listing.snapshots.push(meta);
        }
    }
    listing.segments.sort_unstable();
    listing
        .snapshots
        .sort_unstable_by_key(|m| (m.index, m.term));
    Ok(listing)
}

/// Creates the segment `header.seq` holding just its header, durably and
/// atomically (temp file, fsync, rename, directory fsync): a segment under
/// its final name always has a whole header.
fn create_segment(dir: &Path, header: Header) -> Result<PathBuf> {
    format::write_atomic(dir, &segment_name(header.seq), &segment::encode(header))
}

/// Writes `mark` (a seal) into the segment at `path`, durably.
fn seal(path: &Path, mark: Mark) -> Result<()> {
    let mut file = OpenOptions::new()
        .write(true)
        .open(path)
        .map_err(io_err(path, "open"))?;
    file.seek(SeekFrom::Start(mark.offset()))
        .and_then(|_| file.write_all(&mark.encode()))
        .map_err(io_err(path, "write the sync mark of"))?;
    file.sync_data().map_err(io_err(path, "fsync"))
}

/// Opens a segment for appending and for rewriting its mark; its length.
fn open_segment(path: &Path) -> Result<(File, File, u64)> {
    let active = OpenOptions::new()
        .append(true)
        .open(path)
        .map_err(io_err(path, "open"))?;
    let marks = OpenOptions::new()
        .write(true)
        .open(path)
        .map_err(io_err(path, "open"))?;
    let len = active.metadata().map_err(io_err(path, "stat"))?.len();
    Ok((active, marks, len))
}

impl FileStorage {
    /// Opens (creating if needed) the storage of node `node_id` of cluster
    /// `cluster_id` under `data_dir`, with default options, and recovers.
    pub fn open(data_dir: &Path, cluster_id: u64, node_id: u64) -> Result<(FileStorage, Recovery)> {
        FileStorage::open_with(data_dir, cluster_id, node_id, FileOptions::default())
    }

    /// [`open`](Self::open) with explicit options.
    pub fn open_with(
        data_dir: &Path,
        cluster_id: u64,
        node_id: u64,
        options: FileOptions,
    ) -> Result<(FileStorage, Recovery)> {
        let dir = node_dir(data_dir, node_id);
        fs::create_dir_all(&dir).map_err(io_err(&dir, "create directory"))?;
        let mut listing = list(&dir)?;
        for tmp in &listing.temps {
            // A crash during an atomic replace (or the creation of a
            // segment) leaves its temp file; the old file it was to
            // replace is still whole, and the new segment held nothing.
            fs::remove_file(tmp).map_err(io_err(tmp, "remove"))?;
        }
        check_meta(&dir, &mut listing, cluster_id, node_id)?;
        let hard_state = if listing.hard_state {
            format::read_checked(&dir.join(HARD_STATE_FILE), &HARD_STATE_MAGIC)?
        } else {
            HardState::default()
        };
        let snapshot = match listing.snapshots.last() {
            Some(&meta) => Some(read_snapshot(&dir, meta)?),
            None => None,
        };
        let Replayed {
            log,
            segments,
            mark,
            torn_tail,
            unsealed,
        } = recover::replay_segments(&dir, &listing.segments)?;
        for (path, len, mark) in unsealed {
            // Sealed late: from now on its successor's loss is damage.
            seal(&path, mark.next(len, true))?;
        }
        let last = segments
            .last()
            .map_or_else(|| dir.join(segment_name(1)), |s| s.path.clone());
        let (active, marks, active_len) = open_segment(&last)?;
        let mut storage = FileStorage {
            dir,
            options,
            log,
            hard_state,
            snapshot,
            segments,
            active,
            marks,
            active_len,
            mark,
            // Records past the mark may be in the page cache only (a killed
            // process's unsynced writes): sync them before the node counts
            // on them, and move the mark.
            unsynced: active_len > mark.synced,
            poisoned: None,
            fail_write: false,
            buf: Vec::new(),
            notes: torn_tail.iter().map(ToString::to_string).collect(),
        };
        // A crash between saving a snapshot and compacting the log to it
        // leaves the log behind; finish the compaction now.
        if let Some(meta) = storage.snapshot.as_ref().map(|s| s.meta)
            && meta.index > storage.log.base.index
        {
            storage.compact(meta)?;
            storage.notes.push(format!(
                "finished compacting the log up to index {}, which a crash had interrupted",
                meta.index
            ));
        }
        storage.sync()?;
        let durable = storage.load()?;
        Ok((storage, Recovery { durable, torn_tail }))
    }

    /// The node's directory.
    pub fn dir(&self) -> &Path {
        &self.dir
    }

    /// The segment files, oldest first (the last one is being written).
    pub fn segment_paths(&self) -> Vec<PathBuf> {
        self.segments.iter().map(|s| s.path.clone()).collect()
    }

    /// Fault injection, as a full disk: the next log record write stops
    /// half way and fails with an IO error. The storage rolls the file back
    /// and stays usable.
    pub fn fail_next_write(&mut self) {
        self.fail_write = true;
    }

    fn check_poisoned(&self) -> Result<()> {
        match self.poisoned {
            Some(op) => Err(StorageError::Poisoned {
                path: self.dir.clone(),
                op,
            }),
            None => Ok(()),
        }
    }

    fn active_path(&self) -> PathBuf {
        self.segments
            .last()
            .map_or_else(|| self.dir.join(segment_name(1)), |s| s.path.clone())
    }

    /// Frames `record` and appends it to the active segment, rolling to a
    /// new segment first when it would grow too large. On failure the
    /// segment is cut back to where it was, so it never holds half a record
    /// followed by later ones.
    fn write_record(&mut self, record: &RecordRef<'_>, max_index: Index) -> Result<()> {
        self.check_poisoned()?;
        self.buf.clear();
        let path = self.active_path();
        format::encode_record(record, &mut self.buf).map_err(|reason| StorageError::Io {
            path: path.clone(),
            op: "encode a record for",
            source: io::Error::new(io::ErrorKind::InvalidInput, reason),
        })?;
        if self.active_len > HEADER_LEN
            && self.active_len + self.buf.len() as u64 > self.options.segment_bytes
        {
            self.roll()?;
        }
        let path = self.active_path();
        let result = if std::mem::take(&mut self.fail_write) {
            let half = self.buf.len() / 2;
            self.active
                .write_all(&self.buf[..half])
                .and(Err(io::Error::new(
                    io::ErrorKind::StorageFull,
                    "injected: no space left on device",
                )))
        } else {
            self.active.write_all(&self.buf)
        };
        if let Err(source) = result {
            if self.active.set_len(self.active_len).is_err() {
                self.poisoned = Some("write");
            }
            return Err(StorageError::Io {
                path,
                op: "append to",
                source,
            });
        }
        self.active_len += self.buf.len() as u64;
        self.unsynced = true;
        if let Some(seg) = self.segments.last_mut() {
            seg.max_index = seg.max_index.max(max_index);
        }
        Ok(())
    }

    /// Closes the active segment and starts the next one: fsync the full
    /// segment, create the next one durably, then seal the full one (its
    /// mark says its successor exists, fsynced), so recovery knows a
    /// sealed segment without a successor lost it.
    fn roll(&mut self) -> Result<()> {
        self.fsync_active()?;
        let seq = self.segments.last().map_or(1, |s| s.seq + 1);
        let header = Header {
            seq,
            first_index: self.log.last() + 1,
            prev_len: self.active_len,
        };
        let next = create_segment(&self.dir, header)?;
        let (active, marks, _) = open_segment(&next)?;
        self.write_mark(true)?;
        self.fsync_active()?;
        self.active = active;
        self.marks = marks;
        self.active_len = HEADER_LEN;
        self.mark = Mark::new();
        self.segments.push(Segment {
            seq,
            path: next,
            max_index: 0,
        });
        Ok(())
    }

    /// Fsyncs the active segment's data. After a failed fsync the kernel
    /// may have dropped the dirty pages, and a retry could "succeed"
    /// without them (fsyncgate): the storage is poisoned instead.
    fn fsync_active(&mut self) -> Result<()> {
        if let Err(source) = self.active.sync_data() {
            self.poisoned = Some("fsync");
            return Err(StorageError::Io {
                path: self.active_path(),
                op: "fsync",
                source,
            });
        }
        self.unsynced = false;
        Ok(())
    }

    /// Writes the active segment's next sync mark, saying everything below
    /// its current length is durable (the caller has just fsynced it). Not
    /// fsynced itself: the next fsync of the segment carries it.
    fn write_mark(&mut self, sealed: bool) -> Result<()> {
        let mark = self.mark.next(self.active_len, sealed);
        let path = self.active_path();
        let written = self
            .marks
            .seek(SeekFrom::Start(mark.offset()))
            .and_then(|_| self.marks.write_all(&mark.encode()));
        if let Err(source) = written {
            self.poisoned = Some("write a sync mark");
            return Err(StorageError::Io {
                path,
                op: "write the sync mark of",
                source,
            });
        }
        self.mark = mark;
        Ok(())
    }

    /// Whether a leading segment holds nothing above `upto` (never the
    /// active one): what [`FileStorage::delete_compacted_segments`] deletes.
    fn has_compacted_segments(&self, upto: Index) -> bool {
        self.segments.len() > 1 && self.segments[0].max_index <= upto
    }

    /// Deletes the leading segments that hold nothing above `upto` (never
    /// the active one, which holds the compaction record itself).
    fn delete_compacted_segments(&mut self, upto: Index) -> Result<()> {
        let mut removed = false;
        while self.segments.len() > 1 && self.segments[0].max_index <= upto {
            let seg = &self.segments[0];
            fs::remove_file(&seg.path).map_err(io_err(&seg.path, "remove"))?;
            self.segments.remove(0);
            removed = true;
        }
        if removed {
            format::sync_dir(&self.dir)?;
        }
        Ok(())
    }
}

/// Validates `meta`, or initializes a new directory: segment 1 first,
/// then `meta`, so a directory with `meta` always has its log (and one
/// without a segment was damaged). A crash between the two leaves segment 1
/// holding only its header, which is then reused.
fn check_meta(dir: &Path, listing: &mut Listing, cluster_id: u64, node_id: u64) -> Result<()> {
    let path = dir.join(META_FILE);
    if !listing.meta {
        let fresh = listing.snapshots.is_empty()
            && !listing.hard_state
            && match listing.segments.as_slice() {
                [] => true,
                [1] => {
                    let seg = dir.join(segment_name(1));
                    fs::metadata(&seg).map_err(io_err(&seg, "stat"))?.len() == HEADER_LEN
                }
                _ => false,
            };
        if !fresh {
            return Err(StorageError::Corrupt {
                path,
                offset: 0,
                reason: "missing, but the directory holds raftlab log files".into(),
            });
        }
        if listing.segments.is_empty() {
            create_segment(
                dir,
                Header {
                    seq: 1,
                    first_index: 1,
                    prev_len: 0,
                },
            )?;
            listing.segments.push(1);
        }
        let payload = postcard::to_allocvec(&Meta {
            cluster_id,
            node_id,
        })
        .map_err(|e| StorageError::Io {
            path: path.clone(),
            op: "encode",
            source: io::Error::other(e.to_string()),
        })?;
        format::write_atomic(
            dir,
            META_FILE,
            &format::encode_checked(&META_MAGIC, &payload),
        )?;
        return Ok(());
    }
    let meta: Meta = format::read_checked(&path, &META_MAGIC)?;
    if meta.cluster_id != cluster_id {
        return Err(StorageError::ClusterMismatch {
            path,
            found: meta.cluster_id,
            expected: cluster_id,
        });
    }
    if meta.node_id != node_id {
        return Err(StorageError::NodeMismatch {
            path,
            found: meta.node_id,
            expected: node_id,
        });
    }
    Ok(())
}

fn read_snapshot(dir: &Path, meta: SnapshotMeta) -> Result<Snapshot> {
    let path = dir.join(snapshot_name(meta));
    let snapshot: Snapshot = format::read_checked(&path, &SNAPSHOT_MAGIC)?;
    // The name gives index and term; the configuration is inside.
    if (snapshot.meta.index, snapshot.meta.term) != (meta.index, meta.term) {
        return Err(StorageError::Corrupt {
            path,
            offset: 0,
            reason: format!(
                "holds a snapshot at index {} term {}, the name says index {} term {}",
                snapshot.meta.index, snapshot.meta.term, meta.index, meta.term
            ),
        });
    }
    Ok(snapshot)
}

impl LogStorage for FileStorage {
    fn append(&mut self, write: &LogWrite) -> Result<()> {
        self.log.check_write(write)?;
        let max_index = write.from + write.entries.len() as Index - 1;
        self.write_record(
            &RecordRef::Write {
                from: write.from,
                entries: &write.entries,
            },
            max_index,
        )?;
        self.log.apply_write(write.from, &write.entries);
        Ok(())
    }

    fn compact(&mut self, upto: SnapshotMeta) -> Result<()> {
        let Some(kind) = self.log.compact_kind(upto) else {
            return Ok(());
        };
        let keep = kind == CompactKind::Keep;
        let last = if keep { self.log.last() } else { upto.index };
        self.write_record(
            &RecordRef::Compact {
                meta: upto,
                keep,
                last,
            },
            0,
        )?;
        self.log.apply_compact(upto, kind);
        if !self.has_compacted_segments(upto.index) {
            // Nothing to delete: the record can wait for the next sync. If
            // a crash loses it, recovery drops the entries the (durable)
            // snapshot covers all the same.
            return Ok(());
        }
        // The record must be durable before the segments it replaces go.
        self.sync()?;
        self.delete_compacted_segments(upto.index)
    }

    fn sync(&mut self) -> Result<()> {
        self.check_poisoned()?;
        if self.unsynced {
            self.fsync_active()?;
        }
        if self.active_len > self.mark.synced {
            self.write_mark(false)?;
        }
        Ok(())
    }

    fn sync_waits_for_disk(&self) -> bool {
        true
    }

    fn first_index(&self) -> Index {
        self.log.first()
    }

    fn last_index(&self) -> Index {
        self.log.last()
    }

    fn entries(&self, lo: Index, hi: Index) -> Result<Vec<Entry>> {
        self.log.slice(lo, hi)
    }

    fn term(&self, index: Index) -> Result<Term> {
        self.log.term_or_unavailable(index)
    }
}

impl StateStorage for FileStorage {
    fn save_hard_state(&mut self, hard_state: HardState) -> Result<()> {
        let payload = postcard::to_allocvec(&hard_state).map_err(|e| StorageError::Io {
            path: self.dir.join(HARD_STATE_FILE),
            op: "encode",
            source: io::Error::other(e.to_string()),
        })?;
        let bytes = format::encode_checked(&HARD_STATE_MAGIC, &payload);
        format::write_atomic(&self.dir, HARD_STATE_FILE, &bytes)?;
        self.hard_state = hard_state;
        Ok(())
    }

    fn save_snapshot(&mut self, snapshot: &Snapshot) -> Result<()> {
        let name = snapshot_name(snapshot.meta);
        let payload = postcard::to_allocvec(snapshot).map_err(|e| StorageError::Io {
            path: self.dir.join(&name),
            op: "encode",
            source: io::Error::other(e.to_string()),
        })?;
        let bytes = format::encode_checked(&SNAPSHOT_MAGIC, &payload);
        format::write_atomic(&self.dir, &name, &bytes)?;
        let key = |m: SnapshotMeta| (m.index, m.term);
        if self
            .snapshot
            .as_ref()
            .is_none_or(|s| key(s.meta) <= key(snapshot.meta))
        {
            self.snapshot = Some(snapshot.clone());
        }
        // Older snapshots go without a directory fsync: one that comes
        // back after a crash is only a stale file, and recovery takes the
        // latest.
        let listing = list(&self.dir)?;
        let excess = listing.snapshots.len().saturating_sub(2);
        for &old in &listing.snapshots[..excess] {
            let path = self.dir.join(snapshot_name(old));
            fs::remove_file(&path).map_err(io_err(&path, "remove"))?;
        }
        Ok(())
    }

    fn load(&self) -> Result<DurableState> {
        let entries = self.log.entries_after(self.snapshot.as_ref(), &self.dir)?;
        Ok(DurableState {
            hard_state: self.hard_state,
            snapshot: self.snapshot.clone(),
            entries,
        })
    }

    fn recovery_notes(&self) -> Vec<String> {
        self.notes.clone()
    }
}
