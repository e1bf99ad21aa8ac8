//! [`LogWriter`]: a thread that makes a node's writes durable while the
//! node goes on working — group commit.
//!
//! An fsync takes hundreds of microseconds; a node that waits for each
//! one can do nothing else meanwhile, and every write pays a whole sync of
//! its own. The log writer owns the node's [`Storage`] on a thread of its
//! own. The node hands it batches of [`WriteOp`]s ([`LogWriter::submit`]
//! numbers each batch) and carries on: it sends what does not depend on
//! them, applies, answers. The writer takes every batch waiting when it
//! comes round — all that arrived during the previous sync — applies them
//! in order, syncs once for all of them, and reports the number of the
//! last one ([`Report::Synced`]): every batch up to it is durable. So one
//! sync serves every write that arrived meanwhile, however many clients
//! wait, and the node holds back only the messages that promise those
//! writes (a follower's acknowledgement, a vote) until their batch is
//! reported.
//!
//! The node's own compactions ([`WriteOp::Compact`]) are lazy: a
//! compaction only frees disk space (the log already holds every entry the
//! snapshot covers, and recovery replays them), yet writing one costs a
//! snapshot file, its fsync, a rename, a directory fsync and perhaps
//! segment deletions — several syncs that every write waiting behind them
//! would pay. So the writer keeps the newest compaction it was given and
//! writes it once no batch came for a moment ([`QUIET`]), once [`LAZY_COMPACTION`] entries
//! or [`LAZY_COMPACTION_BYTES`] bytes of commands have passed since the last
//! it wrote, and always before it stops. A
//! snapshot received from the leader ([`WriteOp::Snapshot`]) replaces the
//! log and is written at once, after any compaction kept back.
//!
//! The first storage error stops the writer: it reports
//! [`Report::Failed`] and applies nothing more, since the files can no
//! longer be trusted. [`LogWriter::finish`] makes what was submitted
//! durable (as far as the storage still works) and hands the storage back;
//! the storage sits in a slot the thread borrows it from, so it comes
//! back whatever became of the thread.

use std::sync::{Arc, Mutex, PoisonError};
use std::thread::JoinHandle;

use std::time::Duration;

use crossbeam_channel::{Receiver, RecvTimeoutError, Sender, unbounded};

use super::{Storage, StorageError};
use crate::raft::{HardState, Index, LogWrite, Snapshot};

/// Most batches applied before one sync: bounds how long a report waits
/// while batches keep coming.
const MAX_GROUP: usize = 1024;

/// Most entries a kept-back compaction may lag the newest one given before
/// the writer writes it even while batches keep coming (the log on disk then
/// holds at most this many entries more than the node's, for recovery to
/// replay: a few MB at bench-sized commands). Under a steady load writes
/// never pause, so this sets how often a compaction's syncs stall the
/// batches behind it: at 4,096 that was every ~30 ms at 256 clients.
pub const LAZY_COMPACTION: Index = 65_536;
/// Most bytes of commands appended since the last compaction written
/// before the writer writes one kept back even while batches keep coming:
/// [`LAZY_COMPACTION`] counts entries, and commands may be large (up to
/// 4 MiB), so this bounds what the log on disk (and the storage's copy in
/// memory) holds beyond the node's whatever the commands' size.
pub const LAZY_COMPACTION_BYTES: usize = 64 << 20;
/// How long no batch must come before the writer writes a compaction kept
/// back: a pause between writes, not the moment between two batches of a
/// steady stream (a compaction's syncs would delay the next one).
const QUIET: Duration = Duration::from_millis(20);

/// The storage a writer owns: any that can move to its thread and back.
pub type OwnedStorage = Box<dyn Storage + Send>;

/// One change to make durable, in the order given.
#[derive(Debug)]
pub enum WriteOp {
    /// Save term and vote.
    HardState(HardState),
    /// Save a snapshot received from the leader, then compact the log up to
    /// it: at once.
    Snapshot(Snapshot),
    /// Save the node's own compaction snapshot, then compact the log up to
    /// it: when the writer comes to it (see the module's notes). The batch
    /// is reported as soon as it is taken.
    Compact(Snapshot),
    /// Rewrite the log's tail (see [`super::LogStorage::append`]).
    Log(LogWrite),
}

/// What the writer tells the node.
#[derive(Debug)]
pub enum Report {
    /// Every batch numbered up to this one is durable.
    Synced(u64),
    /// The batch with this number failed; nothing after it was applied,
    /// and the writer stopped.
    Failed(u64, StorageError),
}

/// Why a batch could not be handed to the writer.
#[derive(Debug, thiserror::Error)]
#[error("the log writer has stopped (after a storage error, or because the node is stopping)")]
pub struct WriterStopped;

