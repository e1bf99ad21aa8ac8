//! Durable storage for one Raft node: its log, its hard state (term and
//! vote) and its snapshots.
//!
//! Raft is only safe if a node never forgets what it acknowledged: a vote it
//! cast, an entry it told the leader it holds. The core in [`crate::raft`]
//! says *what* to persist (a [`Ready`](crate::raft::Ready)'s `hard_state`
//! and `log`); this module says *how*, behind two object-safe traits:
//!
//! - [`LogStorage`]: the log, written as [`LogWrite`]s (truncate a suffix,
//!   append), compacted up to a snapshot, made durable by [`LogStorage::sync`]
//!   so that many appends share one fsync (group commit).
//! - [`StateStorage`]: the hard state and snapshots, each durable when the
//!   call returns, and [`StateStorage::load`], which gives back the
//!   [`DurableState`] a restarted node is built from.
//!
//! Two implementations pass the same conformance suite (`tests.rs`):
//! [`MemStorage`], which the simulator uses and which models a crash as
//! losing what was not synced (optionally leaving a torn record behind), and
//! [`FileStorage`], a write-ahead log of checksummed records in segment files
//! plus small atomically replaced files, for the live runtime. Its on-disk
//! format is described in [`file`] and `segment.rs`; how recovery tells a
//! crash's torn tail (cut off) from damage (refused, as
//! [`StorageError::Damaged`]) in `recover.rs`.
//!
//! [`LogWriter`] (`writer.rs`) runs a storage on a thread of its own, so
//! a node can go on working while its writes are synced: it applies every
//! batch that arrived during one sync and syncs once for all of them
//! (group commit), then reports how far it got.

mod file;
mod format;
mod log_state;
mod mem;
mod recover;
mod segment;
mod writer;

#[cfg(test)]
mod tests;

use std::io;
use std::path::PathBuf;

use crate::raft::{DurableState, Entry, HardState, Index, LogWrite, Snapshot, SnapshotMeta, Term};

pub use file::{FileOptions, FileStorage, Recovery, TornTail, node_dir};
pub use mem::{CrashReport, MemStorage};
pub use writer::{LogWriter, OwnedStorage, Report, WriteOp, WriterStopped};

/// The result of a storage operation.
pub type Result<T, E = StorageError> = std::result::Result<T, E>;

