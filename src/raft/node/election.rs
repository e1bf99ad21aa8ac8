//! Elections: who leads, and for how long.
//!
//! Every node starts as a follower with an *election timer*, reset whenever
//! it hears from a leader or grants a vote. The timeout is drawn at random
//! between `election_timeout_min` and `election_timeout_max` ticks, so that
//! one node usually times out first and wins before the others wake up
//! (Raft §5.2). When the timer runs out, the node first runs a *pre-vote*
//! (thesis §9.6): it asks the voters whether they *would* vote for it in
//! the next term, without changing anyone's term. Only with a quorum of
//! yeses does it become a *candidate*: it bumps its term, votes for itself
//! and asks every voter. A voter grants one vote per term, and only to a
//! candidate whose log is at least as up to date as its own (§5.4.1), so a
//! winner always holds every committed entry. A candidate with a quorum
//! becomes *leader*; one that hears from a leader of its term, or sees a
//! quorum refuse, goes back to following.
//!
//! A leader keeps its place with heartbeats, and with **CheckQuorum** it
//! gives it up when it has not heard from a quorum within an election
//! timeout. The other half of CheckQuorum is the *lease*: a node that heard
//! from a live leader recently ignores vote requests, so a partitioned node
//! rejoining with a high term cannot depose a healthy leader.
//! **Leadership transfer** (thesis §3.10) ends the same way an election
//! does: the leader brings the target up to date and sends `TimeoutNow`,
//! and the target campaigns at once.

use std::collections::{BTreeSet, VecDeque};

use super::refusals::Asked;
use super::{LeaderState, Node, Peer, RoleState};
use crate::raft::{
    Body, EntryData, Event, HardState, Index, Message, NodeId, RaftError, ReadOutcome, ReadResult,
    RefusalReason, Role, Term,
};

impl Node {
    /// Advances logical time by one tick: followers and candidates count
    /// towards an election, a leader towards its next heartbeat and its
    /// next quorum check.
    pub fn tick(&mut self) {
        self.election_elapsed += 1;
        if self.role.is_leader() {
            self.tick_leader();
        } else if self.election_elapsed >= self.election_timeout {
            if self.members.is_voter(self.config.id) {
                self.start_election(false);
            } else {
                // A learner, or a node outside the configuration, never
                // campaigns: it waits for a leader (thesis §4.2.3).
                self.reset_election_timer();
            }
        } else if self
            .election_elapsed
            .is_multiple_of(self.config.heartbeat_interval)
        {
            self.resend_vote_requests();
        }
    }

    /// Starts an election now, as if the election timer ran out (with a
    /// pre-vote round first when PreVote is on). A leader ignores it.
    pub fn campaign(&mut self) {
        if !self.role.is_leader() && self.members.is_voter(self.config.id) {
            self.start_election(false);
        }
    }

    /// A (pre-)candidate asks again the peers that have not answered yet:
    /// requests or answers may have been lost, and waiting for a whole new
    /// election would cost a term (Raft §5.1: servers retry RPCs).
    pub(super) fn resend_vote_requests(&mut self) {
        let (pre, answered) = match &self.role {
            RoleState::PreCandidate { granted, refused } => (true, granted | refused),
            RoleState::Candidate { granted, refused } => (false, granted | refused),
            _ => return,
        };
        let (last_index, last_term) = (self.log.last_index(), self.log.last_term());
        for peer in self.voter_peers() {
            if answered.contains(&peer) {
                continue;
            }
            if pre {
                let body = Body::PreVote {
                    last_index,
                    last_term,
                };
                self.send_with_term(peer, self.term() + 1, body);
            } else {
                let body = Body::Vote {
                    last_index,
                    last_term,
                    transfer: false,
                };
                self.send(peer, body);
            }
        }
    }

