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
//! Only the channel transport can grow: with `--transport tcp` every
//! node's socket and peer list are fixed at start, so changes are refused.

use std::time::{Duration, Instant};

use crossbeam_channel::bounded;

use super::RuntimeError;
use super::cluster::{Cluster, Slot};
use super::node::Control;
use super::shared::lock;
use crate::raft::{ConfChange, Index, Membership, NodeId, RaftError};

/// Most nodes a live cluster grows to: ids 1 to 9, as on the command line.
pub const MAX_NODES: usize = 9;

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
        if self.shared.tcp.iter().any(Option::is_some) {
            return Err(RuntimeError::MembershipUnsupported(
                "membership changes need the channel transport: over TCP every node's \
                 address is fixed when the cluster starts"
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
        let (index, leader) = self.propose_change(change)?;
        self.shared
            .event(Some(leader), format!("proposed: {change} at {index}"));
        if !known {
            self.start_joining(id)?;
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

    /// Starts node `id` for the first time: empty storage, linked to
    /// everyone, shown in the view.
    fn start_joining(&self, id: NodeId) -> Result<(), RuntimeError> {
        let channels = lock(&self.spare)
            .remove(&id)
            .ok_or(RuntimeError::UnknownNode(id))?;
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
fn typed(e: RuntimeError) -> RuntimeError {
    match e {
        RuntimeError::Raft(RaftError::AlreadyMember { id, voter }) => {
            RuntimeError::AlreadyMember { id, voter }
        }
        RuntimeError::Raft(RaftError::ChangeInProgress { index }) => {
            RuntimeError::ChangeInFlight { index }
        }
        RuntimeError::Raft(RaftError::LearnerBehind {
            id,
            match_index,
            commit,
        }) => RuntimeError::LearnerBehind {
            id,
            match_index,
            commit,
        },
        RuntimeError::Raft(RaftError::LastVoter(id)) => RuntimeError::LastVoter(id),
        RuntimeError::Raft(RaftError::UnknownNode(id)) => RuntimeError::NotMember(id),
        RuntimeError::Raft(RaftError::InvalidNodeId(id)) => RuntimeError::NodeIdOutOfRange(id),
        e => e,
    }
}