/// Why a storage operation failed. Every variant names what it was about
/// (a file and byte offset, or the indexes asked for), so the message alone
/// tells an operator where to look.
#[derive(Debug, thiserror::Error)]
pub enum StorageError {
    /// The operating system refused an operation (a full disk, a missing
    /// permission, an unreadable directory).
    #[error("cannot {op} {}: {source}", path.display())]
    Io {
        /// The file or directory.
        path: PathBuf,
        /// What was being done, as a verb: "read", "fsync", "rename", ….
        op: &'static str,
        /// The operating system's error.
        #[source]
        source: io::Error,
    },
    /// A file holds bytes that are not what was written: a bad checksum, a
    /// length past the end, a record that does not decode, a missing file.
    /// Never repaired silently, since repairing would lose acknowledged data.
    #[error("corrupt {} at byte {offset}: {reason}", path.display())]
    Corrupt {
        /// The file.
        path: PathBuf,
        /// Byte offset of the first bad record (0 for a whole-file problem).
        offset: u64,
        /// What was expected and what was found.
        reason: String,
    },
    /// Bytes this node synced, and so may have acknowledged to a leader
    /// that counted them toward commit, are missing or bad: a file was
    /// truncated, emptied, deleted or overwritten after it was written. Not
    /// a crash's torn tail, which lies past the last sync. A node that
    /// forgot what it acknowledged could help elect a leader that lacks
    /// it, so the storage refuses to open.
    #[error(
        "{} is damaged at byte {offset}: expected {expected}; found {found}. This node may have lost writes it acknowledged",
        path.display()
    )]
    Damaged {
        /// The file (or, for a missing file, the name it should have).
        path: PathBuf,
        /// Byte offset where what was expected is missing.
        offset: u64,
        /// What a crash could not have taken away.
        expected: String,
        /// What is there instead.
        found: String,
    },
    /// A file was written by another format version of raftlab.
    #[error(
        "{} has format version {found}, this build reads version {expected}: run the raftlab that wrote it, or start the node afresh from its peers (see \"Durability\" in docs/durability.md)",
        path.display()
    )]
    Version {
        /// The file.
        path: PathBuf,
        /// The version in the file.
        found: u32,
        /// The version this build writes and reads.
        expected: u32,
    },
    /// The data directory belongs to another cluster.
    #[error("{} belongs to cluster {found:#x}, not to this cluster {expected:#x}", path.display())]
    ClusterMismatch {
        /// The meta file.
        path: PathBuf,
        /// The cluster id in the file.
        found: u64,
        /// The cluster id asked for.
        expected: u64,
    },
    /// The data directory belongs to another node of the cluster.
    #[error("{} belongs to node {found}, not to node {expected}", path.display())]
    NodeMismatch {
        /// The meta file.
        path: PathBuf,
        /// The node id in the file.
        found: u64,
        /// The node id asked for.
        expected: u64,
    },
    /// A [`LogWrite`] starts outside `first..=last + 1`: it would leave a
    /// gap, or rewrite entries that were compacted away.
    #[error("log write from index {from} is outside the log {first}..={last} (+1 to append)")]
    WriteOutOfRange {
        /// The write's `from`.
        from: Index,
        /// The log's first index.
        first: Index,
        /// The log's last index.
        last: Index,
    },
    /// A [`LogWrite`]'s entries do not run from `from` without gaps.
    #[error("log write entry at position {position} has index {found}, expected {expected}")]
    WriteNotContiguous {
        /// Position in `entries`.
        position: usize,
        /// The index it should have.
        expected: Index,
        /// The index it has.
        found: Index,
    },
    /// Entries or a term were asked for outside what the log holds (below
    /// the compaction point or past the end).
    #[error("indexes {lo}..{hi} are not in the log, which holds {first}..={last}")]
    Unavailable {
        /// First index asked for.
        lo: Index,
        /// One past the last index asked for.
        hi: Index,
        /// The log's first index.
        first: Index,
        /// The log's last index.
        last: Index,
    },
    /// The pieces on disk do not fit together (for example the log was
    /// compacted past the latest snapshot), so a node cannot be rebuilt.
    #[error("{}: {reason}", path.display())]
    Inconsistent {
        /// The storage's directory (or a name for an in-memory one).
        path: PathBuf,
        /// What does not fit.
        reason: String,
    },
    /// An earlier fsync failed, after which the kernel may have dropped the
    /// unsynced pages; nothing written since can be trusted, so the storage
    /// refuses writes until it is reopened (which recovers from the files).
    #[error("{} is unusable after a failed {op}; reopen it to recover", path.display())]
    Poisoned {
        /// The storage's directory.
        path: PathBuf,
        /// The operation that failed.
        op: &'static str,
    },
}

impl StorageError {
    /// Whether the files hold something other than what this node wrote
    /// (damage, corruption, pieces that do not fit): the node must not
    /// start from them, and an operator has to restore it from its peers.
    pub fn is_damage(&self) -> bool {
        matches!(
            self,
            StorageError::Damaged { .. }
                | StorageError::Corrupt { .. }
                | StorageError::Inconsistent { .. }
        )
    }
}

