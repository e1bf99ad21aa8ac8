//! The storage seam: what a node thread persists through.
//!
//! A node thread writes each `Ready`'s hard state, snapshot and log change
//! through a [`Storage`], then calls [`Storage::sync`] before any of the
//! `Ready`'s messages leave (persist before send). A killed node's storage
//! outlives its thread and is what [`Cluster::restart`](super::Cluster::restart)
//! recovers from. [`MemStorage`] keeps it in memory; a file-backed WAL
//! implements the same trait.

use crate::raft::{DurableState, HardState, LogWrite, NodeId, Snapshot};

/// Errors of a node's storage.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum StorageError {
    /// A log write that does not continue the stored log.
    #[error("log write from index {from} does not fit the stored log {first}..={last}")]
    Gap {
        /// First index of the write.
        from: u64,
        /// First index held.
        first: u64,
        /// Last index held.
        last: u64,
    },
    /// The storage medium failed.
    #[error("storage of node {id} failed: {reason}")]
    Io {
        /// The node.
        id: NodeId,
        /// What went wrong.
        reason: String,
    },
}

/// Durable state of one node: term and vote, log, latest snapshot.
pub trait Storage: Send {
    /// Everything stored, to restart a node from.
    fn load(&self) -> Result<DurableState, StorageError>;
    /// Stores the term and vote.
    fn save_hard_state(&mut self, hard_state: HardState) -> Result<(), StorageError>;
    /// Stores a snapshot and drops the log entries it covers.
    fn install_snapshot(&mut self, snapshot: Snapshot) -> Result<(), StorageError>;
    /// Keeps the entries below `write.from`, then appends `write.entries`.
    fn write_log(&mut self, write: LogWrite) -> Result<(), StorageError>;
    /// Makes every write so far durable; called before messages leave.
    fn sync(&mut self) -> Result<(), StorageError>;
}

/// Storage in memory: survives a node's thread, not the process.
#[derive(Debug, Default, Clone)]
pub struct MemStorage {
    state: DurableState,
}

impl Storage for MemStorage {
    fn load(&self) -> Result<DurableState, StorageError> {
        Ok(self.state.clone())
    }

    fn save_hard_state(&mut self, hard_state: HardState) -> Result<(), StorageError> {
        self.state.hard_state = hard_state;
        Ok(())
    }

    fn install_snapshot(&mut self, snapshot: Snapshot) -> Result<(), StorageError> {
        self.state.install_snapshot(snapshot);
        Ok(())
    }

    fn write_log(&mut self, write: LogWrite) -> Result<(), StorageError> {
        if !self.state.fits(&write) {
            return Err(StorageError::Gap {
                from: write.from,
                first: self.state.first_index(),
                last: self.state.last_index(),
            });
        }
        self.state.apply_write(write);
        Ok(())
    }

    fn sync(&mut self) -> Result<(), StorageError> {
        Ok(())
    }
}
