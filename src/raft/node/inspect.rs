//! Read-only views into a [`Node`] for observers (the dashboards): how a
//! campaign is going (a leader's follower progress is in [`Node::status`]).
//! Nothing here changes the node, draws randomness or reads a clock.

use super::{Node, RoleState};
use crate::raft::{NodeSet, Tally};

impl Node {
    /// The election it runs, when it is a PreCandidate or a Candidate.
    pub fn tally(&self) -> Option<Tally> {
        let (pre, granted, refused) = match &self.role {
            RoleState::PreCandidate { granted, refused } => (true, granted, refused),
            RoleState::Candidate { granted, refused } => (false, granted, refused),
            _ => return None,
        };
        let term = self.hard_state.term + u64::from(pre);
        Some(Tally {
            pre,
            term,
            granted: NodeSet::of(granted.iter().copied()),
            refused: NodeSet::of(refused.iter().copied()),
            voters: self.members.voters,
            needed: self.members.quorum(),
            elapsed: self.election_elapsed,
        })
    }
}

#[cfg(test)]
mod tests {
    use crate::raft::{Body, Config, DurableState, Message, Node, NodeId, Role, Tally};

    /// Node 1 of 5, made a PreCandidate by its own timer.
    fn pre_candidate() -> Node {
        let config = Config::new(1, (1..=5).collect());
        let mut node = Node::new(config, DurableState::default(), 1).unwrap();
        node.campaign();
        let _ = node.take_ready();
        assert_eq!(node.role(), Role::PreCandidate);
        node
    }

    fn answer(node: &mut Node, from: NodeId, pre: bool, granted: bool) -> Option<String> {
        let before = node.tally().unwrap();
        let body = if pre {
            Body::PreVoteResponse { granted }
        } else {
            Body::VoteResponse { granted }
        };
        // A granted pre-vote carries the proposed term, a refusal the
        // voter's own (here the candidate's).
        let term = node.term() + u64::from(pre && granted);
        let msg = Message {
            from,
            to: 1,
            term,
            body,
        };
        let said = msg.vote_answer();
        node.step(msg);
        before.ended(said, node.tally())
    }

    /// The tally counts the candidate's own vote, grants and refusals by
    /// id, and how many make a majority; a leader or follower has none.
    #[test]
    fn a_campaign_shows_who_granted_and_who_refused() {
        let mut node = pre_candidate();
        let t = node.tally().unwrap();
        assert!(t.pre);
        assert_eq!((t.term, t.granted_count(), t.needed), (1, 1, 3));
        assert_eq!(t.waiting(), vec![2, 3, 4, 5]);
        assert_eq!(answer(&mut node, 2, true, true), None, "still running");
        assert_eq!(answer(&mut node, 4, true, false), None, "still running");
        let t = node.tally().unwrap();
        assert_eq!(t.granted.to_vec(), vec![1, 2]);
        assert_eq!(t.refused.to_vec(), vec![4]);
        assert_eq!(t.summary(), "votes 2/3, refused n4, no answer n3 n5");
        // The third grant wins the pre-vote: a Candidate in term 1, with a
        // fresh tally of its own vote; a won round says nothing.
        assert_eq!(answer(&mut node, 3, true, true), None);
        assert_eq!(node.role(), Role::Candidate);
        let t = node.tally().unwrap();
        assert!(!t.pre);
        assert_eq!((t.term, t.granted_count()), (1, 1));
    }

    /// A pre-vote a majority refuses says so with the tally, the refusal
    /// that decided it included (the node's own tally is gone by then).
    #[test]
    fn a_lost_pre_vote_says_so_with_its_tally() {
        let mut node = pre_candidate();
        assert_eq!(answer(&mut node, 2, true, false), None);
        assert_eq!(answer(&mut node, 3, true, false), None);
        let said = answer(&mut node, 5, true, false);
        assert_eq!(node.role(), Role::Follower);
        assert_eq!(node.tally(), None);
        assert_eq!(
            said.as_deref(),
            Some("pre-vote lost: votes 1/3, refused n2 n3 n5, no answer n4")
        );
    }

    /// A round nobody answers times out when the timer fires again, and
    /// says so; ticks before that say nothing.
    #[test]
    fn a_pre_vote_nobody_answers_times_out() {
        let mut node = pre_candidate();
        let mut said = Vec::new();
        for _ in 0..40 {
            let before: Tally = node.tally().unwrap();
            node.tick();
            said.extend(before.ended(None, node.tally()));
        }
        assert!(!said.is_empty(), "40 ticks pass a 15-30 tick timeout");
        assert!(
            said.iter()
                .all(|s| s == "pre-vote timed out: votes 1/3, no answer n2 n3 n4 n5"),
            "{said:?}"
        );
        assert_eq!(node.term(), 0, "a pre-vote never raises the term");
    }
}
