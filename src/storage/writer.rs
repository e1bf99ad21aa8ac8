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
//! The first storage error stops the writer: it reports
//! [`Report::Failed`] and applies nothing more, since the files can no
//! longer be trusted. [`LogWriter::finish`] makes what was submitted
//! durable (as far as the storage still works) and hands the storage back;
//! the storage sits in a slot the thread borrows it from, so it comes
//! back whatever became of the thread.

use std::sync::{Arc, Mutex, PoisonError};
use std::thread::JoinHandle;

use crossbeam_channel::{Receiver, Sender, unbounded};

use super::{Storage, StorageError};
use crate::raft::{HardState, LogWrite, Snapshot};

/// Most batches applied before one sync: bounds how long a report waits
/// while batches keep coming.
const MAX_GROUP: usize = 1024;

/// The storage a writer owns: any that can move to its thread and back.
pub type OwnedStorage = Box<dyn Storage + Send>;

/// One change to make durable, in the order given.
#[derive(Debug)]
pub enum WriteOp {
    /// Save term and vote.
    HardState(HardState),
    /// Save a snapshot, then compact the log up to it.
    Snapshot(Snapshot),
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
/// until the node lets go of its end or a storage error.
fn run(
    slot: &Mutex<Option<OwnedStorage>>,
    jobs: &Receiver<(u64, Vec<WriteOp>)>,
    reports: &Sender<Report>,
) {
    while let Ok(first) = jobs.recv() {
        let mut guard = slot.lock().unwrap_or_else(PoisonError::into_inner);
        let Some(storage) = guard.as_mut() else {
            return;
        };
        let mut done = None;
        let mut logged = false;
        for (seq, ops) in std::iter::once(first).chain(jobs.try_iter().take(MAX_GROUP - 1)) {
            match apply(storage.as_mut(), ops, &mut logged) {
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
        if logged && let Err(e) = storage.sync() {
            let _ = reports.send(Report::Failed(seq, e));
            return;
        }
        drop(guard);
        let _ = reports.send(Report::Synced(seq));
    }
}

/// Applies one batch; `logged` is set when it appended to the log (which
/// then needs the sync; hard states and snapshots are durable at once).
fn apply(
    storage: &mut dyn Storage,
    ops: Vec<WriteOp>,
    logged: &mut bool,
) -> Result<(), StorageError> {
    for op in ops {
        match op {
            WriteOp::HardState(hs) => storage.save_hard_state(hs)?,
            WriteOp::Snapshot(snapshot) => {
                storage.save_snapshot(&snapshot)?;
                storage.compact(snapshot.meta)?;
            }
            WriteOp::Log(write) => {
                storage.append(&write)?;
                *logged = true;
            }
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests;
