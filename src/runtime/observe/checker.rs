//! The live checker: Raft's safety invariants judged on a feed of what
//! the nodes do, and the linearizability verdict on the client history.
//!
//! The runtime's node threads report [`NodeFact`]s — a node's term, vote,
//! role and commit after each input, each log write, each entry applied,
//! each crash — and a [`LiveChecker`] judges them with the same small
//! rules the simulator runs after every step ([`crate::check`]), so a
//! state that lasted a microsecond is seen as surely as one that lasted a
//! second (a sampled view could miss it). Its verdict is a
//! [`CheckReport`]: per [`Invariant`], OK or the first [`Finding`] that
//! broke it, and a [`LinStatus`]. The report type knows nothing of the
//! runtime: a simulator-driven view can fill one from its own checker.
//!
//! Memory is bounded: the checker remembers at most [`COMMITTED_KEPT`]
//! committed indexes and [`ENTRIES_KEPT`] (index, term) pairs for log
//! matching (a few MB); older ones are forgotten, and a check that would
//! need them is skipped rather than guessed.

use std::collections::BTreeMap;
use std::fmt;
use std::sync::Arc;

pub use crate::check::Invariant;
use crate::check::{
    Breach, EntryMap, commit_never_decreases, election_safety, log_matching, one_vote_per_term,
    term_never_decreases,
};
use crate::raft::{Entry, EntryData, Index, NodeId, Role, Term};

/// Committed indexes the checker remembers (the newest ones).
pub const COMMITTED_KEPT: usize = 100_000;
/// (index, term) pairs kept for log matching (the newest indexes).
pub const ENTRIES_KEPT: usize = 200_000;

/// The first breach of one invariant.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Finding {
    /// Which invariant.
    pub invariant: Invariant,
    /// The evidence, in words (which nodes, which index and term).
    pub details: String,
    /// The clock's tick count when it was seen.
    pub tick: u64,
}

/// What the linearizability check of the client history says.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub enum LinStatus {
    /// Not checked (the history is not recorded, or checking is off).
    #[default]
    Off,
    /// No client operation yet.
    Empty,
    /// A check of `ops` operations is running.
    Checking {
        /// Operations being checked.
        ops: usize,
    },
    /// Every operation recorded can be ordered.
    Linearizable {
        /// Operations checked.
        ops: usize,
        /// Operations after the history's cap, not recorded nor checked.
        unrecorded: u64,
    },
    /// No order explains what the clients saw.
    NotLinearizable {
        /// Operations checked.
        ops: usize,
        /// The smallest key whose operations cannot be ordered.
        key: String,
        /// Why, in words.
        explanation: String,
    },
    /// Judged when the run ends (a simulated `raftlab check` run), not yet.
    AtRunEnd {
        /// Operations so far.
        ops: usize,
    },
    /// The search ran out of time before an answer.
    Unknown {
        /// Operations checked.
        ops: usize,
    },
    /// The history could not be read as operations.
    Broken(String),
}

impl fmt::Display for LinStatus {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            LinStatus::Off => f.write_str("not checked"),
            LinStatus::Empty => f.write_str("no client operations yet"),
            LinStatus::Checking { ops } => write!(f, "checking {ops} ops…"),
            LinStatus::AtRunEnd { ops } => {
                write!(f, "judged where the run ends ({ops} ops so far)")
            }
            LinStatus::Linearizable { ops, unrecorded: 0 } => {
                write!(f, "linearizable ({ops} ops)")
            }
            LinStatus::Linearizable { ops, unrecorded } => write!(
                f,
                "first {ops} ops linearizable; {unrecorded} later ops past the history cap not checked"
            ),
            LinStatus::NotLinearizable {
                key, explanation, ..
            } => {
                write!(f, "NOT linearizable: key {key:?}: {explanation}")
            }
            LinStatus::Unknown { ops } => {
                write!(f, "unknown: the search over {ops} ops ran out of time")
            }
            LinStatus::Broken(why) => write!(f, "cannot check: {why}"),
        }
    }
}

/// The live checker's verdict at one moment.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct CheckReport {
    /// Whether invariants are being checked at all.
    pub active: bool,
    /// Whether the verdicts are the simulator's: then every row of
    /// [`Invariant::SIM_ONLY`] is checked too.
    pub simulated: bool,
    /// Facts judged so far.
    pub observed: u64,
    /// The first breach of each broken invariant, in the order found.
    pub findings: Vec<Finding>,
    /// The client history's verdict.
    pub linearizability: LinStatus,
}

impl CheckReport {
    /// The first breach of `invariant`, if it broke.
    pub fn finding(&self, invariant: Invariant) -> Option<&Finding> {
        self.findings.iter().find(|f| f.invariant == invariant)
    }

