//! What raftlab nodes and clients say to each other over TCP.
//!
//! Every frame on a raftlab connection is one [`Wire`] value: a Raft
//! [`Message`] between nodes, or a client's [`ClientRequest`] and the
//! node's [`ClientResponse`] on the same connection. Nodes and clients share
//! one port, so one address per node is all a client needs to know.
//!
//! The client protocol is request/response: a client sends a request and
//! waits for the response that echoes its `(session, seq)`. A follower
//! that knows the leader forwards an operation there ([`Wire::Forward`],
//! on its authenticated peer link) and relays the answer
//! ([`Wire::ForwardReply`]); when it cannot, it says
//! [`ClientReply::NotLeader`] with the leader it knows, and the client
//! goes there. A write is retried with the same `(session, seq)`, so the
//! key-value store applies it once.
//!
//! Membership changes ride the same protocol: a [`ClientRequest::Change`]
//! goes to the leader, which answers with a [`ChangeReply`] once the
//! configuration entry commits. Nodes introduce themselves with
//! [`Wire::Hello`] (a node that joins later is in nobody's `--peers`), and
//! each remembers the addresses it learned.
//!
//! New variants are only ever appended: postcard encodes a variant by its
//! position, so frames of older nodes still decode.

use std::collections::BTreeMap;
use std::net::SocketAddr;

use serde::{Deserialize, Serialize};

use crate::kv::{ClientId, Op, OpResult};
use crate::raft::{ConfChange, Index, Membership, Message, NodeId, Payload, Role, Term};

/// One frame on a raftlab TCP connection.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub enum Wire {
    /// A Raft message from one node to another.
    Raft(Message),
    /// A client's request to the node at the other end.
    Request(ClientRequest),
    /// The node's answer to a request on the same connection.
    Response(ClientResponse),
    /// "I am node `id`; reach me at `addr`": the first frame on every
    /// connection a node opens to a peer, and repeated now and then, so
    /// every node learns the address of one that joined after it started.
    Hello {
        /// The sender's id.
        id: NodeId,
        /// Where the sender listens.
        addr: SocketAddr,
    },
    /// A client's operation that the sending node (a follower) passes on
    /// to the leader it knows, as its forward `id`: answered with
    /// [`Wire::ForwardReply`] carrying the same `id`. Believed only from a
    /// peer node's authenticated link.
    Forward {
        /// The forwarding node's number for it.
        id: u64,
        /// What the client asked.
        request: ForwardRequest,
    },
    /// The leader's answer to the receiver's forward `id`, which the
    /// receiver relays to its client.
    ForwardReply {
        /// The forward's number.
        id: u64,
        /// The answer, as a client would have got it from the leader.
        reply: ClientReply,
    },
}

/// A client's operation as a follower forwards it: it keeps the client's
/// session and sequence number, so a retried write applies once.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub enum ForwardRequest {
    /// A write: the encoded [`Command`](crate::kv::Command), which
    /// carries the session and number too.
    Write {
        /// The client's session id.
        client: ClientId,
        /// The client's sequence number for it.
        seq: u64,
        /// The encoded command, as the log will hold it.
        data: Payload,
    },
    /// A linearizable read of `key`.
    Read {
        /// The key.
        key: String,
    },
}

/// A client's request.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub enum ClientRequest {
    /// Run `op` (a write goes through the log; a get is a ReadIndex read).
    Op {
        /// The client's session id, unique per client.
        session: ClientId,
        /// The client's sequence number for this operation, from 1.
        seq: u64,
        /// The operation.
        op: Op,
    },
    /// Describe the node (role, term, leader): for `raftlab client status`.
    Status,
    /// Change the cluster's membership (on the leader): answered with
    /// [`ClientResponse::Change`] once the configuration entry commits.
    Change(ConfChange),
    /// The node's view of the configuration and the addresses it knows:
    /// answered with [`ClientResponse::Members`].
    Members,
}

