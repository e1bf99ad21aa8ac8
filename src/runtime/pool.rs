//! [`ClientPool`]: many client sessions multiplexed on a few driver
//! threads, for load that a thread per client would drown in wake-ups.
//!
//! A [`Client`](super::Client) blocks its thread for each operation; with
//! hundreds of clients the node threads spend their time waking client
//! threads. A pool's session is a state machine instead: [`ClientPool::submit`]
//! hands it an operation and returns at once, and the session's driver
//! thread carries the operation to completion with exactly the rules of a
//! `Client` (`session.rs`: one operation at a time with its own
//! (session, seq), redirects, attempt timeouts, backoff, give-up at the
//! deadline, history events). Node threads answer a driver by filing the
//! answer in its mailbox and waking it once per `Ready`, however many of
//! its sessions that `Ready` answered.
//!
//! When an operation completes, the pool calls its completion handler on
//! the driver thread with a [`Completion`]; the handler may return the
//! session's next operation, which starts at once — a closed loop, like an
//! async client task awaiting one write after another, without a hop
//! through another thread.

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::thread::JoinHandle;
use std::time::{Duration, Instant};

use super::RuntimeError;
use super::inbox::NodeInput;
use super::reply::{Mailbox, NoReply, PoolItem, PoolTicket, Request, pooled_slot};
use super::session::{Attempt, SessionCore};
use super::shared::{NodeShared, Shared};
use crate::kv::{ClientId, ClientOutcome, Op};
use crate::raft::NodeId;

/// A driver hands a node its queued requests once this many wait, not
/// only at the end of its turn: with hundreds of sessions a turn takes a
/// while, and the leader can work on the first requests meanwhile.
const FLUSH_AT: usize = 64;

/// A session of a [`ClientPool`].
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct SessionId {
    /// Its driver.
    driver: usize,
    /// Its place among its driver's sessions.
    slot: usize,
    /// Its place among the pool's sessions, in opening order.
    index: usize,
}

impl SessionId {
    /// The session's number in the pool, 0 for the first opened.
    pub fn index(&self) -> usize {
        self.index
    }
}

/// A finished operation of a pooled session.
#[derive(Debug)]
pub struct Completion {
    /// The session.
    pub session: SessionId,
    /// The session's id in the KV store.
    pub client: ClientId,
    /// How it ended, as [`Client::submit`](super::Client::submit) reports it.
    pub outcome: ClientOutcome,
    /// When it was submitted.
    pub submitted: Instant,
    /// When it completed.
    pub completed: Instant,
}

impl Completion {
    /// Time from submission to completion.
    pub fn latency(&self) -> Duration {
        self.completed.saturating_duration_since(self.submitted)
    }
}

/// What a pool calls with each completion, on a driver thread; it may
/// return the session's next operation and its timeout.
pub type CompletionHandler = dyn Fn(Completion) -> Option<(Op, Duration)> + Send + Sync;

/// Many client sessions on a few driver threads. Dropping the pool stops
/// its drivers; operations still open then are abandoned unanswered.
pub struct ClientPool {
    shared: Arc<Shared>,
    drivers: Vec<Driver>,
    opened: usize,
    reach: Vec<NodeId>,
}

/// The pool's handle on one driver thread.
struct Driver {
    mailbox: Arc<Mailbox<PoolItem>>,
    stop: Arc<AtomicBool>,
    thread: Option<JoinHandle<()>>,
    sessions: usize,
}

impl ClientPool {
    pub(crate) fn start(
        shared: Arc<Shared>,
        reach: Vec<NodeId>,
        drivers: usize,
        handler: Arc<CompletionHandler>,
    ) -> Result<ClientPool, RuntimeError> {
        let mut pool = ClientPool {
            shared: shared.clone(),
            drivers: Vec::new(),
            opened: 0,
            reach,
        };
        for i in 0..drivers.max(1) {
            let stop = Arc::new(AtomicBool::new(false));
            let (tx, rx) = std::sync::mpsc::channel();
            let (shared, handler, stop2) = (shared.clone(), handler.clone(), stop.clone());
            let thread = std::thread::Builder::new()
                .name(format!("raftlab-pool-{i}"))
                .spawn(move || {
                    let mailbox = Arc::new(Mailbox::for_current_thread());
                    if tx.send(mailbox.clone()).is_ok() {
                        DriverLoop::new(i, shared, mailbox, handler, stop2).run();
                    }
                })
                .map_err(|e| RuntimeError::Spawn(e.to_string()))?;
            let mailbox = rx.recv().map_err(|e| RuntimeError::Spawn(e.to_string()))?;
            pool.drivers.push(Driver {
                mailbox,
                stop,
                thread: Some(thread),
                sessions: 0,
            });
        }
        Ok(pool)
    }