    /// Answers a pre-vote: granted when the candidate's proposed term is
    /// ahead of ours and its log is up to date. (The lease was checked in
    /// `step`.) A grant carries the proposed term, a refusal our own.
    pub(super) fn on_pre_vote(
        &mut self,
        from: NodeId,
        term: Term,
        last_index: Index,
        last_term: Term,
    ) {
        let refused = if term <= self.term() {
            Some(RefusalReason::TermNotAhead)
        } else if !self.log.is_up_to_date(last_index, last_term) {
            Some(RefusalReason::LogBehind)
        } else {
            None
        };
        let granted = refused.is_none();
        let asked = Asked {
            candidate: from,
            pre: true,
            term,
            last: (last_index, last_term),
        };
        match refused {
            Some(reason) => self.note(asked, reason, true),
            None => self.forget_refusal(from),
        }
        let term = if granted { term } else { self.term() };
        self.send_with_term(from, term, Body::PreVoteResponse { granted });
    }

    /// Answers a vote request of the current term: one vote per term, to a
    /// candidate whose log is at least as up to date as ours (§5.4.1), and
    /// none while we follow a leader of this term.
    pub(super) fn on_vote(&mut self, from: NodeId, last_index: Index, last_term: Term) {
        let vote = self.hard_state.vote;
        let refused = match (vote, self.leader) {
            (Some(other), _) if other != from => Some(RefusalReason::AlreadyVoted(other)),
            (None, Some(leader)) => Some(RefusalReason::HasLeader(leader)),
            _ if !self.log.is_up_to_date(last_index, last_term) => Some(RefusalReason::LogBehind),
            _ => None,
        };
        let granted = refused.is_none();
        if granted {
            self.hard_state.vote = Some(from);
            self.hard_state_dirty = true;
            self.reset_election_timer();
            self.forget_refusal(from);
        }
        if let Some(reason) = refused {
            let asked = Asked {
                candidate: from,
                pre: false,
                term: self.term(),
                last: (last_index, last_term),
            };
            self.note(asked, reason, true);
        }
        self.send(from, Body::VoteResponse { granted });
    }

    /// Counts an answer to this node's (pre-)vote request: a quorum of
    /// grants moves it on (pre-candidate to candidate, candidate to leader),
    /// a quorum of refusals sends it back to following. Answers to an
    /// earlier round or another role are ignored.
    pub(super) fn on_vote_response(&mut self, from: NodeId, term: Term, granted: bool, pre: bool) {
        let members = self.members;
        let current = self.term();
        let (votes_for, votes_against) = match &mut self.role {
            RoleState::PreCandidate {
                granted: g,
                refused: r,
            } if pre && term == current + 1 => (g, r),
            RoleState::PreCandidate {
                granted: g,
                refused: r,
            } if pre && !granted => (g, r),
            RoleState::Candidate {
                granted: g,
                refused: r,
            } if !pre => (g, r),
            _ => return,
        };
        if granted {
            votes_for.insert(from);
        } else {
            votes_against.insert(from);
        }
        let won = members.has_quorum(votes_for.iter().copied());
        let lost = members.has_quorum(votes_against.iter().copied());
        if won {
            if pre {
                self.become_candidate(false);
            } else {
                self.become_leader();
            }
        } else if lost {
            self.become_follower(current, None);
        }
    }

    /// The leader hands over leadership (a transfer): campaign at once,
    /// skipping the pre-vote, unless this node leads already or cannot vote.
    pub(super) fn on_timeout_now(&mut self) {
        if !self.role.is_leader() && self.members.is_voter(self.config.id) {
            self.start_election(true);
        }
    }

    /// Whether a vote request from `msg`'s sender must be ignored because
    /// this node heard from a live leader within the minimum election
    /// timeout (CheckQuorum's leader lease). Ordered transfers are exempt.
    pub(super) fn in_lease(&self, msg: &Message) -> bool {
        let is_vote = match msg.body {
            Body::PreVote { .. } => true,
            Body::Vote { transfer, .. } => !transfer,
            _ => false,
        };
        is_vote
            && self.config.check_quorum
            && self.leader.is_some()
            && self.election_elapsed < self.config.election_timeout_min
    }

