//! What a node hands back to its driver: the `Ready` drained after each
//! input, events for observers, and the node's status.

use serde::{Deserialize, Serialize};

use super::{Entry, Index, Membership, Message, NodeId, NodeSet, Term, Ticks};

/// The state a node must persist before it sends anything that depends on it.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct HardState {
    /// The latest term this node has seen.
    pub term: Term,
    /// Whom it voted for in `term`, if anyone.
    pub vote: Option<NodeId>,
}

/// Where a snapshot ends: the last log entry whose effect it contains.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub struct SnapshotMeta {
    /// Index of the last entry the snapshot covers (0: none).
    pub index: Index,
    /// Term of that entry.
    pub term: Term,
    /// The configuration at that index: the latest configuration entry at
    /// or before it, or `None` when there was none (the initial
    /// configuration, which every node is given at start).
    pub config: Option<Membership>,
}

impl SnapshotMeta {
    /// Metadata of a snapshot at `index`/`term` without a configuration
    /// change before it.
    pub fn at(index: Index, term: Term) -> SnapshotMeta {
        SnapshotMeta {
            index,
            term,
            config: None,
        }
    }
}

/// A snapshot of the state machine, standing for every log entry up to
/// `meta.index`. The data is opaque to Raft (the KV store encodes it).
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Snapshot {
    /// The last entry it covers.
    pub meta: SnapshotMeta,
    /// The state machine's encoded state.
    pub data: Vec<u8>,
}

/// Everything a node keeps across a crash; what `Node::new` restores from.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct DurableState {
    /// Term and vote.
    pub hard_state: HardState,
    /// The latest snapshot, if the log was ever compacted.
    pub snapshot: Option<Snapshot>,
    /// The log after the snapshot (from `snapshot.meta.index + 1`, or from
    /// index 1 without one), without gaps.
    pub entries: Vec<Entry>,
}

/// A change to the durable log: keep the entries below `from`, drop the
/// rest, then append `entries` (which start at `from`).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct LogWrite {
    /// First index that is rewritten.
    pub from: Index,
    /// The new entries from `from` on (may be empty: a pure truncation).
    pub entries: Vec<Entry>,
}

impl LogWrite {
    /// Index and term of its last entry, which the driver reports to
    /// [`Node::log_synced`](super::Node::log_synced) once the write is
    /// durable; `None` for a pure truncation.
    pub fn last(&self) -> Option<(Index, Term)> {
        self.entries.last().map(|e| (e.index, e.term))
    }
}

/// Identifies a read request across the driver and the node.
pub type ReadId = u64;

/// The outcome of a `Node::read`.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum ReadOutcome {
    /// The read is linearizable once the state machine has applied `index`.
    Ready {
        /// The commit index at the time the read arrived, confirmed by a quorum.
        index: Index,
    },
    /// This node cannot serve the read; try the leader, if one is known.
    NotLeader {
        /// The leader this node knows of.
        leader: Option<NodeId>,
    },
}

/// Answer to one read request.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ReadResult {
    /// The request's id, as given to `Node::read`.
    pub id: ReadId,
    /// Whether and when it can be served.
    pub outcome: ReadOutcome,
}

/// The role a node plays.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
pub enum Role {
    /// Follows a leader (or waits for one).
    Follower,
    /// Asks for pre-votes before starting an election.
    PreCandidate,
    /// Asks for votes in its own term.
    Candidate,
    /// Replicates the log and serves clients.
    Leader,
}

impl Role {
    /// The role's name spelled out.
    pub fn name(self) -> &'static str {
        match self {
            Role::Follower => "Follower",
            Role::PreCandidate => "PreCandidate",
            Role::Candidate => "Candidate",
            Role::Leader => "Leader",
        }
    }
}

impl std::fmt::Display for Role {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.name())
    }
}

