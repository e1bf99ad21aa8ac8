//! Membership changes on a [`Node`]: proposing one, and keeping the
//! configuration in use equal to the latest one in the log as entries are
//! appended, truncated, compacted and installed.

use super::{Node, Peer};
use crate::raft::{ConfChange, EntryData, Event, Index, RaftError, Role};

impl Node {
    /// Proposes a membership change: add a learner, promote a caught-up
    /// learner to voter, or remove a node. On the leader, returns the index
    /// of the configuration entry; the new configuration is in use at once
    /// and final when that index commits.
    ///
    /// Refused (with the cluster untouched) on a follower, during a
    /// leadership transfer, while an earlier change is not committed, before
    /// the leader has committed an entry of its own term, and when the
    /// change itself makes no sense (see [`RaftError`]). A learner can be
    /// promoted once it has *caught up*: the leader knows it holds every
    /// entry the leader has committed (so, as a voter, it will not hold up
    /// commits while it copies a backlog).
    pub fn propose_conf_change(&mut self, change: ConfChange) -> Result<Index, RaftError> {
        let leader = self.proposing_leader()?;
        let next = self.members.apply(change)?;
        if self.membership_pending() && !self.config.bugs.two_changes_in_flight {
            return Err(RaftError::ChangeInProgress {
                index: self.members_index,
            });
        }
        if self.log.term_at(self.commit) != Some(self.term()) {
            return Err(RaftError::LeaderNotReady);
        }
        if let ConfChange::Promote(id) = change {
            let match_index = leader.peers.get(&id).map_or(0, |p| p.match_index());
            if match_index < self.commit {
                return Err(RaftError::LearnerBehind {
                    id,
                    match_index,
                    commit: self.commit,
                });
            }
        }
        let index = self.append_own(EntryData::Config {
            change,
            config: next,
        });
        self.set_members(next, index);
        self.broadcast_append();
        self.maybe_commit();
        Ok(index)
    }

    /// Recomputes the configuration in use from the log (after it lost a
    /// suffix, gained configuration entries or a snapshot, or at start).
    pub(super) fn rebuild_members(&mut self) {
        let (members, index) = self
            .log
            .config_at(self.log.last_index())
            .unwrap_or((self.initial, 0));
        if (members, index) != (self.members, self.members_index) {
            self.set_members(members, index);
        }
    }

    /// Starts using `members` (made by the entry at `index`). A leader
    /// starts replicating to new members and stops for removed ones.
    fn set_members(&mut self, members: crate::raft::Membership, index: Index) {
        self.members = members;
        self.members_index = index;
        self.events.push(Event::MembershipChanged {
            config: members,
            index,
            pending: self.membership_pending(),
        });
        let id = self.config.id;
        let next_index = self.log.last_index() + 1;
        if let Some(leader) = self.role.leader_mut() {
            leader.peers.retain(|p, _| members.contains(*p));
            for peer in members.members() {
                if peer != id {
                    leader
                        .peers
                        .entry(peer)
                        .or_insert_with(|| Peer::new(next_index));
                }
            }
        }
        if self.role() == Role::Leader {
            self.maybe_step_down_removed();
        }
    }

    /// The configuration in use just committed.
    pub(super) fn membership_committed(&mut self) {
        self.events.push(Event::MembershipChanged {
            config: self.members,
            index: self.members_index,
            pending: false,
        });
        self.maybe_step_down_removed();
    }

    /// A leader whose own removal is committed steps down; it never
    /// campaigns again, as it is no longer a voter. Until then it went on
    /// replicating, without counting itself towards commit.
    fn maybe_step_down_removed(&mut self) {
        let id = self.config.id;
        if self.role() == Role::Leader && !self.members.is_voter(id) && !self.membership_pending() {
            let term = self.term();
            self.events.push(Event::RemovedSelf { term });
            self.become_follower(term, None);
        }
    }
}
