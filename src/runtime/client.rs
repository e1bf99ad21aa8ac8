//! [`Client`]: a client session of the live cluster, usable from any thread.
//!
//! It follows the simulator's client (`sim/clients.rs`) step for step: one
//! operation open at a time; send it to the node believed to lead (or a
//! random reachable one), follow `NotLeader` redirects, and when a node
//! does not answer within the attempt timeout try again — always with the
//! same (client, seq), so the store applies a write at most once. At the
//! operation's deadline it gives up: a write some node accepted is
//! recorded `info` (it may still take effect), anything else `fail`. Reads
//! go through ReadIndex, so a client cut off with a minority gets a
//! timeout, never a stale value. One live difference: a node that does not
//! answer in time (a paused leader) loses the client's leader hint, so the
//! next attempt asks another node who leads now.

use std::sync::Arc;
use std::time::{Duration, Instant};

use rand::{RngExt, SeedableRng};
use rand_chacha::ChaCha8Rng;

use super::RuntimeError;
use super::node::{NodeInput, Reply};
use super::reply::{NoReply, reply_slot};
use super::shared::{Shared, lock};
use super::view::NodeState;
use crate::kv::history::HistoryEvent;
use crate::kv::{ClientId, ClientOutcome, Command, Op, OpResult};
use crate::raft::NodeId;

/// An attempt waits this many ticks for its node (the simulator's 200 ms).
const ATTEMPT_TICKS: u64 = 20;
/// Backoff when no leader is known, in ticks (the simulator's 20 ms).
const BACKOFF_TICKS: u64 = 2;
/// Never wait less than this for a node, however fast the clock.
const MIN_ATTEMPT: Duration = Duration::from_millis(20);

/// A client session: its history process number, its KV session id and
/// its sequence numbers.
pub struct Client {
    shared: Arc<Shared>,
    process: u64,
    /// The session id the KV store dedups retries by. Unique across
    /// cluster starts: a store recovered from disk remembers the sessions
    /// of earlier runs, and a new client must not be taken for one of them.
    session: ClientId,
    seq: u64,
    leader_hint: Option<NodeId>,
    /// The nodes this client can reach (all, unless restricted).
    reach: Vec<NodeId>,
    rng: ChaCha8Rng,
}

/// How one attempt ended.
enum Attempt {
    Done(OpResult),
    /// Try again after this long.
    Retry(Duration),
    Stopped,
}

impl Client {
    pub(crate) fn new(shared: Arc<Shared>, reach: Vec<NodeId>) -> Client {
        let process = shared
            .next_client
            .fetch_add(1, std::sync::atomic::Ordering::Relaxed);
        let session = shared.session_base.wrapping_add(process);
        Client {
            shared,
            process,
            session,
            seq: 0,
            leader_hint: None,
            reach,
            rng: ChaCha8Rng::seed_from_u64(process),
        }
    }

    /// This client's process number in the history.
    pub fn id(&self) -> u64 {
        self.process
    }

    /// This client's session id in the KV store.
    pub fn session(&self) -> ClientId {
        self.session
    }

    /// Restricts the client to `nodes`, as if it sat in their part of the
    /// network: a redirect elsewhere counts as no leader known.
    pub fn restrict_to(mut self, nodes: &[NodeId]) -> Client {
        self.reach = nodes.to_vec();
        self.leader_hint = self.leader_hint.filter(|l| nodes.contains(l));
        self
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
        self.seq += 1;
        let deadline = Instant::now() + timeout;
        self.record(HistoryEvent::invoke(
            self.process,
            &op,
            self.shared.now_us(),
        ));
        let mut accepted = false;
        let mut last_error = "no node answered".to_string();
        loop {
            if self.shared.is_stopped() {
                last_error = "the cluster is shut down".into();
                break;
            }
            let left = deadline.saturating_duration_since(Instant::now());
            if left.is_zero() {
                break;
            }
            match self.attempt(&op, left, &mut accepted, &mut last_error) {
                Attempt::Done(result) => {
                    let ok = HistoryEvent::ok(self.process, &op, &result, self.shared.now_us());
                    self.record(ok);
                    return ClientOutcome::Ok(result);
                }
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
        self.give_up(&op, accepted, last_error)
    }

    /// The deadline passed: `info` for a write some node accepted, else `fail`.
    fn give_up(&mut self, op: &Op, accepted: bool, last_error: String) -> ClientOutcome {
        let now = self.shared.now_us();
        if accepted && op.is_write() {
            self.record(HistoryEvent::info(self.process, op, now));
        } else {
            self.record(HistoryEvent::fail(self.process, op, now));
        }
        if accepted {
            ClientOutcome::Timeout
        } else {
            ClientOutcome::Unavailable(last_error)
        }
    }

    /// Sends the operation to one node and waits for its answer.
    fn attempt(
        &mut self,
        op: &Op,
        left: Duration,
        accepted: &mut bool,
        last_error: &mut String,
    ) -> Attempt {
        let (attempt_wait, backoff) = {
            let clock = lock(&self.shared.clock);
            let attempt = clock.ticks_to_wall(ATTEMPT_TICKS).max(MIN_ATTEMPT);
            (attempt, clock.ticks_to_wall(BACKOFF_TICKS))
        };
        let target = match self.leader_hint {
            Some(hint) => hint,
            None if self.reach.is_empty() => return Attempt::Retry(backoff),
            None => self.reach[self.rng.random_range(0..self.reach.len())],
        };
        let Some(node) = self.shared.node(target) else {
            self.leader_hint = None;
            return Attempt::Retry(backoff);
        };
        if node.state() == NodeState::Down {
            self.leader_hint = None;
            *last_error = format!("node {target} is down");
            return Attempt::Retry(backoff);
        }
        let (reply, answer) = reply_slot();
        let request = if op.is_write() {
            let command = Command {
                client: self.session,
                seq: self.seq,
                op: op.clone(),
            };
            NodeInput::Propose { command, reply }
        } else {
            let key = op.key().to_string();
            NodeInput::Read { key, reply }
        };
        if node.inbox.send(request).is_err() {
            return Attempt::Stopped;
        }
        let until = Instant::now() + attempt_wait.min(left);
        let answer_got = answer.wait(until);
        if answer.accepted() {
            *accepted = true;
        }
        match answer_got {
            Ok(Reply::Done(result)) => Attempt::Done(result),
            Ok(Reply::NotLeader(leader)) => {
                let hint = leader.filter(|&l| l != target && self.reach.contains(&l));
                self.leader_hint = hint;
                *last_error = format!("node {target} is not the leader");
                let pause = if hint.is_some() {
                    Duration::ZERO
                } else {
                    backoff
                };
                Attempt::Retry(pause)
            }
            Ok(Reply::Refused(e)) => {
                *last_error = e;
                Attempt::Retry(backoff)
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
                Attempt::Retry(backoff)
            }
        }
    }

    fn record(&self, event: HistoryEvent) {
        if self.shared.record_history {
            lock(&self.shared.history).push(event);
        }
    }
}
