//! Watching a simulation from outside, as the dashboard's simulated mode
//! does: readable events, messages in flight, what a down node kept, and a
//! foreground client operation that runs *with* the clock instead of
//! running the simulation until it completes ([`Sim::submit`]).
//!
//! None of this changes what a run does: observing only copies out what
//! happened, so a run watched on the dashboard has the trace hash of the
//! same run in `raftlab check`.

use std::collections::BTreeMap;

use super::events::Note;
use super::{ClientOutcome, Sim, Violation};
use crate::kv::Op;
use crate::raft::{Bugs, DurableState, Event, Message, NodeId};

/// Why the fabric did not schedule a message.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum SendDrop {
    /// The link was cut (isolation, partition, one-way cut).
    LinkDown,
    /// The link lost it at random.
    Lost,
    /// The receiver was down.
    NodeDown,
}

/// What the fabric did with one message, as decided when it was sent.
/// No delay and no drop means the message is held by hand
/// ([`Sim::set_hold`]): held messages are numbered in the order they are
/// held, from 1, and wait until delivered or dropped.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct SendFate<'a> {
    /// The delay of each copy scheduled, µs (empty: dropped, or held).
    pub delays: &'a [u64],
    /// Why nothing was scheduled, when nothing was (`None` with no delays:
    /// held).
    pub dropped: Option<SendDrop>,
    /// Whether the link's delay was set (a `delay` fault) rather than the
    /// fabric's ordinary latency.
    pub slowed: bool,
}

/// Told of every message a simulation sends: the message, the virtual
/// time (µs) and its fate.
pub type SendHook = Box<dyn FnMut(&Message, u64, SendFate<'_>) + Send>;

/// Told of every raft event (role changes, commit advances, …): the node,
/// the event and the virtual time (µs).
pub type RaftHook = Box<dyn FnMut(NodeId, &Event, u64) + Send>;

/// Shown the whole simulation after each step (see [`Sim::on_step`]).
pub type StepHook = Box<dyn FnMut(&Sim) + Send>;

/// Something that happened in a simulation, in words, for a dashboard.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct SimEvent {
    /// Virtual time, µs.
    pub time_us: u64,
    /// The node concerned, if one.
    pub node: Option<NodeId>,
    /// What happened.
    pub text: String,
}

impl Sim {
    /// Starts recording [`SimEvent`]s (role and leader changes, faults,
    /// crashes, snapshots) for [`Sim::take_events`]. Off by default, so
    /// `raftlab check` pays nothing for it.
    pub fn observe(&mut self) {
        if self.observed.is_none() {
            self.observed = Some(Vec::new());
        }
    }

    /// Calls `hook` with every message sent from now on and its fate in
    /// the fabric (as decided when it is sent). Reading the fate draws
    /// nothing from the run's random streams, so a watched run is the
    /// same run; without a hook a send pays one branch.
    pub fn on_send(&mut self, hook: SendHook) {
        self.on_send = Some(hook);
    }

    /// Calls `hook` with every raft event of every node from now on,
    /// typed, including those the dashboard's events leave out (commit
    /// advances). Like [`Sim::on_send`], it changes nothing in the run.
    pub fn on_raft_event(&mut self, hook: RaftHook) {
        self.on_raft = Some(hook);
    }

    /// Shows `hook` the simulation after every event it processes, and
    /// whenever its driver says the cluster changed between events (a
    /// script's `kill`: [`Sim::after_step`]), so a watcher can record
    /// every change of every node at the instant it happened. Reading
    /// changes nothing in the run.
    pub fn on_step(&mut self, hook: StepHook) {
        self.on_step = Some(hook);
    }

    /// Shows the step watcher the simulation as it is now.
    pub fn after_step(&mut self) {
        if let Some(mut hook) = self.on_step.take() {
            hook(self);
            self.on_step = Some(hook);
        }
    }

    /// The unsafe protocol variants on now.
    pub fn bugs(&self) -> Bugs {
        self.opts.bugs
    }

    /// Switches the unsafe variants to `bugs` on every running node and on
    /// any node restarted later (the dashboard's `bug NAME on|off`, applied
    /// as a recorded input so a replay repeats it).
    pub fn set_bugs(&mut self, bugs: Bugs) {
        self.opts.bugs = bugs;
        for slot in &mut self.nodes {
            if let Some(replica) = slot.replica.as_mut() {
                replica.node_mut().set_bugs(bugs);
            }
        }
        let names = bugs.names();
        self.note(Note::Text(if names.is_empty() {
            "every unsafe variant is off".to_string()
        } else {
            format!("unsafe variants on: {}", names.join(", "))
        }));
    }

    /// The events recorded since the last call, oldest first.
    pub fn take_events(&mut self) -> Vec<SimEvent> {
        self.observed
            .as_mut()
            .map(std::mem::take)
            .unwrap_or_default()
    }

