//! [`MemStorage`]: storage in memory with the crash semantics of a disk,
//! for the simulator.
//!
//! It keeps two copies of the log: what the node sees (every write) and what
//! a disk would hold after a power cut (every synced write). The writes in
//! between are queued; [`MemStorage::crash`] decides, from parameters the
//! simulator draws from its own seeded RNG, how many of them reached the
//! disk anyway and whether the next one was torn in half. Hard state and
//! snapshots are durable on return, as the trait says, so a crash keeps
//! them. A crash here never touches what was synced, which is exactly what
//! the file store accepts as a crash (a torn tail past its sync mark);
//! anything worse is damage, which the file store refuses to start from,
//! so it has no counterpart in the simulator. A full disk is simulated
//! with [`MemStorage::fail_next_write`] and [`MemStorage::fail_next_sync`].

use std::io;
use std::path::PathBuf;

use super::log_state::{CompactKind, LogState};
use super::{LogStorage, Result, StateStorage, StorageError};
use crate::raft::{DurableState, Entry, HardState, Index, LogWrite, Snapshot, SnapshotMeta, Term};

/// A log change not yet synced.
#[derive(Clone, Debug)]
enum Pending {
    Write(LogWrite),
    Compact(SnapshotMeta, CompactKind),
}

/// What [`MemStorage::crash`] did, for the simulator's trace.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct CrashReport {
    /// Unsynced log writes that survived the crash (reached the disk).
    pub kept: usize,
    /// Unsynced log writes that were lost.
    pub lost: usize,
    /// Whether the first lost write left a torn record, which recovery
    /// found and discarded (as the file store truncates a torn tail).
    pub torn: bool,
}

/// In-memory storage that loses unsynced writes on [`crash`](Self::crash).
#[derive(Clone, Debug, Default)]
pub struct MemStorage {
    /// The log as the node sees it.
    current: LogState,
    /// The log as a disk would hold it after a crash.
    synced: LogState,
    /// Writes applied to `current` but not to `synced`, in order.
    pending: Vec<Pending>,
    hard_state: HardState,
    /// The last two snapshots saved, oldest first.
    snapshots: Vec<Snapshot>,
    /// The next write fails as on a full disk.
    fail_write: bool,
    /// The next sync fails as on a full disk.
    fail_sync: bool,
}

impl MemStorage {
    /// An empty storage: no log, no vote, no snapshot.
    pub fn new() -> MemStorage {
        MemStorage::default()
    }

    /// How many log writes (appends and compactions) are not synced yet; a
    /// simulator draws how many survive a crash from `0..=unsynced_writes()`.
    pub fn unsynced_writes(&self) -> usize {
        self.pending.len()
    }

    /// Simulates a power cut. The first `survive` unsynced writes reach the
    /// disk anyway (clamped to how many there are; 0 models losing them
    /// all); the rest are lost. With `tear`, the first lost write was half
    /// written; recovery discards it, which the report says. Afterwards the
    /// storage holds exactly what a restarted node finds.
    pub fn crash(&mut self, survive: usize, tear: bool) -> CrashReport {
        let kept = survive.min(self.pending.len());
        let lost = self.pending.len() - kept;
        for op in self.pending.drain(..kept) {
            apply(&mut self.synced, &op);
        }
        self.pending.clear();
        // A crash between saving a snapshot and compacting the log to it
        // leaves the log behind; recovery finishes the compaction, as the
        // file store's does. Left undone, a log that conflicts with the
        // snapshot would be dropped whole at every load — with whatever
        // was appended after the snapshot since.
        if let Some(meta) = self.snapshots.last().map(|s| s.meta)
            && let Some(kind) = self.synced.compact_kind(meta)
        {
            self.synced.apply_compact(meta, kind);
        }
        self.current = self.synced.clone();
        self.fail_write = false;
        self.fail_sync = false;
        CrashReport {
            kept,
            lost,
            torn: tear && lost > 0,
        }
    }

    /// Makes the next write (append, compact, hard state or snapshot) fail
    /// with an IO error, as a full disk would; it then changes nothing.
    pub fn fail_next_write(&mut self) {
        self.fail_write = true;
    }

    /// Makes the next sync fail with an IO error; nothing becomes durable,
    /// and a later sync may succeed.
    pub fn fail_next_sync(&mut self) {
        self.fail_sync = true;
    }

    /// The injected write error, if one is armed (and disarms it).
    fn injected(&mut self, op: &'static str, sync: bool) -> Result<()> {
        let armed = if sync {
            std::mem::take(&mut self.fail_sync)
        } else {
            std::mem::take(&mut self.fail_write)
        };
        if !armed {
            return Ok(());
        }
        Err(StorageError::Io {
            path: PathBuf::from("<memory>"),
            op,
            source: io::Error::new(
                io::ErrorKind::StorageFull,
                "injected: no space left on device",
            ),
        })
    }

    fn push(&mut self, op: Pending) {
        apply(&mut self.current, &op);
        self.pending.push(op);
    }
}

fn apply(log: &mut LogState, op: &Pending) {
    match op {
        Pending::Write(w) => log.apply_write(w.from, &w.entries),
        Pending::Compact(meta, kind) => log.apply_compact(*meta, *kind),
    }
}

impl LogStorage for MemStorage {
    fn append(&mut self, write: &LogWrite) -> Result<()> {
        self.current.check_write(write)?;
        self.injected("append to", false)?;
        self.push(Pending::Write(write.clone()));
        Ok(())
    }

    fn compact(&mut self, upto: SnapshotMeta) -> Result<()> {
        let Some(kind) = self.current.compact_kind(upto) else {
            return Ok(());
        };
        self.injected("compact", false)?;
        self.push(Pending::Compact(upto, kind));
        Ok(())
    }

    fn sync(&mut self) -> Result<()> {
        self.injected("fsync", true)?;
        for op in std::mem::take(&mut self.pending) {
            apply(&mut self.synced, &op);
        }
        Ok(())
    }

    fn first_index(&self) -> Index {
        self.current.first()
    }

    fn last_index(&self) -> Index {
        self.current.last()
    }

    fn entries(&self, lo: Index, hi: Index) -> Result<Vec<Entry>> {
        self.current.slice(lo, hi)
    }

    fn term(&self, index: Index) -> Result<Term> {
        self.current.term_or_unavailable(index)
    }
}

impl StateStorage for MemStorage {
    fn save_hard_state(&mut self, hard_state: HardState) -> Result<()> {
        self.injected("save hard state to", false)?;
        self.hard_state = hard_state;
        Ok(())
    }

    fn save_snapshot(&mut self, snapshot: &Snapshot) -> Result<()> {
        self.injected("save snapshot to", false)?;
        self.snapshots.retain(|s| s.meta != snapshot.meta);
        self.snapshots.push(snapshot.clone());
        self.snapshots.sort_by_key(|s| (s.meta.index, s.meta.term));
        let excess = self.snapshots.len().saturating_sub(2);
        self.snapshots.drain(..excess);
        Ok(())
    }

    fn load(&self) -> Result<DurableState> {
        let snapshot = self.snapshots.last().cloned();
        let entries = self
            .current
            .entries_after(snapshot.as_ref(), &PathBuf::from("<memory>"))?;
        Ok(DurableState {
            hard_state: self.hard_state,
            snapshot,
            entries,
        })
    }
}
