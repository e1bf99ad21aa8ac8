//! [`Client`]: a client session of the live cluster, usable from any thread.
//!
//! It follows the session rules every client follows (`host/session.rs`,
//! the simulator's too): one operation open at a time; send it to the node
//! believed to lead (or a random reachable one), follow `NotLeader`
//! redirects, and when a node does not answer within the attempt timeout
//! try again — always with the same (client, seq), so the store applies a
//! write at most once. At the
//! operation's deadline it gives up: a write some node accepted is
//! recorded `info` (it may still take effect), anything else `fail`. Reads
//! go through ReadIndex, so a client cut off with a minority gets a
//! timeout, never a stale value. One live difference: a node that does not
//! answer in time (a paused leader) loses the client's leader hint, so the
//! next attempt asks another node who leads now.

use std::sync::Arc;
use std::time::{Duration, Instant};

use super::RuntimeError;
use super::inbox::NodeInput;
use super::reply::reply_slot;
use super::session::{Attempt, SessionCore};
use super::shared::{NodeShared, Shared};
use super::view::NodeState;
use crate::host::Reply;
use crate::kv::{ClientId, ClientOutcome, Op, OpResult};
use crate::raft::NodeId;

/// A client session: its history process number, its KV session id and
/// its sequence numbers. Its retry rules live in `session.rs`, shared
/// with the sessions of a [`ClientPool`](super::ClientPool).
pub struct Client {
    core: SessionCore,
}

impl Client {
    pub(crate) fn new(shared: Arc<Shared>, reach: Vec<NodeId>) -> Client {
        Client {
            core: SessionCore::new(shared, reach),
        }
    }

    /// This client's process number in the history.
    pub fn id(&self) -> u64 {
        self.core.process
    }

    /// This client's session id in the KV store.
    pub fn session(&self) -> ClientId {
        self.core.session
    }

    /// Restricts the client to `nodes`, as if it sat in their part of the
    /// network: a redirect elsewhere counts as no leader known. A
    /// follower among them still forwards to the leader it can reach.
    pub fn restrict_to(mut self, nodes: &[NodeId]) -> Client {
        self.core.reach = nodes.to_vec();
        self.core.grows = false;
        let hint = &mut self.core.rules.leader_hint;
        *hint = hint.filter(|l| nodes.contains(l));
        self
    }

    /// Sends every request to `node` alone, which answers it itself, never
    /// forwarding it to the leader: what `put … on N` means, so a
    /// follower's refusal or a minority leader's uncommitted write shows.
    pub fn pin_to(self, node: NodeId) -> Client {
        let mut client = self.restrict_to(&[node]);
        client.core.pinned = true;
        client
    }

    /// Sets `key` to `value`.
    pub fn put(&mut self, key: &str, value: &str, timeout: Duration) -> ClientOutcome {
        let (key, value) = (key.to_string(), value.to_string());
        self.submit(Op::Put { key, value }, timeout)
    }

    /// Reads `key`, linearizably (ReadIndex at the leader).
    pub fn get(&mut self, key: &str, timeout: Duration) -> ClientOutcome {
        self.submit(Op::Get { key: key.into() }, timeout)
    }

    /// Removes `key`.
    pub fn delete(&mut self, key: &str, timeout: Duration) -> ClientOutcome {
        self.submit(Op::Delete { key: key.into() }, timeout)
    }

    /// Sets `key` to `new` if it holds `old`.
    pub fn cas(&mut self, key: &str, old: &str, new: &str, timeout: Duration) -> ClientOutcome {
        let (key, old, new) = (key.into(), old.into(), new.into());
        self.submit(Op::Cas { key, old, new }, timeout)
    }

    /// A clearly stale read: what node `node`'s store holds for `key` now,
    /// without asking Raft. Not recorded in the history.
    pub fn get_stale(
        &mut self,
        node: NodeId,
        key: &str,
        timeout: Duration,
    ) -> Result<Option<String>, RuntimeError> {
        let target = self
            .core
            .shared
            .node(node)
            .ok_or(RuntimeError::UnknownNode(node))?;
        if target.state() == NodeState::Down {
            return Err(RuntimeError::NodeDown(node));
        }
        let (reply, answer) = reply_slot();
        let request = NodeInput::StaleRead {
            key: key.into(),
            reply,
        };
        target
            .inbox
            .send(request)
            .map_err(|_| RuntimeError::Stopped)?;
        match answer.wait(Instant::now() + timeout) {
            Ok(Reply::Done(OpResult::Value(v))) => Ok(v),
            _ => Err(RuntimeError::NoAnswer(node)),
        }
    }

    /// Runs one operation until it completes or `timeout` passes, and
    /// records it in the cluster's history.
    pub fn submit(&mut self, op: Op, timeout: Duration) -> ClientOutcome {
        let deadline = Instant::now() + timeout;
        self.core.begin(&op);
        let mut accepted = false;
        let mut last_error = "no node answered".to_string();
        loop {
            if self.core.shared.is_stopped() {
                last_error = "the cluster is shut down".into();
                break;
            }
            let left = deadline.saturating_duration_since(Instant::now());
            if left.is_zero() {
                break;
            }
            match self.attempt(&op, left, &mut accepted, &mut last_error) {
                Attempt::Done(result) => return self.core.complete(&op, result),
                Attempt::Retry(pause) => {
                    let left = deadline.saturating_duration_since(Instant::now());
                    std::thread::sleep(pause.min(left));
                }
                Attempt::Stopped => {
                    last_error = "the cluster is shut down".into();
                    break;
                }
            }
        }
        self.core.give_up(&op, accepted, last_error)
    }

    /// Sends the operation to one node and waits for its answer.
    fn attempt(
        &mut self,
        op: &Op,
        left: Duration,
        accepted: &mut bool,
        last_error: &mut String,
    ) -> Attempt {
        let mut wait = None;
        let slot = || {
            let (reply, answer) = reply_slot();
            wait = Some(answer);
            reply
        };
        let post = |_, node: &NodeShared, request| node.inbox.send(request).is_ok();
        let sent = self.core.send(op, left, last_error, slot, post);
        let (sent, answer) = match (sent, wait) {
            (Ok(sent), Some(answer)) => (sent, answer),
            (Err(instead), _) => return instead,
            (Ok(_), None) => return Attempt::Stopped,
        };
        let answer_got = answer.wait(Instant::now() + sent.wait);
        if answer.accepted() {
            *accepted = true;
        }
        self.core.on_answer(sent.target, answer_got, last_error)
    }
}
