//! Watching a live cluster for teaching: the messages its nodes send, the
//! invariants they keep, and whether the client history is linearizable.
//!
//! Observing costs something on every send and every input, so it runs
//! only while someone asks for it ([`ClusterConfig::observe`] or
//! [`Cluster::set_observe`](super::Cluster::set_observe)): the dashboard
//! turns it on, `raftlab bench` leaves it off and pays one atomic load
//! per send. While on, node threads record every message into a shared
//! [`MessageLog`] ring and feed [`NodeFact`]s to a [`LiveChecker`]; a
//! background thread re-checks the client history for linearizability
//! (off the nodes' and the dashboard's threads) whenever it grew.
//!
//! The types a view carries — [`MessageWindow`], [`MessageRecord`],
//! [`CheckReport`], [`LinStatus`] — do not depend on the runtime, so a
//! simulator-driven view can fill them too.
//!
//! [`ClusterConfig::observe`]: super::ClusterConfig::observe

pub mod checker;
pub mod flights;
pub(crate) mod history;
pub mod messages;

use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};

pub use checker::{CheckReport, EntryFact, Finding, Invariant, LinStatus, LiveChecker, NodeFact};
pub use flights::{DROP_LINGER_US, Flight, FlightLog, Path, Wire};
pub use messages::{
    DropCause, Fate, MESSAGE_CAPACITY, MessageLog, MessageRecord, MessageWindow, MsgClass,
    MsgFilter, MsgResult,
};

use super::lock::lock;

/// What a cluster records while it is observed.
pub(crate) struct Observer {
    on: AtomicBool,
    pub(crate) messages: Arc<MessageLog>,
    /// The messages on the wire, for the main view.
    pub(crate) flights: Mutex<FlightLog>,
    pub(crate) checker: Mutex<LiveChecker>,
}

impl Observer {
    pub(crate) fn new(on: bool, capacity: usize) -> Observer {
        Observer {
            on: AtomicBool::new(on),
            messages: Arc::new(MessageLog::new(capacity)),
            flights: Mutex::new(FlightLog::default()),
            checker: Mutex::new(LiveChecker::new()),
        }
    }

    /// Whether messages and facts are being recorded.
    pub(crate) fn on(&self) -> bool {
        self.on.load(Ordering::Relaxed)
    }

    pub(crate) fn set(&self, on: bool) {
        self.on.store(on, Ordering::Relaxed);
    }

    /// Judges `fact`; whether it broke an invariant not broken before.
    pub(crate) fn fact(&self, fact: &NodeFact, tick: u64) -> bool {
        lock(&self.checker).observe(fact, tick)
    }

    /// The checker's verdict now (inactive while not observing).
    pub(crate) fn report(&self) -> Arc<CheckReport> {
        let report = lock(&self.checker).report();
        if self.on() {
            report
        } else {
            let mut r = (*report).clone();
            r.active = false;
            Arc::new(r)
        }
    }
}
