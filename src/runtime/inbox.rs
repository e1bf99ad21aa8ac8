//! A node thread's mailbox: what its inbox and its control channel carry,
//! and the receiving ends it listens on ([`NodeChannels`]); and what the
//! timer thread is told ([`TimerInput`]).
//!
//! Apart from the node thread (`node.rs`) and the timer thread (`timer.rs`)
//! so that what sends to them — the cluster's shared state (`shared.rs`),
//! the clients (`client.rs`, `session.rs`, `pool.rs`) and the controls —
//! need not import the threads, which import them.

use crossbeam_channel::{Receiver, Sender};

use super::reply::ReplySlot;
use crate::kv::ClientId;
use crate::net::{ClientReply, ForwardRequest, TcpEvent, Wire};
use crate::raft::{Message, NodeId, Payload, RaftError};

/// What arrives in a node's inbox.
pub(crate) enum NodeInput {
    /// A message from a peer.
    Message(crate::raft::Message),
    /// A client's write: its session, its seq and the encoded [`Command`](crate::kv::Command)
    /// (encoded once by the client, not by the node on every attempt).
    Propose {
        client: ClientId,
        seq: u64,
        data: Payload,
        reply: ReplySlot,
    },
    /// A client's linearizable read.
    Read { key: String, reply: ReplySlot },
    /// A client's stale read of the local store.
    StaleRead { key: String, reply: ReplySlot },
    /// Several of the above, sent together (by a client pool's driver,
    /// one per node per turn): taken in order, as if sent one by one.
    Batch(Vec<NodeInput>),
    /// A client request this node must answer itself, never forwarding
    /// it to the leader (`put … on N`).
    Pinned(Box<NodeInput>),
    /// A client's request that follower `from` forwarded here, as its
    /// forward `id` (see `node/forward.rs`).
    Forwarded {
        from: NodeId,
        id: u64,
        request: ForwardRequest,
    },
    /// The leader `from`'s answer to this node's forward `id`.
    ForwardAnswer {
        from: NodeId,
        id: u64,
        reply: ClientReply,
    },
}

/// Controls for a node thread.
pub(crate) enum Control {
    Kill,
    Pause,
    Resume,
    Transfer {
        to: NodeId,
        reply: Sender<Result<(), RaftError>>,
    },
    /// Switch unsafe protocol variants (the dashboard's `bug` command).
    SetBugs(crate::raft::Bugs),
    /// Propose a membership change (on the leader).
    ConfChange {
        change: crate::raft::ConfChange,
        reply: Sender<Result<crate::raft::Index, RaftError>>,
    },
}

/// The receiving ends a node thread listens on; they outlive its thread.
#[derive(Clone)]
pub(crate) struct NodeChannels {
    pub(crate) inbox: Receiver<NodeInput>,
    pub(crate) ticker: Receiver<()>,
    pub(crate) control: Receiver<Control>,
    /// Frames from the node's TCP listener (`never()` on channels).
    pub(crate) net: Receiver<TcpEvent<Wire>>,
}

impl NodeChannels {
    /// Drops whatever a previous life left unread.
    pub(crate) fn drain(&self) {
        while self.inbox.try_recv().is_ok() {}
        while self.ticker.try_recv().is_ok() {}
        while self.control.try_recv().is_ok() {}
        while self.net.try_recv().is_ok() {}
    }
}

/// What the timer thread is told.
pub(crate) enum TimerInput {
    /// Deliver copies of `msg` after each of `delays` (cluster µs).
    Deliver { msg: Message, delays: Vec<u64> },
    /// The clock changed: recompute the next wake-up.
    Wake,
    /// Stop the thread.
    Shutdown,
}
