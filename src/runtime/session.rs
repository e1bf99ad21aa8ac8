//! What a blocking [`Client`](super::Client) and a pooled session of a
//! [`ClientPool`](super::ClientPool) share: the session's identity, its
//! history events and how it reaches a node. The retry rules themselves
//! are the host's ([`crate::host::session`]), the same the simulator's
//! clients follow; here a redirect is followed at once (the round trip is
//! real), a back-off lasts two ticks of the live clock, and a node that
//! does not answer in time loses the leader hint (a paused leader).

use std::sync::Arc;
use std::sync::atomic::Ordering;
use std::time::Duration;

use rand::{RngExt, SeedableRng};
use rand_chacha::ChaCha8Rng;

use super::inbox::NodeInput;
use super::lock::lock;
use super::reply::{NoReply, ReplySlot};
use super::shared::{NodeShared, Shared};
use super::view::NodeState;
use crate::host::Reply;
use crate::host::session::{self, Next, Pause, Session};
use crate::kv::history::{EventType, HistoryEvent};
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
    /// Whom it believes leads, and the rules that change its mind.
    pub(crate) rules: Session,
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
            rules: Session::new(true),
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
        let (kind, outcome) = session::give_up(op, accepted, last_error);
        if self.shared.record_history {
            if kind == EventType::Info {
                self.record(|now| HistoryEvent::info(self.process, op, now));
            } else {
                self.record(|now| HistoryEvent::fail(self.process, op, now));
            }
        }
        outcome
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

    /// How long a pause of the session's rules lasts here: a redirect is
    /// followed at once (its round trip is real).
    fn pause(&self, pause: Pause) -> Duration {
        match pause {
            Pause::Now | Pause::Redirect => Duration::ZERO,
            Pause::Backoff => self.backoff(),
        }
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
        let (reach, rng) = (&self.reach, &mut self.rng);
        let pick = || (!reach.is_empty()).then(|| reach[rng.random_range(0..reach.len())]);
        let Some(target) = self.rules.target(None, None, pick) else {
            return Err(Attempt::Retry(backoff));
        };
        let Some(node) = self.shared.node(target) else {
            self.rules.leader_hint = None;
            return Err(Attempt::Retry(backoff));
        };
        if node.state() == NodeState::Down {
            let pause = self.rules.down(target, last_error);
            return Err(Attempt::Retry(self.pause(pause)));
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
        let pause = match answer {
            Ok(reply) => {
                if let Reply::NotLeader(Some(l)) = reply
                    && self.grows
                    && !self.reach.contains(&l)
                    && self.shared.view.node(l).is_some()
                {
                    // A node that joined after this client started.
                    self.reach.push(l);
                }
                let reach = &self.reach;
                let reachable = |l| reach.contains(&l);
                match self
                    .rules
                    .on_reply(target, reply, false, reachable, last_error)
                {
                    Next::Done(result) => return Attempt::Done(result),
                    Next::Retry(pause) => pause,
                }
            }
            Err(NoReply::Timeout) => self.rules.silent(target, last_error),
            Err(NoReply::Dropped) => self.rules.dropped(target, last_error),
        };
        Attempt::Retry(self.pause(pause))
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
