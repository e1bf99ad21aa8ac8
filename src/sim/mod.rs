//! The deterministic simulator: a whole Raft cluster on one thread, in
//! virtual time, driven by one seed.
//!
//! A [`Sim`] holds `n` Raft nodes (ids `1..=n`), each with a durable store
//! (hard state and log, kept across crashes) and a [`KvStore`](crate::kv::KvStore)
//! state machine (lost on a crash and rebuilt from the log). Time is a
//! counter of microseconds; everything that happens — a node's tick, a
//! message arriving, a fault, a client's timer — is an event in one queue,
//! processed in time order. Every random choice (election timeouts, tick
//! phases, loss, delays, the fault schedule, client operations) comes from
//! ChaCha RNGs derived from [`SimOptions::seed`], so a seed replays a run
//! bit for bit; [`Sim::trace_hash`] proves it.
//!
//! After every input to a node the simulator drains the node's `Ready` and
//! carries it out in the order Raft requires — persist, send, apply, answer
//! reads — and then checks Raft's safety invariants incrementally (see
//! [`invariants`]). The first broken invariant stops the run with a
//! [`Violation`] that names the seed, the evidence, the last events and the
//! command that replays it. Background clients (and [`Sim::submit`], a
//! foreground client) record a history of operations which
//! [`Sim::check_history`] judges for linearizability.
//!
//! Files: `cluster.rs` (the `Sim` and its public API), `driver.rs` (the
//! event loop and how a node's output is carried out), `clients.rs`,
//! `faults.rs`, `membership.rs`, `reconfig.rs` (the membership nemesis),
//! `hold.rs` (messages held on their links by hand),
//! `invariants.rs`, `events.rs`, `stats.rs`, `observe.rs` (what
//! a dashboard watching a run reads).

pub mod checker;
mod clients;
mod cluster;
mod driver;
mod events;
mod faults;
mod hold;
mod membership;
mod observe;
mod reconfig;
mod stats;

pub use checker::Violation;
pub use cluster::Sim;
pub use faults::{FaultKind, FaultSchedule};
pub use observe::{RaftHook, SendDrop, SendFate, SendHook, SimEvent, StepHook, raft_event_text};
pub use stats::SimStats;

pub use crate::kv::ClientOutcome;
use crate::net::FabricError;
use crate::raft::{Bugs, NodeId, RaftError};

/// Most nodes a simulated cluster grows to (ids 1 to 9, as on the command
/// line).
pub const MAX_NODES: usize = 9;

/// Settings of a simulation run.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct SimOptions {
    /// Number of nodes, 1 to 9 (default 5); their ids are `1..=nodes`.
    pub nodes: usize,
    /// The seed every random choice derives from.
    pub seed: u64,
    /// Known-unsafe protocol variants to turn on.
    pub bugs: Bugs,
    /// Length of a Raft tick in µs (default 10 000: 10 ms).
    pub tick_us: u64,
    /// The faults injected (default: none).
    pub faults: FaultSchedule,
    /// Background clients issuing random operations (default 0).
    pub clients: usize,
    /// Operations per second started by all background clients together
    /// (default 100).
    pub ops_per_sec: u64,
    /// Number of keys the background clients use (default 3).
    pub keys: usize,
    /// Stop starting background operations after this many (0: no limit).
    pub max_ops: u64,
    /// A background operation gives up after this long, in µs (default 1 s).
    pub op_timeout_us: u64,
    /// A client tries another node after waiting this long for one, in µs
    /// (default 200 ms).
    pub attempt_timeout_us: u64,
    /// A node snapshots its store and compacts its log once it has applied
    /// this many entries past its last snapshot (default 100; 0: never).
    pub snapshot_threshold: u64,
    /// The delay range of every link, µs inclusive (default 0.5–2 ms,
    /// [`Link::DEFAULT_DELAY_US`](crate::net::Link::DEFAULT_DELAY_US), which
    /// `raftlab check` keeps; the dashboards choose one a person can watch).
    pub latency_us: (u64, u64),
    /// PreVote and CheckQuorum, on by default (the paper's Raft has neither).
    pub extensions: Extensions,
}

