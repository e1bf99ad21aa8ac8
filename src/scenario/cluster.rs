//! The cluster a script drives, as a trait: the simulator implements it by
//! forwarding to its own methods, and the live runtime implements it in
//! `live_cluster.rs` (for guided tours). Every method is object-safe, so the
//! runner holds a `Box<dyn Cluster>` made by a factory when the script says
//! `cluster N`.

use std::borrow::Cow;

pub use crate::kv::ClientOutcome;
use crate::kv::Op;
use crate::net::{HeldInfo, HeldRef};
use crate::raft::{Bugs, ConfChange, Entry, Index, NodeId, Status};

use super::ClusterError;

/// What a `cluster` statement asks the factory to build.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ClusterSpec {
    /// Number of nodes, 1 to 9; their ids are 1 to `nodes`.
    pub nodes: usize,
    /// The seed of the run; `None` lets the factory choose (e.g. from a
    /// command-line flag).
    pub seed: Option<u64>,
    /// Known-unsafe protocol variants to turn on (`bug NAME`).
    pub bugs: Bugs,
}

/// Counters that only grow; the runner subtracts a baseline taken at the
/// start and at each `reset stats`.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct ClusterStats {
    /// Messages sent by any node (including ones the network then dropped).
    pub messages_sent: u64,
    /// Elections started (a candidate bumping its term).
    pub elections: u64,
}

