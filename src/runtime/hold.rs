//! Messages held by hand in the live cluster: `hold`, `deliver N`,
//! `drop N`, `release`, as in the simulator (see [`crate::net::HoldQueue`]).
//!
//! While holding is on, a message the fabric lets through waits in the
//! shared hold queue instead of going to the timer thread (its fate on
//! the link was decided as usual: a cut link still drops it). Delivering
//! one hands its copies to the receiver at once — through its inbox, or
//! with TCP through the sender's socket — whether the clock runs or not,
//! as a debugger lets one thread step; dropping one counts it dropped on
//! its link. Held messages count as in flight on their link.

use std::sync::atomic::Ordering;

use super::RuntimeError;
use super::cluster::Cluster;
use super::lock::lock;
use super::observe::Fate;
use super::shared::{LinkCounters, Shared};
use crate::net::{HeldInfo, HeldRef};
use crate::raft::Message;

impl Shared {
    /// Holds `msg` (of which the network would deliver `copies`), unless
    /// holding was switched off meanwhile: then it is given back to go on
    /// its way.
    pub(crate) fn hold_sent(&self, msg: Message, copies: usize) -> Option<Message> {
        let mut queue = lock(&self.hold);
        if !queue.is_on() {
            return Some(msg);
        }
        let slot = self.links.slot(msg.from, msg.to);
        LinkCounters::add(&self.links.in_flight, slot, copies as i64);
        let now = lock(&self.clock).now();
        let number = queue.hold(msg, copies, now, ());
        if self.observer.on()
            && let Some(held) = queue.iter().last()
        {
            self.record_fate(&held.msg, Fate::Held { number });
        }
        drop(queue);
        // The card's in-flight count and the wire changed.
        self.view.touch();
        None
    }
}

impl Cluster {
    /// Holds the messages sent from now on on their links (`true`), or
    /// lets new ones travel again (the ones held stay held); returns
    /// whether holding was on.
    pub fn set_hold(&self, on: bool) -> Result<bool, RuntimeError> {
        if self.shared.is_stopped() {
            return Err(RuntimeError::Stopped);
        }
        let was = {
            let mut queue = lock(&self.shared.hold);
            let was = queue.set(on);
            self.shared.holding.store(on, Ordering::Release);
            was
        };
        if was != on {
            let text = if on {
                "holding new messages on their links"
            } else {
                "new messages travel again"
            };
            self.shared.event(None, text.to_string());
        }
        Ok(was)
    }

    /// Whether new messages are held.
    pub fn holding(&self) -> bool {
        self.shared.holding.load(Ordering::Acquire)
    }

    /// The messages held now, in number order.
    pub fn held(&self) -> Vec<HeldInfo> {
        lock(&self.shared.hold).infos()
    }

    /// Hands the held messages `which` names to their receivers now, in
    /// number order (a receiver that is down loses them); returns them.
    pub fn deliver_held(&self, which: HeldRef) -> Result<Vec<HeldInfo>, RuntimeError> {
        if self.shared.is_stopped() {
            return Err(RuntimeError::Stopped);
        }
        let taken = lock(&self.shared.hold).take(which)?;
        let mut infos = Vec::with_capacity(taken.len());
        for held in taken {
            let info = held.info();
            let slot = self.shared.links.slot(info.from, info.to);
            LinkCounters::add(&self.shared.links.in_flight, slot, -(held.copies as i64));
            for _ in 1..held.copies {
                self.shared.deliver(held.msg.clone());
            }
            self.shared.deliver(held.msg);
            self.shared
                .event(None, format!("delivered {info} (by hand)"));
            infos.push(info);
        }
        self.shared.view.touch();
        Ok(infos)
    }

    /// Drops the held messages `which` names, as a cut link would;
    /// returns them.
    pub fn drop_held(&self, which: HeldRef) -> Result<Vec<HeldInfo>, RuntimeError> {
        if self.shared.is_stopped() {
            return Err(RuntimeError::Stopped);
        }
        let taken = lock(&self.shared.hold).take(which)?;
        let now = lock(&self.shared.clock).now();
        let mut infos = Vec::with_capacity(taken.len());
        for held in taken {
            let info = held.info();
            let slot = self.shared.links.slot(info.from, info.to);
            let copies = held.copies as i64;
            LinkCounters::add(&self.shared.links.in_flight, slot, -copies);
            LinkCounters::add(&self.shared.links.dropped, slot, copies);
            if self.shared.observer.on() {
                lock(&self.shared.observer.flights).dropped_by_hand(&held.msg, now);
            }
            self.shared.event(None, format!("dropped {info} (by hand)"));
            infos.push(info);
        }
        self.shared.view.touch();
        Ok(infos)
    }

    /// Stops holding and hands every held message on, in number order.
    pub fn release(&self) -> Result<Vec<HeldInfo>, RuntimeError> {
        self.set_hold(false)?;
        self.deliver_held(HeldRef::All)
    }
}