    /// The rows this report judges: the live checker's, plus the
    /// simulator's own when it is a simulated run's (its catch-all row
    /// only when something fell in it).
    pub fn rows(&self) -> Vec<Invariant> {
        let mut rows = Invariant::ALL.to_vec();
        if self.simulated {
            rows.extend(
                Invariant::SIM_ONLY
                    .iter()
                    .filter(|&&inv| inv != Invariant::OtherSimCheck || self.finding(inv).is_some()),
            );
        }
        rows
    }

    /// The first breach of any invariant.
    pub fn first(&self) -> Option<&Finding> {
        self.findings.first()
    }

    /// Whether anything is known to be wrong (an invariant or the history).
    pub fn violated(&self) -> bool {
        !self.findings.is_empty()
            || matches!(self.linearizability, LinStatus::NotLinearizable { .. })
    }
}

/// One entry of a log write, as the checker needs it.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct EntryFact {
    /// Its index.
    pub index: Index,
    /// Its term.
    pub term: Term,
    /// A hash of its payload (see [`crate::check::payload_hash`]).
    pub hash: u64,
}

impl EntryFact {
    /// The fact of `entry`.
    pub fn of(entry: &Entry) -> EntryFact {
        EntryFact {
            index: entry.index,
            term: entry.term,
            hash: crate::check::payload_hash(&entry.data),
        }
    }
}

/// Something a node did that the invariants judge.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum NodeFact {
    /// Its state after an input.
    State {
        /// The node.
        node: NodeId,
        /// Its term.
        term: Term,
        /// Its vote in that term.
        vote: Option<NodeId>,
        /// Its role.
        role: Role,
        /// Its commit index.
        commit: Index,
    },
    /// It wrote `entries` to its log from index `from` on, after an entry
    /// of term `prev_term` (`None`: not known).
    Wrote {
        /// The node.
        node: NodeId,
        /// First index written.
        from: Index,
        /// The entry before `from`'s term.
        prev_term: Option<Term>,
        /// The entries written.
        entries: Vec<EntryFact>,
    },
    /// It applied an entry to its state machine.
    Applied {
        /// The node.
        node: NodeId,
        /// The entry.
        entry: EntryFact,
    },
    /// It went down (killed or crashed): its volatile state is gone.
    Down {
        /// The node.
        node: NodeId,
    },
}

/// What the checker remembers of a node.
#[derive(Clone, Copy, Debug, Default)]
struct Track {
    term: Term,
    vote: Option<NodeId>,
    /// Its commit index while up; `None` after a crash (unknown yet).
    commit: Option<Index>,
}

/// Judges [`NodeFact`]s, keeping the first breach of each invariant.
#[derive(Default)]
pub struct LiveChecker {
    nodes: BTreeMap<NodeId, Track>,
    leaders: BTreeMap<Term, NodeId>,
    entries: EntryMap,
    /// Committed index → (term, payload hash, the node that applied it first).
    committed: BTreeMap<Index, (Term, u64, NodeId)>,
    report: CheckReport,
}

impl LiveChecker {
    /// A checker that has seen nothing.
    pub fn new() -> LiveChecker {
        let report = CheckReport {
            active: true,
            ..CheckReport::default()
        };
        LiveChecker {
            report,
            ..LiveChecker::default()
        }
    }

    /// The verdict so far.
    pub fn report(&self) -> Arc<CheckReport> {
        Arc::new(self.report.clone())
    }

    /// Sets the linearizability verdict; whether it changed.
    pub fn set_linearizability(&mut self, status: LinStatus) -> bool {
        if self.report.linearizability == status {
            return false;
        }
        self.report.linearizability = status;
        true
    }

    /// Judges one fact seen at `tick`; whether a new breach was found.
    pub fn observe(&mut self, fact: &NodeFact, tick: u64) -> bool {
        self.report.observed += 1;
        let mut found = false;
        for (invariant, details) in self.judge(fact) {
            if self.report.finding(invariant).is_none() {
                self.report.findings.push(Finding {
                    invariant,
                    details,
                    tick,
                });
                found = true;
            }
        }
        found
    }