    /// Opens a new session (a new KV session id), on the driver with the
    /// fewest sessions.
    pub fn open(&mut self) -> SessionId {
        let (driver, d) = self
            .drivers
            .iter_mut()
            .enumerate()
            .min_by_key(|(_, d)| d.sessions)
            .map_or((0, None), |(i, d)| (i, Some(d)));
        let index = self.opened;
        self.opened += 1;
        let Some(d) = d else {
            return SessionId {
                driver,
                slot: 0,
                index,
            };
        };
        let slot = d.sessions;
        d.sessions += 1;
        d.mailbox.post(PoolItem::Request(Request::Open {
            index,
            reach: self.reach.clone(),
        }));
        SessionId {
            driver,
            slot,
            index,
        }
    }

    /// Starts `op` for `session`; its [`Completion`] goes to the handler.
    /// A session already running an operation completes the new one at
    /// once as `Unavailable` (and ignores what the handler returns for it),
    /// leaving the open one running.
    pub fn submit(
        &self,
        session: SessionId,
        op: Op,
        timeout: Duration,
    ) -> Result<(), RuntimeError> {
        if self.shared.is_stopped() {
            return Err(RuntimeError::Stopped);
        }
        let driver = self
            .drivers
            .get(session.driver)
            .ok_or(RuntimeError::Stopped)?;
        driver.mailbox.post(PoolItem::Request(Request::Submit {
            slot: session.slot,
            op,
            timeout,
            at: Instant::now(),
        }));
        Ok(())
    }
}

impl Drop for ClientPool {
    fn drop(&mut self) {
        for d in &self.drivers {
            d.stop.store(true, Ordering::Release);
            d.mailbox.wake();
        }
        for d in &mut self.drivers {
            if let Some(t) = d.thread.take() {
                let _ = t.join();
            }
        }
    }
}

/// Where a pooled session stands.
enum Phase {
    Idle,
    /// Attempt `attempt` went to `target`; it times out at `until`.
    Waiting {
        attempt: u64,
        target: NodeId,
        until: Instant,
    },
    /// Try again at `until`.
    Backoff {
        until: Instant,
    },
}

/// The open operation of a pooled session.
struct Open {
    op: Op,
    deadline: Instant,
    submitted: Instant,
    accepted: Arc<AtomicBool>,
    last_error: String,
}

struct PooledSession {
    core: SessionCore,
    index: usize,
    phase: Phase,
    attempts: u64,
    open: Option<Open>,
}

/// A driver thread's state.
struct DriverLoop {
    shared: Arc<Shared>,
    mailbox: Arc<Mailbox<PoolItem>>,
    handler: Arc<CompletionHandler>,
    stop: Arc<AtomicBool>,
    sessions: Vec<PooledSession>,
    /// No session's timer is due before this.
    next_timer: Option<Instant>,
    driver: usize,
    /// Operations the handler asked for, started on the next turn (not
    /// from inside the handler's caller, which could recurse without end
    /// when operations fail at once, e.g. on a stopped cluster).
    next_ops: Vec<(usize, Op, Duration, Instant)>,
    /// Requests of this turn, per node, handed over together at its end
    /// (or every [`FLUSH_AT`]): one inbox send and at most one wake-up per
    /// batch instead of one per request.
    outbox: Vec<(NodeId, Vec<NodeInput>)>,
    /// The time at the start of this turn, which every session's step
    /// reads: everything it handles arrived by then, and one clock read
    /// per turn instead of several per operation.
    now: Instant,
}

impl DriverLoop {
    fn new(
        driver: usize,
        shared: Arc<Shared>,
        mailbox: Arc<Mailbox<PoolItem>>,
        handler: Arc<CompletionHandler>,
        stop: Arc<AtomicBool>,
    ) -> DriverLoop {
        DriverLoop {
            shared,
            mailbox,
            handler,
            stop,
            sessions: Vec::new(),
            next_timer: None,
            driver,
            next_ops: Vec::new(),
            outbox: Vec::new(),
            now: Instant::now(),
        }
    }

