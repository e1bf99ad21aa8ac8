//! Clients: the background load and the foreground [`Sim::submit`].
//!
//! A client has at most one operation open (it is one "process" of the
//! history). It sends the operation to the node it believes leads — or the
//! node asked for, or a random one — follows `NotLeader` redirects, and
//! when a node does not answer within the attempt timeout tries again,
//! always with the same (client, seq) so a write is applied at most once.
//! At the operation's deadline it gives up: a write some node accepted is
//! recorded `info` (it may still take effect), anything else `fail`.
//! Writes complete when the node they were proposed at applies them; reads
//! go through ReadIndex and are answered once the node has applied the
//! confirmed index.

use std::collections::BTreeMap;

use rand::RngExt;

use super::events::{ClientNote, Event, Note};
use super::{ClientOutcome, Sim, Violation};
use crate::host::session::{self, Next, Pause, Session};
use crate::host::{Reply, Write};
use crate::kv::history::{EventType, HistoryEvent};
use crate::kv::{Command, Op, OpResult};
use crate::raft::{NodeId, Payload};

/// Delay before retrying at a node a redirect named (one client round trip).
const REDIRECT_US: u64 = 1_000;
/// Delay before retrying when no leader is known.
const BACKOFF_US: u64 = 20_000;

/// One client session.
pub(super) struct Client {
    /// History process id, also the KV client id.
    process: u64,
    /// Background clients start operations by themselves.
    background: bool,
    /// Sequence number of the latest operation.
    seq: u64,
    /// Whom it believes leads, and the rules that change its mind.
    session: Session,
    /// Bumped whenever a timer is set; older timers are ignored.
    generation: u64,
    /// Attempts sent so far, numbering them.
    attempts: u64,
    pending: Option<Pending>,
    /// The foreground client's finished outcome, for `submit`.
    pub(super) done: Option<ClientOutcome>,
    /// Last value seen per key, to build `cas` operations that may succeed.
    seen: BTreeMap<String, String>,
}

/// The open operation of a client.
struct Pending {
    op: Op,
    seq: u64,
    deadline: u64,
    /// Where to send the first attempt (foreground `target`).
    first_target: Option<NodeId>,
    /// The only node every attempt goes to (a client connected to it
    /// alone: `put … on N` at the dashboard's console).
    pinned: Option<NodeId>,
    /// Some node accepted it: a write may take effect.
    accepted: bool,
    /// The number of the attempt waiting for an answer, and its node.
    attempt: Option<(u64, NodeId)>,
    last_error: String,
}

/// Whom a node's replica answers: one attempt of one client. An answer
/// to any other attempt than the client's current one is stale.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(super) struct SimWaiter {
    client: usize,
    attempt: u64,
}

impl Client {
    pub(super) fn new(process: u64, background: bool) -> Client {
        Client {
            process,
            background,
            seq: 0,
            session: Session::new(false),
            generation: 0,
            attempts: 0,
            pending: None,
            done: None,
            seen: BTreeMap::new(),
        }
    }

    /// Whether an operation is open.
    pub(super) fn is_busy(&self) -> bool {
        self.pending.is_some()
    }
}

impl Sim {
    /// A foreground client operation: sends `op` to `target` (or the known
    /// leader), follows redirects and retries with the same (client, seq),
    /// and runs the simulation until it completes or `timeout_us` passes.
    pub fn submit(
        &mut self,
        op: Op,
        target: Option<NodeId>,
        timeout_us: u64,
    ) -> Result<ClientOutcome, Violation> {
        self.stopped()?;
        if let Some(t) = target
            && self.slot(t).is_none()
        {
            return Ok(ClientOutcome::Unavailable(format!(
                "node {t} is not part of the cluster"
            )));
        }
        let c = self.clients.len() - 1;
        self.clients[c].done = None;
        self.start_op(c, op, timeout_us, target)?;
        loop {
            if let Some(outcome) = self.clients[c].done.take() {
                return Ok(outcome);
            }
            if self.queue.peek_time().is_none() {
                return Ok(ClientOutcome::Unavailable("the simulation stopped".into()));
            }
            self.step_event()?;
        }
    }

