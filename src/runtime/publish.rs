//! Reading a live cluster's [`ClusterView`]: assembling it from the
//! cluster's shared state, and [`ViewWatch`], which waits for the next one.
//!
//! Apart from `view.rs` (the view types and the hub the node threads
//! publish into) so that the shared state (`shared.rs`), which holds the
//! hub, need not import what reads the shared state.

use std::sync::Arc;
use std::sync::atomic::Ordering;
use std::time::Duration;

use super::lock::lock;
use super::observe::{Flight, MessageWindow, Path, Wire};
use super::shared::{LinkCounters, Shared};
use super::view::{ClusterView, LinkCounts, LinkView, Teaching};

/// Assembles the current view.
pub(crate) fn build(shared: &Shared) -> Arc<ClusterView> {
    let (version, nodes, events) = {
        let mut inner = lock(&shared.view.inner);
        inner.render();
        let events = inner.events.iter().cloned().collect();
        (inner.version, inner.nodes.clone(), events)
    };
    let (clock_paused, speed, tick_wall, now_us) = {
        let clock = lock(&shared.clock);
        (clock.paused(), clock.speed(), clock.tick(), clock.now())
    };
    let wire = wire(shared, now_us);
    let (links, groups, latency_us) = {
        let fabric = lock(&shared.fabric);
        let c = &shared.links;
        let links = LinkView::all(&fabric, |from, to| {
            let slot = c.slot(from, to).unwrap_or(usize::MAX);
            LinkCounts {
                in_flight: LinkCounters::get(&c.in_flight, slot),
                delivered: LinkCounters::get(&c.delivered, slot),
                dropped: LinkCounters::get(&c.dropped, slot),
            }
        });
        (links, fabric.groups(), fabric.latency())
    };
    Arc::new(ClusterView {
        version,
        at_us: shared.now_us(),
        tick: shared.ticks.load(Ordering::Relaxed),
        clock_paused,
        speed,
        tick_wall,
        nodes,
        links,
        groups,
        events,
        teaching: Teaching {
            messages: MessageWindow::of(shared.observer.messages.clone(), shared.observer.on()),
            bugs: *lock(&shared.bugs),
            checks: shared.observer.report(),
            extensions: shared.extensions,
            latency_us,
            wire,
        },
    })
}

/// The messages on the wire at cluster time `now_us`: those in the air
/// (recorded while observed) and those held by hand.
fn wire(shared: &Shared, now_us: u64) -> Wire {
    let mut flights = if shared.observer.on() {
        lock(&shared.observer.flights).at(now_us)
    } else {
        Vec::new()
    };
    let holding = {
        let hold = lock(&shared.hold);
        flights.extend(hold.iter().map(|h| {
            let path = Path::Held { number: h.number };
            Flight::of(&h.msg, h.since_us, h.since_us, path)
        }));
        hold.is_on()
    };
    Wire {
        now_us,
        flights: flights.into(),
        holding,
        between_ticks: false,
    }
}

/// Follows a cluster's views: [`ViewWatch::wait`] returns the next change.
pub struct ViewWatch {
    pub(crate) shared: Arc<Shared>,
    pub(crate) seen: u64,
}

impl ViewWatch {
    /// The current view (and remembers having seen it).
    pub fn current(&mut self) -> Arc<ClusterView> {
        let view = build(&self.shared);
        self.seen = view.version;
        view
    }

    /// Waits up to `timeout` for a view newer than the last one returned;
    /// `None` when nothing changed in that time.
    pub fn wait(&mut self, timeout: Duration) -> Option<Arc<ClusterView>> {
        let version = self.shared.view.wait_newer(self.seen, timeout);
        (version > self.seen).then(|| self.current())
    }
}
