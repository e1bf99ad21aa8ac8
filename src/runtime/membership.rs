//! Membership changes of a live cluster: a node joins as a learner, is
//! promoted to voter, or is removed — one change at a time, proposed
//! through the leader, which appends it to the log (see
//! [`crate::raft::membership`]).
//!
//! Adding a new id starts a new node thread with fresh, empty storage. It
//! knows only the configuration the cluster started with (which does not
//! name it), so it never campaigns; the leader sends it the log, or its
//! snapshot when the log was compacted, and it becomes a learner when the
//! entry that adds it arrives. The mailboxes, tickers and link counters of
//! every id up to [`MAX_NODES`] are made when the cluster starts; the
//! fabric, the node table and the view grow when a node joins.
//!
//! A removed node keeps running, as the Raft thesis allows: it is out of
//! the configuration, so the leader stops sending to it, its votes and
//! campaigns are ignored (PreVote and CheckQuorum keep it from disrupting),
//! and the view shows it as [`MemberRole::Removed`](super::MemberRole).
//! It can be killed, restarted or added back like any other node; an id
//! that was ever started cannot be started fresh again.
//!
//! Over `--transport tcp` a new id gets its own listener (port
//! `base_port + id`, or any free port with base 0), bound before the
//! change is proposed so a port in use refuses the change cleanly; every
//! other node's transport is then told its address. A cluster of
//! `raftlab node` processes changes through `raftlab client add|promote|
//! remove` instead: its node threads handle those requests themselves
//! (`node/change.rs`), and nodes learn each other's addresses from their hellos
//! (`peers.rs`).

use std::time::{Duration, Instant};

use crossbeam_channel::{Receiver, bounded};

use super::cluster::{Cluster, Slot, tcp_config, tcp_port};
use super::config::Transport;
use super::inbox::Control;
use super::lock::lock;
use super::{MAX_NODES, RuntimeError};
use crate::net::{TcpEvent, TcpTransport, Wire, loopback};
use crate::raft::{ConfChange, Index, Membership, NodeId, RaftError};

/// A new node's TCP endpoint, bound before its change is proposed.
type Endpoint = (TcpTransport<Wire>, Receiver<TcpEvent<Wire>>);

/// How long a change waits for its configuration entry to commit.
pub const CHANGE_WAIT: Duration = Duration::from_secs(10);

/// How long a proposal is retried while the leader is not ready yet (it
/// has not committed an entry of its term) or leadership moves.
const PROPOSE_WAIT: Duration = Duration::from_secs(3);

impl Cluster {
    /// Adds node `id` (1 to 9) as a learner and waits for the change to
    /// commit. A new id starts a new, empty node that catches up from the
    /// leader; an id removed earlier is added back with the state it kept.
    pub fn add_learner(&self, id: NodeId) -> Result<Index, RuntimeError> {
        self.change_membership(ConfChange::AddLearner(id))
    }

    /// Promotes learner `id` to voter once it has caught up, and waits for
    /// the change to commit.
    pub fn promote(&self, id: NodeId) -> Result<Index, RuntimeError> {
        self.change_membership(ConfChange::Promote(id))
    }

    /// Removes node `id` (a voter, even the leader, or a learner) and waits
    /// for the change to commit. A removed leader steps down once its
    /// removal commits and the others elect a new one.
    pub fn remove(&self, id: NodeId) -> Result<Index, RuntimeError> {
        self.change_membership(ConfChange::Remove(id))
    }

    /// The configuration the cluster uses and whether a change is pending
    /// (see [`ClusterView::configuration`](super::ClusterView::configuration)).
    pub fn configuration(&self) -> Option<(Membership, bool)> {
        self.view().configuration()
    }

    /// Proposes `change` through the leader, starts the node it adds if
    /// new, and waits up to [`CHANGE_WAIT`] for it to commit; returns the
    /// index of its configuration entry. Refusals leave the cluster as it
    /// was.
    pub fn change_membership(&self, change: ConfChange) -> Result<Index, RuntimeError> {
        if self.shared.is_stopped() {
            return Err(RuntimeError::Stopped);
        }
        if self.shared.is_remote() {
            return Err(RuntimeError::MembershipUnsupported(
                "this process runs one node of a multi-process cluster: change its \
                 membership with `raftlab client add|promote|remove`"
                    .into(),
            ));
        }
        let id = change.node();
        if !(1..=MAX_NODES as NodeId).contains(&id) {
            return Err(RuntimeError::NodeIdOutOfRange(id));
        }
        let known = lock(&self.slots).iter().any(|s| s.id == id);
        if !known && !matches!(change, ConfChange::AddLearner(_)) {
            return Err(RuntimeError::UnknownNode(id));
        }
        let expected = self
            .configuration()
            .and_then(|(config, _)| config.apply(change).ok());
        let endpoint = if known || !self.shared.is_tcp() {
            None
        } else {
            Some(self.bind_joining(id)?)
        };
        let (index, leader) = match self.propose_change(change) {
            Ok(proposed) => proposed,
            Err(e) => {
                if let Some((transport, _)) = endpoint {
                    transport.shutdown();
                }
                return Err(e);
            }
        };
        self.shared
            .event(Some(leader), format!("proposed: {change} at {index}"));
        if !known {
            self.start_joining(id, endpoint)?;
        }
        let expected = self.wait_committed(index, expected)?;
        self.shared
            .event(None, format!("configuration committed: {expected}"));
        Ok(index)
    }