    /// Starts campaigning: with a pre-vote round first when PreVote is on,
    /// straight to a real election for an ordered transfer.
    pub(super) fn start_election(&mut self, transfer: bool) {
        if self.config.pre_vote && !transfer {
            self.become_pre_candidate();
        } else {
            self.become_candidate(transfer);
        }
    }

    /// Follows `leader` (if known) in `term`, starting a new term when it is
    /// ahead. A leader stepping down answers its pending reads `NotLeader`.
    pub(super) fn become_follower(&mut self, term: Term, leader: Option<NodeId>) {
        let was = self.role();
        if term > self.term() {
            self.hard_state = HardState { term, vote: None };
            self.hard_state_dirty = true;
        }
        if let Some(state) = self.role.leader_mut() {
            let leader_hint = leader;
            for read in state.pending_reads.drain(..) {
                self.reads.push(ReadResult {
                    id: read.id,
                    outcome: ReadOutcome::NotLeader {
                        leader: leader_hint,
                    },
                });
            }
        }
        self.role = RoleState::Follower;
        self.reset_election_timer();
        if was != Role::Follower {
            self.events.push(Event::RoleChanged {
                role: Role::Follower,
                term,
            });
        }
        if self.leader != leader {
            self.leader = leader;
            self.events.push(Event::LeaderChanged { leader, term });
        }
    }

    /// Asks every voter whether it would vote for this node in the next
    /// term, without changing its own term (thesis §9.6).
    pub(super) fn become_pre_candidate(&mut self) {
        let term = self.term();
        self.role = RoleState::PreCandidate {
            granted: BTreeSet::from([self.config.id]),
            refused: BTreeSet::new(),
        };
        self.clear_leader();
        self.reset_election_timer();
        self.events.push(Event::RoleChanged {
            role: Role::PreCandidate,
            term,
        });
        if self.members.has_quorum([self.config.id]) {
            return self.become_candidate(false);
        }
        let body = Body::PreVote {
            last_index: self.log.last_index(),
            last_term: self.log.last_term(),
        };
        for peer in self.voter_peers() {
            self.send_with_term(peer, term + 1, body.clone());
        }
    }

    /// Bumps the term, votes for itself and asks every voter for a vote;
    /// `transfer` marks a campaign ordered by the leader, which the lease
    /// of the other nodes does not hold back.
    pub(super) fn become_candidate(&mut self, transfer: bool) {
        let term = self.term() + 1;
        self.hard_state = HardState {
            term,
            vote: Some(self.config.id),
        };
        self.hard_state_dirty = true;
        self.role = RoleState::Candidate {
            granted: BTreeSet::from([self.config.id]),
            refused: BTreeSet::new(),
        };
        self.clear_leader();
        self.reset_election_timer();
        self.events.push(Event::RoleChanged {
            role: Role::Candidate,
            term,
        });
        if self.members.has_quorum([self.config.id]) {
            return self.become_leader();
        }
        let body = Body::Vote {
            last_index: self.log.last_index(),
            last_term: self.log.last_term(),
            transfer,
        };
        for peer in self.voter_peers() {
            self.send(peer, body.clone());
        }
    }

