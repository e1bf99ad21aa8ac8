//! The live cluster: real threads, real channels, real time.
//!
//! [`Cluster::start`] runs each Raft node on its own thread. A node thread
//! loops on `crossbeam_channel::select!` over three channels — its inbox
//! (messages from peers and client requests), its ticker and its control
//! channel — feeds the pure [`raft::Node`](crate::raft::Node) and carries out
//! each `Ready` exactly as the simulator does: persist (through a
//! [`Storage`]), then send (through the shared [`Fabric`](crate::net::Fabric),
//! which may drop, delay or duplicate), then apply to its
//! [`KvStore`](crate::kv::KvStore) and answer clients.
//!
//! One *timer thread* keeps the cluster clock. It sends every node its
//! ticks and holds delayed messages in a heap until they are due, so a slow
//! link never blocks a node. The clock counts *cluster time*: one Raft tick
//! is [`TICK_CLUSTER_US`] (10 ms, the tick the Raft defaults assume: 150–300
//! ms election timeouts, 50 ms heartbeats), and link delays are in the same
//! unit. How long a tick lasts on the wall is [`ClusterConfig::tick`]
//! divided by the speed factor; the default (50 ms per tick at speed 1.0)
//! makes an election take about a second, slow enough to follow by eye,
//! and speed 5.0 is the paper's real-time pace. Pausing the clock freezes
//! ticks *and* messages in flight; [`Cluster::step`] then advances one tick.
//!
//! Controls ([`Cluster::kill`], [`Cluster::pause`], [`Cluster::partition`],
//! …) return a [`RuntimeError`] for an unknown node or a node in the wrong
//! state. A [`ClusterView`] snapshot of everything a dashboard shows is
//! published on every change; a [`ViewWatch`] waits for the next one.
//! [`Client`]s work from any thread, retry with their session so a write
//! applies once, and record a history the linearizability checker judges.
//! A [`ClientPool`] runs many such sessions without a thread each: an
//! operation is submitted, and its [`Completion`] arrives later on one of
//! the pool's few driver threads (the bench's clients are pool sessions).
//!
//! Files: `cluster.rs` (start, shutdown, views), `control.rs` (the
//! controls), `node.rs` (the node thread; `node/` its membership changes,
//! its disk and its forwarded requests), `inbox.rs` (what a node thread is
//! sent: its inputs and controls; and what the timer thread is told),
//! `timer.rs` (ticks and delayed delivery), `clock.rs` (cluster time),
//! `shared.rs` (the state the handle, its threads and clients share),
//! `client.rs`, `view.rs` (the view types and the hub nodes publish into),
//! `publish.rs` (assembling a view from the shared state; its watcher),
//! `pool.rs` (sessions on driver threads), `session.rs` (the retry rules
//! both kinds of client share), `reply.rs` (a client request's answer), `storage.rs`, `config.rs` (with
//! [`Transport`]: channels or loopback TCP), `observe/` (teaching: the
//! message record, the live invariant checker, the capped client history
//! and its linearizability verdict), `lin_checker.rs` (the thread that
//! re-checks that history while observed), `hold.rs` (messages held on their
//! links by hand), `bugs.rs` (unsafe variants switched
//! on and off live), `membership.rs` (nodes join, are promoted and
//! removed), `peers.rs` (a multi-process node's address book).

mod bugs;
mod client;
mod clock;
mod cluster;
mod config;
mod control;
mod hold;
mod inbox;
mod lin_checker;
mod lock;
mod membership;
mod node;
pub use node::MAX_COMMAND_BYTES;
pub mod observe;
mod peers;
mod pool;
mod publish;
mod reply;
mod session;
mod shared;
mod storage;
mod timer;
mod view;

pub(crate) use bugs::with as bugs_with;
pub use client::Client;
pub use cluster::{Cluster, MemberOptions};
pub use config::{ClusterConfig, StorageFactory, Transport};
pub use membership::{CHANGE_WAIT, change_refusal};
pub use observe::history::HISTORY_CAPACITY;
pub use peers::{AddressBook, BOOK_FILE};
pub use pool::{ClientPool, Completion, CompletionHandler, SessionId};
pub use publish::ViewWatch;
pub use storage::{MemStorage, NodeStorage, Storage, StorageError};
pub use view::{
    ClusterView, LinkCounts, LinkView, LogEntryView, MemberRole, NodeState, NodeView, Teaching,
    ViewEvent, op_text,
};

// The dashboard's simulated mode paces the simulator with the same clock
// and shows its logs the way the live views do.
pub(crate) use clock::Clock;
pub(crate) use view::{log_window, push_folding};

use crate::net::FabricError;
use crate::raft::{NodeId, RaftError};

