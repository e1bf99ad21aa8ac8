//! The Raft node: roles, timers, elections, replication, commit and reads.
//!
//! A [`Node`] is driven by five inputs — [`Node::tick`], [`Node::step`],
//! [`Node::propose`], [`Node::read`] and [`Node::transfer_leader`] — and
//! reports through [`Node::take_ready`]. Every input handler follows the same
//! shape: bring the term up to date (`step`), then let the current role
//! react. Role-specific state lives inside [`RoleState`], so a follower can
//! never accidentally hold a leader's progress table.

mod conf;

use std::collections::{BTreeMap, BTreeSet, VecDeque};

use rand::{RngExt, SeedableRng};
use rand_chacha::ChaCha8Rng;

use super::{
    Body, Config, DurableState, Entry, EntryData, Event, HardState, Index, Membership, Message,
    NodeId, Payload, Progress, RaftError, RaftLog, ReadId, ReadOutcome, ReadResult, Ready, Role,
    Snapshot, SnapshotMeta, Status, Term, Ticks,
};

/// Replication state of one follower, as the leader sees it.
#[derive(Clone, Debug)]
struct Peer {
    /// Highest index known replicated on the peer.
    match_index: Index,
    /// Next index to send.
    next_index: Index,
    /// Probing: one append at a time until the logs are known to match.
    /// Replicating: appends are pipelined, up to `max_inflight`.
    probing: bool,
    /// Appends with entries sent and not yet answered.
    inflight: usize,
    /// Whether the peer's match index moved since the last heartbeat; if it
    /// did not while appends were in flight, they were probably lost.
    progressed: bool,
    /// Highest read round the peer acknowledged.
    read_ack: u64,
    /// Heard from in the current CheckQuorum window.
    active: bool,
    /// A snapshot being sent instead of entries, and the offset of the
    /// chunk in flight.
    sending: Option<(SnapshotMeta, u64)>,
}

/// A read waiting for its heartbeat round to be acknowledged by a quorum.
#[derive(Clone, Debug)]
struct PendingRead {
    id: ReadId,
    seq: u64,
}

/// State only a leader has.
#[derive(Clone, Debug)]
struct LeaderState {
    peers: BTreeMap<NodeId, Peer>,
    heartbeat_elapsed: Ticks,
    /// The current read round; bumped for every read request.
    read_seq: u64,
    pending_reads: VecDeque<PendingRead>,
    /// An ongoing leadership transfer: target and ticks spent on it.
    transfer: Option<(NodeId, Ticks)>,
}

/// What the node is, with what only that role needs.
#[derive(Clone, Debug)]
enum RoleState {
    Follower,
    PreCandidate {
        granted: BTreeSet<NodeId>,
        refused: BTreeSet<NodeId>,
    },
    Candidate {
        granted: BTreeSet<NodeId>,
        refused: BTreeSet<NodeId>,
    },
    Leader(Box<LeaderState>),
}

impl Peer {
    /// A peer the leader knows nothing about yet: probe from `next_index`.
    fn new(next_index: Index) -> Peer {
        Peer {
            match_index: 0,
            next_index,
            probing: true,
            inflight: 0,
            progressed: false,
            read_ack: 0,
            active: true,
            sending: None,
        }
    }
}

impl RoleState {
    fn role(&self) -> Role {
        match self {
            RoleState::Follower => Role::Follower,
            RoleState::PreCandidate { .. } => Role::PreCandidate,
            RoleState::Candidate { .. } => Role::Candidate,
            RoleState::Leader(_) => Role::Leader,
        }
    }
}

/// One Raft node. See the module docs of [`crate::raft`] for the protocol.
pub struct Node {
    config: Config,
    rng: ChaCha8Rng,
    log: RaftLog,
    hard_state: HardState,
    /// The hard state changed since the last `take_ready`.
    hard_state_dirty: bool,
    role: RoleState,
    leader: Option<NodeId>,
    commit: Index,
    /// Highest index handed to the driver to apply.
    handed_out: Index,
    election_elapsed: Ticks,
    election_timeout: Ticks,
    messages: Vec<Message>,
    reads: Vec<ReadResult>,
    events: Vec<Event>,
    /// The latest snapshot (taken here or received), sent to followers
    /// whose next entry was compacted away.
    snapshot: Option<Snapshot>,
    /// A snapshot being received from the leader, chunk by chunk.
    receiving: Option<(SnapshotMeta, Vec<u8>)>,
    /// A received snapshot the driver must persist and restore.
    installed: Option<Snapshot>,
    /// The configuration every node starts with (`Config::voters`).
    initial: Membership,
    /// The configuration in use: the latest in the log (committed or not).
    members: Membership,
    /// Index of the entry that made `members` (0: the initial one).
    members_index: Index,
}

