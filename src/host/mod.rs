//! The host: one replica of the replicated store, without any IO, that
//! every driver runs.
//!
//! A Raft node alone is not a server. Something must write what it asks to
//! keep, send its messages, apply what it commits to a state machine,
//! answer the clients that wait for a write or a read, and compact the log
//! now and then. That something is the host, and there is one of it: a
//! [`Replica`] holds a raft [`Node`](crate::raft::Node), its
//! [`KvStore`](crate::kv::KvStore), the writes and reads clients wait on
//! and the compaction rule, and [`Replica::carry_out`] turns each `Ready`
//! into steps in the order Raft needs — persist, then send, then restore a
//! received snapshot, apply, compact, answer reads.
//!
//! The host does no IO itself. Each step is a call on the driver's [`Io`]:
//! the live runtime (`runtime/node.rs`) writes to its storage and sends on
//! channels or sockets; the simulator (`sim/driver.rs`) writes to a disk
//! with crash semantics, rolls its crash points and runs its safety checks
//! between the steps. A driver keeps only what is its own — threads, clocks
//! and sockets, or virtual time, faults and checks — so a rule changed here
//! reaches the live cluster, the simulator, the tours and `raftlab check`
//! together.
//!
//! Persistence may complete later than it is asked for: a driver answers
//! [`Io::persist`] with [`Synced::Later`] and calls [`Replica::synced`]
//! once the disk has it; the messages that depend on it wait in the
//! replica until then. The client side of the same rules — which node to
//! ask, when to follow a redirect, when to give up — is [`session`].
//!
//! Where this sits: above `raft/`, `kv/` and `storage/`'s types, below
//! `sim/` and `runtime/`, which both drive it.

mod replica;
pub mod session;

pub use replica::{
    HostConfig, HostError, Io, MAX_READY_ROUNDS, Persist, Replica, Reply, SyncToken, Synced,
    WaitingWrites, Write,
};