/// A node's durable log.
///
/// The contract every implementation passes (see the conformance suite):
///
/// - The log holds entries `first_index()..=last_index()` without gaps;
///   an empty log has `last_index() == first_index() - 1`. A new log has
///   first index 1; after `compact(meta)` it starts at `meta.index + 1` and
///   `term(meta.index)` is `meta.term`.
/// - `append(w)` keeps the entries below `w.from`, drops the rest and
///   appends `w.entries`, which must run from `w.from` without gaps;
///   `w.from` must lie in `first..=last + 1`, else
///   [`StorageError::WriteOutOfRange`] and the log is unchanged. A failed
///   append (for example an IO error) leaves the log as it was.
/// - Writes become durable at the next successful `sync` (an implementation
///   may make them durable sooner). After a crash the log is the state after
///   some prefix of the writes made so far that includes every write made
///   before the last successful `sync`: unsynced writes may be lost or may
///   survive, but only in order, and never half applied.
/// - Reads (`entries`, `term`) see every write at once, synced or not.
pub trait LogStorage {
    /// Applies `write`: keep entries below `write.from`, drop the rest,
    /// append `write.entries`. Durable at the next `sync`.
    fn append(&mut self, write: &LogWrite) -> Result<()>;

    /// Drops the entries up to `upto.index`, which a snapshot now stands
    /// for. If the log holds `upto.index` with term `upto.term`, the entries
    /// after it are kept; otherwise (a snapshot past the end of the log, or
    /// one that conflicts with it, as when a follower installs the leader's
    /// snapshot) the whole log is dropped. Either way the log then starts at
    /// `upto.index + 1`. Compacting to or below the current compaction point
    /// does nothing. Save the snapshot first ([`StateStorage::save_snapshot`]):
    /// recovery refuses a log compacted past its latest snapshot.
    fn compact(&mut self, upto: SnapshotMeta) -> Result<()>;

    /// Makes every write so far durable, with one fsync for all of them.
    fn sync(&mut self) -> Result<()>;

    /// Whether `sync` waits for a device (an fsync): then a driver does
    /// better to sync on a thread of its own ([`LogWriter`]) and go on
    /// meanwhile. `false` by default (memory).
    fn sync_waits_for_disk(&self) -> bool {
        false
    }

    /// Index of the first entry held (compaction point + 1).
    fn first_index(&self) -> Index;

    /// Index of the last entry held; `first_index() - 1` when empty.
    fn last_index(&self) -> Index;

    /// The entries `lo..hi` (half open); they must lie within
    /// `first_index()..=last_index() + 1`, else [`StorageError::Unavailable`].
    fn entries(&self, lo: Index, hi: Index) -> Result<Vec<Entry>>;

    /// The term of the entry at `index`, for `index` in
    /// `first_index() - 1..=last_index()` (the compaction point's term comes
    /// from its snapshot; index 0 has term 0), else
    /// [`StorageError::Unavailable`].
    fn term(&self, index: Index) -> Result<Term>;
}

/// A node's hard state and snapshots, and the recovery of everything.
///
/// The contract: `save_hard_state` and `save_snapshot` are durable when they
/// return (a crash right after keeps them; a crash during one keeps either
/// the old or the new value, never a mix). `load` returns what a restarted
/// node needs: the last hard state, the latest snapshot, and the log
/// entries after that snapshot.
pub trait StateStorage {
    /// Persists term and vote, durably, before returning.
    fn save_hard_state(&mut self, hard_state: HardState) -> Result<()>;

    /// Persists a snapshot, durably, before returning. Older snapshots beyond
    /// the last two may be removed.
    fn save_snapshot(&mut self, snapshot: &Snapshot) -> Result<()>;

    /// What a restarted node is built from. The entries start right after
    /// the snapshot (or at index 1 without one); log entries the snapshot
    /// covers are left out, and a log that conflicts with the snapshot at
    /// its last index is left out whole. A log compacted past the latest
    /// snapshot is [`StorageError::Inconsistent`].
    fn load(&self) -> Result<DurableState>;

    /// What recovery had to repair when this storage was opened (a torn
    /// last record cut off, an interrupted compaction finished), in words a
    /// driver can show as the node's events. Empty when nothing was.
    fn recovery_notes(&self) -> Vec<String> {
        Vec::new()
    }
}

/// Both halves, as one object: what a node's driver holds.
pub trait Storage: LogStorage + StateStorage {}

impl<T: LogStorage + StateStorage + ?Sized> Storage for T {}