/// A node's log writer thread and the channel its reports come on.
pub struct LogWriter {
    jobs: Option<Sender<(u64, Vec<WriteOp>)>>,
    reports: Receiver<Report>,
    /// The storage, which the thread takes under this lock for each round
    /// of batches: whatever becomes of the thread, it comes back.
    storage: Arc<Mutex<Option<OwnedStorage>>>,
    thread: Option<JoinHandle<()>>,
    next: u64,
}

impl std::fmt::Debug for LogWriter {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("LogWriter")
            .field("next", &self.next)
            .finish_non_exhaustive()
    }
}

impl LogWriter {
    /// Starts the writer thread (named `name`) on `storage`; reports come
    /// on [`LogWriter::reports`]. If the thread cannot start, the storage
    /// comes back with the error.
    pub fn start(
        storage: OwnedStorage,
        name: String,
    ) -> Result<LogWriter, (OwnedStorage, std::io::Error)> {
        let (jobs, rx) = unbounded();
        let (tx, reports) = unbounded();
        let slot = Arc::new(Mutex::new(Some(storage)));
        let theirs = slot.clone();
        let spawned = std::thread::Builder::new()
            .name(name)
            .spawn(move || run(&theirs, &rx, &tx));
        match spawned {
            Ok(thread) => Ok(LogWriter {
                jobs: Some(jobs),
                reports,
                storage: slot,
                thread: Some(thread),
                next: 1,
            }),
            Err(e) => match take(&slot) {
                Some(storage) => Err((storage, e)),
                // Not reachable: only the thread ever takes it, and it
                // never ran. Say so rather than hand back nothing.
                None => unreachable_storage(e),
            },
        }
    }

    /// Hands `ops` to the writer as one batch and returns its number (they
    /// count up from 1). Never blocks.
    pub fn submit(&mut self, ops: Vec<WriteOp>) -> Result<u64, WriterStopped> {
        let seq = self.next;
        let jobs = self.jobs.as_ref().ok_or(WriterStopped)?;
        jobs.send((seq, ops)).map_err(|_| WriterStopped)?;
        self.next += 1;
        Ok(seq)
    }

    /// The number the last batch submitted got (0: none yet).
    pub fn last_submitted(&self) -> u64 {
        self.next - 1
    }

    /// Where the writer's reports arrive (to `select!` on). It is
    /// disconnected once the writer has stopped and every report is read.
    pub fn reports(&self) -> &Receiver<Report> {
        &self.reports
    }

    /// Waits until everything submitted is applied and synced (or the
    /// writer failed), stops the thread and hands the storage back, with
    /// the reports not read yet.
    pub fn finish(mut self) -> (OwnedStorage, Vec<Report>) {
        self.jobs = None;
        if let Some(thread) = self.thread.take() {
            // A panic in the thread left the storage in its slot.
            let _ = thread.join();
        }
        let reports = self.reports.try_iter().collect();
        let storage = match take(&self.storage) {
            Some(storage) => storage,
            None => unreachable_storage(WriterStopped),
        };
        (storage, reports)
    }
}

impl Drop for LogWriter {
    fn drop(&mut self) {
        self.jobs = None;
        if let Some(thread) = self.thread.take() {
            let _ = thread.join();
        }
    }
}

/// Takes the storage out of its slot (a panicked holder left it usable).
fn take(slot: &Mutex<Option<OwnedStorage>>) -> Option<OwnedStorage> {
    slot.lock().unwrap_or_else(PoisonError::into_inner).take()
}

/// The slot is filled at start and emptied only by whoever ends the
/// writer, once: an empty one is a bug in this file, not an input.
fn unreachable_storage(why: impl std::fmt::Display) -> ! {
    unreachable!("the log writer's storage slot is empty ({why})")
}