    /// Takes the lead: a fresh progress table probing every peer from the
    /// end of its log, and an empty entry of its own term.
    pub(super) fn become_leader(&mut self) {
        let term = self.term();
        let next_index = self.log.last_index() + 1;
        let peers = self
            .member_peers()
            .into_iter()
            .map(|id| (id, Peer::new(next_index)))
            .collect();
        self.role = RoleState::Leader(Box::new(LeaderState {
            peers,
            heartbeat_elapsed: 0,
            read_seq: 0,
            pending_reads: VecDeque::new(),
            transfer: None,
        }));
        self.leader = Some(self.config.id);
        self.election_elapsed = 0;
        self.events.push(Event::RoleChanged {
            role: Role::Leader,
            term,
        });
        self.events.push(Event::LeaderChanged {
            leader: Some(self.config.id),
            term,
        });
        // A new leader commits an entry of its own term at once, which
        // commits everything before it (§5.4.2) and unblocks reads (§6.4).
        // The Figure 8 bug variant skips it, as the paper's figure does.
        if !self.config.bugs.commit_old_terms {
            self.append_own(EntryData::Noop);
        }
        self.broadcast_append();
        self.maybe_commit();
    }

    /// Forgets the leader, telling observers when there was one.
    pub(super) fn clear_leader(&mut self) {
        if self.leader.is_some() {
            self.leader = None;
            self.events.push(Event::LeaderChanged {
                leader: None,
                term: self.term(),
            });
        }
    }

    /// A leader's tick: the transfer deadline, the CheckQuorum window (step
    /// down when a quorum was not heard from) and the heartbeat interval
    /// (with a resend of appends that look lost).
    pub(super) fn tick_leader(&mut self) {
        let heartbeat_interval = self.config.heartbeat_interval;
        let check_window = self.config.election_timeout_min;
        let check_quorum = self.config.check_quorum;
        let members = self.members;
        let id = self.config.id;
        let term = self.term();
        let Some(leader) = self.role.leader_mut() else {
            return;
        };
        leader.heartbeat_elapsed += 1;
        if let Some((_, spent)) = &mut leader.transfer {
            *spent += 1;
            if *spent >= check_window {
                // The target did not take over in time; resume leading.
                leader.transfer = None;
            }
        }
        // A leader's election timer counts CheckQuorum windows; keeping it
        // below the minimum timeout also keeps the leader "in lease", so it
        // refuses (pre-)votes from disruptive nodes.
        if self.election_elapsed >= check_window {
            self.election_elapsed = 0;
            let active: Vec<NodeId> = std::iter::once(id)
                .chain(
                    leader
                        .peers
                        .iter()
                        .filter(|(_, p)| p.is_active())
                        .map(|(&i, _)| i),
                )
                .collect();
            for peer in leader.peers.values_mut() {
                peer.clear_active();
            }
            if check_quorum && !members.has_quorum(active) {
                self.events.push(Event::QuorumLost { term });
                self.become_follower(term, None);
                return;
            }
        }
        if leader.heartbeat_elapsed >= heartbeat_interval {
            leader.heartbeat_elapsed = 0;
            // Appends that saw no answer for a whole heartbeat interval were
            // probably lost: they are sent again.
            for peer in leader.peers.values_mut() {
                peer.on_heartbeat_interval();
            }
            self.broadcast_heartbeat();
        }
    }

    /// Hands leadership to `to`: the leader stops taking proposals, brings
    /// `to` up to date, then tells it to campaign at once (`TimeoutNow`).
    pub fn transfer_leader(&mut self, to: NodeId) -> Result<(), RaftError> {
        if self.members.is_learner(to) {
            return Err(RaftError::NotVoter(to));
        }
        if !self.members.is_voter(to) {
            return Err(RaftError::UnknownNode(to));
        }
        let last_index = self.log.last_index();
        let id = self.config.id;
        let Some(leader) = self.role.leader_mut() else {
            return Err(self.not_leader());
        };
        if to == id {
            return Ok(());
        }
        if let Some((target, _)) = leader.transfer {
            return Err(RaftError::TransferInProgress(target));
        }
        leader.transfer = Some((to, 0));
        self.events.push(Event::TransferStarted { to });
        let caught_up = leader
            .peers
            .get(&to)
            .is_some_and(|p| p.match_index() == last_index);
        if caught_up {
            self.send(to, Body::TimeoutNow);
        } else {
            self.send_append(to);
        }
        Ok(())
    }
}
