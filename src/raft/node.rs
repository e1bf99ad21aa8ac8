//! The Raft node: its state, its inputs and outputs, and the dispatch of
//! each message to the part of the protocol it belongs to.
//!
//! A [`Node`] is driven by five inputs — [`Node::tick`], [`Node::step`],
//! [`Node::propose`], [`Node::read`] and [`Node::transfer_leader`] — and
//! reports through [`Node::take_ready`]. Every message follows the same
//! shape: [`Node::step`] brings the term up to date, then `handle` passes it
//! to the role that reacts. Role-specific state lives inside [`RoleState`],
//! so a follower can never accidentally hold a leader's progress table.
//!
//! The protocol itself is split by concern, one file each, in the order a
//! newcomer meets it:
//!
//! - [`election`]: timers, pre-votes and votes, becoming follower,
//!   candidate or leader, CheckQuorum's lease, leadership transfer;
//! - [`replication`]: the leader's side of the log — proposals, appends
//!   and snapshots sent, their answers, and the commit rule;
//! - [`following`]: the follower's side — the consistency check, fast
//!   backup, and installing a snapshot;
//! - [`reads`]: linearizable reads by ReadIndex;
//! - [`progress`]: the leader's view of one follower, probing or
//!   pipelining;
//! - [`conf`]: membership changes;
//! - [`refusals`]: why a vote request was refused, kept for observers.

mod conf;
mod election;
mod following;
mod inspect;
mod progress;
mod reads;
mod refusals;
mod replication;

use std::collections::{BTreeMap, BTreeSet, VecDeque};

use rand::{RngExt, SeedableRng};
use rand_chacha::ChaCha8Rng;

use super::{
    Body, Config, DurableState, Event, HardState, Index, Membership, Message, NodeId, Progress,
    RaftError, RaftLog, ReadResult, Ready, RefusalReason, Role, Snapshot, SnapshotMeta, Status,
    Term, Ticks, VoteRefusal,
};
use progress::Peer;
use reads::PendingRead;

/// State only a leader has.
#[derive(Clone, Debug)]
struct LeaderState {
    /// What the leader knows of every other member, voter or learner.
    peers: BTreeMap<NodeId, Peer>,
    /// Ticks since the last heartbeat round.
    heartbeat_elapsed: Ticks,
    /// The current read round; bumped for every read request.
    read_seq: u64,
    /// Reads waiting for their round to be confirmed, oldest first.
    pending_reads: VecDeque<PendingRead>,
    /// An ongoing leadership transfer: target and ticks spent on it.
    transfer: Option<(NodeId, Ticks)>,
}

impl LeaderState {
    /// The highest value a quorum of voters has reached, from each voter
    /// peer's value (`of`) and the leader's own (`own`, counted only while
    /// the leader `id` is a voter itself): the commit index from match
    /// indexes, or the confirmed read round from acknowledgements. `None`
    /// when there are fewer voters than a quorum.
    fn quorum_value(
        &self,
        members: Membership,
        id: NodeId,
        own: u64,
        of: impl Fn(&Peer) -> u64,
    ) -> Option<u64> {
        let mut values: Vec<u64> = self
            .peers
            .iter()
            .filter(|(p, _)| members.is_voter(**p))
            .map(|(_, p)| of(p))
            .collect();
        if members.is_voter(id) {
            values.push(own);
        }
        values.sort_unstable_by(|a, b| b.cmp(a));
        values.get(members.quorum() - 1).copied()
    }
}

/// What the node is, with what only that role needs.
#[derive(Clone, Debug)]
enum RoleState {
    /// Follows a leader (or waits for one).
    Follower,
    /// Asks whether it could win an election, without bumping its term.
    PreCandidate {
        /// Voters that would vote for it (itself included).
        granted: BTreeSet<NodeId>,
        /// Voters that would not.
        refused: BTreeSet<NodeId>,
    },
    /// Campaigns in its own new term.
    Candidate {
        /// Voters that voted for it (itself included).
        granted: BTreeSet<NodeId>,
        /// Voters that refused.
        refused: BTreeSet<NodeId>,
    },
    /// Leads the cluster in its term.
    Leader(Box<LeaderState>),
}

impl RoleState {
    /// The public name of the role.
    fn role(&self) -> Role {
        match self {
            RoleState::Follower => Role::Follower,
            RoleState::PreCandidate { .. } => Role::PreCandidate,
            RoleState::Candidate { .. } => Role::Candidate,
            RoleState::Leader(_) => Role::Leader,
        }
    }

    /// Whether this node leads.
    fn is_leader(&self) -> bool {
        matches!(self, RoleState::Leader(_))
    }

    /// What only a leader has, when this node leads: the one place that
    /// asks "am I the leader?", so each leader-only step says what it does
    /// when not (`let Some(leader) = self.role.leader() else …`).
    fn leader(&self) -> Option<&LeaderState> {
        match self {
            RoleState::Leader(leader) => Some(leader),
            _ => None,
        }
    }