/// The writer's loop: take every batch waiting, apply, sync once, report;
/// write a compaction kept back once no batch came for [`QUIET`]; until the node lets go
/// of its end or a storage error.
fn run(
    slot: &Mutex<Option<OwnedStorage>>,
    jobs: &Receiver<(u64, Vec<WriteOp>)>,
    reports: &Sender<Report>,
) {
    let mut lazy = Lazy::default();
    // The number of the last batch taken.
    let mut last = 0;
    loop {
        // An idle writer with nothing kept back sleeps until a batch comes.
        let next = if lazy.kept.is_some() {
            match jobs.recv_timeout(QUIET) {
                Ok(first) => Some(first),
                Err(RecvTimeoutError::Timeout) => {
                    if !write_kept(slot, &mut lazy, reports, last) {
                        return;
                    }
                    continue;
                }
                Err(RecvTimeoutError::Disconnected) => None,
            }
        } else {
            jobs.recv().ok()
        };
        let Some(first) = next else {
            break;
        };
        let mut guard = slot.lock().unwrap_or_else(PoisonError::into_inner);
        let Some(storage) = guard.as_mut() else {
            return;
        };
        let mut done = None;
        let mut logged = false;
        for (seq, ops) in std::iter::once(first).chain(jobs.try_iter().take(MAX_GROUP - 1)) {
            match apply(storage.as_mut(), ops, &mut logged, &mut lazy) {
                Ok(()) => done = Some(seq),
                Err(e) => {
                    let _ = reports.send(Report::Failed(seq, e));
                    return;
                }
            }
        }
        let Some(seq) = done else {
            continue;
        };
        last = seq;
        if logged && let Err(e) = storage.sync() {
            let _ = reports.send(Report::Failed(seq, e));
            return;
        }
        drop(guard);
        let _ = reports.send(Report::Synced(seq));
    }
    // The node let go: what was kept back is written before the storage
    // goes back.
    write_kept(slot, &mut lazy, reports, last);
}

/// The node's newest compaction the writer has not written yet.
#[derive(Default)]
struct Lazy {
    kept: Option<Snapshot>,
    /// The index of the last compaction written (0: none yet).
    written: Index,
    /// Bytes of commands appended since the last compaction written.
    appended: usize,
}

impl Lazy {
    /// Writes the compaction kept back, if any (unsynced), and notes it as
    /// the last written.
    fn flush(&mut self, storage: &mut dyn Storage) -> Result<(), StorageError> {
        if let Some(kept) = self.kept.take() {
            self.wrote(kept.meta.index);
            compact(storage, &kept)?;
        }
        Ok(())
    }

    /// Notes a compaction up to `index` as written.
    fn wrote(&mut self, index: Index) {
        self.written = self.written.max(index);
        self.appended = 0;
    }

    /// Whether a compaction up to `index` is due now rather than kept back.
    fn due(&self, index: Index) -> bool {
        index >= self.written + LAZY_COMPACTION || self.appended >= LAZY_COMPACTION_BYTES
    }
}

/// Writes the compaction kept back, if any, and syncs; `false` (after
/// reporting the failure against batch `seq`) if the storage failed.
fn write_kept(
    slot: &Mutex<Option<OwnedStorage>>,
    lazy: &mut Lazy,
    reports: &Sender<Report>,
    seq: u64,
) -> bool {
    if lazy.kept.is_none() {
        return true;
    }
    let mut guard = slot.lock().unwrap_or_else(PoisonError::into_inner);
    let Some(storage) = guard.as_mut() else {
        return false;
    };
    let written = lazy.flush(storage.as_mut()).and_then(|()| storage.sync());
    match written {
        Ok(()) => true,
        Err(e) => {
            let _ = reports.send(Report::Failed(seq, e));
            false
        }
    }
}

/// Saves `snapshot`, then compacts the log up to it.
fn compact(storage: &mut dyn Storage, snapshot: &Snapshot) -> Result<(), StorageError> {
    storage.save_snapshot(snapshot)?;
    storage.compact(snapshot.meta)
}

/// Applies one batch; `logged` is set when it appended to the log (which
/// then needs the sync; hard states and snapshots are durable at once).
/// A compaction is kept back in `lazy` unless it is [`LAZY_COMPACTION`]
/// entries past the last one written, or [`LAZY_COMPACTION_BYTES`] of
/// commands were appended since.
fn apply(
    storage: &mut dyn Storage,
    ops: Vec<WriteOp>,
    logged: &mut bool,
    lazy: &mut Lazy,
) -> Result<(), StorageError> {
    for op in ops {
        match op {
            WriteOp::HardState(hs) => storage.save_hard_state(hs)?,
            WriteOp::Snapshot(snapshot) => {
                // In order: what was kept back first.
                lazy.flush(storage)?;
                compact(storage, &snapshot)?;
                lazy.wrote(snapshot.meta.index);
            }
            WriteOp::Compact(snapshot) => {
                if lazy.due(snapshot.meta.index) {
                    lazy.kept = None;
                    lazy.wrote(snapshot.meta.index);
                    compact(storage, &snapshot)?;
                } else {
                    lazy.kept = Some(snapshot);
                }
            }
            WriteOp::Log(write) => {
                storage.append(&write)?;
                let bytes: usize = write.entries.iter().map(|e| e.data.payload_len()).sum();
                lazy.appended = lazy.appended.saturating_add(bytes);
                *logged = true;
            }
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests;
