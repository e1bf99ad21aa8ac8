//! The rules of a client session, as every driver's clients follow them:
//! the simulator's (`sim/clients.rs`), the live cluster's blocking client
//! and its pooled sessions (`runtime/session.rs`). They differ only in how
//! they wait and how long a [`Pause`] lasts.
//!
//! A session has one operation open at a time, always with the same
//! (client, seq) across retries, so the store applies a write at most
//! once. An attempt goes to the node the operation is pinned to, else the
//! first node asked for, else the node believed to lead, else one picked
//! at random. A `NotLeader` redirect is followed after a short pause when
//! it names another node the client can reach; with no leader known, or a
//! refusal that may pass, the client backs off. An answer a follower
//! relayed from the leader (live forwarding) names that leader, and the
//! next operation goes to it directly. At the operation's
//! deadline it gives up: a write some node accepted is recorded `info` (it
//! may still take effect), anything else `fail`.

use super::Reply;
use crate::kv::history::EventType;
use crate::kv::{ClientOutcome, Op, OpResult};
use crate::raft::NodeId;

/// How long a client waits before its next attempt, in its driver's time.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Pause {
    /// Try again at once.
    Now,
    /// Follow a redirect: about one client round trip.
    Redirect,
    /// Back off: no leader known, or a refusal that may pass.
    Backoff,
}

/// What a client does after an answer to its attempt.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Next {
    /// The operation completed with this result.
    Done(OpResult),
    /// Try again after the pause.
    Retry(Pause),
}

/// Whom a session believes leads, and how its beliefs change with each
/// answer. The caller keeps the open operation's last error, which a
/// give-up reports.
#[derive(Clone, Debug, Default)]
pub struct Session {
    /// The node last believed to lead.
    pub leader_hint: Option<NodeId>,
    /// Forget the believed leader when it does not answer in time. The
    /// live cluster does (a paused leader keeps its role and answers
    /// nothing, so the next attempt asks another node who leads); a
    /// simulated node always answers or is down, and the simulator's
    /// client keeps its belief (its pinned runs were recorded so).
    pub forget_silent_leader: bool,
}

impl Session {
    /// A session that believes no node leads yet.
    pub fn new(forget_silent_leader: bool) -> Session {
        Session {
            leader_hint: None,
            forget_silent_leader,
        }
    }

    /// The node the next attempt goes to: the one the operation is
    /// `pinned` to, else the `first` node asked for, else the believed
    /// leader, else `pick()`'s; `None` when there is none to ask.
    pub fn target(
        &self,
        pinned: Option<NodeId>,
        first: Option<NodeId>,
        pick: impl FnOnce() -> Option<NodeId>,
    ) -> Option<NodeId> {
        pinned.or(first).or(self.leader_hint).or_else(pick)
    }

    /// `target` is down: it leads no more, as far as this client knows.
    pub fn down(&mut self, target: NodeId, last_error: &mut String) -> Pause {
        self.leader_hint = None;
        *last_error = format!("node {target} is down");
        Pause::Backoff
    }

    /// What to do with `node`'s `reply` to the current attempt. `pinned`:
    /// every attempt goes to `node` whatever it says; `reachable`: whether
    /// the client can send to a node a redirect names.
    pub fn on_reply(
        &mut self,
        node: NodeId,
        reply: Reply,
        pinned: bool,
        reachable: impl Fn(NodeId) -> bool,
        last_error: &mut String,
    ) -> Next {
        match reply {
            Reply::Done(result) => Next::Done(result),
            Reply::Relayed(result, leader) => {
                // A follower forwarded it to `leader`: ask that one next.
                if !pinned && leader != node && reachable(leader) {
                    self.leader_hint = Some(leader);
                }
                Next::Done(result)
            }
            Reply::NotLeader(leader) => {
                let hint = leader.filter(|&l| l != node && reachable(l));
                self.leader_hint = hint;
                *last_error = match hint {
                    Some(l) if pinned => {
                        format!("node {node} is not the leader (it says n{l} leads)")
                    }
                    _ => format!("node {node} is not the leader"),
                };
                Next::Retry(if hint.is_some() && !pinned {
                    Pause::Redirect
                } else {
                    Pause::Backoff
                })
            }
            Reply::Refused(error) => {
                *last_error = error;
                Next::Retry(Pause::Backoff)
            }
        }
    }

    /// `node` did not answer within the attempt's time: try again at once
    /// (asking someone else, if the client forgets a silent leader).
    pub fn silent(&mut self, node: NodeId, last_error: &mut String) -> Pause {
        if self.forget_silent_leader {
            self.leader_hint = None;
            *last_error = format!("node {node} did not answer in time");
        }
        Pause::Now
    }

    /// `node` dropped the request unanswered (it was killed, or a newer
    /// request of this client replaced it there).
    pub fn dropped(&mut self, node: NodeId, last_error: &mut String) -> Pause {
        self.leader_hint = None;
        *last_error = format!("node {node} dropped the request");
        Pause::Backoff
    }
}

