//! The answer to one client request: a slot the node thread fills.
//!
//! Two kinds of client wait for answers. A blocking [`Client`] parks its
//! own thread on the slot, and the node unparks exactly that thread (a
//! channel would do, but a blocked channel receiver spins and yields
//! before it sleeps, and with hundreds of client threads on a few cores
//! that spinning starves the node threads that do the work). A session of
//! a [`ClientPool`] waits on no thread at all: its answer goes into its
//! driver thread's [`Mailbox`], tagged with the session and attempt.
//!
//! Node threads answer through [`Wakes`]: answers are filed at once but
//! the threads to wake are collected and woken once when the node has
//! carried out its `Ready` — one wake per driver thread for a whole batch
//! of commits rather than one per client. Acceptance (the leader appended
//! the write) sets a flag without waking anyone: the client only needs it
//! if it ends up giving up.
//!
//! [`Client`]: super::Client
//! [`ClientPool`]: super::ClientPool

use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::thread::Thread;
use std::time::{Duration, Instant};

use super::lock::lock;
use crate::host::Reply;
use crate::kv::Op;
use crate::raft::NodeId;

/// What the node side and a parked client share.
struct Slot {
    /// The answer, and whether the node side is gone (answered or dropped).
    state: Mutex<(Option<Reply>, bool)>,
    accepted: AtomicBool,
    /// The client thread to wake.
    waiter: Thread,
}

/// Where a pooled session's answers go: its driver thread's queue.
pub(crate) struct Mailbox<T> {
    items: Mutex<Vec<T>>,
    driver: Thread,
}

impl<T> Mailbox<T> {
    /// A mailbox whose driver is the calling thread.
    pub(crate) fn for_current_thread() -> Mailbox<T> {
        Mailbox {
            items: Mutex::new(Vec::new()),
            driver: std::thread::current(),
        }
    }

    /// Files `item` without waking the driver.
    pub(crate) fn put(&self, item: T) {
        lock(&self.items).push(item);
    }

    /// Files all of `items` (leaving it empty) without waking the driver.
    pub(crate) fn put_all(&self, items: &mut Vec<T>) {
        lock(&self.items).append(items);
    }

    /// Files `item` and wakes the driver.
    pub(crate) fn post(&self, item: T) {
        self.put(item);
        self.wake();
    }

    /// Wakes the driver (cheap when it is not asleep: an atomic swap).
    pub(crate) fn wake(&self) {
        self.driver.unpark();
    }

    /// Takes everything filed so far, leaving `spare` (emptied) in its place.
    pub(crate) fn take(&self, spare: &mut Vec<T>) {
        spare.clear();
        std::mem::swap(&mut *lock(&self.items), spare);
    }
}

/// One answer for a pooled session.
pub(crate) enum PoolItem {
    /// A node's answer (or `Err` when it dropped the request).
    Answer {
        session: usize,
        attempt: u64,
        answer: Result<Reply, NoReply>,
    },
    /// Something the pool's owner asked for; see `pool.rs`.
    Request(Request),
}

/// What the pool's owner asks a driver (see `pool.rs`); it travels in the
/// same mailbox as the answers.
pub(crate) enum Request {
    /// Open a session (its slot is the driver's next).
    Open { index: usize, reach: Vec<NodeId> },
    /// Run an operation for a session.
    Submit {
        slot: usize,
        op: Op,
        timeout: Duration,
        at: Instant,
    },
}

/// Where a pooled request's answer goes.
pub(crate) struct PoolTicket {
    pub(crate) mailbox: Arc<Mailbox<PoolItem>>,
    pub(crate) session: usize,
    pub(crate) attempt: u64,
    /// Shared by every attempt of one operation.
    pub(crate) accepted: Arc<AtomicBool>,
}

/// Whom a slot answers.
enum Target {
    Parked(Arc<Slot>),
    Pooled(PoolTicket),
}

/// The node side: answer once, or drop to say the request was dropped.
pub(crate) struct ReplySlot {
    target: Option<Target>,
}

/// The client side.
pub(crate) struct ReplyWait {
    slot: Arc<Slot>,
}

/// Why a wait ended without an answer.
#[derive(Debug, PartialEq, Eq)]
pub(crate) enum NoReply {
    /// The deadline passed.
    Timeout,
    /// The node dropped the request without answering.
    Dropped,
}

/// A fresh slot whose waiter is the calling thread.
pub(crate) fn reply_slot() -> (ReplySlot, ReplyWait) {
    let slot = Arc::new(Slot {
        state: Mutex::new((None, false)),
        accepted: AtomicBool::new(false),
        waiter: std::thread::current(),
    });
    (
        ReplySlot {
            target: Some(Target::Parked(slot.clone())),
        },
        ReplyWait { slot },
    )
}

/// A slot that answers a pooled session through its driver's mailbox.
pub(crate) fn pooled_slot(ticket: PoolTicket) -> ReplySlot {
    ReplySlot {
        target: Some(Target::Pooled(ticket)),
    }
}