/// Something an observer may want to know; nothing depends on it.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub enum Event {
    /// The node changed role.
    RoleChanged {
        /// The new role.
        role: Role,
        /// Its term.
        term: Term,
    },
    /// The node learned who leads (or that nobody does) in `term`.
    LeaderChanged {
        /// The leader, if known.
        leader: Option<NodeId>,
        /// The term.
        term: Term,
    },
    /// The commit index moved forward.
    CommitAdvanced {
        /// The new commit index.
        index: Index,
    },
    /// A leader lost contact with a quorum and stepped down (CheckQuorum).
    QuorumLost {
        /// The term it led.
        term: Term,
    },
    /// The leader began handing leadership to `to`.
    TransferStarted {
        /// The target.
        to: NodeId,
    },
    /// The node's log lost a suffix that conflicted with the leader's.
    LogTruncated {
        /// First index removed.
        from: Index,
    },
    /// The log was compacted up to a snapshot of the state machine.
    Compacted {
        /// Last index the snapshot covers.
        index: Index,
    },
    /// A leader began sending its snapshot to a follower that is too far
    /// behind for entries.
    SnapshotSending {
        /// The follower.
        to: NodeId,
        /// Last index the snapshot covers.
        index: Index,
    },
    /// A snapshot from the leader was installed.
    SnapshotInstalled {
        /// Last index the snapshot covers.
        index: Index,
    },
    /// The configuration this node uses changed: a configuration entry was
    /// appended (or arrived in a snapshot), or one was truncated away and
    /// the previous configuration is back.
    MembershipChanged {
        /// The configuration now in use.
        config: Membership,
        /// Index of the entry that made it (0: the initial configuration).
        index: Index,
        /// Whether it is not committed yet.
        pending: bool,
    },
    /// A leader that removed itself committed its removal and stepped down.
    RemovedSelf {
        /// The term it led.
        term: Term,
    },
}

impl Event {
    /// The event in words, as the dashboards show it beside the node's
    /// name; `None` for the ones they do not show (commit advances, a
    /// leader forgotten).
    pub fn text(&self) -> Option<String> {
        self.text_of(0)
    }

    /// The event of node `id` in words, as [`Event::text`], but without
    /// the echo of a node becoming leader: its `LeaderChanged` to itself
    /// (the role change already said it leads).
    pub fn text_of(&self, id: NodeId) -> Option<String> {
        if let Event::LeaderChanged {
            leader: Some(leader),
            ..
        } = self
            && *leader == id
        {
            return None;
        }
        Some(match self {
            Event::RoleChanged { role, term } => format!("became {role} in term {term}"),
            Event::LeaderChanged {
                leader: Some(leader),
                term,
            } => format!("follows leader n{leader} in term {term}"),
            Event::LeaderChanged { leader: None, .. } | Event::CommitAdvanced { .. } => {
                return None;
            }
            Event::QuorumLost { term } => format!("lost its quorum, steps down (term {term})"),
            Event::TransferStarted { to } => format!("hands leadership to n{to}"),
            Event::LogTruncated { from } => format!("dropped conflicting entries from {from}"),
            Event::Compacted { index } => format!("compacted its log up to {index}"),
            Event::SnapshotSending { to, index } => {
                format!("sends its snapshot up to {index} to n{to}")
            }
            Event::SnapshotInstalled { index } => format!("installed a snapshot up to {index}"),
            Event::MembershipChanged {
                config,
                index,
                pending,
            } => {
                let state = if *pending { "pending" } else { "committed" };
                format!("configuration at {index} ({state}): {config}")
            }
            Event::RemovedSelf { term } => {
                format!("removed from the cluster, steps down (term {term})")
            }
        })
    }
}