    /// The breaches `fact` shows (it also updates what is remembered).
    fn judge(&mut self, fact: &NodeFact) -> Vec<Breach> {
        let mut out = Vec::new();
        let mut check = |r: Result<(), Breach>| {
            if let Err(b) = r {
                out.push(b);
            }
        };
        match fact {
            NodeFact::State {
                node,
                term,
                vote,
                role,
                commit,
            } => {
                let id = *node;
                let track = self.nodes.entry(id).or_default();
                let before = *track;
                check(term_never_decreases(id, before.term, *term));
                if *term == before.term {
                    check(one_vote_per_term(id, *term, before.vote, *vote));
                }
                if let Some(was) = before.commit {
                    check(commit_never_decreases(id, was, *commit));
                }
                if *term >= before.term {
                    track.term = *term;
                    // Keep the vote once cast: forgetting it is a breach
                    // (above), and the next state is judged against it.
                    if *term > before.term || vote.is_some() {
                        track.vote = *vote;
                    }
                }
                track.commit = Some((*commit).max(before.commit.unwrap_or(0)));
                if *role == Role::Leader {
                    check(election_safety(&mut self.leaders, id, *term));
                }
            }
            NodeFact::Wrote {
                node,
                from,
                prev_term,
                entries,
            } => {
                let own_commit = self.nodes.get(node).and_then(|t| t.commit).unwrap_or(0);
                let mut prev = *prev_term;
                for e in entries {
                    if let Some(p) = prev {
                        let entry = Entry {
                            index: e.index,
                            term: e.term,
                            data: EntryData::Noop,
                        };
                        check(log_matching(&mut self.entries, *node, &entry, e.hash, p));
                    }
                    // Only a node's own committed prefix is promised: a
                    // stale node may hold (and write) another entry at an
                    // index committed elsewhere, as long as it never
                    // commits it.
                    if e.index <= own_commit
                        && let Some(&(term, hash, first)) = self.committed.get(&e.index)
                        && (term != e.term || hash != e.hash)
                    {
                        check(Err((
                            Invariant::CommittedNeverLost,
                            format!(
                                "n{node} overwrote index {} (committed in term {term}, applied by n{first}; its own commit index was {own_commit}) with an entry of term {}",
                                e.index, e.term
                            ),
                        )));
                    }
                    prev = Some(e.term);
                }
                if *from <= own_commit && entries.is_empty() {
                    check(Err((
                        Invariant::CommittedNeverLost,
                        format!(
                            "n{node} cut its log from index {from}, below its own commit index {own_commit}"
                        ),
                    )));
                }
                self.prune_entries();
            }
            NodeFact::Applied { node, entry } => match self.committed.get(&entry.index) {
                Some(&(term, hash, first)) if term != entry.term || hash != entry.hash => {
                    check(Err((
                        Invariant::StateMachineSafety,
                        format!(
                            "n{node} applied index {} from term {}, but n{first} applied a different command there (term {term})",
                            entry.index, entry.term
                        ),
                    )));
                }
                Some(_) => {}
                None => {
                    self.committed
                        .insert(entry.index, (entry.term, entry.hash, *node));
                    while self.committed.len() > COMMITTED_KEPT {
                        self.committed.pop_first();
                    }
                }
            },
            NodeFact::Down { node } => {
                // Term and vote are durable; the commit index is not.
                self.nodes.entry(*node).or_default().commit = None;
            }
        }
        out
    }