    fn run(mut self) {
        let mut items = Vec::new();
        while !self.stop.load(Ordering::Acquire) {
            self.mailbox.take(&mut items);
            self.now = Instant::now();
            let got = !items.is_empty();
            for item in items.drain(..) {
                self.item(item);
            }
            self.timers();
            let more = !self.next_ops.is_empty();
            for (slot, op, timeout, at) in std::mem::take(&mut self.next_ops) {
                self.submit(slot, op, timeout, at);
            }
            self.flush();
            if got || more {
                continue;
            }
            match self.next_timer {
                Some(at) => {
                    let left = at.saturating_duration_since(Instant::now());
                    if !left.is_zero() {
                        std::thread::park_timeout(left);
                    }
                }
                None => std::thread::park(),
            }
        }
    }

    fn item(&mut self, item: PoolItem) {
        match item {
            PoolItem::Answer {
                session,
                attempt,
                answer,
            } => self.answer(session, attempt, answer),
            PoolItem::Request(Request::Open { index, reach }) => {
                self.sessions.push(PooledSession {
                    core: SessionCore::new(self.shared.clone(), reach),
                    index,
                    phase: Phase::Idle,
                    attempts: 0,
                    open: None,
                });
            }
            PoolItem::Request(Request::Submit {
                slot,
                op,
                timeout,
                at,
            }) => self.submit(slot, op, timeout, at),
        }
    }

    /// Starts `op` on session `slot`.
    fn submit(&mut self, slot: usize, op: Op, timeout: Duration, at: Instant) {
        let Some(s) = self.sessions.get_mut(slot) else {
            return;
        };
        if s.open.is_some() {
            // Refused without touching the open operation; a next
            // operation the handler returns for it is dropped (the
            // session is still busy).
            let refused = Completion {
                session: SessionId {
                    driver: self.driver,
                    slot,
                    index: s.index,
                },
                client: s.core.session,
                outcome: ClientOutcome::Unavailable("the session has an operation open".into()),
                submitted: at,
                completed: Instant::now(),
            };
            let _ = (self.handler)(refused);
            return;
        }
        s.core.begin(&op);
        s.open = Some(Open {
            op,
            deadline: at + timeout,
            submitted: at,
            accepted: Arc::new(AtomicBool::new(false)),
            // Filled in by the attempts; empty means none got an answer
            // (so an operation that completes allocates no error text).
            last_error: String::new(),
        });
        self.step(slot);
    }

    /// Hands each node the requests queued for it this turn.
    fn flush(&mut self) {
        for (id, mut inputs) in self.outbox.drain(..) {
            let input = match inputs.len() {
                0 => continue,
                1 => match inputs.pop() {
                    Some(input) => input,
                    None => continue,
                },
                _ => NodeInput::Batch(inputs),
            };
            // A node whose inbox is gone (the cluster is shut down) drops
            // the requests, which answers each session `Dropped`.
            if let Some(node) = self.shared.node(id) {
                let _ = node.inbox.send(input);
            }
        }
    }

    /// The loop of `Client::submit`, one turn: give up, or send an attempt
    /// (queued in the outbox until the turn ends).
    fn step(&mut self, slot: usize) {
        let mailbox = self.mailbox.clone();
        let outbox = &mut self.outbox;
        let stopped = self.shared.is_stopped();
        let Some(s) = self.sessions.get_mut(slot) else {
            return;
        };
        let Some(open) = s.open.as_mut() else {
            return;
        };
        let now = self.now;
        let left = open.deadline.saturating_duration_since(now);
        if stopped || left.is_zero() {
            if stopped {
                open.last_error = "the cluster is shut down".into();
            }
            return self.give_up(slot);
        }
        s.attempts += 1;
        let attempt = s.attempts;
        let accepted = open.accepted.clone();
        let make_slot = || {
            pooled_slot(PoolTicket {
                mailbox,
                session: slot,
                attempt,
                accepted,
            })
        };
        let post = |id, _: &NodeShared, input| {
            match outbox.iter_mut().find(|(to, _)| *to == id) {
                Some((_, inputs)) => inputs.push(input),
                None => outbox.push((id, vec![input])),
            }
            true
        };
        let sent = s
            .core
            .send(&open.op, left, &mut open.last_error, make_slot, post);
        match sent {
            Ok(sent) => {
                let until = self.now + sent.wait;
                s.phase = Phase::Waiting {
                    attempt,
                    target: sent.target,
                    until,
                };
                self.schedule(until);
                if self
                    .outbox
                    .iter()
                    .any(|(_, queued)| queued.len() >= FLUSH_AT)
                {
                    self.flush();
                }
            }
            Err(instead) => self.after(slot, instead),
        }
    }

