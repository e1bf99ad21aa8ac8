//! The key-value state machine replicated by Raft, and the tools that judge it.
//!
//! Clients send `put`, `get`, `delete` and `cas` operations. Writes travel
//! through the Raft log as encoded [`Command`]s; each carries the client's
//! id and a sequence number, so a write that a client retries after a
//! timeout is applied once (the store remembers the last result per client).
//! Reads are served from the store once Raft has confirmed them (ReadIndex).
//!
//! Every client operation is recorded in a [`history`] of invoke/complete
//! events, and [`linearizability`] decides whether that history could have
//! come from one key-value store executing one operation at a time.

mod command;
pub mod history;
pub mod linearizability;
mod store;

#[cfg(test)]
pub(crate) use command::test_ops;
pub use command::{ClientId, ClientOutcome, Command, Op, OpResult};
pub use store::{Applied, KvStore};

/// Errors of the KV layer.
#[derive(Debug, thiserror::Error)]
pub enum KvError {
    /// A log entry's payload is not a command this store understands.
    #[error("cannot decode the command at log index {index}: {reason}")]
    Decode {
        /// The entry's index.
        index: u64,
        /// What went wrong.
        reason: String,
    },
    /// A snapshot of the store could not be restored.
    #[error("cannot restore the KV snapshot: {reason}")]
    Snapshot {
        /// What is wrong with it.
        reason: String,
    },
}