    /// Several foreground operations at once, each from its own client
    /// session, started at the same instant: runs the simulation until all
    /// have completed or timed out, and returns their outcomes in order.
    pub fn submit_concurrent(
        &mut self,
        ops: Vec<(Op, Option<NodeId>)>,
        timeout_us: u64,
    ) -> Result<Vec<ClientOutcome>, Violation> {
        self.stopped()?;
        // Foreground sessions beyond the first are added on demand; each is
        // a history process of its own.
        let foreground: Vec<usize> = (0..self.clients.len())
            .filter(|&c| !self.clients[c].background)
            .collect();
        let mut sessions = foreground;
        while sessions.len() < ops.len() {
            let process = self.clients.len() as u64 + 1;
            self.clients.push(Client::new(process, false));
            sessions.push(self.clients.len() - 1);
        }
        let mut outcomes: Vec<Option<ClientOutcome>> = vec![None; ops.len()];
        for (k, (op, target)) in ops.into_iter().enumerate() {
            let c = sessions[k];
            if let Some(t) = target
                && self.slot(t).is_none()
            {
                outcomes[k] = Some(ClientOutcome::Unavailable(format!(
                    "node {t} is not part of the cluster"
                )));
                continue;
            }
            self.clients[c].done = None;
            self.start_op(c, op, timeout_us, target)?;
        }
        loop {
            for (k, outcome) in outcomes.iter_mut().enumerate() {
                if outcome.is_none() {
                    *outcome = self.clients[sessions[k]].done.take();
                }
            }
            if outcomes.iter().all(Option::is_some) {
                return Ok(outcomes.into_iter().flatten().collect());
            }
            if self.queue.peek_time().is_none() {
                let stopped = ClientOutcome::Unavailable("the simulation stopped".into());
                return Ok(outcomes
                    .into_iter()
                    .map(|o| o.unwrap_or_else(|| stopped.clone()))
                    .collect());
            }
            self.step_event()?;
        }
    }

    /// A clearly stale read: what node `node`'s state machine holds for
    /// `key` right now, without asking Raft. Not recorded in the history.
    pub fn submit_stale_read(&mut self, node: NodeId, key: &str) -> Option<Option<String>> {
        let value = self.local_get(node, key);
        self.note(Note::Text(format!("stale read n{node} {key} → {value:?}")));
        value
    }

    /// Schedules each background client's first operation.
    pub(super) fn schedule_first_ops(&mut self) {
        for c in 0..self.clients.len() {
            if self.clients[c].background {
                let at = self.now + self.think_time();
                self.set_timer(c, at);
            }
        }
    }

    /// A client's timer fired.
    pub(super) fn client_timer(&mut self, c: usize, generation: u64) -> Result<(), Violation> {
        let Some(client) = self.clients.get(c) else {
            return Ok(());
        };
        if client.generation != generation {
            return Ok(());
        }
        match &client.pending {
            None if client.background => self.start_background_op(c),
            None => Ok(()),
            Some(p) if self.now >= p.deadline => {
                self.give_up(c);
                Ok(())
            }
            Some(p) => {
                if let Some((_, node)) = p.attempt {
                    // Its node did not answer in time.
                    let client = &mut self.clients[c];
                    if let Some(p) = client.pending.as_mut() {
                        client.session.silent(node, &mut p.last_error);
                    }
                }
                self.attempt(c)
            }
        }
    }

    fn start_background_op(&mut self, c: usize) -> Result<(), Violation> {
        if self.opts.max_ops > 0 && self.ops_started >= self.opts.max_ops {
            return Ok(());
        }
        self.ops_started += 1;
        let op = self.random_op(c);
        self.start_op(c, op, self.opts.op_timeout_us, None)
    }

    fn random_op(&mut self, c: usize) -> Op {
        let rng = &mut self.client_rng;
        let key = self.key_names[rng.random_range(0..self.key_names.len())].clone();
        let client = &self.clients[c];
        let fresh = format!("{}.{}", client.process, client.seq + 1);
        match rng.random_range(0..100) {
            0..40 => Op::Get { key },
            40..70 => Op::Put { key, value: fresh },
            70..80 => Op::Delete { key },
            _ => {
                let old = match client.seen.get(&key) {
                    Some(v) if rng.random_bool(0.8) => v.clone(),
                    _ => format!("{}.0", client.process),
                };
                Op::Cas {
                    key,
                    old,
                    new: fresh,
                }
            }
        }
    }

