//! The Raft consensus protocol as a pure state machine.
//!
//! Raft keeps a log of commands identical on a majority of nodes, so that a
//! cluster of `2f + 1` nodes survives `f` failures. Time is divided into
//! *terms*; in each term at most one node is *leader*. The leader accepts
//! commands, appends them to its log and replicates them to followers with
//! `Append` messages; once a majority holds an entry of the leader's term,
//! that entry and everything before it are *committed* and can be applied to
//! the state machine. A follower that hears nothing from a leader for a
//! randomized *election timeout* becomes a candidate: it bumps its term and
//! asks everyone for a vote; a node grants one vote per term, and only to a
//! candidate whose log is at least as up to date as its own (§5.4.1), which
//! is why every elected leader holds every committed entry.
//!
//! This module adds the refinements a production Raft needs:
//!
//! - **PreVote** (thesis §9.6): before bumping its term, a would-be
//!   candidate asks whether it *could* win; a node cut off from the cluster
//!   cannot, so when it rejoins it does not depose a healthy leader.
//! - **CheckQuorum**: a leader that has not heard from a majority within an
//!   election timeout steps down, and a follower that heard from a leader
//!   recently refuses to vote, so stale leaders go away and live ones stay.
//! - **Fast backup**: a rejected `Append` carries a hint (the first index of
//!   the conflicting term) so the leader skips a whole term at a time.
//! - **ReadIndex** (thesis §6.4): a read is served once the leader has
//!   confirmed with a heartbeat round that it is still leader, and the state
//!   machine has applied the commit index seen when the read arrived.
//! - **Leadership transfer** (thesis §3.10) with `TimeoutNow`.
//! - **Membership change** (thesis §4): learners, and voters added or
//!   removed one at a time through the log (see [`membership`]).
//!
//! The node is *sans-IO*: it never reads a clock, spawns a thread, touches
//! a file or draws from a global RNG. A driver (the simulator or the live
//! runtime) feeds it inputs — `tick`, `step`, `propose`, `read`,
//! `transfer_leader` — and after each one drains a [`Ready`] with what must
//! be persisted, sent, applied and answered. **Persist before send**: the
//! messages of a `Ready` may leave only once its hard state and log write
//! are durable. Election timeouts come from a ChaCha RNG seeded by the
//! driver, so the same seed gives the same run.
//!
//! Where to read each part: `node.rs` holds the node's state, its inputs
//! and its [`Ready`], and routes every message; `node/election.rs` the
//! timers, votes, PreVote, CheckQuorum and leadership transfer;
//! `node/replication.rs` the leader's appends, snapshots sent and the
//! commit rule; `node/progress.rs` what the leader knows of each follower
//! (probing or pipelining); `node/following.rs` the consistency check,
//! fast backup and snapshot install; `node/reads.rs` ReadIndex;
//! `node/conf.rs` membership changes; `log.rs` the log itself.

mod config;
mod durable;
mod log;
pub mod membership;
mod message;
mod node;
mod output;

pub use config::{Bugs, Config, DEFAULT_MAX_APPEND_BYTES, UnknownBug};
pub use log::RaftLog;
pub use membership::{ConfChange, Membership, NodeSet};
pub use message::{Body, Entry, EntryData, Message, Payload};
pub use node::Node;
pub use output::{
    DurableState, Event, HardState, LogWrite, Progress, ReadId, ReadOutcome, ReadResult, Ready,
    RefusalReason, Role, Snapshot, SnapshotMeta, Status, Tally, VoteRefusal,
};

/// Identifies a node; 1 to 9 in raftlab.
pub type NodeId = u64;
/// A Raft term: a period with at most one leader.
pub type Term = u64;
/// A position in the log; the first entry has index 1, 0 means "none".
pub type Index = u64;
/// Logical time: the driver calls `tick` once per tick.
pub type Ticks = u64;

/// Errors the Raft core returns to its driver.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum RaftError {
    /// The request needs the leader and this node is not it.
    #[error("node is not the leader (leader: {})", leader_name(.leader))]
    NotLeader {
        /// The leader this node knows of.
        leader: Option<NodeId>,
    },
    /// A leadership transfer is already under way.
    #[error("a leadership transfer to node {0} is already in progress")]
    TransferInProgress(NodeId),
    /// The node named is not a member of the cluster.
    #[error("node {0} is not a member of the cluster")]
    UnknownNode(NodeId),
    /// The configuration is not usable.
    #[error("invalid raft configuration: {0}")]
    InvalidConfig(String),
    /// The durable state given to `Node::new` is not a valid log.
    #[error("invalid durable state: {0}")]
    InvalidState(String),
    /// A node id outside what a configuration can hold.
    #[error("node id {0} is out of range (1 to {max})", max = membership::MAX_NODE_ID)]
    InvalidNodeId(NodeId),
    /// The node is already in the configuration.
    #[error("node {id} is already a {}", if *.voter { "voter" } else { "learner" })]
    AlreadyMember {
        /// The node.
        id: NodeId,
        /// Whether it is a voter (else a learner).
        voter: bool,
    },
    /// The node is a learner where a voter is needed.
    #[error("node {0} is a learner, not a voter")]
    NotVoter(NodeId),
    /// Removing the only voter would leave nobody to elect a leader.
    #[error("cannot remove node {0}: it is the last voter")]
    LastVoter(NodeId),
    /// A membership change is already in flight (one at a time).
    #[error("a membership change (log index {index}) is not committed yet; one change at a time")]
    ChangeInProgress {
        /// Index of the uncommitted configuration entry.
        index: Index,
    },
    /// A new leader must commit an entry of its term before changing the
    /// membership (the single-server change fix).
    #[error("the leader has not committed an entry of its term yet; try again shortly")]
    LeaderNotReady,
    /// A learner must hold every committed entry before it votes.
    #[error(
        "learner {id} has not caught up yet (it holds up to index {match_index}, the commit index is {commit})"
    )]
    LearnerBehind {
        /// The learner.
        id: NodeId,
        /// Highest index known replicated on it.
        match_index: Index,
        /// The leader's commit index.
        commit: Index,
    },
}

fn leader_name(leader: &Option<NodeId>) -> String {
    match leader {
        Some(id) => format!("node {id}"),
        None => "unknown".to_string(),
    }
}

#[cfg(test)]
mod golden;
#[cfg(test)]
mod tests;