/// A node's answer to a [`ClientRequest`].
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub enum ClientResponse {
    /// The answer to an `Op` request.
    Op {
        /// Echo of the request's session.
        session: ClientId,
        /// Echo of the request's sequence number.
        seq: u64,
        /// How it went.
        reply: ClientReply,
    },
    /// The answer to a `Status` request.
    Status(NodeStatus),
    /// The answer to a `Change` request.
    Change(ChangeReply),
    /// The answer to a `Members` request.
    Members(MembersStatus),
}

/// How a membership change went at the node asked.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub enum ChangeReply {
    /// The configuration entry at `index` committed; `membership` is the
    /// configuration now.
    Done {
        /// Index of the configuration entry.
        index: Index,
        /// The configuration after the change.
        membership: Membership,
    },
    /// This node does not lead; `leader` is the one it knows of, if any.
    NotLeader {
        /// The leader's id.
        leader: Option<NodeId>,
    },
    /// Not now, but it may work soon (the leader is new, the learner is
    /// catching up, another change is in flight): the client retries.
    Busy(String),
    /// Refused for good (the text says why: already a member, the last
    /// voter, an id out of range, a node that never introduced itself…).
    Refused(String),
    /// The leader lost its leadership before the change committed: it may
    /// or may not take effect (the text says which entry). The client
    /// looks at the new leader's configuration before trying again.
    Unknown(String),
}

/// One node's view of the cluster's membership.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct MembersStatus {
    /// The node's id.
    pub id: NodeId,
    /// The leader it knows of.
    pub leader: Option<NodeId>,
    /// The configuration it uses.
    pub membership: Membership,
    /// Whether that configuration's entry is not committed yet.
    pub pending: bool,
    /// The addresses it knows, its own included.
    pub addresses: BTreeMap<NodeId, SocketAddr>,
}

/// How an operation went at the node asked.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub enum ClientReply {
    /// It was applied (a write) or read (a get); this is the result.
    Ok(OpResult),
    /// This node does not lead; `leader` is the one it knows of, if any.
    NotLeader {
        /// The leader's id.
        leader: Option<NodeId>,
    },
    /// Refused for another reason (the text says why).
    Error(String),
}

/// One node's state, as `raftlab client status` shows it.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct NodeStatus {
    /// The node's id.
    pub id: NodeId,
    /// Its role.
    pub role: Role,
    /// Its current term.
    pub term: Term,
    /// The leader it knows of.
    pub leader: Option<NodeId>,
    /// Highest index it knows committed.
    pub commit: Index,
    /// Highest index it applied.
    pub applied: Index,
}

#[cfg(test)]
mod tests {
    use super::*;

    fn bytes(w: &Wire) -> Vec<u8> {
        postcard::to_allocvec(w).unwrap()
    }

    #[test]
    fn new_variants_come_last_so_older_frames_decode_as_before() {
        // postcard writes a variant's position: the old ones keep theirs.
        assert_eq!(bytes(&Wire::Request(ClientRequest::Status)), [1, 1]);
        assert_eq!(
            bytes(&Wire::Request(ClientRequest::Change(ConfChange::Remove(2))))[..2],
            [1, 2]
        );
        assert_eq!(bytes(&Wire::Request(ClientRequest::Members)), [1, 3]);
        let hello = Wire::Hello {
            id: 4,
            addr: "127.0.0.1:7004".parse().unwrap(),
        };
        assert_eq!(bytes(&hello)[0], 3);
        let back: Wire = postcard::from_bytes(&bytes(&hello)).unwrap();
        assert_eq!(back, hello);
        let forward = Wire::Forward {
            id: 7,
            request: ForwardRequest::Read { key: "k".into() },
        };
        assert_eq!(bytes(&forward)[0], 4);
        let back: Wire = postcard::from_bytes(&bytes(&forward)).unwrap();
        assert_eq!(back, forward);
        let answer = Wire::ForwardReply {
            id: 7,
            reply: ClientReply::NotLeader { leader: Some(2) },
        };
        assert_eq!(bytes(&answer)[0], 5);
        let reply = ClientResponse::Change(ChangeReply::Unknown("lost".into()));
        let back: ClientResponse =
            postcard::from_bytes(&postcard::to_allocvec(&reply).unwrap()).unwrap();
        assert_eq!(back, reply);
    }
}