/// Threads to wake once a node has carried out its `Ready`.
#[derive(Default)]
pub(crate) struct Wakes {
    threads: Vec<Thread>,
    /// Answers for each pool driver, filed in its mailbox together (one
    /// lock) when flushed.
    mailboxes: Vec<(Arc<Mailbox<PoolItem>>, Vec<PoolItem>)>,
}

impl Wakes {
    /// Files the collected answers and wakes everyone, each mailbox once.
    pub(crate) fn flush(&mut self) {
        for thread in self.threads.drain(..) {
            thread.unpark();
        }
        for (mailbox, mut items) in self.mailboxes.drain(..) {
            mailbox.put_all(&mut items);
            mailbox.wake();
        }
    }

    /// Collects `item` for `mailbox`.
    fn answer(&mut self, mailbox: &Arc<Mailbox<PoolItem>>, item: PoolItem) {
        match self
            .mailboxes
            .iter_mut()
            .find(|(m, _)| Arc::ptr_eq(m, mailbox))
        {
            Some((_, items)) => items.push(item),
            None => self.mailboxes.push((mailbox.clone(), vec![item])),
        }
    }
}

impl Drop for Wakes {
    fn drop(&mut self) {
        self.flush();
    }
}

impl ReplySlot {
    /// Marks the write as appended to the leader's log, without waking
    /// the client.
    pub(crate) fn accept(&self) {
        match &self.target {
            Some(Target::Parked(slot)) => slot.accepted.store(true, Ordering::Release),
            Some(Target::Pooled(ticket)) => ticket.accepted.store(true, Ordering::Release),
            None => {}
        }
    }

    /// Takes [`accept`](Self::accept) back: the write it was set for
    /// (on forwarding it) was refused before the leader appended it.
    pub(crate) fn retract(&self) {
        match &self.target {
            Some(Target::Parked(slot)) => slot.accepted.store(false, Ordering::Release),
            Some(Target::Pooled(ticket)) => ticket.accepted.store(false, Ordering::Release),
            None => {}
        }
    }

    /// Answers and wakes the client now.
    #[cfg(test)]
    pub(crate) fn send(self, reply: Reply) {
        let mut wakes = Wakes::default();
        self.send_later(reply, &mut wakes);
        wakes.flush();
    }

    /// Answers; a parked client gets the answer now, a pooled session's
    /// driver when `wakes` is flushed, which is also when both are woken.
    pub(crate) fn send_later(mut self, reply: Reply, wakes: &mut Wakes) {
        match self.target.take() {
            Some(Target::Parked(slot)) => {
                *lock(&slot.state) = (Some(reply), true);
                wakes.threads.push(slot.waiter.clone());
            }
            Some(Target::Pooled(ticket)) => {
                let item = PoolItem::Answer {
                    session: ticket.session,
                    attempt: ticket.attempt,
                    answer: Ok(reply),
                };
                wakes.answer(&ticket.mailbox, item);
            }
            None => {}
        }
    }
}

impl Drop for ReplySlot {
    fn drop(&mut self) {
        match self.target.take() {
            Some(Target::Parked(slot)) => {
                lock(&slot.state).1 = true;
                slot.waiter.unpark();
            }
            Some(Target::Pooled(ticket)) => ticket.mailbox.post(PoolItem::Answer {
                session: ticket.session,
                attempt: ticket.attempt,
                answer: Err(NoReply::Dropped),
            }),
            None => {}
        }
    }
}

impl ReplyWait {
    /// Waits until the answer comes, the node drops the request, or
    /// `until`. Must be called from the thread that made the slot.
    pub(crate) fn wait(&self, until: Instant) -> Result<Reply, NoReply> {
        loop {
            {
                let mut state = lock(&self.slot.state);
                if let Some(reply) = state.0.take() {
                    return Ok(reply);
                }
                if state.1 {
                    return Err(NoReply::Dropped);
                }
            }
            let left = until.saturating_duration_since(Instant::now());
            if left.is_zero() {
                return Err(NoReply::Timeout);
            }
            // Wakes on unpark, at the deadline, or spuriously: all loop.
            std::thread::park_timeout(left);
        }
    }

    /// Whether a node accepted the write.
    pub(crate) fn accepted(&self) -> bool {
        self.slot.accepted.load(Ordering::Acquire)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::kv::OpResult;
    use std::time::Duration;

    #[test]
    fn answer_from_another_thread() {
        let (to, wait) = reply_slot();
        let t = std::thread::spawn(move || {
            to.accept();
            to.send(Reply::Done(OpResult::Done));
        });
        let got = wait.wait(Instant::now() + Duration::from_secs(5));
        assert!(matches!(got, Ok(Reply::Done(OpResult::Done))), "{got:?}");
        assert!(wait.accepted());
        let _ = t.join();
    }

    #[test]
    fn dropped_and_timed_out() {
        let (to, wait) = reply_slot();
        let soon = Instant::now() + Duration::from_millis(5);
        assert!(matches!(wait.wait(soon), Err(NoReply::Timeout)));
        drop(to);
        let later = Instant::now() + Duration::from_secs(5);
        assert!(matches!(wait.wait(later), Err(NoReply::Dropped)));
        assert!(!wait.accepted());
    }
}