impl Node {
    /// Restores a node from its durable state (empty for a new node).
    /// `seed` seeds the node's election-timeout RNG.
    pub fn new(config: Config, durable: DurableState, seed: u64) -> Result<Node, RaftError> {
        config.validate()?;
        let meta = durable
            .snapshot
            .as_ref()
            .map(|s| s.meta)
            .unwrap_or_default();
        let log = RaftLog::from_parts(meta, durable.entries).map_err(RaftError::InvalidState)?;
        let mut hard_state = durable.hard_state;
        if hard_state.term < log.last_term() {
            return Err(RaftError::InvalidState(format!(
                "term {} is below the last log term {}",
                hard_state.term,
                log.last_term()
            )));
        }
        if config.bugs.forget_vote {
            hard_state.vote = None;
        }
        let mut node = Node {
            rng: ChaCha8Rng::seed_from_u64(seed),
            config,
            log,
            hard_state,
            hard_state_dirty: false,
            role: RoleState::Follower,
            leader: None,
            // A snapshot holds only committed state, and the driver restores
            // its state machine from it before anything is handed out.
            commit: meta.index,
            handed_out: meta.index,
            election_elapsed: 0,
            election_timeout: 0,
            messages: Vec::new(),
            reads: Vec::new(),
            events: Vec::new(),
            snapshot: durable.snapshot,
            receiving: None,
            installed: None,
            initial: Membership::default(),
            members: Membership::default(),
            members_index: 0,
        };
        node.initial = Membership::of_voters(node.config.voters.iter().copied());
        node.members = node.initial;
        node.rebuild_members();
        node.events.clear();
        node.reset_election_timer();
        Ok(node)
    }

    /// This node's id.
    pub fn id(&self) -> NodeId {
        self.config.id
    }

    /// Its role.
    pub fn role(&self) -> Role {
        self.role.role()
    }

    /// Its current term.
    pub fn term(&self) -> Term {
        self.hard_state.term
    }

    /// Whom it voted for in its current term.
    pub fn vote(&self) -> Option<NodeId> {
        self.hard_state.vote
    }

    /// The leader it knows of.
    pub fn leader(&self) -> Option<NodeId> {
        self.leader
    }

    /// Its commit index.
    pub fn commit_index(&self) -> Index {
        self.commit
    }

    /// Its log.
    pub fn log(&self) -> &RaftLog {
        &self.log
    }

    /// Its configuration.
    pub fn config(&self) -> &Config {
        &self.config
    }

    /// Switches known-unsafe protocol variants on or off from the next
    /// input on (the dashboard's `bug` command). `forget_vote` only acts
    /// when a node is created from durable state, so it matters to the
    /// driver's next restart, not here.
    pub fn set_bugs(&mut self, bugs: super::Bugs) {
        self.config.bugs = bugs;
    }

    /// A snapshot of the node's state.
    pub fn status(&self) -> Status {
        let progress = match &self.role {
            RoleState::Leader(leader) => leader
                .peers
                .iter()
                .map(|(&id, p)| {
                    let progress = Progress {
                        match_index: p.match_index,
                        next_index: p.next_index,
                    };
                    (id, progress)
                })
                .collect(),
            _ => Vec::new(),
        };
        Status {
            id: self.config.id,
            role: self.role(),
            term: self.hard_state.term,
            vote: self.hard_state.vote,
            leader: self.leader,
            commit: self.commit,
            last_index: self.log.last_index(),
            last_term: self.log.last_term(),
            snapshot_index: self.log.snapshot_meta().index,
            election_elapsed: self.election_elapsed,
            election_timeout: self.election_timeout,
            progress,
            membership: self.members,
            membership_pending: self.members_index > self.commit,
        }
    }

    /// The configuration this node uses (the latest in its log).
    pub fn membership(&self) -> Membership {
        self.members
    }

    /// Whether the configuration in use is not committed yet.
    pub fn membership_pending(&self) -> bool {
        self.members_index > self.commit
    }

    /// Whether `take_ready` would return anything.
    pub fn has_ready(&self) -> bool {
        self.hard_state_dirty
            || self.installed.is_some()
            || !self.messages.is_empty()
            || !self.reads.is_empty()
            || !self.events.is_empty()
            || self.commit > self.handed_out
            || self.log_dirty()
    }

