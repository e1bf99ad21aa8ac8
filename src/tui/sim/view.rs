//! A simulator's state as a [`ClusterView`], the same value the live
//! runtime publishes, so every pane of the dashboard shows a simulated run
//! unchanged.
//!
//! Views are built once per tick and kept in the dashboard's history, so
//! the builder shares what did not change: a node whose view is the same as
//! at the last tick keeps the same `Arc<NodeView>`, and a log window is
//! rebuilt only when the log's tail moved.

use std::collections::VecDeque;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use crate::raft::{Index, Message, NodeId, Term};
use crate::runtime::observe::{
    CheckReport, DropCause, Fate, Flight, FlightLog, MESSAGE_CAPACITY, MessageLog, MessageRecord,
    MessageWindow, Path, Wire,
};
use crate::runtime::{
    ClusterView, LinkCounts, LinkView, LogEntryView, NodeView, TICK_CLUSTER_US, Teaching,
    ViewEvent, log_window, push_folding,
};
use crate::sim::{SendDrop, SendFate, Sim};

/// Events a view carries, like the live cluster's default ring.
pub const EVENT_CAPACITY: usize = 256;

/// Wall length of a tick at speed 1.0, as in the live dashboard.
pub const TICK_WALL: Duration = Duration::from_millis(50);

/// What the clock says, for the view's status fields.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct ClockState {
    /// Whether the clock is paused.
    pub paused: bool,
    /// The speed factor.
    pub speed: f64,
    /// Wall length of a tick at speed 1.0.
    pub tick_wall: Duration,
}

/// The tail a log window was cut from: when it is the same, so is the window.
type Tail = (Index, Term, Index, bool);

/// Builds [`ClusterView`]s of one simulated run.
pub struct ViewBuilder {
    window: usize,
    nodes: Vec<Arc<NodeView>>,
    windows: Vec<(Tail, Arc<[LogEntryView]>)>,
    events: VecDeque<ViewEvent>,
    version: u64,
    /// Every message the run sent, with its fate (see [`ViewBuilder::watch`]).
    messages: Arc<MessageLog>,
    /// The messages on the wire, as they were sent.
    flights: Arc<Mutex<FlightLog>>,
    /// The checks' verdict, shared by views until it changes.
    checks: Arc<CheckReport>,
}

impl ViewBuilder {
    /// A builder for a cluster of `ids`, showing `window` log entries each.
    pub fn new(ids: &[NodeId], window: usize) -> ViewBuilder {
        let empty: Arc<[LogEntryView]> = Arc::from(Vec::new());
        ViewBuilder {
            window,
            nodes: ids
                .iter()
                .map(|&id| Arc::new(NodeView::initial(id)))
                .collect(),
            windows: ids
                .iter()
                .map(|_| ((0, 0, 0, true), empty.clone()))
                .collect(),
            events: VecDeque::new(),
            version: 0,
            messages: Arc::new(MessageLog::new(MESSAGE_CAPACITY)),
            flights: Arc::default(),
            checks: Arc::new(CheckReport {
                active: true,
                simulated: true,
                ..CheckReport::default()
            }),
        }
    }

    /// Starts watching `sim`: its events, and every message it sends with
    /// its fate in the fabric, into this builder's message log. A new run
    /// (R) gets a new builder, so a fresh log.
    /// Messages held by hand are numbered in the order they are held,
    /// as the simulator numbers them.
    pub fn watch(&self, sim: &mut Sim) {
        sim.observe();
        let log = self.messages.clone();
        let flights = self.flights.clone();
        let (a, b) = sim.fabric().latency();
        let latency = a.midpoint(b);
        let mut held = 0;
        sim.on_send(Box::new(move |msg, now_us, fate| {
            let tick = now_us / TICK_CLUSTER_US;
            if fate.delays.is_empty() && fate.dropped.is_none() {
                held += 1;
                let fate = Fate::Held { number: held };
                log.push(MessageRecord::of(msg, tick, fate));
                return;
            }
            log.push(MessageRecord::of(msg, tick, fate_of(fate)));
            let cause = drop_cause(fate.dropped);
            let mut flights = flights.lock().unwrap_or_else(|p| p.into_inner());
            flights.sent(msg, now_us, fate.delays, cause, latency);
        }));
    }

    /// Shows that a held message was dropped by hand at `now_us`.
    pub fn dropped_by_hand(&self, msg: &Message, now_us: u64) {
        let mut flights = self.flights.lock().unwrap_or_else(|p| p.into_inner());
        flights.dropped_by_hand(msg, now_us);
    }

    /// Sets the checks' verdict the next views carry.
    pub fn set_checks(&mut self, report: CheckReport) {
        if *self.checks != report {
            self.checks = Arc::new(report);
        }
    }

    /// Adds an event line (the driver's own: inputs, violations, the end).
    pub fn push_event(&mut self, at_us: u64, node: Option<NodeId>, text: String) {
        let event = ViewEvent {
            at_us,
            tick: at_us / TICK_CLUSTER_US,
            node,
            text,
            count: 1,
        };
        push_folding(&mut self.events, event, EVENT_CAPACITY);
    }