/// Everything produced by the inputs since the last drain. The driver must
/// persist `hard_state`, `snapshot` (then compact its log up to it) and
/// `log`, then send `messages`, then restore the state machine from
/// `snapshot`, apply `committed` and answer `reads`, in that order. Once
/// `log` is synced, the driver reports it with
/// [`Node::log_synced`](super::Node::log_synced): a leader counts its own
/// log toward commit only up to what was reported.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Ready {
    /// New term/vote to persist, when it changed.
    pub hard_state: Option<HardState>,
    /// A snapshot received from the leader: persist it, compact the durable
    /// log up to its index, and restore the state machine from it.
    pub snapshot: Option<Snapshot>,
    /// Change to the durable log, when it changed.
    pub log: Option<LogWrite>,
    /// Messages to send, after persisting.
    pub messages: Vec<Message>,
    /// Newly committed entries to apply, in order.
    pub committed: Vec<Entry>,
    /// Reads that can be answered (or must be refused).
    pub reads: Vec<ReadResult>,
    /// Events for observers.
    pub events: Vec<Event>,
}

impl Ready {
    /// Whether there is nothing in it.
    pub fn is_empty(&self) -> bool {
        self.hard_state.is_none()
            && self.snapshot.is_none()
            && self.log.is_none()
            && self.messages.is_empty()
            && self.committed.is_empty()
            && self.reads.is_empty()
            && self.events.is_empty()
    }
}

/// How far a follower's log is known to match the leader's.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Progress {
    /// Highest index known to be replicated on the follower.
    pub match_index: Index,
    /// Next index to send.
    pub next_index: Index,
}

/// A snapshot of a node's volatile and durable state, for observers and
/// invariant checks.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Status {
    /// The node's id.
    pub id: NodeId,
    /// Its role.
    pub role: Role,
    /// Its current term.
    pub term: Term,
    /// Its vote in the current term.
    pub vote: Option<NodeId>,
    /// The leader it knows of.
    pub leader: Option<NodeId>,
    /// Highest index known committed.
    pub commit: Index,
    /// Index of its last log entry.
    pub last_index: Index,
    /// Last index covered by its snapshot (0: none; entries up to it are
    /// compacted away).
    pub snapshot_index: Index,
    /// Term of its last log entry.
    pub last_term: Term,
    /// Ticks since the election timer was last reset.
    pub election_elapsed: Ticks,
    /// The current randomized election timeout.
    pub election_timeout: Ticks,
    /// On a leader: each follower's progress, by id.
    pub progress: Vec<(NodeId, Progress)>,
    /// The configuration it uses (the latest in its log).
    pub membership: Membership,
    /// Whether that configuration's entry is not committed yet.
    pub membership_pending: bool,
    /// The vote requests it refused or ignored, the latest per candidate
    /// (see [`VoteRefusal`]).
    pub refusals: Vec<VoteRefusal>,
}

/// A vote or pre-vote request a node refused or ignored, and why: the
/// voter keeps the latest one per candidate for observers (the
/// dashboard's "why?"), since the answer on the wire is only a no.
/// Nothing in the protocol reads it.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub struct VoteRefusal {
    /// Who asked.
    pub candidate: NodeId,
    /// A pre-vote (which does not change anyone's term).
    pub pre: bool,
    /// The term it asked a vote for (a pre-vote's proposed term).
    pub term: Term,
    /// The voter's own term then.
    pub voter_term: Term,
    /// The candidate's last log entry (index, term), as it said.
    pub candidate_last: (Index, Term),
    /// The voter's last log entry (index, term) then.
    pub voter_last: (Index, Term),
    /// Whether a refusal was sent back; `false`: ignored, no answer.
    pub answered: bool,
    /// Why.
    pub reason: RefusalReason,
}

/// Why a vote was refused (the first reason that decided it).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub enum RefusalReason {
    /// CheckQuorum's lease: the voter heard from a live leader less than
    /// the minimum election timeout ago, so the candidate is disruptive.
    Lease {
        /// The leader it heard from.
        leader: NodeId,
        /// Ticks since it heard from it.
        elapsed: Ticks,
        /// The minimum election timeout, in ticks.
        min: Ticks,
    },
    /// The request carried a term older than the voter's.
    StaleTerm,
    /// A pre-vote for a term that is not ahead of the voter's.
    TermNotAhead,
    /// The voter already voted for another candidate in this term.
    AlreadyVoted(NodeId),
    /// The voter follows a leader of this term (and did not vote).
    HasLeader(NodeId),
    /// The candidate's log is less up to date than the voter's (§5.4.1).
    LogBehind,
}

