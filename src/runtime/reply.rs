//! The answer to one client request: a slot the node thread fills and the
//! client's thread waits on.
//!
//! A channel would do, but a blocked channel receiver spins and yields
//! before it sleeps, and with hundreds of client threads on a few cores
//! that spinning starves the node threads that do the work. Here the
//! client parks at once and the node unparks exactly the thread that
//! asked. Acceptance (the leader appended the write) sets a flag without
//! waking anyone: the client only needs it if it ends up giving up.

use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::thread::Thread;
use std::time::Instant;

use super::node::Reply;
use super::shared::lock;

/// What the node side and the client side share.
struct Slot {
    /// The answer, and whether the node side is gone (answered or dropped).
    state: Mutex<(Option<Reply>, bool)>,
    accepted: AtomicBool,
    /// The client thread to wake.
    waiter: Thread,
}

/// The node side: answer once, or drop to say the request was dropped.
pub(crate) struct ReplySlot {
    slot: Option<Arc<Slot>>,
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
            slot: Some(slot.clone()),
        },
        ReplyWait { slot },
    )
}

impl ReplySlot {
    /// Marks the write as appended to the leader's log, without waking
    /// the client.
    pub(crate) fn accept(&self) {
        if let Some(slot) = &self.slot {
            slot.accepted.store(true, Ordering::Release);
        }
    }

    /// Answers and wakes the client.
    pub(crate) fn send(mut self, reply: Reply) {
        if let Some(slot) = self.slot.take() {
            *lock(&slot.state) = (Some(reply), true);
            slot.waiter.unpark();
        }
    }
}

impl Drop for ReplySlot {
    fn drop(&mut self) {
        if let Some(slot) = self.slot.take() {
            lock(&slot.state).1 = true;
            slot.waiter.unpark();
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
