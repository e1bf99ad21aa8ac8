//! Where a node thread's writes go: into its storage at once, or to a log
//! writer thread that syncs while the node goes on.
//!
//! In memory a sync costs nothing, and a thread hop would cost more than
//! it saves: the writes go [`Inline`](NodeDisk::Inline), synced before
//! the replica's messages leave. A storage whose sync waits for a disk
//! ([`LogStorage::sync_waits_for_disk`](crate::storage::LogStorage::sync_waits_for_disk))
//! gets a [`LogWriter`]: each persist becomes one numbered batch, the
//! replica hears [`Synced::Later`] and keeps the messages that promise it
//! (a follower's acknowledgement, a vote) until the writer reports the
//! batch synced — while the leader's appends are already on their way,
//! and every write that arrives during one sync shares the next one. A
//! compaction goes to the writer too, in order with the writes, and the
//! next waits until it is taken; the writer writes it once writes pause
//! (or once it lags far behind), so under load compactions cost the
//! disk far less often than every `snapshot_threshold` entries.

use std::collections::VecDeque;

use crossbeam_channel::{Receiver, never};

use crate::host::{Persist, SyncToken, Synced};
use crate::raft::Snapshot;
use crate::runtime::storage::{NodeStorage, StorageError};
use crate::storage::{LogWriter, Report, WriteOp, WriterStopped};

/// A node's storage as its thread writes to it.
pub(crate) enum NodeDisk {
    /// Written and synced on the node's thread.
    Inline {
        storage: NodeStorage,
        /// Written but not synced (the `ack-before-fsync` bug): synced
        /// only after the messages that promise it have left.
        unsynced: bool,
    },
    /// Written and synced by a log writer thread.
    Writer(Box<Background>),
}

/// The log writer, and what waits for its reports.
pub(crate) struct Background {
    writer: LogWriter,
    /// The persists handed to it, oldest first: (batch number, token).
    tokens: VecDeque<(u64, SyncToken)>,
    /// The batch number of the compaction handed to the writer and not yet
    /// taken, if any.
    compacting: Option<u64>,
    /// A clone of the writer's report channel, to select on.
    reports: Receiver<Report>,
}

/// A write handed to a log writer that has stopped.
fn stopped(_: WriterStopped) -> StorageError {
    writer_gone()
}

/// The error of a node whose log writer thread ended on its own.
pub(super) fn writer_gone() -> StorageError {
    StorageError::Io {
        path: "the node's log writer".into(),
        op: "write through",
        source: std::io::Error::other("its thread has stopped"),
    }
}

impl NodeDisk {
    /// The disk of node `id` over `storage`: a log writer thread when its
    /// sync waits for a device (inline if that thread cannot start).
    pub(crate) fn new(id: u64, storage: NodeStorage) -> NodeDisk {
        if !storage.sync_waits_for_disk() {
            return NodeDisk::Inline {
                storage,
                unsynced: false,
            };
        }
        match LogWriter::start(storage, format!("raftlab-disk-{id}")) {
            Ok(writer) => {
                let reports = writer.reports().clone();
                NodeDisk::Writer(Box::new(Background {
                    writer,
                    tokens: VecDeque::new(),
                    compacting: None,
                    reports,
                }))
            }
            Err((storage, _)) => NodeDisk::Inline {
                storage,
                unsynced: false,
            },
        }
    }

    /// Where the writer's reports arrive (`never()` inline).
    pub(crate) fn reports(&self) -> Receiver<Report> {
        match self {
            NodeDisk::Inline { .. } => never(),
            NodeDisk::Writer(bg) => bg.reports.clone(),
        }
    }

    /// Writes what `persist` holds: inline, synced before returning
    /// (unless `ack_before_fsync`: then after the next send); to the
    /// writer, synced when it reports (`ack_before_fsync` lets the
    /// messages go at once all the same).
    pub(crate) fn persist(
        &mut self,
        persist: Persist<'_>,
        ack_before_fsync: bool,
    ) -> Result<Synced, StorageError> {
        match self {
            NodeDisk::Inline { storage, unsynced } => {
                if let Some(hs) = persist.hard_state {
                    storage.save_hard_state(hs)?;
                }
                if let Some(snapshot) = persist.snapshot {
                    storage.save_snapshot(snapshot)?;
                    storage.compact(snapshot.meta)?;
                }
                if let Some(write) = &persist.log {
                    storage.append(write)?;
                }
                if ack_before_fsync {
                    *unsynced = true;
                } else {
                    storage.sync()?;
                }
                Ok(Synced::Now)
            }
            NodeDisk::Writer(bg) => {
                let mut ops = Vec::with_capacity(3);
                ops.extend(persist.hard_state.map(WriteOp::HardState));
                ops.extend(persist.snapshot.cloned().map(WriteOp::Snapshot));
                ops.extend(persist.log.map(WriteOp::Log));
                let seq = bg.writer.submit(ops).map_err(stopped)?;
                if ack_before_fsync {
                    return Ok(Synced::Now);
                }
                bg.tokens.push_back((seq, persist.token));
                Ok(Synced::Later)
            }
        }
    }

    /// After a send: syncs what the `ack-before-fsync` bug left unsynced.
    pub(crate) fn sent(&mut self) -> Result<(), StorageError> {
        if let NodeDisk::Inline { storage, unsynced } = self
            && std::mem::take(unsynced)
        {
            storage.sync()?;
        }
        Ok(())
    }

    /// Makes `snapshot` durable and compacts the stored log under it (to
    /// the writer: in order with the writes around it, and written when the
    /// writer has time, see [`WriteOp::Compact`]).
    pub(crate) fn compact(&mut self, snapshot: &Snapshot) -> Result<(), StorageError> {
        match self {
            NodeDisk::Inline { storage, .. } => {
                storage.save_snapshot(snapshot)?;
                storage.compact(snapshot.meta)?;
                storage.sync()
            }
            NodeDisk::Writer(bg) => {
                let ops = vec![WriteOp::Compact(snapshot.clone())];
                let seq = bg.writer.submit(ops).map_err(stopped)?;
                bg.compacting = Some(seq);
                Ok(())
            }
        }
    }

    /// Whether a compaction may start: not while the last is being written.
    pub(crate) fn may_compact(&self) -> bool {
        match self {
            NodeDisk::Inline { .. } => true,
            NodeDisk::Writer(bg) => bg.compacting.is_none(),
        }
    }

    /// Takes a report of the writer: the latest persist it made durable
    /// (`None` if it made none), or its failure.
    pub(crate) fn synced(&mut self, report: Report) -> Result<Option<SyncToken>, StorageError> {
        let NodeDisk::Writer(bg) = self else {
            return Ok(None);
        };
        let seq = match report {
            Report::Synced(seq) => seq,
            Report::Failed(_, e) => return Err(e),
        };
        if bg.compacting.is_some_and(|c| c <= seq) {
            bg.compacting = None;
        }
        let mut token = None;
        while bg.tokens.front().is_some_and(|&(s, _)| s <= seq) {
            token = bg.tokens.pop_front().map(|(_, t)| t);
        }
        Ok(token)
    }

    /// Hands the storage back, after the writer made durable everything
    /// it was given (what a crash would have lost is kept here: a killed
    /// node is a stopped thread, not a lost disk).
    pub(crate) fn into_storage(self) -> NodeStorage {
        match self {
            NodeDisk::Inline { storage, .. } => storage,
            NodeDisk::Writer(bg) => bg.writer.finish().0,
        }
    }
}