    pub(super) fn start_op(
        &mut self,
        c: usize,
        op: Op,
        timeout_us: u64,
        target: Option<NodeId>,
    ) -> Result<(), Violation> {
        let now = self.now;
        let client = &mut self.clients[c];
        client.seq += 1;
        let (process, seq) = (client.process, client.seq);
        client.pending = Some(Pending {
            op: op.clone(),
            seq,
            deadline: now.saturating_add(timeout_us),
            first_target: target,
            pinned: None,
            accepted: false,
            attempt: None,
            last_error: "no node answered".to_string(),
        });
        self.history.push(HistoryEvent::invoke(process, &op, now));
        self.note(Note::Client(Box::new(ClientNote::Invoke { process, op })));
        self.attempt(c)
    }

    /// Starts an operation of client `c` that goes to `node` alone, every
    /// attempt, redirects or not: a client connected only to that node.
    pub(super) fn start_op_on(
        &mut self,
        c: usize,
        op: Op,
        timeout_us: u64,
        node: NodeId,
    ) -> Result<(), Violation> {
        self.start_op(c, op, timeout_us, Some(node))?;
        if let Some(p) = self.clients[c].pending.as_mut() {
            p.pinned = Some(node);
        }
        Ok(())
    }

    /// Sends the open operation to a node.
    fn attempt(&mut self, c: usize) -> Result<(), Violation> {
        let n = self.nodes.len();
        let pick = self.client_rng.random_range(1..=n as NodeId);
        let client = &mut self.clients[c];
        let process = client.process;
        let Some(pending) = client.pending.as_mut() else {
            return Ok(());
        };
        let first = pending.first_target.take();
        let target = client.session.target(pending.pinned, first, || Some(pick));
        let target = target.unwrap_or(pick);
        pending.attempt = None;
        let (seq, op) = (pending.seq, pending.op.clone());
        if !self.is_up(target) {
            let client = &mut self.clients[c];
            if let Some(p) = client.pending.as_mut() {
                let pause = client.session.down(target, &mut p.last_error);
                self.retry_after(c, pause_us(pause));
            }
            return Ok(());
        }
        let waiter = self.set_attempt(c, target);
        let timeout = self.opts.attempt_timeout_us;
        self.retry_after(c, timeout);
        if op.is_write() {
            let data = Command {
                client: process,
                seq,
                op,
            }
            .encode();
            let write = Write {
                client: process,
                seq,
                data: Payload::from(data),
                waiter,
            };
            match self.drive(target, |r| r.propose(vec![write], |_| {}))? {
                Some(Ok(_)) => {
                    if let Some(p) = self.clients[c].pending.as_mut() {
                        p.accepted = true;
                    }
                }
                Some(Err((e, _))) => self.on_reply(c, target, Reply::refusal(&e)),
                None => {}
            }
        } else {
            let key = op.key().to_string();
            self.drive(target, |r| r.read(key, waiter))?;
        }
        Ok(())
    }

    /// Numbers a new attempt of client `c`, at `node`, now the one waiting.
    fn set_attempt(&mut self, c: usize, node: NodeId) -> SimWaiter {
        let client = &mut self.clients[c];
        client.attempts += 1;
        let attempt = client.attempts;
        if let Some(p) = client.pending.as_mut() {
            p.attempt = Some((attempt, node));
        }
        SimWaiter { client: c, attempt }
    }

    /// Node `node`'s replica answers `waiter`; an answer to an attempt
    /// that is no longer the client's current one is dropped.
    pub(super) fn client_answer(&mut self, node: NodeId, waiter: SimWaiter, reply: Reply) {
        let c = waiter.client;
        let current = self
            .clients
            .get(c)
            .and_then(|cl| cl.pending.as_ref())
            .is_some_and(|p| p.attempt.is_some_and(|(n, _)| n == waiter.attempt));
        if current {
            self.on_reply(c, node, reply);
        }
    }