    fn log_dirty(&self) -> bool {
        self.log.has_write()
    }

    /// Drains everything produced since the last call. The driver must
    /// persist `hard_state` and `log` before sending `messages`.
    pub fn take_ready(&mut self) -> Ready {
        let hard_state = if self.hard_state_dirty {
            self.hard_state_dirty = false;
            Some(self.hard_state)
        } else {
            None
        };
        let committed = if self.commit > self.handed_out {
            let entries = self.log.slice(self.handed_out + 1, self.commit).to_vec();
            self.handed_out = self.commit;
            entries
        } else {
            Vec::new()
        };
        Ready {
            hard_state,
            snapshot: self.installed.take(),
            log: self.log.take_write(),
            messages: std::mem::take(&mut self.messages),
            committed,
            reads: std::mem::take(&mut self.reads),
            events: std::mem::take(&mut self.events),
        }
    }

    /// Compacts the log up to a snapshot the driver took of its state
    /// machine (and made durable) after applying `snapshot.meta.index`. The
    /// node keeps the snapshot to send to followers that fall behind it.
    pub fn compact(&mut self, snapshot: Snapshot) -> Result<(), RaftError> {
        let meta = snapshot.meta;
        if meta.index > self.handed_out {
            return Err(RaftError::InvalidState(format!(
                "cannot compact up to index {}: only {} has been applied",
                meta.index, self.handed_out
            )));
        }
        if meta.index <= self.log.snapshot_meta().index {
            return Ok(());
        }
        if self.log.term_at(meta.index) != Some(meta.term) {
            return Err(RaftError::InvalidState(format!(
                "snapshot at index {} claims term {}, the log has {:?} there",
                meta.index,
                meta.term,
                self.log.term_at(meta.index)
            )));
        }
        let config = self.log.config_at(meta.index).map(|(c, _)| c);
        if meta.config != config {
            return Err(RaftError::InvalidState(format!(
                "snapshot at index {} carries configuration {:?}, the log has {:?} there",
                meta.index, meta.config, config
            )));
        }
        self.log.compact(meta);
        self.snapshot = Some(snapshot);
        self.events.push(Event::Compacted { index: meta.index });
        Ok(())
    }

    // ---------------------------------------------------------------- inputs

