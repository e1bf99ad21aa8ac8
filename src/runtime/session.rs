//! What a blocking [`Client`](super::Client) and a pooled session of a
//! [`ClientPool`](super::ClientPool) share: the session's identity and its
//! retry rules, so both follow the simulator's client (`sim/clients.rs`)
//! step for step and differ only in how they wait.
//!
//! One operation is open at a time, always with the same (client, seq)
//! across retries, so the store applies a write at most once. An attempt
//! goes to the node believed to lead (or a random reachable one); a
//! `NotLeader` redirect is followed at once when it names a reachable
//! leader; a node that does not answer in time loses the leader hint; at
//! the operation's deadline the client gives up: a write some node
//! accepted is recorded `info` (it may still take effect), anything else
//! `fail`.

use std::sync::Arc;
use std::sync::atomic::Ordering;
use std::time::Duration;

use rand::{RngExt, SeedableRng};
use rand_chacha::ChaCha8Rng;

use super::node::NodeInput;
use super::reply::{NoReply, ReplySlot};
use super::shared::{NodeShared, Shared, lock};
use super::view::NodeState;
use crate::host::Reply;
use crate::kv::history::HistoryEvent;
use crate::kv::{ClientId, ClientOutcome, Command, Op, OpResult};
use crate::raft::{NodeId, Payload};

/// An attempt waits this many ticks for its node (the simulator's 200 ms).
const ATTEMPT_TICKS: u64 = 20;
/// Backoff when no leader is known, in ticks (the simulator's 20 ms).
const BACKOFF_TICKS: u64 = 2;
/// Never wait less than this for a node, however fast the clock.
const MIN_ATTEMPT: Duration = Duration::from_millis(20);

/// How one attempt ended.
pub(crate) enum Attempt {
    Done(OpResult),
    /// Try again after this long.
    Retry(Duration),
    Stopped,
}

/// An attempt that was sent: wait for its answer this long at most.
pub(crate) struct Sent {
    pub(crate) target: NodeId,
    pub(crate) wait: Duration,
}

/// A client session: its history process number, its KV session id, its
/// sequence numbers and whom it believes leads.
pub(crate) struct SessionCore {
    pub(crate) shared: Arc<Shared>,
    pub(crate) process: u64,
    /// The session id the KV store dedups retries by. Unique across
    /// cluster starts: a store recovered from disk remembers the sessions
    /// of earlier runs, and a new client must not be taken for one of them.
    pub(crate) session: ClientId,
    pub(crate) seq: u64,
    pub(crate) leader_hint: Option<NodeId>,
    /// The open write, encoded once for all its attempts.
    encoded: Option<Payload>,
    /// The nodes this client can reach (all, unless restricted).
    pub(crate) reach: Vec<NodeId>,
    /// Whether `reach` takes in nodes that joined since (not when
    /// restricted): a redirect to one is followed and remembered.
    pub(crate) grows: bool,
    /// Whether a node must answer the request itself rather than forward
    /// it to the leader (`put … on N`).
    pub(crate) pinned: bool,
    rng: ChaCha8Rng,
}

impl SessionCore {
    pub(crate) fn new(shared: Arc<Shared>, reach: Vec<NodeId>) -> SessionCore {
        let process = shared.next_client.fetch_add(1, Ordering::Relaxed);
        let session = shared.session_base.wrapping_add(process);
        SessionCore {
            shared,
            process,
            session,
            seq: 0,
            leader_hint: None,
            encoded: None,
            reach,
            grows: true,
            pinned: false,
            rng: ChaCha8Rng::seed_from_u64(process),
        }
    }

    /// Opens the next operation: a new seq, and its `invoke` event.
    pub(crate) fn begin(&mut self, op: &Op) {
        self.seq += 1;
        self.encoded = op.is_write().then(|| encode(self.session, self.seq, op));
        if self.shared.record_history {
            self.record(|now| HistoryEvent::invoke(self.process, op, now));
        }
    }

    /// The operation completed with `result`.
    pub(crate) fn complete(&mut self, op: &Op, result: OpResult) -> ClientOutcome {
        if self.shared.record_history {
            self.record(|now| HistoryEvent::ok(self.process, op, &result, now));
        }
        ClientOutcome::Ok(result)
    }

    /// The deadline passed: `info` for a write some node accepted, else `fail`.
    pub(crate) fn give_up(&mut self, op: &Op, accepted: bool, last_error: String) -> ClientOutcome {
        if self.shared.record_history {
            if accepted && op.is_write() {
                self.record(|now| HistoryEvent::info(self.process, op, now));
            } else {
                self.record(|now| HistoryEvent::fail(self.process, op, now));
            }
        }
        if accepted {
            ClientOutcome::Timeout
        } else {
            ClientOutcome::Unavailable(last_error)
        }
    }

