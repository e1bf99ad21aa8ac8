//! Messages held by hand in the simulator (the dashboard's `hold`,
//! `deliver N`, `drop N`, `release`, and the same statements in scripts).
//!
//! While holding is on, a message the fabric would deliver waits in a
//! [`HoldQueue`] instead of the event queue (its fate on the link — cut,
//! lost, duplicated — is decided as usual when it is sent). Delivering
//! one schedules its copies at the current virtual time and runs them at
//! once, in number order; dropping one loses it as a cut link would. A
//! run that never holds is unchanged: `send` pays one branch, and the
//! trace hash of every `raftlab check` seed stays what it was.

use super::events::{Event, Note};
use super::{SendFate, Sim, SimError};
use crate::net::{HeldInfo, HeldRef};
use crate::raft::Message;

impl Sim {
    /// Holds the messages sent from now on (`true`) or lets them travel;
    /// returns whether holding was on. Messages already held stay held.
    pub fn set_hold(&mut self, on: bool) -> bool {
        let was = self.held.set(on);
        if was != on {
            self.note(Note::Text(if on {
                "holding new messages on their links".to_string()
            } else {
                "new messages travel again".to_string()
            }));
        }
        was
    }

    /// Whether new messages are held.
    pub fn holding(&self) -> bool {
        self.held.is_on()
    }

    /// The messages held now, in number order.
    pub fn held(&self) -> Vec<HeldInfo> {
        self.held.infos()
    }

    /// The messages held now, with their numbers and the virtual time
    /// each was held at, in number order.
    pub fn held_messages(&self) -> impl Iterator<Item = (u64, &Message, u64)> {
        self.held.iter().map(|h| (h.number, &h.msg, h.since_us))
    }

    /// Delivers the held messages `which` names now, in number order (each
    /// copy arrives at the current virtual time, and is taken before this
    /// returns); returns what was delivered.
    pub fn deliver_held(&mut self, which: HeldRef) -> Result<Vec<HeldInfo>, SimError> {
        self.stopped()
            .map_err(|v| SimError::Violation(Box::new(v)))?;
        let taken = self.held.take(which)?;
        let infos: Vec<HeldInfo> = taken.iter().map(|h| h.info()).collect();
        for held in taken {
            for _ in 1..held.copies {
                let copy = Event::Deliver {
                    msg: held.msg.clone(),
                    incarnation: held.extra,
                };
                self.queue.push(self.now, copy);
            }
            let event = Event::Deliver {
                msg: held.msg,
                incarnation: held.extra,
            };
            self.queue.push(self.now, event);
        }
        self.run_for(0)
            .map_err(|v| SimError::Violation(Box::new(v)))?;
        Ok(infos)
    }

    /// Drops the held messages `which` names, as a cut link would; returns
    /// what was dropped.
    pub fn drop_held(&mut self, which: HeldRef) -> Result<Vec<HeldInfo>, SimError> {
        let taken = self.held.take(which)?;
        let mut infos = Vec::with_capacity(taken.len());
        for held in taken {
            let (from, to, kind) = (held.msg.from, held.msg.to, held.msg.body.name());
            self.stats.messages_dropped += 1;
            self.note(Note::Drop { from, to, kind });
            infos.push(held.info());
        }
        Ok(infos)
    }

    /// Stops holding and delivers every held message, in number order.
    pub fn release(&mut self) -> Result<Vec<HeldInfo>, SimError> {
        self.set_hold(false);
        self.deliver_held(HeldRef::All)
    }

    /// Holds `msg`, whose copies the fabric would deliver after `delays`,
    /// for the receiver's `incarnation`. The send hook hears of it with no
    /// delay and no drop: held (numbered in the order held, from 1).
    pub(super) fn hold_sent(&mut self, msg: Message, delays: &[u64], incarnation: u64) {
        if delays.len() > 1 {
            self.stats.messages_duplicated += 1;
        }
        if let Some(hook) = &mut self.on_send {
            let fate = SendFate {
                delays: &[],
                dropped: None,
                slowed: false,
            };
            hook(&msg, self.now, fate);
        }
        self.held.hold(msg, delays.len(), self.now, incarnation);
    }

    /// (from, to) of each copy held, for the in-flight counts.
    pub(super) fn held_links(&self) -> impl Iterator<Item = (u64, u64)> + '_ {
        self.held
            .iter()
            .flat_map(|h| std::iter::repeat_n((h.msg.from, h.msg.to), h.copies))
    }
}