    /// What client `c` does with `node`'s reply to its current attempt:
    /// the session's rules (`host/session.rs`) decide.
    fn on_reply(&mut self, c: usize, node: NodeId, reply: Reply) {
        let client = &mut self.clients[c];
        let pinned = client.pending.as_ref().is_some_and(|p| p.pinned.is_some());
        let mut no_error = String::new();
        let last_error = match client.pending.as_mut() {
            Some(p) => &mut p.last_error,
            None => &mut no_error,
        };
        match client
            .session
            .on_reply(node, reply, pinned, |_| true, last_error)
        {
            Next::Done(result) => self.complete(c, result),
            Next::Retry(pause) => {
                if let Some(p) = self.clients[c].pending.as_mut() {
                    p.attempt = None;
                }
                self.retry_after(c, pause_us(pause));
            }
        }
    }

    /// Sets the client's only live timer `delay` from now, capped at the deadline.
    fn retry_after(&mut self, c: usize, delay: u64) {
        let at = self.now.saturating_add(delay);
        let at = match &self.clients[c].pending {
            Some(p) => at.min(p.deadline),
            None => at,
        };
        self.set_timer(c, at);
    }

    fn set_timer(&mut self, c: usize, at: u64) {
        let client = &mut self.clients[c];
        client.generation += 1;
        let generation = client.generation;
        self.queue.push(
            at,
            Event::Client {
                client: c,
                generation,
            },
        );
    }

    /// The open operation succeeded with `result`.
    fn complete(&mut self, c: usize, result: OpResult) {
        let Some(pending) = self.clients[c].pending.take() else {
            return;
        };
        let process = self.clients[c].process;
        self.stats.ops_ok += 1;
        let event = HistoryEvent::ok(process, &pending.op, &result, self.now);
        self.history.push(event);
        let seen = match (&pending.op, &result) {
            (Op::Put { value, .. }, _) => Some(Some(value.clone())),
            (Op::Cas { new, .. }, OpResult::Swapped(true)) => Some(Some(new.clone())),
            (Op::Get { .. }, OpResult::Value(v)) => Some(v.clone()),
            (Op::Delete { .. }, _) => Some(None),
            _ => None,
        };
        let client = &mut self.clients[c];
        match seen {
            Some(Some(v)) => {
                client.seen.insert(pending.op.key().to_string(), v);
            }
            Some(None) => {
                client.seen.remove(pending.op.key());
            }
            None => {}
        }
        // The note keeps the operation and is formatted only if a
        // violation shows it.
        self.note(Note::Client(Box::new(ClientNote::Done {
            process,
            op: pending.op,
            result: result.clone(),
        })));
        self.finish(c, ClientOutcome::Ok(result));
    }

    /// The deadline passed: `info` for a write some node accepted, else `fail`.
    fn give_up(&mut self, c: usize) {
        let Some(pending) = self.clients[c].pending.take() else {
            return;
        };
        let process = self.clients[c].process;
        let error = pending.last_error.clone();
        let (kind, outcome) = session::give_up(&pending.op, pending.accepted, error);
        let unknown = kind == EventType::Info;
        let event = if unknown {
            self.stats.ops_info += 1;
            HistoryEvent::info(process, &pending.op, self.now)
        } else {
            self.stats.ops_fail += 1;
            HistoryEvent::fail(process, &pending.op, self.now)
        };
        self.history.push(event);
        self.note(Note::Client(Box::new(ClientNote::GaveUp {
            process,
            op: pending.op,
            info: unknown,
            error: pending.last_error,
        })));
        self.finish(c, outcome);
    }

    /// After an operation: a background client thinks, then starts another;
    /// the foreground client hands the outcome to `submit`.
    fn finish(&mut self, c: usize, outcome: ClientOutcome) {
        if self.clients[c].background {
            let at = self.now + self.think_time();
            self.set_timer(c, at);
        } else {
            self.clients[c].generation += 1;
            self.clients[c].done = Some(outcome);
        }
    }

    /// Time between a background client's operations, uniform with the mean
    /// that gives `ops_per_sec` over all clients.
    fn think_time(&mut self) -> u64 {
        let clients = self.opts.clients.max(1) as u64;
        if self.opts.ops_per_sec == 0 {
            return u64::MAX / 4;
        }
        let mean = (clients * 1_000_000 / self.opts.ops_per_sec).max(1);
        self.client_rng.random_range(0..2 * mean)
    }
}

/// How long a pause of the session's rules lasts in virtual time.
fn pause_us(pause: Pause) -> u64 {
    match pause {
        Pause::Now => 0,
        Pause::Redirect => REDIRECT_US,
        Pause::Backoff => BACKOFF_US,
    }
}