    /// Advances logical time by one tick: followers and candidates count
    /// towards an election, a leader towards its next heartbeat and its
    /// next quorum check.
    pub fn tick(&mut self) {
        self.election_elapsed += 1;
        if matches!(self.role, RoleState::Leader(_)) {
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

    /// A (pre-)candidate asks again the peers that have not answered yet:
    /// requests or answers may have been lost, and waiting for a whole new
    /// election would cost a term (Raft §5.1: servers retry RPCs).
    fn resend_vote_requests(&mut self) {
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

    /// Starts an election now, as if the election timer ran out (with a
    /// pre-vote round first when PreVote is on). A leader ignores it.
    pub fn campaign(&mut self) {
        if !matches!(self.role, RoleState::Leader(_)) && self.members.is_voter(self.config.id) {
            self.start_election(false);
        }
    }

    /// Proposes several commands at once: the same as proposing them one
    /// after another, except that the followers hear of them in one append
    /// (as far as flow control allows) instead of one append per command.
    /// On the leader, returns the index the first was appended at (the
    /// others follow it in order); otherwise none is appended.
    pub fn propose_batch(&mut self, data: Vec<Payload>) -> Result<Index, RaftError> {
        let RoleState::Leader(leader) = &self.role else {
            return Err(RaftError::NotLeader {
                leader: self.leader,
            });
        };
        if let Some((to, _)) = leader.transfer {
            return Err(RaftError::TransferInProgress(to));
        }
        let first = self.log.last_index() + 1;
        for data in data {
            self.append_own(EntryData::Command(data));
        }
        self.broadcast_append();
        self.maybe_commit();
        Ok(first)
    }

    /// Proposes a command. On the leader, returns the index it was appended
    /// at; it is committed when it shows up in `Ready::committed`.
    pub fn propose(&mut self, data: Vec<u8>) -> Result<Index, RaftError> {
        let RoleState::Leader(leader) = &self.role else {
            return Err(RaftError::NotLeader {
                leader: self.leader,
            });
        };
        if let Some((to, _)) = leader.transfer {
            return Err(RaftError::TransferInProgress(to));
        }
        let index = self.append_own(EntryData::Command(data.into()));
        self.broadcast_append();
        self.maybe_commit();
        Ok(index)
    }

    /// Asks for a linearizable read, identified by `id`. The answer comes
    /// back in `Ready::reads`: `Ready { index }` once a quorum confirmed this
    /// node is still leader (ReadIndex), or `NotLeader`.
    pub fn read(&mut self, id: ReadId) {
        let leader_reads_bug = self.config.bugs.leader_reads_without_read_index;
        let commit = self.commit;
        let RoleState::Leader(leader) = &mut self.role else {
            let outcome = ReadOutcome::NotLeader {
                leader: self.leader,
            };
            self.reads.push(ReadResult { id, outcome });
            return;
        };
        if leader_reads_bug {
            let outcome = ReadOutcome::Ready { index: commit };
            self.reads.push(ReadResult { id, outcome });
            return;
        }
        leader.read_seq += 1;
        let seq = leader.read_seq;
        leader.pending_reads.push_back(PendingRead { id, seq });
        // A leader that is the only voter confirms it alone.
        self.broadcast_heartbeat();
        self.release_reads();
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
        let RoleState::Leader(leader) = &mut self.role else {
            return Err(RaftError::NotLeader {
                leader: self.leader,
            });
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
            .is_some_and(|p| p.match_index == last_index);
        if caught_up {
            self.send(to, Body::TimeoutNow);
        } else {
            self.send_append(to);
        }
        Ok(())
    }

    /// Handles a message addressed to this node; messages for another node
    /// are ignored. As the thesis says (§4.1), a message is handled whether
    /// or not its sender is in this node's configuration: a new leader may
    /// be unknown to a lagging node. Removed servers are kept from
    /// disrupting by the leader lease (`in_lease`) and PreVote instead.
    pub fn step(&mut self, msg: Message) {
        if msg.to != self.config.id || msg.from == self.config.id {
            return;
        }
        if msg.term > self.term() {
            if self.in_lease(&msg) {
                // CheckQuorum: we heard from a live leader within the minimum
                // election timeout, so this candidate is disruptive (likely
                // a rejoining node); ignore it without bumping our term.
                if let Body::PreVote { .. } = msg.body {
                    self.send(msg.from, Body::PreVoteResponse { granted: false });
                }
                return;
            }
            match msg.body {
                // A pre-vote's term is the candidate's *proposed* term; it must
                // not move ours. A granted pre-vote answer carries the term we
                // proposed, which is likewise not a real term yet.
                Body::PreVote { .. } | Body::PreVoteResponse { granted: true } => {}
                Body::Append { .. }
                | Body::Heartbeat { .. }
                | Body::InstallSnapshot { .. }
                | Body::TimeoutNow => {
                    self.become_follower(msg.term, Some(msg.from));
                }
                _ => self.become_follower(msg.term, None),
            }
        } else if msg.term < self.term() {
            match msg.body {
                // A stale leader: tell it our term so it steps down. Without
                // this, CheckQuorum and PreVote could leave it leading alone.
                Body::Append { .. } | Body::Heartbeat { .. } | Body::InstallSnapshot { .. } => self
                    .send(
                        msg.from,
                        Body::AppendResponse {
                            success: false,
                            index: 0,
                            hint: 0,
                        },
                    ),
                Body::PreVote { .. } => {
                    self.send(msg.from, Body::PreVoteResponse { granted: false })
                }
                _ => {}
            }
            return;
        }
        self.handle(msg);
    }

    // ------------------------------------------------------------- handlers

    /// Reacts to a message whose term is our current term (or a pre-vote).
    fn handle(&mut self, msg: Message) {
        let from = msg.from;
        match msg.body {
            Body::PreVote {
                last_index,
                last_term,
            } => {
                // Grant when the candidate's proposed term is ahead of ours
                // and its log is up to date. (Lease was checked in `step`.)
                let granted =
                    msg.term > self.term() && self.log.is_up_to_date(last_index, last_term);
                let term = if granted { msg.term } else { self.term() };
                self.send_with_term(from, term, Body::PreVoteResponse { granted });
            }
            Body::Vote {
                last_index,
                last_term,
                ..
            } => {
                let vote = self.hard_state.vote;
                let can_vote = vote == Some(from) || (vote.is_none() && self.leader.is_none());
                let granted = can_vote && self.log.is_up_to_date(last_index, last_term);
                if granted {
                    self.hard_state.vote = Some(from);
                    self.hard_state_dirty = true;
                    self.reset_election_timer();
                }
                self.send(from, Body::VoteResponse { granted });
            }
            Body::PreVoteResponse { granted } => {
                self.on_vote_response(from, msg.term, granted, true)
            }
            Body::VoteResponse { granted } => self.on_vote_response(from, msg.term, granted, false),
            Body::Append {
                prev_index,
                prev_term,
                entries,
                commit,
            } => {
                self.follow(from);
                self.on_append(from, prev_index, prev_term, entries, commit);
            }
            Body::Heartbeat { commit, read_seq } => {
                self.follow(from);
                // The leader caps `commit` at what it knows we hold.
                let commit = commit.min(self.log.last_index());
                self.advance_commit(commit);
                self.send(from, Body::HeartbeatResponse { read_seq });
            }
            Body::AppendResponse {
                success,
                index,
                hint,
            } => self.on_append_response(from, success, index, hint),
            Body::HeartbeatResponse { read_seq } => self.on_heartbeat_response(from, read_seq),
            Body::TimeoutNow => {
                if !matches!(self.role, RoleState::Leader(_))
                    && self.members.is_voter(self.config.id)
                {
                    self.start_election(true);
                }
            }
            Body::InstallSnapshot {
                meta,
                offset,
                data,
                done,
            } => {
                self.follow(from);
                self.on_install_snapshot(from, meta, offset, data, done);
            }
            Body::InstallSnapshotResponse {
                index,
                offset,
                done,
            } => self.on_install_snapshot_response(from, index, offset, done),
        }
    }

    /// Receives one chunk of the leader's snapshot. Chunks must arrive in
    /// order; anything else is answered with the offset wanted next.
    fn on_install_snapshot(
        &mut self,
        from: NodeId,
        meta: SnapshotMeta,
        offset: u64,
        data: Vec<u8>,
        done: bool,
    ) {
        let reply = |node: &mut Node, offset: u64, done: bool| {
            let body = Body::InstallSnapshotResponse {
                index: meta.index,
                offset,
                done,
            };
            node.send(from, body);
        };
        if meta.index <= self.commit {
            // Everything it covers is already committed here.
            self.receiving = None;
            return reply(self, offset + data.len() as u64, true);
        }
        let buffer = match &mut self.receiving {
            Some((m, buffer)) if *m == meta && buffer.len() as u64 == offset => buffer,
            _ if offset == 0 => &mut self.receiving.insert((meta, Vec::new())).1,
            Some((m, buffer)) if *m == meta => {
                let want = buffer.len() as u64;
                return reply(self, want, false);
            }
            _ => return reply(self, 0, false),
        };
        buffer.extend_from_slice(&data);
        let received = buffer.len() as u64;
        if !done {
            return reply(self, received, false);
        }
        let Some((_, data)) = self.receiving.take() else {
            return;
        };
        self.log.install_snapshot(meta);
        self.rebuild_members();
        self.commit = self.commit.max(meta.index);
        self.handed_out = self.handed_out.max(meta.index);
        let snapshot = Snapshot { meta, data };
        self.snapshot = Some(snapshot.clone());
        self.installed = Some(snapshot);
        self.events
            .push(Event::SnapshotInstalled { index: meta.index });
        reply(self, received, true);
    }

    fn on_install_snapshot_response(
        &mut self,
        from: NodeId,
        index: Index,
        offset: u64,
        done: bool,
    ) {
        let RoleState::Leader(leader) = &mut self.role else {
            return;
        };
        let Some(peer) = leader.peers.get_mut(&from) else {
            return;
        };
        peer.active = true;
        let Some((meta, _)) = peer.sending else {
            return;
        };
        if meta.index != index {
            return;
        }
        peer.progressed = true;
        if done {
            peer.sending = None;
            peer.match_index = peer.match_index.max(index);
            peer.next_index = peer.match_index + 1;
            peer.probing = true;
            peer.inflight = 0;
            self.maybe_commit();
        } else {
            peer.sending = Some((meta, offset));
            peer.inflight = 0;
        }
        self.send_append(from);
    }

    /// Accepts `from` as the leader of the current term.
    fn follow(&mut self, from: NodeId) {
        if !matches!(self.role, RoleState::Follower) {
            let term = self.term();
            self.become_follower(term, Some(from));
        } else if self.leader != Some(from) {
            self.leader = Some(from);
            self.events.push(Event::LeaderChanged {
                leader: Some(from),
                term: self.term(),
            });
        }
        self.election_elapsed = 0;
    }

    fn on_vote_response(&mut self, from: NodeId, term: Term, granted: bool, pre: bool) {
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

    fn on_append(
        &mut self,
        from: NodeId,
        prev_index: Index,
        prev_term: Term,
        entries: Vec<Entry>,
        leader_commit: Index,
    ) {
        let reject = |node: &mut Node, hint: Index| {
            let body = Body::AppendResponse {
                success: false,
                index: prev_index,
                hint,
            };
            node.send(from, body);
        };
        if prev_index < self.commit {
            // Everything up to our commit index matches the leader's log
            // (and may be compacted away here): say so, and let the leader
            // continue from there.
            let body = Body::AppendResponse {
                success: true,
                index: self.commit,
                hint: 0,
            };
            return self.send(from, body);
        }
        if prev_index > self.log.last_index() {
            // Our log is too short: ask for what follows our last entry.
            let hint = self.log.last_index() + 1;
            return reject(self, hint);
        }
        if !self.config.bugs.skip_prev_check && self.log.term_at(prev_index) != Some(prev_term) {
            // Fast backup: point the leader at the start of the conflicting
            // term, so it skips the whole term in one round trip.
            let hint = self.log.first_index_of_term_at(prev_index).max(1);
            return reject(self, hint);
        }
        let last_new = prev_index + entries.len() as Index;
        let mut config_changed = false;
        for entry in entries {
            match self.log.term_at(entry.index) {
                Some(term) if term == entry.term => continue,
                Some(_) => {
                    self.events.push(Event::LogTruncated { from: entry.index });
                    config_changed |= self.members_index >= entry.index;
                    self.log.truncate_from(entry.index);
                }
                None => {}
            }
            if entry.index == self.log.last_index() + 1 {
                config_changed |= matches!(entry.data, EntryData::Config { .. });
                self.log.push(entry);
            }
        }
        if config_changed {
            self.rebuild_members();
        }
        self.advance_commit(leader_commit.min(last_new));
        let body = Body::AppendResponse {
            success: true,
            index: last_new,
            hint: 0,
        };
        self.send(from, body);
    }

    fn on_append_response(&mut self, from: NodeId, success: bool, index: Index, hint: Index) {
        let last_index = self.log.last_index();
        let RoleState::Leader(leader) = &mut self.role else {
            return;
        };
        let Some(peer) = leader.peers.get_mut(&from) else {
            return;
        };
        peer.active = true;
        if success {
            peer.inflight = peer.inflight.saturating_sub(1);
            if index > peer.match_index {
                peer.match_index = index;
                peer.progressed = true;
            }
            peer.next_index = peer.next_index.max(peer.match_index + 1);
            if peer.probing {
                peer.probing = false;
                peer.next_index = peer.match_index + 1;
                peer.inflight = 0;
            }
            let transfer_ready =
                leader.transfer.is_some_and(|(to, _)| to == from) && peer.match_index == last_index;
            self.maybe_commit();
            if transfer_ready {
                self.send(from, Body::TimeoutNow);
            }
            self.send_append(from);
        } else {
            // Ignore stale rejections: only one for the append we are
            // waiting on (or, while pipelining, any above the match) counts.
            let stale = if peer.probing {
                index + 1 != peer.next_index
            } else {
                index <= peer.match_index
            };
            if stale || index == 0 {
                return;
            }
            peer.next_index = hint.min(index).max(peer.match_index + 1);
            peer.probing = true;
            peer.inflight = 0;
            self.send_append(from);
        }
    }

    fn on_heartbeat_response(&mut self, from: NodeId, read_seq: u64) {
        let last_index = self.log.last_index();
        let RoleState::Leader(leader) = &mut self.role else {
            return;
        };
        let Some(peer) = leader.peers.get_mut(&from) else {
            return;
        };
        peer.active = true;
        peer.read_ack = peer.read_ack.max(read_seq);
        let behind = peer.match_index < last_index;
        self.release_reads();
        if behind {
            self.send_append(from);
        }
    }

    // ------------------------------------------------------------ leadership

    fn tick_leader(&mut self) {
        let heartbeat_interval = self.config.heartbeat_interval;
        let check_window = self.config.election_timeout_min;
        let check_quorum = self.config.check_quorum;
        let members = self.members;
        let id = self.config.id;
        let term = self.term();
        let RoleState::Leader(leader) = &mut self.role else {
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
                        .filter(|(_, p)| p.active)
                        .map(|(&i, _)| i),
                )
                .collect();
            for peer in leader.peers.values_mut() {
                peer.active = false;
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
            // probably lost: send again, from the match index when pipelining
            // (a probe keeps the position fast backup found).
            for peer in leader.peers.values_mut() {
                if peer.inflight > 0 && !peer.progressed {
                    if !peer.probing {
                        peer.next_index = peer.match_index + 1;
                        peer.probing = true;
                    }
                    peer.inflight = 0;
                }
                peer.progressed = false;
            }
            self.broadcast_heartbeat();
        }
    }

    fn start_election(&mut self, transfer: bool) {
        if self.config.pre_vote && !transfer {
            self.become_pre_candidate();
        } else {
            self.become_candidate(transfer);
        }
    }

    fn become_follower(&mut self, term: Term, leader: Option<NodeId>) {
        let was = self.role();
        if term > self.term() {
            self.hard_state = HardState { term, vote: None };
            self.hard_state_dirty = true;
        }
        if let RoleState::Leader(state) = &mut self.role {
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

    fn become_pre_candidate(&mut self) {
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

    fn become_candidate(&mut self, transfer: bool) {
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

    fn become_leader(&mut self) {
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

    fn clear_leader(&mut self) {
        if self.leader.is_some() {
            self.leader = None;
            self.events.push(Event::LeaderChanged {
                leader: None,
                term: self.term(),
            });
        }
    }

    /// Whether a vote request from `msg`'s sender must be ignored because
    /// this node heard from a live leader within the minimum election
    /// timeout (CheckQuorum's leader lease). Ordered transfers are exempt.
    fn in_lease(&self, msg: &Message) -> bool {
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

    // ----------------------------------------------------------- replication

    fn append_own(&mut self, data: EntryData) -> Index {
        let index = self.log.last_index() + 1;
        let term = self.term();
        self.log.push(Entry { index, term, data });
        index
    }

    fn broadcast_append(&mut self) {
        for peer in self.member_peers() {
            self.send_append(peer);
        }
    }

    /// Sends `to` what it is missing, as far as flow control allows: one
    /// append at a time while probing, up to `max_inflight` while pipelining.
    fn send_append(&mut self, to: NodeId) {
        let last_index = self.log.last_index();
        let max_entries = self.config.max_append_entries as Index;
        let max_bytes = self.config.max_append_bytes;
        let max_inflight = self.config.max_inflight;
        let commit = self.commit;
        loop {
            let RoleState::Leader(leader) = &mut self.role else {
                return;
            };
            let Some(peer) = leader.peers.get_mut(&to) else {
                return;
            };
            if peer.sending.is_some() {
                return self.send_snapshot_chunk(to);
            }
            let has_entries = peer.next_index <= last_index;
            let may_send = if peer.probing {
                peer.inflight == 0
            } else {
                has_entries && peer.inflight < max_inflight
            };
            if !may_send {
                return;
            }
            let prev_index = peer.next_index - 1;
            let Some(prev_term) = self.log.term_at(prev_index) else {
                // The entries it needs were compacted away: send the
                // snapshot instead (one chunk in flight at a time).
                return self.send_snapshot_chunk(to);
            };
            let upto = (prev_index + max_entries).min(last_index);
            let upto = self.log.end_within_bytes(prev_index + 1, upto, max_bytes);
            let entries = self.log.slice(prev_index + 1, upto).to_vec();
            peer.inflight += 1;
            if !peer.probing {
                peer.next_index = upto + 1;
            }
            let probing = peer.probing;
            let body = Body::Append {
                prev_index,
                prev_term,
                entries,
                commit,
            };
            self.send(to, body);
            if probing {
                return;
            }
        }
    }

    /// Sends `to` the chunk of the latest snapshot it waits for, starting
    /// over when a newer snapshot replaced the one being sent.
    fn send_snapshot_chunk(&mut self, to: NodeId) {
        let chunk_bytes = self.config.snapshot_chunk_bytes;
        let Some(snapshot) = &self.snapshot else {
            return;
        };
        let RoleState::Leader(leader) = &mut self.role else {
            return;
        };
        let Some(peer) = leader.peers.get_mut(&to) else {
            return;
        };
        if peer.inflight > 0 {
            return;
        }
        let offset = match peer.sending {
            Some((meta, offset)) if meta == snapshot.meta => offset,
            _ => {
                self.events.push(Event::SnapshotSending {
                    to,
                    index: snapshot.meta.index,
                });
                0
            }
        };
        let start = (offset as usize).min(snapshot.data.len());
        let end = (start + chunk_bytes).min(snapshot.data.len());
        peer.sending = Some((snapshot.meta, start as u64));
        peer.inflight = 1;
        let body = Body::InstallSnapshot {
            meta: snapshot.meta,
            offset: start as u64,
            data: snapshot.data[start..end].to_vec(),
            done: end == snapshot.data.len(),
        };
        self.send(to, body);
    }

    fn broadcast_heartbeat(&mut self) {
        let commit = self.commit;
        let RoleState::Leader(leader) = &self.role else {
            return;
        };
        let read_seq = leader.read_seq;
        let beats: Vec<(NodeId, Index)> = leader
            .peers
            .iter()
            .map(|(&id, p)| (id, commit.min(p.match_index)))
            .collect();
        for (to, commit) in beats {
            self.send(to, Body::Heartbeat { commit, read_seq });
        }
    }

    /// Commits the highest index stored on a quorum, if it belongs to the
    /// current term (Raft §5.4.2: entries of older terms commit only
    /// indirectly, which is exactly what Figure 8 shows to be necessary).
    fn maybe_commit(&mut self) {
        let RoleState::Leader(leader) = &self.role else {
            return;
        };
        // Only voters count; a leader that removed itself keeps
        // replicating until its removal commits, without counting itself.
        let members = self.members;
        let mut matches: Vec<Index> = leader
            .peers
            .iter()
            .filter(|(id, _)| members.is_voter(**id))
            .map(|(_, p)| p.match_index)
            .collect();
        if members.is_voter(self.config.id) {
            matches.push(self.log.last_index());
        }
        matches.sort_unstable_by(|a, b| b.cmp(a));
        let Some(&quorum_index) = matches.get(members.quorum() - 1) else {
            return;
        };
        if quorum_index <= self.commit {
            return;
        }
        let current_term = self.log.term_at(quorum_index) == Some(self.term());
        if current_term || self.config.bugs.commit_old_terms {
            self.advance_commit(quorum_index);
            self.release_reads();
        }
    }

    fn advance_commit(&mut self, index: Index) {
        if index > self.commit {
            let was_pending = self.membership_pending();
            self.commit = index;
            self.events.push(Event::CommitAdvanced { index });
            if was_pending && !self.membership_pending() {
                self.membership_committed();
            }
        }
    }

    /// Answers the reads whose heartbeat round a quorum acknowledged, once
    /// this leader has committed an entry of its own term.
    fn release_reads(&mut self) {
        let members = self.members;
        let id = self.config.id;
        let commit = self.commit;
        let committed_in_term =
            self.log.term_at(commit) == Some(self.term()) || self.config.bugs.commit_old_terms;
        let RoleState::Leader(leader) = &mut self.role else {
            return;
        };
        if !committed_in_term || leader.pending_reads.is_empty() {
            return;
        }
        let mut acks: Vec<u64> = leader
            .peers
            .iter()
            .filter(|(id, _)| members.is_voter(**id))
            .map(|(_, p)| p.read_ack)
            .collect();
        if members.is_voter(id) {
            acks.push(leader.read_seq);
        }
        acks.sort_unstable_by(|a, b| b.cmp(a));
        let Some(&confirmed) = acks.get(members.quorum() - 1) else {
            return;
        };
        while let Some(read) = leader.pending_reads.front() {
            if read.seq > confirmed {
                break;
            }
            let id = read.id;
            leader.pending_reads.pop_front();
            self.reads.push(ReadResult {
                id,
                outcome: ReadOutcome::Ready { index: commit },
            });
        }
    }

    // --------------------------------------------------------------- helpers

    /// The voters other than this node, in id order: whom to ask for votes.
    fn voter_peers(&self) -> Vec<NodeId> {
        let id = self.config.id;
        self.members.voters.iter().filter(|&p| p != id).collect()
    }

    /// Voters and learners other than this node: whom a leader replicates to.
    fn member_peers(&self) -> Vec<NodeId> {
        let id = self.config.id;
        self.members
            .members()
            .into_iter()
            .filter(|&p| p != id)
            .collect()
    }

    fn reset_election_timer(&mut self) {
        self.election_elapsed = 0;
        self.election_timeout = self
            .rng
            .random_range(self.config.election_timeout_min..self.config.election_timeout_max);
    }

    fn send(&mut self, to: NodeId, body: Body) {
        let term = self.term();
        self.send_with_term(to, term, body);
    }

    fn send_with_term(&mut self, to: NodeId, term: Term, body: Body) {
        self.messages.push(Message {
            from: self.config.id,
            to,
            term,
            body,
        });
    }
}