/// Cluster time of one Raft tick, in µs: the 10 ms the Raft defaults
/// assume. Link delays are counted in the same cluster microseconds.
pub const TICK_CLUSTER_US: u64 = 10_000;

/// Most nodes a live cluster grows to: ids 1 to 9, as on the command line.
pub const MAX_NODES: usize = 9;

/// Errors of the live cluster's controls and setup.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub enum RuntimeError {
    /// The configuration is not usable.
    #[error("invalid cluster configuration: {0}")]
    InvalidConfig(String),
    /// No such node.
    #[error("node {0} is not part of the cluster")]
    UnknownNode(NodeId),
    /// The node is down (killed and not restarted).
    #[error("node {0} is down")]
    NodeDown(NodeId),
    /// The node is running, so it cannot be restarted or resumed.
    #[error("node {0} is running")]
    NodeRunning(NodeId),
    /// The node is paused.
    #[error("node {0} is paused")]
    NodePaused(NodeId),
    /// The clock must be paused for this (single-stepping).
    #[error("the clock is running; pause it first")]
    ClockRunning,
    /// The clock is already paused.
    #[error("the clock is already paused")]
    ClockPaused,
    /// A speed factor outside the supported range.
    #[error("speed {0} is outside 0.1 to 10")]
    InvalidSpeed(f64),
    /// The request needs a leader and no running node leads.
    #[error("there is no leader")]
    NoLeader,
    /// A node did not answer a control in time.
    #[error("node {0} did not answer in time")]
    NoAnswer(NodeId),
    /// A thread could not be started.
    #[error("cannot start a thread: {0}")]
    Spawn(String),
    /// No unsafe protocol variant has that name.
    #[error("{}", crate::raft::UnknownBug(.0.clone()))]
    UnknownBug(String),
    /// The cluster has been shut down.
    #[error("the cluster is shut down")]
    Stopped,
    /// A node cannot come back from its storage.
    #[error("node {id} cannot recover: {reason}")]
    Recovery {
        /// The node.
        id: NodeId,
        /// Why.
        reason: String,
    },
    /// A membership change names an id outside 1 to 9.
    #[error("node ids are 1 to {max}, not {0}", max = MAX_NODES)]
    NodeIdOutOfRange(NodeId),
    /// The node to add is already in the configuration.
    #[error("node {id} is already a {}", if *.voter { "voter" } else { "learner" })]
    AlreadyMember {
        /// The node.
        id: NodeId,
        /// Whether it is a voter (else a learner).
        voter: bool,
    },
    /// A membership change is not committed yet (one at a time).
    #[error("a membership change (log index {index}) is not committed yet; one change at a time")]
    ChangeInFlight {
        /// Index of the uncommitted configuration entry.
        index: crate::raft::Index,
    },
    /// The learner to promote does not hold every committed entry yet.
    #[error(
        "learner {id} has not caught up yet (it holds up to index {match_index}, the commit index is {commit}); try again shortly"
    )]
    LearnerBehind {
        /// The learner.
        id: NodeId,
        /// Highest index the leader knows it holds.
        match_index: crate::raft::Index,
        /// The leader's commit index.
        commit: crate::raft::Index,
    },
    /// Removing the only voter would leave nobody to elect a leader.
    #[error("cannot remove node {0}: it is the last voter")]
    LastVoter(NodeId),
    /// The node to promote or remove is not in the configuration.
    #[error("node {0} is not a member of the cluster")]
    NotMember(NodeId),
    /// A change was made but not seen committed in time (it may still be).
    #[error(
        "the change at log index {index} was not committed within {secs}s (it may still commit)"
    )]
    ChangeTimeout {
        /// Index of the configuration entry.
        index: crate::raft::Index,
        /// How long it was waited for.
        secs: u64,
    },
    /// Membership changes are not supported in this setup.
    #[error("{0}")]
    MembershipUnsupported(String),
    /// A node's address book file cannot be read or written.
    #[error("address book {path}: {reason}")]
    AddressBook {
        /// The file.
        path: String,
        /// What is wrong.
        reason: String,
    },
    /// The Raft node refused.
    #[error(transparent)]
    Raft(#[from] RaftError),
    /// The network refused.
    #[error(transparent)]
    Fabric(#[from] FabricError),
    /// No held message has that number.
    #[error(transparent)]
    Hold(#[from] crate::net::HoldError),
    /// The storage failed.
    #[error("storage failed: {0}")]
    Storage(String),
    /// A node's TCP transport could not start (a port in use, a bad address).
    #[error("node {id}'s network: {reason}")]
    Network {
        /// The node.
        id: NodeId,
        /// Why.
        reason: String,
    },
}

impl From<StorageError> for RuntimeError {
    fn from(e: StorageError) -> RuntimeError {
        RuntimeError::Storage(e.to_string())
    }
}
