//! Membership changes in the simulator: nodes join (a new, empty node
//! started outside the configuration and added as a learner), are promoted
//! and removed through the leader, by hand ([`Sim::change_membership`]) or
//! by the `membership` fault track.
//!
//! A removed node is not stopped: like a process nobody shut down, it keeps
//! running with whatever configuration it last knew, and the cluster must
//! not let it disrupt anything. A removed id can be added back; it rejoins
//! with the state it kept.

use rand::{Rng, RngExt};

use super::cluster::NodeSlot;
use super::events::FaultStep;
use super::events::{Event, Note};
use super::{MAX_NODES, Sim, SimError, Violation};
use crate::raft::{ConfChange, DurableState, Index, Membership, Node, NodeId, RaftError};

/// Fewest voters the fault track leaves when it removes one.
const MIN_VOTERS: usize = 3;

impl Sim {
    /// Asks the leader for a membership change and returns the index of its
    /// configuration entry. Adding the next unused id (`node_ids().len() +
    /// 1`) starts a new, empty node first; adding a removed id brings that
    /// node back as a learner with the state it kept. Refusals by Raft (a
    /// change in flight, a learner not caught up, the last voter, …) come
    /// back as [`SimError::Raft`], and the cluster is as it was.
    pub fn change_membership(&mut self, change: ConfChange) -> Result<Index, SimError> {
        let id = change.node();
        let next = self.nodes.len() as NodeId + 1;
        if !(1..=MAX_NODES as NodeId).contains(&id) {
            return Err(SimError::NodeLimit(id));
        }
        let new = match change {
            ConfChange::AddLearner(_) if id > next => {
                return Err(SimError::NotNextNode { id, next });
            }
            ConfChange::AddLearner(_) => id == next,
            _ if id >= next => return Err(SimError::UnknownNode(id)),
            _ => false,
        };
        let leader = self.leader().ok_or(SimError::NoLeader)?;
        self.note(Note::Text(format!("n{leader}: {change}")));
        match self.drive(leader, |r| r.node_mut().propose_conf_change(change)) {
            Ok(Some(Ok(index))) => {
                self.stats.membership_changes += 1;
                if new {
                    self.spawn_node(id)?;
                }
                Ok(index)
            }
            Ok(Some(Err(e))) => Err(SimError::Raft(e)),
            Ok(None) => Err(SimError::NodeDown(leader)),
            Err(v) => Err(SimError::Violation(Box::new(v))),
        }
    }

    /// The configuration the leader uses (the latest in its log); `None`
    /// without a leader.
    pub fn membership(&self) -> Option<Membership> {
        self.node(self.leader()?).map(Node::membership)
    }

    /// Node `id`'s configuration, as it sees it; `None` when down or unknown.
    pub fn membership_of(&self, id: NodeId) -> Option<Membership> {
        self.node(id).map(Node::membership)
    }

    /// Starts node `id` (the next id) empty, knowing only the initial
    /// configuration, and links it to everyone.
    fn spawn_node(&mut self, id: NodeId) -> Result<(), SimError> {
        self.fabric.add_node(id)?;
        let seed = self.master_rng.next_u64();
        let node = Node::new(
            super::cluster::node_config(&self.opts, id),
            DurableState::default(),
            seed,
        )?;
        self.nodes.push(NodeSlot::fresh(node, &self.opts));
        let phase = self.master_rng.random_range(0..self.opts.tick_us);
        self.queue.push(self.now + phase, Event::Tick(id));
        self.note(Note::Text(format!("n{id} started, empty")));
        Ok(())
    }

    /// One step of the membership track: promote a learner; or remove a
    /// voter (a crashed one — half of replacing it —, the leader, or any),
    /// add a brand-new node, or add a removed one back. Half the time a
    /// second change follows at once, which the one-at-a-time rule refuses
    /// (the `two-changes-in-flight` bug lets it through).
    pub(super) fn membership_fault(&mut self) -> Result<(), Violation> {
        let Some(config) = self.membership() else {
            return Ok(());
        };
        self.stats.faults += 1;
        let first = self.pick_change(config, None);
        if let Some(change) = first {
            self.try_change(change)?;
            if self.fault_rng.random_bool(0.5)
                && let Some(config) = self.membership()
                && let Some(second) = self.pick_change(config, Some(change.node()))
            {
                self.try_change(second)?;
            }
        }
        Ok(())
    }

    /// A change the track could make to `config`, avoiding node `not`.
    fn pick_change(&mut self, config: Membership, not: Option<NodeId>) -> Option<ConfChange> {
        let learners: Vec<NodeId> = config.learners.iter().filter(|&i| Some(i) != not).collect();
        if !learners.is_empty() && not.is_none() {
            return Some(ConfChange::Promote(self.pick(&learners)));
        }
        let voters: Vec<NodeId> = config.voters.iter().filter(|&i| Some(i) != not).collect();
        let outsiders: Vec<NodeId> = self
            .node_ids()
            .into_iter()
            .filter(|&i| !config.contains(i) && Some(i) != not)
            .collect();
        // A second change always tries to remove a voter: the kind of
        // change whose overlap the one-at-a-time rule protects.
        let min_voters = if not.is_some() { 1 } else { MIN_VOTERS };
        let can_remove = config.voters.len() > min_voters && !voters.is_empty();
        let can_grow = self.nodes.len() < MAX_NODES;
        let choice = if not.is_some() {
            0
        } else {
            self.fault_rng.random_range(0..3)
        };
        match choice {
            0 | 1 if can_remove && (choice == 0 || !can_grow) => {
                let down: Vec<NodeId> =
                    voters.iter().copied().filter(|&i| !self.is_up(i)).collect();
                let leader = self.leader().filter(|l| voters.contains(l));
                let victim = if !down.is_empty() {
                    self.pick(&down)
                } else if let Some(l) = leader
                    && self.fault_rng.random_bool(1.0 / 3.0)
                {
                    l
                } else {
                    self.pick(&voters)
                };
                Some(ConfChange::Remove(victim))
            }
            1 if can_grow => Some(ConfChange::AddLearner(self.nodes.len() as NodeId + 1)),
            _ if !outsiders.is_empty() => Some(ConfChange::AddLearner(self.pick(&outsiders))),
            _ if can_grow => Some(ConfChange::AddLearner(self.nodes.len() as NodeId + 1)),
            _ if can_remove => Some(ConfChange::Remove(self.pick(&voters))),
            _ => None,
        }
    }

    fn pick(&mut self, ids: &[NodeId]) -> NodeId {
        ids[self.fault_rng.random_range(0..ids.len())]
    }

    /// Proposes `change`; a refusal is only noted.
    fn try_change(&mut self, change: ConfChange) -> Result<(), Violation> {
        match self.change_membership(change) {
            Ok(index) => {
                self.note(Note::Text(format!("fault: {change} at {index}")));
                Ok(())
            }
            Err(SimError::Violation(v)) => Err(*v),
            Err(SimError::Raft(e)) => {
                self.note(Note::Text(format!("fault: {change} refused: {e}")));
                if matches!(e, RaftError::ChangeInProgress { .. }) {
                    self.stats.changes_refused += 1;
                }
                Ok(())
            }
            Err(e) => {
                self.note(Note::Text(format!("fault: {change} not made: {e}")));
                Ok(())
            }
        }
    }

    /// Schedules the membership track's next step.
    pub(super) fn schedule_membership(&mut self, after: u64) {
        let at = self.now + after;
        self.queue.push(at, Event::Fault(FaultStep::MemberChange));
    }
}
