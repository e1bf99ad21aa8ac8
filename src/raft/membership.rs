//! Cluster membership: which nodes vote and which only listen.
//!
//! A configuration ([`Membership`]) is a set of *voters*, which elect
//! leaders and count towards commit, and a set of *learners*, which receive
//! the log (entries and snapshots) but neither vote nor count. It changes
//! through the log, one server at a time (Raft thesis §4.1): a leader
//! appends a [`ConfChange`] entry that names the new configuration, and
//! every node uses a configuration **as soon as the entry is in its log**,
//! committed or not. Adding or removing one voter at a time keeps every
//! majority of the old configuration overlapping every majority of the new
//! one, so two leaders can never be elected in the same term even while
//! nodes disagree on the configuration. Because an uncommitted entry can be
//! truncated, a node whose configuration entry is cut off goes back to the
//! configuration of the latest entry before it (or its snapshot's).
//!
//! A leader accepts a new change only when the previous one is committed
//! *and* it has committed an entry of its own term: the second rule is the
//! fix Ongaro posted to raft-dev in 2015 for a bug in single-server changes
//! across leader changes.

use serde::{Deserialize, Serialize};

use super::NodeId;

/// Highest node id a [`Membership`] can hold (ids are 1 to 64). raftlab's
/// command line and scenarios limit clusters further, to ids 1 to 9.
pub const MAX_NODE_ID: NodeId = 64;

/// A set of node ids 1..=64, small enough to copy (a snapshot's metadata
/// carries one).
#[derive(Clone, Copy, Default, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub struct NodeSet(u64);

impl NodeSet {
    /// Whether `id` can be held (1 to [`MAX_NODE_ID`]).
    pub fn valid(id: NodeId) -> bool {
        (1..=MAX_NODE_ID).contains(&id)
    }

    fn bit(id: NodeId) -> u64 {
        if NodeSet::valid(id) { 1 << (id - 1) } else { 0 }
    }

    /// The set of `ids` (ids out of range are left out).
    pub fn of(ids: impl IntoIterator<Item = NodeId>) -> NodeSet {
        let mut set = NodeSet::default();
        for id in ids {
            set.insert(id);
        }
        set
    }

    /// Whether `id` is in the set.
    pub fn contains(self, id: NodeId) -> bool {
        self.0 & NodeSet::bit(id) != 0
    }

    /// Adds `id` (no-op when out of range).
    pub fn insert(&mut self, id: NodeId) {
        self.0 |= NodeSet::bit(id);
    }

    /// Removes `id`.
    pub fn remove(&mut self, id: NodeId) {
        self.0 &= !NodeSet::bit(id);
    }

    /// How many ids it holds.
    pub fn len(self) -> usize {
        self.0.count_ones() as usize
    }

    /// Whether it holds none.
    pub fn is_empty(self) -> bool {
        self.0 == 0
    }

    /// The ids in increasing order.
    pub fn iter(self) -> impl Iterator<Item = NodeId> {
        (1..=MAX_NODE_ID).filter(move |&id| self.contains(id))
    }

    /// The ids in increasing order, collected.
    pub fn to_vec(self) -> Vec<NodeId> {
        self.iter().collect()
    }
}

impl std::fmt::Debug for NodeSet {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_set().entries(self.iter()).finish()
    }
}

/// A cluster configuration: voters and learners (disjoint).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub struct Membership {
    /// Nodes that vote and count towards commit.
    pub voters: NodeSet,
    /// Nodes that receive the log but do not vote or count.
    pub learners: NodeSet,
}

impl Membership {
    /// A configuration of `voters` and no learners.
    pub fn of_voters(voters: impl IntoIterator<Item = NodeId>) -> Membership {
        Membership {
            voters: NodeSet::of(voters),
            learners: NodeSet::default(),
        }
    }

    /// Whether `id` votes.
    pub fn is_voter(&self, id: NodeId) -> bool {
        self.voters.contains(id)
    }

    /// Whether `id` is a learner.
    pub fn is_learner(&self, id: NodeId) -> bool {
        self.learners.contains(id)
    }

    /// Whether `id` is a voter or a learner.
    pub fn contains(&self, id: NodeId) -> bool {
        self.is_voter(id) || self.is_learner(id)
    }

