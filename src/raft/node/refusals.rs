//! Why a node said no to a vote request, kept for observers.
//!
//! A refusal on the wire is one bit (`granted: false`), and an ignored
//! request leaves no trace at all, so a candidate — or a person watching
//! one lose — cannot tell a log that is behind from a vote already given
//! or a leader's lease. The voter knows; it keeps the latest refusal per
//! candidate as a [`VoteRefusal`], which [`Node::status`] reports. Nothing
//! in the protocol reads it, so keeping it changes no run.

use super::Node;
use crate::raft::{Body, Index, Message, NodeId, RefusalReason, Term, VoteRefusal};

/// A vote request as the voter judged it.
#[derive(Clone, Copy, Debug)]
pub(super) struct Asked {
    /// Who asked.
    pub(super) candidate: NodeId,
    /// A pre-vote.
    pub(super) pre: bool,
    /// The term asked for.
    pub(super) term: Term,
    /// The candidate's last log entry (index, term).
    pub(super) last: (Index, Term),
}

/// Most refusals kept: one per candidate, and a cluster has at most nine
/// nodes; a few more for ids that came and went.
const KEPT: usize = 16;

impl Node {
    /// The vote requests this node refused or ignored, the latest per
    /// candidate, oldest first.
    pub fn refusals(&self) -> &[VoteRefusal] {
        &self.refusals
    }

    /// Records that the (pre-)vote request `msg` was refused (`answered`)
    /// or ignored, and why. Other messages are not vote requests: nothing
    /// is recorded.
    pub(super) fn note_refusal(&mut self, msg: &Message, reason: RefusalReason, answered: bool) {
        let (pre, last) = match msg.body {
            Body::PreVote {
                last_index,
                last_term,
            } => (true, (last_index, last_term)),
            Body::Vote {
                last_index,
                last_term,
                ..
            } => (false, (last_index, last_term)),
            _ => return,
        };
        let asked = Asked {
            candidate: msg.from,
            pre,
            term: msg.term,
            last,
        };
        self.note(asked, reason, answered);
    }

    /// Records that the request `asked` was refused (`answered`) or
    /// ignored, and why, in place of an older one from the same candidate.
    pub(super) fn note(&mut self, asked: Asked, reason: RefusalReason, answered: bool) {
        let refusal = VoteRefusal {
            candidate: asked.candidate,
            pre: asked.pre,
            term: asked.term,
            voter_term: self.term(),
            candidate_last: asked.last,
            voter_last: (self.log.last_index(), self.log.last_term()),
            answered,
            reason,
        };
        self.forget_refusal(asked.candidate);
        if self.refusals.len() >= KEPT {
            self.refusals.remove(0);
        }
        self.refusals.push(refusal);
    }

    /// Records a request turned away by CheckQuorum's lease (see
    /// `in_lease`): a pre-vote is refused, a vote ignored.
    pub(super) fn note_lease_refusal(&mut self, msg: &Message, pre: bool) {
        let Some(leader) = self.leader else {
            return;
        };
        let reason = RefusalReason::Lease {
            leader,
            elapsed: self.election_elapsed,
            min: self.config.election_timeout_min,
        };
        self.note_refusal(msg, reason, pre);
    }

    /// Forgets the refusal kept for `candidate` (it was granted since).
    pub(super) fn forget_refusal(&mut self, candidate: NodeId) {
        self.refusals.retain(|r| r.candidate != candidate);
    }
}

#[cfg(test)]
mod tests {
    use crate::raft::{
        Body, Config, DurableState, Entry, EntryData, HardState, Message, Node, NodeId,
        RefusalReason, Term,
    };

    /// Node 1 of 5 in term `term`, its log `terms` (one entry per term
    /// given), its vote `vote`.
    fn voter(term: Term, terms: &[Term], vote: Option<NodeId>) -> Node {
        let entries = terms
            .iter()
            .enumerate()
            .map(|(i, &t)| Entry {
                index: i as u64 + 1,
                term: t,
                data: EntryData::Noop,
            })
            .collect();
        let durable = DurableState {
            hard_state: HardState { term, vote },
            entries,
            snapshot: None,
        };
        let mut node = Node::new(Config::new(1, (1..=5).collect()), durable, 1).unwrap();
        let _ = node.take_ready();
        node
    }