    /// Hands `change` to the leader, retrying while the leader is not
    /// ready or leadership moves; returns the entry's index and the leader.
    fn propose_change(&self, change: ConfChange) -> Result<(Index, NodeId), RuntimeError> {
        let deadline = Instant::now() + PROPOSE_WAIT;
        loop {
            let result = match self.leader() {
                None => Err(RuntimeError::NoLeader),
                Some(leader) => self.propose_on(leader, change).map(|i| (i, leader)),
            };
            let retry = matches!(
                result,
                Err(RuntimeError::NoLeader)
                    | Err(RuntimeError::Raft(
                        RaftError::NotLeader { .. } | RaftError::LeaderNotReady
                    ))
            );
            if !retry || Instant::now() >= deadline {
                return result.map_err(typed);
            }
            std::thread::sleep(Duration::from_millis(20));
        }
    }

    fn propose_on(&self, leader: NodeId, change: ConfChange) -> Result<Index, RuntimeError> {
        let node = self
            .shared
            .node(leader)
            .ok_or(RuntimeError::UnknownNode(leader))?;
        let (reply, answer) = bounded(1);
        node.control
            .send(Control::ConfChange { change, reply })
            .map_err(|_| RuntimeError::Stopped)?;
        let answer = answer
            .recv_timeout(Duration::from_secs(1))
            .map_err(|_| RuntimeError::NoAnswer(leader))?;
        Ok(answer?)
    }

    /// Binds the listener of node `id`, about to join over TCP.
    fn bind_joining(&self, id: NodeId) -> Result<Endpoint, RuntimeError> {
        let network = |reason: String| RuntimeError::Network { id, reason };
        let base_port = match self.config.transport {
            Transport::Tcp { base_port } => base_port,
            Transport::Channel => 0,
        };
        let port = tcp_port(base_port, id)
            .ok_or_else(|| network(format!("port {base_port} + {id} is past 65535")))?;
        let key = self
            .config
            .key
            .as_ref()
            .ok_or_else(|| network("the cluster has no key".into()))?;
        TcpTransport::bind(loopback(port), tcp_config(key, id)).map_err(|e| network(e.to_string()))
    }

    /// Starts node `id` for the first time: empty storage, linked to
    /// everyone (over TCP through `endpoint`), shown in the view.
    fn start_joining(&self, id: NodeId, endpoint: Option<Endpoint>) -> Result<(), RuntimeError> {
        let mut channels = lock(&self.spare)
            .remove(&id)
            .ok_or(RuntimeError::UnknownNode(id))?;
        if let Some((transport, net)) = endpoint {
            let addr = transport.local_addr();
            for (i, other) in self.shared.tcp.iter().enumerate() {
                let Some(other) = other.get() else { continue };
                let other_id = i as NodeId + 1;
                let linked = other
                    .set_peer(id, addr)
                    .and_then(|()| transport.set_peer(other_id, other.local_addr()));
                linked.map_err(|e| RuntimeError::Network {
                    id,
                    reason: e.to_string(),
                })?;
            }
            channels.net = net;
            let slot = (id as usize)
                .checked_sub(1)
                .and_then(|i| self.shared.tcp.get(i))
                .ok_or(RuntimeError::NodeIdOutOfRange(id))?;
            if slot.set(transport).is_err() {
                return Err(RuntimeError::NodeRunning(id));
            }
        }
        let storage = (self.config.storage)(id)?;
        {
            let mut fabric = lock(&self.shared.fabric);
            let added = fabric.add_node(id);
            self.shared.refresh_direct(&fabric);
            added?;
        }
        self.shared.view.add_node(id);
        let mut slot = Slot {
            id,
            thread: None,
            storage: Some(storage),
            channels,
            incarnation: 0,
        };
        let launched = self.launch(&mut slot);
        lock(&self.slots).push(slot);
        launched?;
        self.shared
            .event(Some(id), "started empty, joins as a learner".into());
        Ok(())
    }

    /// Waits until the leader uses a committed configuration made by the
    /// entry at `index` or later (`expected`, when known); returns it.
    fn wait_committed(
        &self,
        index: Index,
        expected: Option<Membership>,
    ) -> Result<Membership, RuntimeError> {
        let deadline = Instant::now() + CHANGE_WAIT;
        let mut watch = self.watch();
        loop {
            let view = self.view();
            // The leader must know it committed: the next change goes
            // through it. (A removed leader's successor counts once
            // elected.)
            let done = view.leader().and_then(|l| view.node(l)).filter(|n| {
                n.commit >= index
                    && !n.membership_pending
                    && expected.is_none_or(|e| e == n.membership)
            });
            if let Some(n) = done {
                return Ok(n.membership);
            }
            let left = deadline.saturating_duration_since(Instant::now());
            if left.is_zero() {
                return Err(RuntimeError::ChangeTimeout {
                    index,
                    secs: CHANGE_WAIT.as_secs(),
                });
            }
            watch.wait(left.min(Duration::from_millis(100)));
        }
    }
}

/// Raft's refusals of a change as the runtime's own errors.
pub(crate) fn typed(e: RuntimeError) -> RuntimeError {
    match e {
        RuntimeError::Raft(e) => change_refusal(e),
        e => e,
    }
}

/// Raft's refusal of a membership change as the runtime's error, whose
/// words the dashboards show (the simulated one too).
pub fn change_refusal(e: RaftError) -> RuntimeError {
    match e {
        RaftError::AlreadyMember { id, voter } => RuntimeError::AlreadyMember { id, voter },
        RaftError::ChangeInProgress { index } => RuntimeError::ChangeInFlight { index },
        RaftError::LearnerBehind {
            id,
            match_index,
            commit,
        } => RuntimeError::LearnerBehind {
            id,
            match_index,
            commit,
        },
        RaftError::LastVoter(id) => RuntimeError::LastVoter(id),
        RaftError::UnknownNode(id) => RuntimeError::NotMember(id),
        RaftError::InvalidNodeId(id) => RuntimeError::NodeIdOutOfRange(id),
        e => RuntimeError::Raft(e),
    }
}
