//! Leader forwarding: a follower passes a client's operation to the
//! leader it knows and relays the answer, so a client that reaches any
//! node of the majority gets its answer (the original design: "operations
//! are forwarded to the leader if necessary").
//!
//! This is network plumbing only; the client-session rules stay where
//! they are. The request keeps its client id and sequence number, so a
//! retried write — forwarded again, maybe to a new leader — is applied
//! once by the store's sessions. The follower numbers each forward and
//! keeps where its answer goes; the leader serves the request as its own
//! client's and sends the answer back with that number. Forwards and
//! answers travel node to node as Raft messages do: over TCP on the
//! authenticated peer links ([`Wire::Forward`](crate::net::Wire::Forward),
//! [`Wire::ForwardReply`](crate::net::Wire::ForwardReply)), in one
//! process through the inboxes; a link the fabric cuts carries neither.
//!
//! Redirection stays the fallback: a follower that knows no leader, whose
//! forward cannot leave (a cut link, too many in flight) or whose forward
//! goes unanswered (the leader died, a link broke) answers `NotLeader`
//! with the leader it knows, and the client goes on as before. Only the
//! follower forwards, once: a leader that lost its leadership answers
//! `NotLeader` itself, which the follower relays. A request pinned to one
//! node (`put … on N` in the console or a script) is never forwarded.

use std::collections::BTreeMap;

use super::{NodeThread, Reply, ReplyTo};
use crate::kv::Command;
use crate::net::{ClientReply, ForwardRequest};
use crate::raft::{NodeId, Role};

/// Ticks a forward waits for the leader's answer before the client is
/// sent to the leader itself: 0.5 s at the node's default 10 ms tick,
/// within the 1 s `raftlab client` gives one node, and longer than the
/// longest election timeout (30 ticks: a leader that answers nothing for
/// that long is gone or cut off).
const FORWARD_TICKS: u64 = 50;
/// Most forwards waiting at once; past it, clients are redirected.
const MAX_FORWARDS: usize = 4096;

/// A forward waiting for the leader's answer.
struct Waiting {
    /// The node it was passed to.
    to: NodeId,
    /// Where the answer goes.
    reply: ReplyTo,
    /// The tick it was sent at.
    at: u64,
}

/// The forwards a follower sent and waits for, by number.
#[derive(Default)]
pub(crate) struct Forwards {
    next: u64,
    waiting: BTreeMap<u64, Waiting>,
    ticks: u64,
    /// The leader the forwards waiting were sent to (when last looked at).
    leader: Option<NodeId>,
}

impl Forwards {
    /// Whether as many forwards wait as may.
    fn full(&self) -> bool {
        self.waiting.len() >= MAX_FORWARDS
    }

    /// The number of the next forward.
    fn next_id(&mut self) -> u64 {
        self.next += 1;
        self.next
    }

    /// Files forward `id`, sent to `to`, its answer to go to `reply`.
    fn add(&mut self, id: u64, to: NodeId, reply: ReplyTo) {
        let at = self.ticks;
        self.waiting.insert(id, Waiting { to, reply, at });
        self.leader = Some(to);
    }

    /// Takes forward `id`, if node `from` is the one it went to.
    fn take(&mut self, from: NodeId, id: u64) -> Option<ReplyTo> {
        if self.waiting.get(&id)?.to != from {
            return None;
        }
        self.waiting.remove(&id).map(|w| w.reply)
    }

    /// Counts a tick; takes the forwards that waited too long.
    fn tick(&mut self) -> Vec<ReplyTo> {
        self.ticks += 1;
        let ticks = self.ticks;
        self.take_where(|w| ticks.saturating_sub(w.at) > FORWARD_TICKS)
    }

    /// Takes the forwards sent to another node than `leader`, when the
    /// leader changed: that one will not answer them.
    fn not_to(&mut self, leader: Option<NodeId>) -> Vec<ReplyTo> {
        if self.waiting.is_empty() || self.leader == leader {
            return Vec::new();
        }
        self.leader = leader;
        self.take_where(|w| Some(w.to) != leader)
    }

    fn take_where(&mut self, stale: impl Fn(&Waiting) -> bool) -> Vec<ReplyTo> {
        let ids: Vec<u64> = self
            .waiting
            .iter()
            .filter(|(_, w)| stale(w))
            .map(|(&id, _)| id)
            .collect();
        ids.into_iter()
            .filter_map(|id| self.waiting.remove(&id))
            .map(|w| w.reply)
            .collect()
    }
}

