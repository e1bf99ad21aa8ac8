//! The timer thread: the cluster clock's ticks and delayed delivery.
//!
//! One thread owns a heap of messages in flight, keyed by the cluster time
//! they are due, and the time of the next tick. It sleeps until the earlier
//! of the two (or until told something changed), then gives every node its
//! tick and hands due messages to their receivers — through their inbox,
//! or with the TCP transport through the sender's socket writer for the
//! receiver. Nodes never wait on a slow link: sending is a channel push
//! (the TCP writers own their sockets, so a dead peer never blocks this
//! thread either). A message without delay on a running clock skips this
//! thread and is delivered at once. While the clock is paused nothing is
//! due, so ticks and messages in flight both freeze.

use std::cmp::Reverse;
use std::collections::BinaryHeap;
use std::sync::Arc;
use std::sync::atomic::Ordering;
use std::time::{Duration, Instant};

use crossbeam_channel::{Receiver, RecvTimeoutError, Sender};

use super::TICK_CLUSTER_US;
use super::inbox::TimerInput;
use super::lock::lock;
use super::shared::{LinkCounters, Shared};
use crate::raft::Message;

/// Longest sleep, so a clock change is never missed for long even if its
/// wake-up were lost.
const MAX_SLEEP: Duration = Duration::from_millis(200);

/// At most this many ticks are given at once after a stall (a node takes
/// one tick per wake-up anyway; its ticker holds at most one).
const MAX_TICK_BURST: u64 = 3;

/// A message waiting to be delivered.
struct InFlight {
    due: u64,
    seq: u64,
    msg: Message,
}

impl PartialEq for InFlight {
    fn eq(&self, other: &Self) -> bool {
        (self.due, self.seq) == (other.due, other.seq)
    }
}
impl Eq for InFlight {}
impl PartialOrd for InFlight {
    fn partial_cmp(&self, other: &Self) -> Option<std::cmp::Ordering> {
        Some(self.cmp(other))
    }
}
impl Ord for InFlight {
    fn cmp(&self, other: &Self) -> std::cmp::Ordering {
        (self.due, self.seq).cmp(&(other.due, other.seq))
    }
}

/// The timer thread's state.
pub(crate) struct Timer {
    shared: Arc<Shared>,
    input: Receiver<TimerInput>,
    tickers: Vec<Sender<()>>,
    heap: BinaryHeap<Reverse<InFlight>>,
    seq: u64,
    next_tick: u64,
}

impl Timer {
    pub(crate) fn new(
        shared: Arc<Shared>,
        input: Receiver<TimerInput>,
        tickers: Vec<Sender<()>>,
    ) -> Timer {
        Timer {
            shared,
            input,
            tickers,
            heap: BinaryHeap::new(),
            seq: 0,
            next_tick: TICK_CLUSTER_US,
        }
    }

    /// Runs until told to stop.
    pub(crate) fn run(mut self) {
        loop {
            // Ticks fire under the clock's lock, so none lands after a
            // pause has returned (the wall time is read under it too: read
            // before, a pause slipping in between would still let a tick
            // due before it fire after it returned); a copy serves the
            // rest, so the lock is not held while delivering.
            let shared = self.shared.clone();
            let (clock, now, wall) = {
                let guard = lock(&shared.clock);
                let wall = Instant::now();
                let now = guard.now_at(wall);
                self.fire_ticks(now);
                (guard.clone(), now, wall)
            };
            self.deliver_due(now);
            let next = self
                .heap
                .peek()
                .map_or(self.next_tick, |Reverse(m)| m.due.min(self.next_tick));
            let wait = clock.wall_until(next, wall);
            let wait = wait.unwrap_or(MAX_SLEEP).min(MAX_SLEEP);
            match self.input.recv_timeout(wait) {
                Ok(TimerInput::Deliver { msg, delays }) => self.schedule(msg, delays, now),
                Ok(TimerInput::Wake) | Err(RecvTimeoutError::Timeout) => {}
                Ok(TimerInput::Shutdown) | Err(RecvTimeoutError::Disconnected) => return,
            }
        }
    }

    fn schedule(&mut self, msg: Message, delays: Vec<u64>, now: u64) {
        // The time the message was sent is (about) now: the clock cannot
        // have moved much since this loop read it.
        let sent = lock(&self.shared.clock).now().max(now);
        for delay in delays {
            self.seq += 1;
            self.heap.push(Reverse(InFlight {
                due: sent.saturating_add(delay),
                seq: self.seq,
                msg: msg.clone(),
            }));
        }
    }

    fn fire_ticks(&mut self, now: u64) {
        if now >= self.next_tick + MAX_TICK_BURST * TICK_CLUSTER_US {
            self.next_tick = (now / TICK_CLUSTER_US) * TICK_CLUSTER_US;
        }
        while self.next_tick <= now {
            self.next_tick += TICK_CLUSTER_US;
            self.shared.ticks.fetch_add(1, Ordering::Relaxed);
            for ticker in &self.tickers {
                // A full ticker means the node has not taken its last
                // tick (it is paused or busy): it misses this one.
                let _ = ticker.try_send(());
            }
        }
    }

    fn deliver_due(&mut self, now: u64) {
        while self.heap.peek().is_some_and(|Reverse(m)| m.due <= now) {
            let Some(Reverse(InFlight { msg, .. })) = self.heap.pop() else {
                break;
            };
            let slot = self.shared.links.slot(msg.from, msg.to);
            LinkCounters::add(&self.shared.links.in_flight, slot, -1);
            self.shared.deliver(msg);
        }
    }
}