    /// Messages on their way now, by (from, to), those held by hand too.
    pub fn in_flight(&self) -> BTreeMap<(NodeId, NodeId), u64> {
        let mut counts = BTreeMap::new();
        for (from, to) in self.queue.deliveries().chain(self.held_links()) {
            *counts.entry((from, to)).or_insert(0) += 1;
        }
        counts
    }

    /// Messages node `id` sent (into the network, before loss) and
    /// received, so far.
    pub fn traffic(&self, id: NodeId) -> (u64, u64) {
        let i = (id as usize).wrapping_sub(1);
        self.traffic.get(i).copied().unwrap_or((0, 0))
    }

    /// What node `id` has promised to keep (its durable hard state,
    /// snapshot and log); all that is left of it while it is down.
    pub fn durable(&self, id: NodeId) -> Option<&DurableState> {
        self.slot(id).map(|s| &s.durable)
    }

    /// Whether the foreground client has an operation open.
    pub fn foreground_busy(&self) -> bool {
        self.clients.last().is_some_and(|c| c.is_busy())
    }

    /// Starts a foreground client operation (to `target` or the known
    /// leader) without running the simulation: it proceeds as time does,
    /// and [`Sim::take_foreground`] returns its outcome once it ends.
    /// `Ok(false)` when an operation is already open.
    pub fn start_foreground(
        &mut self,
        op: Op,
        target: Option<NodeId>,
        timeout_us: u64,
    ) -> Result<bool, Violation> {
        self.open_foreground(op, target, false, timeout_us)
    }

    /// Starts a foreground operation sent to `node` alone, every attempt
    /// (a client connected only to it: no redirect is followed), without
    /// running the simulation; `Ok(false)` if one is still open.
    pub fn start_foreground_on(
        &mut self,
        op: Op,
        node: NodeId,
        timeout_us: u64,
    ) -> Result<bool, Violation> {
        self.open_foreground(op, Some(node), true, timeout_us)
    }

    /// Opens the foreground client's operation (`pinned`: every attempt
    /// goes to `target`).
    fn open_foreground(
        &mut self,
        op: Op,
        target: Option<NodeId>,
        pinned: bool,
        timeout_us: u64,
    ) -> Result<bool, Violation> {
        self.stopped()?;
        if self.foreground_busy() {
            return Ok(false);
        }
        let c = self.clients.len() - 1;
        self.clients[c].done = None;
        match target {
            Some(node) if pinned => self.start_op_on(c, op, timeout_us, node)?,
            _ => self.start_op(c, op, timeout_us, target)?,
        }
        Ok(true)
    }

    /// The outcome of the foreground operation, once it ended.
    pub fn take_foreground(&mut self) -> Option<ClientOutcome> {
        self.clients.last_mut().and_then(|c| c.done.take())
    }

    /// Tells the send hook, if any, of `msg` and the delays the fabric gave
    /// its copies (`None`: the receiver is down).
    pub(super) fn observe_send(&mut self, msg: &Message, delays: Option<&[u64]>) {
        let Some(hook) = &mut self.on_send else {
            return;
        };
        let link = self.fabric.link(msg.from, msg.to).ok();
        let slowed = link.is_some() && !self.fabric.has_base_latency(msg.from, msg.to);
        let (delays, dropped) = match delays {
            None => (&[][..], Some(SendDrop::NodeDown)),
            Some([]) if link.is_some_and(|l| l.up) => (&[][..], Some(SendDrop::Lost)),
            Some([]) => (&[][..], Some(SendDrop::LinkDown)),
            Some(d) => (d, None),
        };
        let fate = SendFate {
            delays,
            dropped,
            slowed,
        };
        hook(msg, self.now, fate);
    }

    /// Records a raft event of node `id`, when observing.
    pub(super) fn observe_raft(&mut self, id: NodeId, event: &Event) {
        if let Some(hook) = &mut self.on_raft {
            hook(id, event, self.now);
        }
        if self.observed.is_none() {
            return;
        }
        if let Some(text) = event.text_of(id) {
            self.observe_text(id, text);
        }
    }

    /// Records a line about node `id`, when observing.
    pub(super) fn observe_text(&mut self, id: NodeId, text: String) {
        let time_us = self.now;
        if let Some(events) = &mut self.observed {
            events.push(SimEvent {
                time_us,
                node: Some(id),
                text,
            });
        }
    }

    /// Records a note that reads as an event (faults, crashes, restarts,
    /// snapshots), when observing.
    pub(super) fn observe_note(&mut self, note: &Note) {
        let (Some(events), Note::Text(text)) = (&mut self.observed, note) else {
            return;
        };
        events.push(SimEvent {
            time_us: self.now,
            node: None,
            text: text.clone(),
        });
    }
}

/// A raft event as the live dashboard words it; `None` for the ones it
/// does not show (commit advances, a leader forgotten).
pub fn raft_event_text(event: &Event) -> Option<String> {
    event.text()
}