    /// Forgets the events (a run restarted from time 0).
    pub fn clear_events(&mut self) {
        self.events.clear();
    }

    /// Takes the events `sim` recorded since the last call.
    pub fn absorb(&mut self, sim: &mut Sim) {
        for e in sim.take_events() {
            self.push_event(e.time_us, e.node, e.text);
        }
    }

    /// The view of `sim` now; takes the events it recorded since the last.
    /// `between_ticks`: a frame only to move the messages on (not kept for
    /// time travel).
    pub fn build(
        &mut self,
        sim: &mut Sim,
        clock: ClockState,
        between_ticks: bool,
    ) -> Arc<ClusterView> {
        self.absorb(sim);
        // Membership changes add nodes as the run goes (up to 9).
        for id in sim.node_ids() {
            if !self.nodes.iter().any(|n| n.id == id) {
                self.nodes.push(Arc::new(NodeView::initial(id)));
                self.windows.push(((0, 0, 0, true), Arc::from(Vec::new())));
            }
        }
        for i in 0..self.nodes.len() {
            let next = self.node_view(sim, i);
            if *self.nodes[i] != next {
                self.nodes[i] = Arc::new(next);
            }
        }
        self.version += 1;
        let now = sim.now_us();
        Arc::new(ClusterView {
            version: self.version,
            at_us: now,
            tick: now / TICK_CLUSTER_US,
            clock_paused: clock.paused,
            speed: clock.speed,
            tick_wall: clock.tick_wall,
            nodes: self.nodes.clone(),
            links: links(sim),
            groups: sim.fabric().groups(),
            events: self.events.iter().cloned().collect(),
            teaching: Teaching {
                messages: MessageWindow::of(self.messages.clone(), true),
                bugs: sim.bugs(),
                checks: self.checks.clone(),
                extensions: sim.options().extensions,
                latency_us: sim.fabric().latency(),
                wire: self.wire(sim, between_ticks),
            },
        })
    }

    /// The messages on the wire now: in the air, and held by hand.
    fn wire(&self, sim: &Sim, between_ticks: bool) -> Wire {
        let now_us = sim.now_us();
        let mut flights = self
            .flights
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .at(now_us);
        flights.extend(
            sim.held_messages()
                .map(|(number, msg, since)| Flight::of(msg, since, since, Path::Held { number })),
        );
        Wire {
            now_us,
            flights: flights.into(),
            holding: sim.holding(),
            between_ticks,
        }
    }

    /// Node `i`'s view now, sharing its log window when the tail is the same.
    fn node_view(&mut self, sim: &Sim, i: usize) -> NodeView {
        let before = &self.nodes[i];
        let id = before.id;
        match sim.status(id) {
            Some(status) => {
                let tail = (
                    status.last_index,
                    status.last_term,
                    status.snapshot_index,
                    true,
                );
                if self.windows[i].0 != tail {
                    let entries = sim.log(id).unwrap_or(&[]);
                    self.windows[i] = (tail, log_window(entries, self.window));
                }
                let applied = sim.applied_index(id).unwrap_or(0);
                let votes = sim.tally(id);
                let window = self.windows[i].1.clone();
                let mut view = NodeView::running(&status, votes, applied, window);
                (view.sent, view.received) = sim.traffic(id);
                view
            }
            None => {
                let Some(durable) = sim.durable(id) else {
                    return (**before).clone();
                };
                let snapshot = durable.snapshot.as_ref().map_or(0, |s| s.meta.index);
                let last = durable.last_index();
                let tail = (last, durable.term_at(last).unwrap_or(0), snapshot, false);
                let mut view = NodeView::down(before, durable, 0);
                if self.windows[i].0 != tail {
                    self.windows[i] = (tail, log_window(&durable.entries, self.window));
                }
                view.log = self.windows[i].1.clone();
                (view.sent, view.received) = sim.traffic(id);
                view
            }
        }
    }
}

/// A simulated message's fate as the message list words it. The fabric's
/// ordinary latency (every simulated message has some) is `delivered`;
/// only a link whose delay was set shows `delayed`.
fn fate_of(fate: SendFate<'_>) -> Fate {
    let cause = drop_cause(fate.dropped);
    if fate.slowed {
        Fate::from_delays(fate.delays, cause)
    } else {
        let copies = [0; 2];
        Fate::from_delays(&copies[..fate.delays.len().min(2)], cause)
    }
}

/// Why the simulator dropped a message, in the message list's words.
fn drop_cause(dropped: Option<SendDrop>) -> DropCause {
    match dropped {
        Some(SendDrop::Lost) => DropCause::Lost,
        Some(SendDrop::NodeDown) => DropCause::NodeDown,
        Some(SendDrop::LinkDown) | None => DropCause::LinkDown,
    }
}

/// Every directed link with its faults and the messages on it now. The
/// simulator does not count deliveries per link, so those stay 0 (no pane
/// shows them).
fn links(sim: &Sim) -> Vec<LinkView> {
    let in_flight = sim.in_flight();
    LinkView::all(sim.fabric(), |from, to| LinkCounts {
        in_flight: in_flight.get(&(from, to)).copied().unwrap_or(0),
        ..LinkCounts::default()
    })
}