    /// [`RoleState::leader`], to change.
    fn leader_mut(&mut self) -> Option<&mut LeaderState> {
        match self {
            RoleState::Leader(leader) => Some(leader),
            _ => None,
        }
    }

    /// The leader's progress for member `id`, when this node leads and
    /// `id` is a member it replicates to.
    fn peer_mut(&mut self, id: NodeId) -> Option<&mut Peer> {
        self.leader_mut()?.peers.get_mut(&id)
    }
}

/// One Raft node. See the module docs of [`crate::raft`] for the protocol.
pub struct Node {
    /// Its settings (id, voters, timeouts, limits, bug switches).
    config: Config,
    /// Draws election timeouts; seeded by the driver.
    rng: ChaCha8Rng,
    /// The log, with the write the driver has yet to persist.
    log: RaftLog,
    /// Term and vote, the state that must survive a crash.
    hard_state: HardState,
    /// The hard state changed since the last `take_ready`.
    hard_state_dirty: bool,
    /// Its role, with what only that role needs.
    role: RoleState,
    /// The leader of the current term, if known.
    leader: Option<NodeId>,
    /// Highest index known committed.
    commit: Index,
    /// Highest index handed to the driver to apply.
    handed_out: Index,
    /// Ticks since the election timer was last reset.
    election_elapsed: Ticks,
    /// Ticks after which a follower campaigns; drawn anew at every reset.
    election_timeout: Ticks,
    /// Messages to send, drained by `take_ready`.
    messages: Vec<Message>,
    /// Answers to reads, drained by `take_ready`.
    reads: Vec<ReadResult>,
    /// Events for observers, drained by `take_ready`.
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
    /// Vote requests refused or ignored, the latest per candidate, for
    /// observers only (see [`VoteRefusal`]).
    refusals: Vec<VoteRefusal>,
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
            refusals: Vec::new(),
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
        let progress = match self.role.leader() {
            Some(leader) => leader
                .peers
                .iter()
                .map(|(&id, p)| {
                    let progress = Progress {
                        match_index: p.match_index(),
                        next_index: p.next_index(),
                    };
                    (id, progress)
                })
                .collect(),
            None => Vec::new(),
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
            refusals: self.refusals.clone(),
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

    /// Whether the log holds a write the driver has not taken yet.
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
                let pre = matches!(msg.body, Body::PreVote { .. });
                if pre {
                    self.send(msg.from, Body::PreVoteResponse { granted: false });
                }
                self.note_lease_refusal(&msg, pre);
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
                    self.send(msg.from, Body::PreVoteResponse { granted: false });
                    self.note_refusal(&msg, RefusalReason::StaleTerm, true);
                }
                Body::Vote { .. } => self.note_refusal(&msg, RefusalReason::StaleTerm, false),
                _ => {}
            }
            return;
        }
        self.handle(msg);
    }

    /// Reacts to a message whose term is our current term (or a pre-vote):
    /// each kind of message goes to the part of the protocol it belongs to.
    fn handle(&mut self, msg: Message) {
        let from = msg.from;
        match msg.body {
            Body::PreVote {
                last_index,
                last_term,
            } => self.on_pre_vote(from, msg.term, last_index, last_term),
            Body::Vote {
                last_index,
                last_term,
                ..
            } => self.on_vote(from, last_index, last_term),
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
                self.on_heartbeat(from, commit, read_seq);
            }
            Body::AppendResponse {
                success,
                index,
                hint,
            } => self.on_append_response(from, success, index, hint),
            Body::HeartbeatResponse { read_seq } => self.on_heartbeat_response(from, read_seq),
            Body::TimeoutNow => self.on_timeout_now(),
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

    // --------------------------------------------------------------- helpers

    /// The error for a request only the leader can serve, naming the
    /// leader this node knows of so the client can go there.
    fn not_leader(&self) -> RaftError {
        RaftError::NotLeader {
            leader: self.leader,
        }
    }

    /// The leader's state when this node may take a proposal (a command or
    /// a membership change) now: it leads, and is not handing leadership
    /// over (during a transfer the log stops growing, so the target can
    /// catch up and take over).
    fn proposing_leader(&self) -> Result<&LeaderState, RaftError> {
        let Some(leader) = self.role.leader() else {
            return Err(self.not_leader());
        };
        if let Some((to, _)) = leader.transfer {
            return Err(RaftError::TransferInProgress(to));
        }
        Ok(leader)
    }

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

    /// Restarts the election timer with a fresh random timeout (§5.2).
    fn reset_election_timer(&mut self) {
        self.election_elapsed = 0;
        self.election_timeout = self
            .rng
            .random_range(self.config.election_timeout_min..self.config.election_timeout_max);
    }

    /// Queues a message to `to` in the current term.
    fn send(&mut self, to: NodeId, body: Body) {
        let term = self.term();
        self.send_with_term(to, term, body);
    }

    /// Queues a message to `to` stamped with `term` (a pre-vote's term is
    /// the one proposed, not the current one).
    fn send_with_term(&mut self, to: NodeId, term: Term, body: Body) {
        self.messages.push(Message {
            from: self.config.id,
            to,
            term,
            body,
        });
    }
}
