//! What raftlab nodes and clients say to each other over TCP.
//!
//! Every frame on a raftlab connection is one [`Wire`] value: a Raft
//! [`Message`] between nodes, or a client's [`ClientRequest`] and the
//! node's [`ClientResponse`] on the same connection. Nodes and clients share
//! one port, so one address per node is all a client needs to know.
//!
//! The client protocol is request/response: a client sends a request and
//! waits for the response that echoes its `(session, seq)`. A node answers
//! only for itself: a follower says [`ClientReply::NotLeader`] with the
//! leader it knows, and the client goes there. A write is retried with the
//! same `(session, seq)`, so the key-value store applies it once.

use serde::{Deserialize, Serialize};

use crate::kv::{ClientId, Op, OpResult};
use crate::raft::{Index, Message, NodeId, Role, Term};

/// One frame on a raftlab TCP connection.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub enum Wire {
    /// A Raft message from one node to another.
    Raft(Message),
    /// A client's request to the node at the other end.
    Request(ClientRequest),
    /// The node's answer to a request on the same connection.
    Response(ClientResponse),
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