    /// How long an attempt waits and how long a backoff lasts, at the
    /// clock's current speed.
    fn waits(&self) -> (Duration, Duration) {
        let attempt = self.shared.ticks_to_wall(ATTEMPT_TICKS).max(MIN_ATTEMPT);
        (attempt, self.backoff())
    }

    fn backoff(&self) -> Duration {
        self.shared.ticks_to_wall(BACKOFF_TICKS)
    }

    /// Sends the open operation to one node, its answer to go to the slot
    /// `slot()` makes; `post` hands the request to node `target` (or queues it
    /// to be handed over with others) and says whether its inbox is still
    /// there. `Err` says what to do instead of waiting.
    pub(crate) fn send(
        &mut self,
        op: &Op,
        left: Duration,
        last_error: &mut String,
        slot: impl FnOnce() -> ReplySlot,
        post: impl FnOnce(NodeId, &NodeShared, NodeInput) -> bool,
    ) -> Result<Sent, Attempt> {
        let (attempt_wait, backoff) = self.waits();
        let target = match self.leader_hint {
            Some(hint) => hint,
            None if self.reach.is_empty() => return Err(Attempt::Retry(backoff)),
            None => self.reach[self.rng.random_range(0..self.reach.len())],
        };
        let Some(node) = self.shared.node(target) else {
            self.leader_hint = None;
            return Err(Attempt::Retry(backoff));
        };
        if node.state() == NodeState::Down {
            self.leader_hint = None;
            *last_error = format!("node {target} is down");
            return Err(Attempt::Retry(backoff));
        }
        let reply = slot();
        let request = if op.is_write() {
            let (client, seq) = (self.session, self.seq);
            let data = self
                .encoded
                .get_or_insert_with(|| encode(client, seq, op))
                .clone();
            NodeInput::Propose {
                client: self.session,
                seq: self.seq,
                data,
                reply,
            }
        } else {
            let key = op.key().to_string();
            NodeInput::Read { key, reply }
        };
        let request = if self.pinned {
            NodeInput::Pinned(Box::new(request))
        } else {
            request
        };
        if !post(target, node, request) {
            return Err(Attempt::Stopped);
        }
        Ok(Sent {
            target,
            wait: attempt_wait.min(left),
        })
    }

    /// What to do after the attempt sent to `target` got `answer`.
    pub(crate) fn on_answer(
        &mut self,
        target: NodeId,
        answer: Result<Reply, NoReply>,
        last_error: &mut String,
    ) -> Attempt {
        match answer {
            Ok(Reply::Done(result)) => Attempt::Done(result),
            Ok(Reply::NotLeader(leader)) => {
                if let Some(l) = leader
                    && self.grows
                    && !self.reach.contains(&l)
                    && self.shared.view.node(l).is_some()
                {
                    // A node that joined after this client started.
                    self.reach.push(l);
                }
                let hint = leader.filter(|&l| l != target && self.reach.contains(&l));
                self.leader_hint = hint;
                *last_error = format!("node {target} is not the leader");
                let pause = if hint.is_some() {
                    Duration::ZERO
                } else {
                    self.backoff()
                };
                Attempt::Retry(pause)
            }
            Ok(Reply::Refused(e)) => {
                *last_error = e;
                Attempt::Retry(self.backoff())
            }
            Err(NoReply::Timeout) => {
                self.leader_hint = None;
                *last_error = format!("node {target} did not answer in time");
                Attempt::Retry(Duration::ZERO)
            }
            Err(NoReply::Dropped) => {
                // The node dropped the request: it was killed, or this
                // client's newer request replaced it there.
                self.leader_hint = None;
                *last_error = format!("node {target} dropped the request");
                Attempt::Retry(self.backoff())
            }
        }
    }

    /// Records the event `make` builds for the time now. The time is
    /// taken under the history's lock, so the history is in time order and
    /// a prefix of it is a cut at one instant (see `observe::history`).
    fn record(&self, make: impl FnOnce(u64) -> HistoryEvent) {
        let mut history = lock(&self.shared.history);
        let now = self.shared.now_us();
        history.push(make(now));
    }
}

/// The log entry bytes of write `op` as (client, seq).
fn encode(client: ClientId, seq: u64, op: &Op) -> Payload {
    Command::encode_payload(client, seq, op)
}