/// A Raft cluster running a replicated KV store, on virtual or real time.
///
/// Node ids are those of [`node_ids`](Cluster::node_ids). Queries about a
/// node that is down return `None`. Durations are in microseconds.
pub trait Cluster {
    /// Time since the cluster started.
    fn now_us(&self) -> u64;
    /// Every node's id, in increasing order, whether up or down.
    fn node_ids(&self) -> Vec<NodeId>;
    /// Advances time by `us`.
    fn run_for(&mut self, us: u64) -> Result<(), ClusterError>;
    /// The node the cluster considers leader, if any.
    fn leader(&self) -> Option<NodeId>;
    /// A node's state; `None` when it is down.
    fn status(&self, id: NodeId) -> Option<Status>;
    /// Whether the node is running.
    fn is_up(&self, id: NodeId) -> bool;
    /// A node's log; `None` when it is down. (A cluster that answers
    /// from a shared state returns a copy.)
    fn log(&self, id: NodeId) -> Option<Cow<'_, [Entry]>>;
    /// The last index a node applied to its store; `None` when it is down.
    fn applied_index(&self, id: NodeId) -> Option<Index>;
    /// Reads `key` from a node's store directly (a stale read): the outer
    /// `None` means the node is down, the inner one that the key is absent.
    fn local_get(&self, id: NodeId, key: &str) -> Option<Option<String>>;
    /// Crashes a node: it stops, and loses everything it had not persisted.
    fn crash(&mut self, id: NodeId) -> Result<(), ClusterError>;
    /// Starts a crashed node again from its durable state.
    fn restart(&mut self, id: NodeId) -> Result<(), ClusterError>;
    /// Cuts every link to and from the node.
    fn isolate(&mut self, id: NodeId) -> Result<(), ClusterError>;
    /// Splits the nodes into groups that can talk only within themselves;
    /// the runner always passes groups that cover every node exactly once.
    fn partition(&mut self, groups: &[Vec<NodeId>]) -> Result<(), ClusterError>;
    /// Cuts the one-way link `from` → `to`.
    fn cut(&mut self, from: NodeId, to: NodeId) -> Result<(), ClusterError>;
    /// Restores every link (loss, delay and duplication settings stay).
    fn heal(&mut self) -> Result<(), ClusterError>;
    /// Sets the probability, 0 to 1, that any message is lost.
    fn set_loss(&mut self, p: f64) -> Result<(), ClusterError>;
    /// Sets the range of message delay.
    fn set_delay(&mut self, min_us: u64, max_us: u64) -> Result<(), ClusterError>;
    /// Sets the probability, 0 to 1, that a message is delivered twice.
    fn set_duplicate(&mut self, p: f64) -> Result<(), ClusterError>;
    /// Asks the leader to hand leadership to `to`.
    fn transfer_leader(&mut self, to: NodeId) -> Result<(), ClusterError>;
    /// Asks the leader for a membership change (adding a node the cluster
    /// does not have yet starts it); returns the index of the
    /// configuration entry. Node statuses carry the configurations. The
    /// default refuses: a cluster that cannot change its membership says so.
    fn change_membership(&mut self, change: ConfChange) -> Result<Index, ClusterError> {
        Err(ClusterError::Refused(format!(
            "cannot {change}: this cluster does not support membership changes yet"
        )))
    }
    /// Submits one client operation (to `target`, or to whichever node the
    /// client picks) and runs the cluster until it completes or times out.
    fn submit(
        &mut self,
        op: Op,
        target: Option<NodeId>,
        timeout_us: u64,
    ) -> Result<ClientOutcome, ClusterError>;
    /// Sends one client operation as [`submit`](Cluster::submit) would,
    /// and returns at once: it proceeds as time passes, and
    /// [`take_reply`](Cluster::take_reply) returns its outcome once it has
    /// ended. One at a time. The default refuses: a cluster that cannot
    /// run an operation in the background says so.
    fn start(
        &mut self,
        op: Op,
        target: Option<NodeId>,
        timeout_us: u64,
    ) -> Result<(), ClusterError> {
        let _ = (op, target, timeout_us);
        Err(ClusterError::Refused(
            "this cluster cannot run an operation in the background".to_string(),
        ))
    }
    /// The outcome of the operation [`start`](Cluster::start) sent, once
    /// it has ended (once only).
    fn take_reply(&mut self) -> Option<ClientOutcome> {
        None
    }
    /// Submits several operations at the same instant, from distinct
    /// clients, and runs until all complete or time out. The default submits
    /// them one after the other; a cluster that can overlap them should.
    fn submit_concurrent(
        &mut self,
        ops: Vec<(Op, Option<NodeId>)>,
        timeout_us: u64,
    ) -> Result<Vec<ClientOutcome>, ClusterError> {
        ops.into_iter()
            .map(|(op, target)| self.submit(op, target, timeout_us))
            .collect()
    }
    /// Counters since the cluster started.
    fn stats(&self) -> ClusterStats;
    /// A hash of everything that happened, to show two runs are identical.
    fn trace_hash(&self) -> u64;
    /// Checks the client history so far for linearizability.
    fn check_history(&self) -> Result<(), ClusterError>;
    /// The first safety violation the cluster's invariant checker found,
    /// as `invariant: evidence` (`Ok(None)`: none so far), or why this
    /// cluster cannot tell. The default has no checker.
    fn violation(&self) -> Result<Option<String>, String> {
        Err("this cluster has no invariant checker".to_string())
    }
    /// Holds the messages sent from now on on their links (`true`), or
    /// lets new ones travel again (held ones stay held); returns whether
    /// holding was on. The default refuses: a cluster that cannot hold
    /// messages says so.
    fn set_hold(&mut self, on: bool) -> Result<bool, ClusterError> {
        let _ = on;
        Err(no_hold())
    }
    /// Delivers the held messages `which` names now, in number order;
    /// returns them.
    fn deliver_held(&mut self, which: HeldRef) -> Result<Vec<HeldInfo>, ClusterError> {
        let _ = which;
        Err(no_hold())
    }
    /// Drops the held messages `which` names; returns them.
    fn drop_held(&mut self, which: HeldRef) -> Result<Vec<HeldInfo>, ClusterError> {
        let _ = which;
        Err(no_hold())
    }
    /// The messages held now, in number order.
    fn held(&self) -> Vec<HeldInfo> {
        Vec::new()
    }
    /// Called before each statement runs: a cluster that answers queries
    /// from a copy of its state (the live one) takes a fresh copy, so a
    /// statement judges the cluster as it is now, not as the previous
    /// statement left it. The default does nothing.
    fn refresh(&mut self) {}
}

/// Why a cluster without a hold queue refuses `hold`, `deliver` and `drop`.
fn no_hold() -> ClusterError {
    ClusterError::Refused("this cluster cannot hold messages".to_string())
}