    /// Forgets the oldest (index, term) pairs past [`ENTRIES_KEPT`].
    fn prune_entries(&mut self) {
        if self.entries.len() <= ENTRIES_KEPT {
            return;
        }
        let mut indexes: Vec<Index> = self.entries.keys().map(|(i, _)| *i).collect();
        indexes.sort_unstable();
        let cut = indexes[indexes.len() - ENTRIES_KEPT / 2];
        self.entries.retain(|(i, _), _| *i >= cut);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn state(
        node: NodeId,
        term: Term,
        vote: Option<NodeId>,
        role: Role,
        commit: Index,
    ) -> NodeFact {
        NodeFact::State {
            node,
            term,
            vote,
            role,
            commit,
        }
    }

    fn e(index: Index, term: Term, hash: u64) -> EntryFact {
        EntryFact { index, term, hash }
    }

    /// A healthy run: an election, a write replicated and applied.
    fn healthy() -> Vec<NodeFact> {
        let mut facts = Vec::new();
        for n in 1..=3 {
            facts.push(state(n, 1, Some(1), Role::Follower, 0));
        }
        facts.push(state(1, 1, Some(1), Role::Leader, 0));
        for n in 1..=3 {
            facts.push(NodeFact::Wrote {
                node: n,
                from: 1,
                prev_term: Some(0),
                entries: vec![e(1, 1, 1), e(2, 1, 99)],
            });
        }
        for n in 1..=3 {
            facts.push(state(
                n,
                1,
                Some(1),
                if n == 1 { Role::Leader } else { Role::Follower },
                2,
            ));
            facts.push(NodeFact::Applied {
                node: n,
                entry: e(1, 1, 1),
            });
            facts.push(NodeFact::Applied {
                node: n,
                entry: e(2, 1, 99),
            });
        }
        facts.push(NodeFact::Down { node: 2 });
        facts.push(state(2, 1, Some(1), Role::Follower, 0));
        facts
    }

    #[test]
    fn a_healthy_run_keeps_every_invariant() {
        let mut c = LiveChecker::new();
        for (i, f) in healthy().iter().enumerate() {
            assert!(!c.observe(f, i as u64), "{f:?}");
        }
        let r = c.report();
        assert!(r.findings.is_empty(), "{:?}", r.findings);
        assert_eq!(r.observed, healthy().len() as u64);
        assert!(!r.violated());
    }

    #[test]
    fn two_leaders_in_a_term_break_election_safety() {
        let mut c = LiveChecker::new();
        c.observe(&state(1, 2, Some(1), Role::Leader, 0), 5);
        assert!(c.observe(&state(3, 2, Some(3), Role::Leader, 0), 9));
        let r = c.report();
        let f = r.finding(Invariant::ElectionSafety).expect("found");
        assert_eq!(f.details, "n1 and n3 are both leader in term 2");
        assert_eq!(f.tick, 9);
        assert!(r.violated());
    }

    #[test]
    fn a_forgotten_vote_and_a_term_going_back_are_caught() {
        let mut c = LiveChecker::new();
        c.observe(&state(2, 3, Some(1), Role::Follower, 0), 1);
        c.observe(&NodeFact::Down { node: 2 }, 2);
        assert!(c.observe(&state(2, 3, None, Role::Follower, 0), 3));
        assert!(c.observe(&state(2, 2, None, Role::Follower, 0), 4));
        let r = c.report();
        assert_eq!(
            r.finding(Invariant::OneVotePerTerm)
                .map(|f| f.details.as_str()),
            Some("n2 voted for n1 in term 3, then forgot it")
        );
        assert!(r.finding(Invariant::TermNeverDecreases).is_some());
    }

    #[test]
    fn commit_going_back_counts_only_while_up() {
        let mut c = LiveChecker::new();
        c.observe(&state(1, 1, None, Role::Follower, 5), 1);
        c.observe(&NodeFact::Down { node: 1 }, 2);
        assert!(!c.observe(&state(1, 1, None, Role::Follower, 0), 3));
        c.observe(&state(1, 1, None, Role::Follower, 6), 4);
        assert!(c.observe(&state(1, 1, None, Role::Follower, 4), 5));
        assert!(
            c.report()
                .finding(Invariant::CommitNeverDecreases)
                .is_some()
        );
    }

    #[test]
    fn different_commands_at_one_index_break_state_machine_safety_and_matching() {
        let mut c = LiveChecker::new();
        let wrote = |node, term, hash| NodeFact::Wrote {
            node,
            from: 3,
            prev_term: Some(1),
            entries: vec![e(3, term, hash)],
        };
        c.observe(&wrote(1, 2, 10), 1);
        assert!(
            c.observe(&wrote(2, 2, 11), 2),
            "same index and term, other command"
        );
        c.observe(
            &NodeFact::Applied {
                node: 1,
                entry: e(3, 2, 10),
            },
            3,
        );
        assert!(c.observe(
            &NodeFact::Applied {
                node: 3,
                entry: e(3, 3, 12),
            },
            4
        ));
        // A stale node writing another entry where index 3 was committed
        // elsewhere breaks nothing while it has not committed index 3.
        c.observe(&state(4, 2, None, Role::Follower, 2), 5);
        assert!(!c.observe(&wrote(4, 3, 12), 6), "stale, not committed here");
        c.observe(&state(5, 2, None, Role::Follower, 3), 7);
        assert!(
            c.observe(&wrote(5, 3, 12), 8),
            "overwrites its own committed entry"
        );
        let r = c.report();
        let found: Vec<Invariant> = r.findings.iter().map(|f| f.invariant).collect();
        assert_eq!(
            found,
            vec![
                Invariant::LogMatching,
                Invariant::StateMachineSafety,
                Invariant::CommittedNeverLost
            ]
        );
        assert_eq!(
            r.finding(Invariant::StateMachineSafety)
                .map(|f| f.details.as_str()),
            Some(
                "n3 applied index 3 from term 3, but n1 applied a different command there (term 2)"
            )
        );
    }

    #[test]
    fn only_the_first_breach_of_each_invariant_is_kept() {
        let mut c = LiveChecker::new();
        c.observe(&state(1, 2, None, Role::Leader, 0), 1);
        c.observe(&state(2, 2, None, Role::Leader, 0), 2);
        assert!(!c.observe(&state(3, 2, None, Role::Leader, 0), 3));
        assert_eq!(c.report().findings.len(), 1);
    }

    #[test]
    fn lin_status_reads_honestly() {
        assert_eq!(
            LinStatus::Linearizable {
                ops: 12,
                unrecorded: 0
            }
            .to_string(),
            "linearizable (12 ops)"
        );
        assert!(
            LinStatus::Linearizable {
                ops: 10,
                unrecorded: 4
            }
            .to_string()
            .contains("4 later ops past the history cap not checked")
        );
    }
}