impl Reply {
    /// The answer as the wire carries it.
    pub(crate) fn into_wire(self) -> ClientReply {
        match self {
            Reply::Done(result) | Reply::Relayed(result, _) => ClientReply::Ok(result),
            Reply::NotLeader(leader) => ClientReply::NotLeader { leader },
            Reply::Refused(e) => ClientReply::Error(e),
        }
    }

    /// An answer the wire carried.
    pub(crate) fn from_wire(reply: ClientReply) -> Reply {
        match reply {
            ClientReply::Ok(result) => Reply::Done(result),
            ClientReply::NotLeader { leader } => Reply::NotLeader(leader),
            ClientReply::Error(e) => Reply::Refused(e),
        }
    }
}

/// The write a client asked for over TCP, as a forward carries it.
pub(crate) fn write_request(session: u64, seq: u64, op: &crate::kv::Op) -> ForwardRequest {
    ForwardRequest::Write {
        client: session,
        seq,
        data: Command::encode_payload(session, seq, op),
    }
}

impl NodeThread {
    /// The leader to pass a client's request to: the one this node knows,
    /// when it is not this node.
    fn forward_target(&self) -> Option<NodeId> {
        if self.replica.node().role() == Role::Leader {
            return None;
        }
        self.replica.node().leader().filter(|&l| l != self.id)
    }

    /// Forwards `request` to the leader when `may_forward` and this node
    /// can (see [`forward`](Self::forward)); else serves it here, which
    /// on a follower answers `NotLeader` with the leader it knows.
    pub(super) fn forward_or_serve(
        &mut self,
        request: ForwardRequest,
        reply: ReplyTo,
        may_forward: bool,
    ) {
        let reply = if may_forward {
            match self.forward(&request, reply) {
                Ok(()) => return,
                Err(reply) => reply,
            }
        } else {
            reply
        };
        self.serve(request, reply);
    }

    /// Serves a client's request here, its answer to go to `reply`.
    fn serve(&mut self, request: ForwardRequest, reply: ReplyTo) {
        match request {
            ForwardRequest::Write { client, seq, data } => {
                self.queue_write(client, seq, data, reply);
            }
            ForwardRequest::Read { key } => {
                // It sees the writes taken before it proposed, in order.
                self.propose_pending();
                self.read(key, reply);
            }
        }
    }

    /// Passes `request` to the leader, its answer to go to `reply`; gives
    /// `reply` back when it cannot (no leader known, the link is cut, too
    /// many wait), for the node to answer itself.
    fn forward(&mut self, request: &ForwardRequest, reply: ReplyTo) -> Result<(), ReplyTo> {
        let Some(leader) = self.forward_target() else {
            return Err(reply);
        };
        if self.forwards.full() {
            return Err(reply);
        }
        let id = self.forwards.next_id();
        if !self.shared.forward(self.id, leader, id, request) {
            return Err(reply);
        }
        if matches!(request, ForwardRequest::Write { .. }) {
            // It may take effect now: a client that gives up must say its
            // outcome is unknown.
            reply.accept();
        }
        self.forwards.add(id, leader, reply);
        Ok(())
    }

    /// Node `from` forwarded a client's request here (its forward `id`):
    /// serve it as this node's own client's, the answer going back there.
    pub(super) fn serve_forwarded(&mut self, from: NodeId, id: u64, request: ForwardRequest) {
        let reply = ReplyTo::Peer {
            shared: self.shared.clone(),
            from: self.id,
            to: from,
            id,
        };
        self.serve(request, reply);
    }

    /// Node `from` answered this node's forward `id`: relay it, naming
    /// `from` as the leader that served it (so an in-process client goes
    /// there directly next time, as it would after a redirect). A
    /// refusal is definite — the leader refuses a write only before it
    /// appends it — so the acceptance set when it was forwarded is taken
    /// back; after any other answer the write may still apply.
    pub(super) fn forward_answered(&mut self, from: NodeId, id: u64, reply: ClientReply) {
        if let Some(to) = self.forwards.take(from, id) {
            if let ClientReply::Error(_) = reply {
                to.retract();
            }
            let reply = match Reply::from_wire(reply) {
                Reply::Done(result) => Reply::Relayed(result, from),
                other => other,
            };
            to.send(reply, &mut self.wakes);
        }
    }

    /// Sends the clients of forwards that will not be answered — waited
    /// too long (`tick`), or went to a former leader — to the leader this
    /// node knows now.
    pub(super) fn settle_forwards(&mut self, tick: bool) {
        let leader = self.replica.node().leader();
        let mut stale = self.forwards.not_to(leader);
        if tick {
            stale.extend(self.forwards.tick());
        }
        for reply in stale {
            reply.send(Reply::NotLeader(leader), &mut self.wakes);
        }
    }
}