    fn ask(node: &mut Node, from: NodeId, term: Term, pre: bool, last: (u64, Term)) -> Vec<bool> {
        let body = if pre {
            Body::PreVote {
                last_index: last.0,
                last_term: last.1,
            }
        } else {
            Body::Vote {
                last_index: last.0,
                last_term: last.1,
                transfer: false,
            }
        };
        node.step(Message {
            from,
            to: 1,
            term,
            body,
        });
        node.take_ready()
            .messages
            .iter()
            .filter_map(|m| match m.body {
                Body::PreVoteResponse { granted } | Body::VoteResponse { granted } => Some(granted),
                _ => None,
            })
            .collect()
    }

    /// A voter whose log is ahead refuses and says so, with both logs'
    /// ends; a later grant to the same candidate forgets the refusal.
    #[test]
    fn a_log_behind_is_refused_and_remembered_until_granted() {
        let mut node = voter(2, &[1, 2], None);
        assert_eq!(ask(&mut node, 3, 3, true, (2, 1)), vec![false]);
        let r = node.refusals()[0];
        assert_eq!(r.reason, RefusalReason::LogBehind);
        assert_eq!((r.candidate, r.pre, r.term, r.answered), (3, true, 3, true));
        assert_eq!((r.candidate_last, r.voter_last), ((2, 1), (2, 2)));
        assert_eq!(node.status().refusals, vec![r]);
        // The same request from an up-to-date log is granted.
        assert_eq!(ask(&mut node, 3, 3, true, (2, 2)), vec![true]);
        assert!(node.refusals().is_empty());
        // A real vote: the same rule (§5.4.1).
        assert_eq!(ask(&mut node, 4, 3, false, (1, 1)), vec![false]);
        assert_eq!(node.refusals()[0].reason, RefusalReason::LogBehind);
        assert!(!node.refusals()[0].pre);
    }

    /// One vote per term: a second candidate of the term is refused for
    /// the vote already given; a pre-vote for a term not ahead of the
    /// voter's is refused for that; a vote of an older term is ignored.
    #[test]
    fn a_vote_already_given_and_an_old_term_are_reasons() {
        let mut node = voter(3, &[1], Some(2));
        assert_eq!(ask(&mut node, 4, 3, false, (5, 3)), vec![false]);
        assert_eq!(node.refusals()[0].reason, RefusalReason::AlreadyVoted(2));
        assert_eq!(ask(&mut node, 5, 3, true, (5, 3)), vec![false]);
        let r = node.refusals()[1];
        assert_eq!((r.candidate, r.reason), (5, RefusalReason::TermNotAhead));
        assert_eq!(ask(&mut node, 5, 2, false, (5, 2)), Vec::<bool>::new());
        let r = node.refusals()[1];
        assert_eq!(
            (r.reason, r.answered, r.pre),
            (RefusalReason::StaleTerm, false, false)
        );
        assert_eq!(node.refusals().len(), 2, "one per candidate");
        // The candidate it voted for may ask again and is granted.
        assert_eq!(ask(&mut node, 2, 3, false, (1, 1)), vec![true]);
    }

    /// CheckQuorum's lease: a node that just heard from a leader refuses
    /// a pre-vote and ignores a vote, and says which leader held it.
    #[test]
    fn a_leaders_lease_turns_candidates_away() {
        let mut node = voter(1, &[1], None);
        node.step(Message {
            from: 2,
            to: 1,
            term: 1,
            body: Body::Heartbeat {
                commit: 1,
                read_seq: 0,
            },
        });
        let _ = node.take_ready();
        assert_eq!(ask(&mut node, 3, 2, true, (1, 1)), vec![false]);
        let r = node.refusals()[0];
        let min = node.config().election_timeout_min;
        assert_eq!(
            (r.reason, r.answered),
            (
                RefusalReason::Lease {
                    leader: 2,
                    elapsed: 0,
                    min
                },
                true
            )
        );
        assert_eq!(ask(&mut node, 4, 2, false, (1, 1)), Vec::<bool>::new());
        let r = node.refusals()[1];
        assert!(matches!(r.reason, RefusalReason::Lease { leader: 2, .. }));
        assert!(!r.answered);
        assert_eq!(node.term(), 1, "the lease keeps the term");
    }
}