/// The two protocol extensions a cluster may run without
/// (`--no-prevote`, `--no-check-quorum`): with both off it is the Raft of
/// the paper, where a node rejoining from a partition disrupts the leader.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Extensions {
    /// A pre-vote round before each election.
    pub pre_vote: bool,
    /// A leader steps down without a quorum; followers that heard from a
    /// leader recently refuse votes.
    pub check_quorum: bool,
}

impl Default for Extensions {
    /// Both on, as the protocol's defaults.
    fn default() -> Extensions {
        Extensions {
            pre_vote: true,
            check_quorum: true,
        }
    }
}

impl Extensions {
    /// Sets them on a node's Raft configuration.
    pub fn apply(self, config: &mut crate::raft::Config) {
        config.pre_vote = self.pre_vote;
        config.check_quorum = self.check_quorum;
    }

    /// The ones switched off, as the status bar's badge says it
    /// (`no PreVote`, `no CheckQuorum`); `None` when both are on.
    pub fn badge(self) -> Option<String> {
        let mut off = Vec::new();
        if !self.pre_vote {
            off.push("no PreVote");
        }
        if !self.check_quorum {
            off.push("no CheckQuorum");
        }
        (!off.is_empty()).then(|| off.join(", "))
    }

    /// The command-line flags that give them (`--no-prevote`,
    /// `--no-check-quorum`), each with a leading space; empty by default.
    pub fn flags(self) -> String {
        let mut flags = String::new();
        if !self.pre_vote {
            flags.push_str(" --no-prevote");
        }
        if !self.check_quorum {
            flags.push_str(" --no-check-quorum");
        }
        flags
    }
}

impl Default for SimOptions {
    fn default() -> SimOptions {
        SimOptions {
            nodes: 5,
            seed: 0,
            bugs: Bugs::default(),
            tick_us: 10_000,
            faults: FaultSchedule::none(),
            clients: 0,
            ops_per_sec: 100,
            keys: 3,
            max_ops: 0,
            op_timeout_us: 1_000_000,
            attempt_timeout_us: 200_000,
            snapshot_threshold: 100,
            latency_us: crate::net::Link::DEFAULT_DELAY_US,
            extensions: Extensions::default(),
        }
    }
}

/// Errors of simulator operations: bad options or requests.
#[derive(Debug, Clone, thiserror::Error)]
pub enum SimError {
    /// The options are not usable.
    #[error("invalid simulation options: {0}")]
    InvalidOptions(String),
    /// No such node.
    #[error("node {0} is not part of the cluster")]
    UnknownNode(NodeId),
    /// The node is down (crashed and not restarted).
    #[error("node {0} is down")]
    NodeDown(NodeId),
    /// The node is already up.
    #[error("node {0} is already up")]
    NodeUp(NodeId),
    /// The request needs a leader and there is none.
    #[error("there is no leader")]
    NoLeader,
    /// A fault name `FaultSchedule::parse` does not know.
    #[error(
        "unknown fault {0:?} (known: crash, partition, isolate, bridge, oneway, loss, delay, duplicate, crashpoint, churn, membership, reconfig, all, none)"
    )]
    UnknownFault(String),
    /// The Raft node refused.
    #[error(transparent)]
    Raft(#[from] RaftError),
    /// The network refused.
    #[error(transparent)]
    Fabric(#[from] FabricError),
    /// No held message has that number.
    #[error(transparent)]
    Hold(#[from] crate::net::HoldError),
    /// An invariant broke while carrying out the request.
    #[error("{0}")]
    Violation(Box<Violation>),
    /// A node id beyond what the simulator runs.
    #[error("there is no node {0}: node ids run from 1 to 9")]
    NodeLimit(NodeId),
    /// A new node must take the next unused id.
    #[error("node {id} cannot be added yet: the next new node is {next}")]
    NotNextNode {
        /// The id asked for.
        id: NodeId,
        /// The next unused id.
        next: NodeId,
    },
}

#[cfg(test)]
mod tests;
