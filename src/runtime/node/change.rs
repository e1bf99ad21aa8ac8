//! Membership changes asked for over TCP (`raftlab client add|promote|
//! remove`), handled by the node thread itself: a node of a multi-process
//! cluster has no in-process [`Cluster`](super::super::Cluster) to drive
//! the change for it.
//!
//! A follower answers [`ChangeReply::NotLeader`] with the leader it knows,
//! and the client goes there. The leader checks what Raft does not know —
//! an id within 1 to 9, and for a new node an address to reach it at
//! (it must have introduced itself with a hello) — then proposes the
//! change and keeps the client's connection until the configuration entry
//! commits. If it loses its leadership first, the client is told the
//! outcome is unknown ([`ChangeReply::Unknown`]) and looks for itself. Refusals that may pass (the leader is new, the
//! learner is catching up, another change is in flight) are
//! [`ChangeReply::Busy`], which the client retries; the others are final.
//! The thread also logs when its own node enters or leaves the
//! configuration, so a removed node says so.

use super::{NodeThread, Replier};
use crate::net::{ChangeReply, ClientResponse, MembersStatus, Wire};
use crate::raft::{ConfChange, Index, Node, NodeId, RaftError, Role, Term};
use crate::runtime::MAX_NODES;
use crate::runtime::RuntimeError;
use crate::runtime::membership::typed;

/// Answers the clients whose changes committed at node `id` (`node`);
/// with `lost`, the others too (the node is no longer the leader that
/// proposed them).
pub(super) fn answer_changes(
    id: NodeId,
    node: &Node,
    changes: &mut Vec<PendingChange>,
    lost: bool,
) {
    if changes.is_empty() {
        return;
    }
    let commit = node.status().commit;
    let log = node.log();
    for pending in std::mem::take(changes) {
        // Committed, and still the entry this leader appended (a
        // compacted entry was committed by definition).
        let ours = log.term_at(pending.index).is_none_or(|t| t == pending.term);
        let answer = if commit >= pending.index && ours {
            ChangeReply::Done {
                index: pending.index,
                membership: node.membership(),
            }
        } else if lost || !ours {
            ChangeReply::Unknown(format!(
                "node {id} lost its leadership before `{}` (log index {}) committed; \
                 it may still take effect: see `raftlab client status`",
                pending.change, pending.index
            ))
        } else {
            changes.push(pending);
            continue;
        };
        let _ = pending
            .reply
            .send(&Wire::Response(ClientResponse::Change(answer)));
    }
}

/// A change this leader proposed, waiting for its entry to commit.
pub(super) struct PendingChange {
    change: ConfChange,
    index: Index,
    term: Term,
    reply: Replier,
}

impl NodeThread {
    /// A client asks for `change`.
    pub(super) fn change(&mut self, change: ConfChange, reply: Replier) {
        let answer = |reply: &Replier, answer: ChangeReply| {
            let _ = reply.send(&Wire::Response(ClientResponse::Change(answer)));
        };
        if !self.remote {
            // The process that runs the whole cluster starts and links
            // new nodes; a change made behind its back would name a node
            // nobody starts.
            let text = "this node runs in a raftlab process that holds the whole cluster: \
                        change its membership there (`add N` in the dashboard's console)";
            return answer(&reply, ChangeReply::Refused(text.into()));
        }
        let status = self.replica.node().status();
        if status.role != Role::Leader {
            let leader = status.leader.filter(|&l| l != self.id);
            return answer(&reply, ChangeReply::NotLeader { leader });
        }
        let id = change.node();
        if !(1..=MAX_NODES as crate::raft::NodeId).contains(&id) {
            let e = RuntimeError::NodeIdOutOfRange(id);
            return answer(&reply, ChangeReply::Refused(e.to_string()));
        }
        let membership = self.replica.node().membership();
        if let ConfChange::AddLearner(_) = change
            && !membership.contains(id)
            && id != self.id
            && self
                .shared
                .transport(self.id)
                .is_some_and(|t| t.peer_addr(id).is_none())
        {
            let text = format!(
                "node {id} has not introduced itself: start it with \
                 `raftlab node --id {id} --join --peers …` first"
            );
            return answer(&reply, ChangeReply::Refused(text));
        }
        match self.replica.node_mut().propose_conf_change(change) {
            Ok(index) => {
                self.event(format!("proposed for a client: {change} at {index}"));
                self.changes.push(PendingChange {
                    change,
                    index,
                    term: status.term,
                    reply,
                });
            }
            Err(RaftError::NotLeader { leader }) => {
                answer(&reply, ChangeReply::NotLeader { leader });
            }
            Err(
                e @ (RaftError::LeaderNotReady
                | RaftError::LearnerBehind { .. }
                | RaftError::ChangeInProgress { .. }),
            ) => {
                let text = typed(RuntimeError::Raft(e)).to_string();
                answer(&reply, ChangeReply::Busy(text));
            }
            Err(e) => {
                let text = typed(RuntimeError::Raft(e)).to_string();
                answer(&reply, ChangeReply::Refused(text));
            }
        }
    }

    /// Answers a `Members` request: the configuration and the addresses.
    pub(super) fn members(&self, reply: &Replier) {
        let status = MembersStatus {
            id: self.id,
            leader: self.replica.node().leader(),
            membership: self.replica.node().membership(),
            pending: self.replica.node().membership_pending(),
            addresses: self.shared.known_addresses(self.id),
        };
        let _ = reply.send(&Wire::Response(ClientResponse::Members(status)));
    }

    /// In a multi-process cluster, logs when this node enters or leaves
    /// the configuration (a removed node keeps running, out of it).
    pub(super) fn note_membership(&mut self) {
        if !self.remote {
            return;
        }
        let membership = self.replica.node().membership();
        let now = if membership.is_voter(self.id) {
            Some(true)
        } else if membership.is_learner(self.id) {
            Some(false)
        } else {
            None
        };
        let Some(before) = self.member.replace(now) else {
            return;
        };
        if before == now {
            return;
        }
        let text = match now {
            Some(true) => format!("is now a voter ({membership})"),
            Some(false) => format!("is now a learner ({membership})"),
            None => format!(
                "was removed from the cluster ({membership}); it keeps running but takes \
                 no part until it is added again"
            ),
        };
        self.event(text);
    }
}