/// A (pre-)candidate's election so far: who granted, who refused, and how
/// many grants win it.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub struct Tally {
    /// A pre-vote round (PreVote), which does not raise the term.
    pub pre: bool,
    /// The term the votes are for (a pre-vote asks for the next term).
    pub term: Term,
    /// Voters that granted, the candidate itself included.
    pub granted: NodeSet,
    /// Voters that refused.
    pub refused: NodeSet,
    /// The voters of the configuration it campaigns in.
    pub voters: NodeSet,
    /// Grants that make a majority of `voters`.
    pub needed: usize,
    /// Ticks since the round began (its election timer): a round that
    /// timed out and began again starts from 0.
    pub elapsed: Ticks,
}

impl Tally {
    /// Grants from voters so far.
    pub fn granted_count(&self) -> usize {
        self.granted
            .iter()
            .filter(|&id| self.voters.contains(id))
            .count()
    }

    /// Whether enough voters refused that the round cannot be won.
    pub fn lost(&self) -> bool {
        let refused = self.refused.iter().filter(|&id| self.voters.contains(id));
        refused.count() >= self.needed
    }

    /// Voters that have not answered.
    pub fn waiting(&self) -> Vec<NodeId> {
        self.voters
            .iter()
            .filter(|&id| !self.granted.contains(id) && !self.refused.contains(id))
            .collect()
    }

    /// The tally with `from`'s answer counted (an answer to this round).
    pub fn with_answer(mut self, from: NodeId, granted: bool) -> Tally {
        if granted {
            self.granted.insert(from);
        } else {
            self.refused.insert(from);
        }
        self
    }

    /// How the round ended, in words, for the event list, when an input
    /// ended it without a win: lost (a majority refused) or timed out (the
    /// timer ran out and a new round began). `answer` is the vote answer
    /// the input carried (from, pre-vote, granted), `after` the node's
    /// round now. `None` while the round goes on, when it was won, and
    /// when the node gave up for a leader or a higher term (its role
    /// change says so).
    pub fn ended(
        self,
        answer: Option<(NodeId, bool, bool)>,
        after: Option<Tally>,
    ) -> Option<String> {
        let tally = match answer {
            Some((from, pre, granted)) if pre == self.pre => self.with_answer(from, granted),
            _ => self,
        };
        let how = match after {
            Some(t) if t.pre == self.pre && t.term == self.term && t.elapsed >= self.elapsed => {
                return None;
            }
            _ if tally.lost() => "lost",
            _ if tally.granted_count() >= tally.needed => return None,
            Some(t) if t.elapsed == 0 => "timed out",
            _ => return None,
        };
        Some(if self.pre {
            format!("pre-vote {how}: {}", tally.summary())
        } else {
            format!("election for term {} {how}: {}", self.term, tally.summary())
        })
    }

    /// `votes 1/3, refused n2 n3, no answer n4`: the grants, whom they
    /// came from being on the card, and who refused or did not answer.
    pub fn summary(&self) -> String {
        let ids = |v: Vec<NodeId>| {
            v.iter()
                .map(|id| format!("n{id}"))
                .collect::<Vec<_>>()
                .join(" ")
        };
        let mut text = format!("votes {}/{}", self.granted_count(), self.needed);
        let refused: Vec<NodeId> = self
            .refused
            .iter()
            .filter(|&id| self.voters.contains(id))
            .collect();
        if !refused.is_empty() {
            text.push_str(&format!(", refused {}", ids(refused)));
        }
        let waiting = self.waiting();
        if !waiting.is_empty() {
            text.push_str(&format!(", no answer {}", ids(waiting)));
        }
        text
    }
}