    /// The attempt ended with `attempt`: complete, wait, or give up.
    fn after(&mut self, slot: usize, attempt: Attempt) {
        match attempt {
            Attempt::Done(result) => {
                let Some(s) = self.sessions.get_mut(slot) else {
                    return;
                };
                let Some(open) = s.open.as_ref() else {
                    return;
                };
                let outcome = s.core.complete(&open.op, result);
                let at = open.submitted;
                self.finish(slot, outcome, at);
            }
            Attempt::Retry(pause) => {
                let Some(s) = self.sessions.get_mut(slot) else {
                    return;
                };
                let Some(open) = s.open.as_ref() else {
                    return;
                };
                let left = open.deadline.saturating_duration_since(self.now);
                let pause = pause.min(left);
                if pause.is_zero() {
                    s.phase = Phase::Idle;
                    self.step(slot);
                } else {
                    let until = self.now + pause;
                    s.phase = Phase::Backoff { until };
                    self.schedule(until);
                }
            }
            Attempt::Stopped => {
                if let Some(open) = self.sessions.get_mut(slot).and_then(|s| s.open.as_mut()) {
                    open.last_error = "the cluster is shut down".into();
                }
                self.give_up(slot);
            }
        }
    }

    /// The deadline passed (or the cluster stopped): give up as a client does.
    fn give_up(&mut self, slot: usize) {
        let Some(s) = self.sessions.get_mut(slot) else {
            return;
        };
        let Some(open) = s.open.as_mut() else {
            return;
        };
        let accepted = open.accepted.load(Ordering::Acquire);
        let mut last_error = std::mem::take(&mut open.last_error);
        if last_error.is_empty() {
            last_error = "no node answered".into();
        }
        let outcome = s.core.give_up(&open.op, accepted, last_error);
        let at = open.submitted;
        self.finish(slot, outcome, at);
    }

    /// Closes the session's operation and tells the handler.
    fn finish(&mut self, slot: usize, outcome: ClientOutcome, submitted: Instant) {
        let Some(s) = self.sessions.get_mut(slot) else {
            return;
        };
        s.open = None;
        s.phase = Phase::Idle;
        let completion = Completion {
            session: SessionId {
                driver: self.driver,
                slot,
                index: s.index,
            },
            client: s.core.session,
            outcome,
            submitted,
            completed: self.now,
        };
        let completed = completion.completed;
        if let Some((op, timeout)) = (self.handler)(completion) {
            self.next_ops.push((slot, op, timeout, completed));
        }
    }

    /// A node answered attempt `attempt` of session `slot`.
    fn answer(&mut self, slot: usize, attempt: u64, answer: Result<crate::host::Reply, NoReply>) {
        let Some(s) = self.sessions.get_mut(slot) else {
            return;
        };
        let Phase::Waiting {
            attempt: current,
            target,
            ..
        } = s.phase
        else {
            return;
        };
        if current != attempt {
            return; // An earlier attempt's late answer.
        }
        let Some(open) = s.open.as_mut() else {
            return;
        };
        let next = s.core.on_answer(target, answer, &mut open.last_error);
        self.after(slot, next);
    }

    fn schedule(&mut self, at: Instant) {
        self.next_timer = Some(self.next_timer.map_or(at, |t| t.min(at)));
    }

    /// Fires every session timer that is due.
    fn timers(&mut self) {
        let now = self.now;
        match self.next_timer {
            Some(at) if at <= now => {}
            _ => return,
        }
        self.next_timer = None;
        for slot in 0..self.sessions.len() {
            let phase = match &self.sessions[slot].phase {
                Phase::Idle => None,
                Phase::Waiting { attempt, until, .. } => Some((Some(*attempt), *until)),
                Phase::Backoff { until } => Some((None, *until)),
            };
            match phase {
                Some((Some(attempt), until)) if until <= now => {
                    self.answer(slot, attempt, Err(NoReply::Timeout));
                }
                Some((None, until)) if until <= now => {
                    self.sessions[slot].phase = Phase::Idle;
                    self.step(slot);
                }
                Some((_, until)) => self.schedule(until),
                None => {}
            }
        }
    }
}