    /// Voters and learners, in increasing order.
    pub fn members(&self) -> Vec<NodeId> {
        NodeSet(self.voters.0 | self.learners.0).to_vec()
    }

    /// How many votes (or acknowledgements) make a majority of the voters.
    pub fn quorum(&self) -> usize {
        self.voters.len() / 2 + 1
    }

    /// Whether the nodes in `acks` (voters or not) include a majority of
    /// the voters.
    pub fn has_quorum(&self, acks: impl IntoIterator<Item = NodeId>) -> bool {
        acks.into_iter().filter(|&id| self.is_voter(id)).count() >= self.quorum()
    }

    /// The configuration after `change`, or why it cannot be made. Checks
    /// only the change itself; whether a leader may propose it now is the
    /// node's business.
    pub fn apply(&self, change: ConfChange) -> Result<Membership, super::RaftError> {
        use super::RaftError;
        let mut next = *self;
        match change {
            ConfChange::AddLearner(id) => {
                if !NodeSet::valid(id) {
                    return Err(RaftError::InvalidNodeId(id));
                }
                if self.contains(id) {
                    return Err(RaftError::AlreadyMember {
                        id,
                        voter: self.is_voter(id),
                    });
                }
                next.learners.insert(id);
            }
            ConfChange::Promote(id) => {
                if self.is_voter(id) {
                    return Err(RaftError::AlreadyMember { id, voter: true });
                }
                if !self.is_learner(id) {
                    return Err(RaftError::UnknownNode(id));
                }
                next.learners.remove(id);
                next.voters.insert(id);
            }
            ConfChange::Remove(id) => {
                if !self.contains(id) {
                    return Err(RaftError::UnknownNode(id));
                }
                if self.is_voter(id) && self.voters.len() == 1 {
                    return Err(RaftError::LastVoter(id));
                }
                next.voters.remove(id);
                next.learners.remove(id);
            }
        }
        Ok(next)
    }
}

impl std::fmt::Display for Membership {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let list = |set: NodeSet| {
            set.iter()
                .map(|id| id.to_string())
                .collect::<Vec<_>>()
                .join(" ")
        };
        write!(f, "voters {}", list(self.voters))?;
        if !self.learners.is_empty() {
            write!(f, ", learners {}", list(self.learners))?;
        }
        Ok(())
    }
}

/// One single-server membership change.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub enum ConfChange {
    /// Add a new node as a learner.
    AddLearner(NodeId),
    /// Make a learner a voter.
    Promote(NodeId),
    /// Remove a voter or a learner.
    Remove(NodeId),
}

impl ConfChange {
    /// The node the change is about.
    pub fn node(self) -> NodeId {
        match self {
            ConfChange::AddLearner(id) | ConfChange::Promote(id) | ConfChange::Remove(id) => id,
        }
    }
}

impl std::fmt::Display for ConfChange {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            ConfChange::AddLearner(id) => write!(f, "add learner {id}"),
            ConfChange::Promote(id) => write!(f, "promote {id}"),
            ConfChange::Remove(id) => write!(f, "remove {id}"),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::raft::RaftError;

    #[test]
    fn changes_check_their_preconditions() {
        let m = Membership::of_voters([1, 2, 3]);
        assert_eq!(m.quorum(), 2);
        let m = m.apply(ConfChange::AddLearner(4)).unwrap();
        assert_eq!(m.to_string(), "voters 1 2 3, learners 4");
        assert_eq!(
            m.apply(ConfChange::AddLearner(2)),
            Err(RaftError::AlreadyMember { id: 2, voter: true })
        );
        assert_eq!(
            m.apply(ConfChange::AddLearner(65)),
            Err(RaftError::InvalidNodeId(65))
        );
        assert_eq!(
            m.apply(ConfChange::Promote(5)),
            Err(RaftError::UnknownNode(5))
        );
        let m = m.apply(ConfChange::Promote(4)).unwrap();
        assert_eq!(m.voters.to_vec(), vec![1, 2, 3, 4]);
        assert_eq!(m.quorum(), 3);
        let one = Membership::of_voters([7]);
        assert_eq!(
            one.apply(ConfChange::Remove(7)),
            Err(RaftError::LastVoter(7))
        );
        assert!(m.has_quorum([1, 2, 4, 9]));
        assert!(!m.has_quorum([1, 9, 8]));
    }
}