/// How `op` ends at its deadline: the history event that records it
/// (`info` for a write some node accepted — it may still take effect —
/// else `fail`) and what the caller is told.
pub fn give_up(op: &Op, accepted: bool, last_error: String) -> (EventType, ClientOutcome) {
    let kind = if accepted && op.is_write() {
        EventType::Info
    } else {
        EventType::Fail
    };
    let outcome = if accepted {
        ClientOutcome::Timeout
    } else {
        ClientOutcome::Unavailable(last_error)
    };
    (kind, outcome)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn put() -> Op {
        Op::Put {
            key: "x".into(),
            value: "1".into(),
        }
    }

    #[test]
    fn the_target_is_the_pinned_node_then_the_first_then_the_leader_then_a_pick() {
        let mut s = Session::new(false);
        assert_eq!(s.target(None, None, || Some(4)), Some(4));
        s.leader_hint = Some(2);
        assert_eq!(s.target(None, None, || Some(4)), Some(2));
        assert_eq!(s.target(None, Some(3), || Some(4)), Some(3));
        assert_eq!(s.target(Some(5), Some(3), || Some(4)), Some(5));
        s.leader_hint = None;
        assert_eq!(s.target(None, None, || None), None);
    }

    #[test]
    fn a_redirect_is_followed_only_to_another_reachable_node() {
        let mut s = Session::new(false);
        let mut error = String::new();
        let redirect = Reply::NotLeader(Some(2));
        let next = s.on_reply(1, redirect.clone(), false, |_| true, &mut error);
        assert_eq!(next, Next::Retry(Pause::Redirect));
        assert_eq!(
            (s.leader_hint, error.as_str()),
            (Some(2), "node 1 is not the leader")
        );
        // A node naming itself, or one out of reach, is no leader to go to.
        let next = s.on_reply(2, Reply::NotLeader(Some(2)), false, |_| true, &mut error);
        assert_eq!((next, s.leader_hint), (Next::Retry(Pause::Backoff), None));
        let next = s.on_reply(1, redirect.clone(), false, |l| l != 2, &mut error);
        assert_eq!((next, s.leader_hint), (Next::Retry(Pause::Backoff), None));
        // A client pinned to node 1 asks it again after a back-off.
        let next = s.on_reply(1, redirect, true, |_| true, &mut error);
        assert_eq!(next, Next::Retry(Pause::Backoff));
        assert_eq!(error, "node 1 is not the leader (it says n2 leads)");
    }

    #[test]
    fn a_relayed_answer_sends_the_next_operation_to_the_leader_that_served_it() {
        let mut s = Session::new(false);
        let mut error = String::new();
        let relayed = || Reply::Relayed(OpResult::Done, 3);
        let next = s.on_reply(1, relayed(), false, |_| true, &mut error);
        assert_eq!((next, s.leader_hint), (Next::Done(OpResult::Done), Some(3)));
        // Out of reach, or pinned to the node asked: the belief stays.
        s.leader_hint = None;
        let next = s.on_reply(1, relayed(), false, |l| l != 3, &mut error);
        assert_eq!((next, s.leader_hint), (Next::Done(OpResult::Done), None));
        let next = s.on_reply(1, relayed(), true, |_| true, &mut error);
        assert_eq!((next, s.leader_hint), (Next::Done(OpResult::Done), None));
    }

    #[test]
    fn silence_forgets_the_leader_only_when_told_to() {
        for forget in [false, true] {
            let mut s = Session::new(forget);
            s.leader_hint = Some(3);
            let mut error = "before".to_string();
            assert_eq!(s.silent(3, &mut error), Pause::Now);
            let expected = if forget {
                (None, "node 3 did not answer in time")
            } else {
                (Some(3), "before")
            };
            assert_eq!((s.leader_hint, error.as_str()), expected);
        }
    }

    #[test]
    fn a_refusal_or_a_node_down_backs_off() {
        let mut s = Session::new(false);
        s.leader_hint = Some(3);
        let mut error = String::new();
        assert_eq!(s.down(3, &mut error), Pause::Backoff);
        assert_eq!((s.leader_hint, error.as_str()), (None, "node 3 is down"));
        let refused = Reply::Refused("too big".into());
        let next = s.on_reply(1, refused, false, |_| true, &mut error);
        assert_eq!(
            (next, error.as_str()),
            (Next::Retry(Pause::Backoff), "too big")
        );
    }

    #[test]
    fn giving_up_records_info_only_for_an_accepted_write() {
        let get = Op::Get { key: "x".into() };
        let error = || "node 1 is down".to_string();
        assert_eq!(
            give_up(&put(), true, error()),
            (EventType::Info, ClientOutcome::Timeout)
        );
        assert_eq!(
            give_up(&put(), false, error()),
            (EventType::Fail, ClientOutcome::Unavailable(error()))
        );
        assert_eq!(give_up(&get, false, error()).0, EventType::Fail);
    }
}
