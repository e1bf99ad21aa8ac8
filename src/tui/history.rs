//! Time travel: the views the dashboard has shown, one per tick, so a
//! person can pause and scrub back and forward through what each node
//! held at each moment.
//!
//! [`ViewHistory`] keeps at most [`HISTORY_CAP`] views, one per cluster
//! tick (a newer view of the same tick replaces the older), and forgets the
//! oldest when full. Views share what did not change between ticks (node
//! views and log windows are `Arc`s), so a full history costs far less
//! than `HISTORY_CAP` separate copies; [`ViewHistory::approx_bytes`]
//! measures it. A view of an earlier tick than the last means a new run (a
//! simulated run replayed from time 0): the history starts over.

use std::collections::{HashSet, VecDeque};
use std::sync::Arc;

use crate::runtime::observe::Flight;
use crate::runtime::{ClusterView, LinkView, LogEntryView, NodeView, ViewEvent};

/// Most views kept: 2,000 ticks, 20 s of cluster time (100 s of wall time
/// at speed 1). Live mode records the views it receives (at most ~30 a
/// second, so at speeds above 1.5 not every tick); simulated mode records
/// every tick.
pub const HISTORY_CAP: usize = 2000;

/// Events a recorded view keeps (the newest): the event pane shows fewer
/// rows even at 200×50, and the whole ring in every view would make the
/// events most of a full history's memory.
pub const HISTORY_EVENTS: usize = 40;

/// The recorded views, oldest first, one per tick.
#[derive(Debug)]
pub struct ViewHistory {
    views: VecDeque<Arc<ClusterView>>,
    cap: usize,
}

impl Default for ViewHistory {
    fn default() -> ViewHistory {
        ViewHistory::new(HISTORY_CAP)
    }
}

/// What recording a view did to the positions of the views before it.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Recorded {
    /// Appended; this many of the oldest views were forgotten to make room.
    Appended(usize),
    /// It replaced the last view (the same tick).
    Replaced,
    /// A new run began: everything before was forgotten.
    Restarted,
}

impl ViewHistory {
    /// An empty history keeping at most `cap` views (at least 1).
    pub fn new(cap: usize) -> ViewHistory {
        ViewHistory {
            views: VecDeque::new(),
            cap: cap.max(1),
        }
    }

    /// Records `view` as the newest (keeping its last [`HISTORY_EVENTS`]
    /// events).
    pub fn record(&mut self, view: Arc<ClusterView>) -> Recorded {
        let view = if view.events.len() > HISTORY_EVENTS {
            let mut trimmed = (*view).clone();
            trimmed.events.drain(..view.events.len() - HISTORY_EVENTS);
            trimmed.events.shrink_to_fit();
            Arc::new(trimmed)
        } else {
            view
        };
        match self.views.back() {
            Some(last) if last.tick == view.tick => {
                if let Some(slot) = self.views.back_mut() {
                    *slot = view;
                }
                return Recorded::Replaced;
            }
            Some(last) if view.tick < last.tick => {
                self.views.clear();
                self.views.push_back(view);
                return Recorded::Restarted;
            }
            _ => {}
        }
        self.views.push_back(view);
        let mut dropped = 0;
        while self.views.len() > self.cap {
            self.views.pop_front();
            dropped += 1;
        }
        Recorded::Appended(dropped)
    }

    /// How many views are kept.
    pub fn len(&self) -> usize {
        self.views.len()
    }

    /// Whether nothing is recorded.
    pub fn is_empty(&self) -> bool {
        self.views.is_empty()
    }

    /// The most views it keeps.
    pub fn cap(&self) -> usize {
        self.cap
    }

    /// The view at position `i` (0: the oldest).
    pub fn get(&self, i: usize) -> Option<&Arc<ClusterView>> {
        self.views.get(i)
    }

    /// The tick of the oldest and of the newest view.
    pub fn span(&self) -> Option<(u64, u64)> {
        Some((self.views.front()?.tick, self.views.back()?.tick))
    }

    /// Approximate heap bytes the recorded views take, counting each
    /// shared node view and log window once.
    pub fn approx_bytes(&self) -> usize {
        let mut nodes: HashSet<*const NodeView> = HashSet::new();
        let mut logs: HashSet<*const LogEntryView> = HashSet::new();
        let mut bytes = 0;
        for view in &self.views {
            bytes += size_of::<ClusterView>()
                + view.nodes.capacity() * size_of::<Arc<NodeView>>()
                + view.links.capacity() * size_of::<LinkView>()
                + view
                    .groups
                    .iter()
                    .map(|g| 24 + g.capacity() * 8)
                    .sum::<usize>()
                + view.events.capacity() * size_of::<ViewEvent>()
                + view.events.iter().map(|e| e.text.capacity()).sum::<usize>()
                + 16
                + view.teaching.wire.flights.len() * size_of::<Flight>();
            for node in &view.nodes {
                if nodes.insert(Arc::as_ptr(node)) {
                    bytes += size_of::<NodeView>() + 16;
                }
                let log = node.log.as_ptr();
                if logs.insert(log) {
                    bytes += 16
                        + node.log.len() * size_of::<LogEntryView>()
                        + node.log.iter().map(|e| e.text.capacity()).sum::<usize>();
                }
            }
        }
        bytes
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::time::Duration;

    fn view(tick: u64, version: u64) -> Arc<ClusterView> {
        Arc::new(ClusterView {
            version,
            at_us: tick * 10_000,
            tick,
            clock_paused: false,
            speed: 1.0,
            tick_wall: Duration::from_millis(50),
            nodes: Vec::new(),
            links: Vec::new(),
            groups: Vec::new(),
            events: Vec::new(),
            teaching: Default::default(),
        })
    }

    #[test]
    fn one_view_per_tick_the_newest_wins() {
        let mut h = ViewHistory::new(10);
        assert_eq!(h.record(view(1, 1)), Recorded::Appended(0));
        assert_eq!(h.record(view(1, 2)), Recorded::Replaced);
        assert_eq!(h.record(view(2, 3)), Recorded::Appended(0));
        assert_eq!(h.len(), 2);
        assert_eq!(h.get(0).map(|v| v.version), Some(2));
        assert_eq!(h.span(), Some((1, 2)));
    }

    #[test]
    fn bounded_by_count_forgetting_the_oldest() {
        let mut h = ViewHistory::new(3);
        for t in 0..3 {
            assert_eq!(h.record(view(t, t)), Recorded::Appended(0));
        }
        assert_eq!(h.record(view(3, 3)), Recorded::Appended(1));
        assert_eq!(h.len(), 3);
        assert_eq!(h.span(), Some((1, 3)));
        for t in 4..100 {
            h.record(view(t, t));
        }
        assert_eq!(h.len(), 3);
        assert_eq!(h.span(), Some((97, 99)));
        assert_eq!(ViewHistory::new(0).cap(), 1);
    }

    #[test]
    fn recorded_views_keep_their_newest_events() {
        let mut h = ViewHistory::new(10);
        let mut v = (*view(1, 1)).clone();
        v.events = (0..100)
            .map(|i| ViewEvent {
                at_us: i,
                tick: 1,
                node: None,
                text: format!("e{i}"),
                count: 1,
            })
            .collect();
        h.record(Arc::new(v));
        let kept = &h.get(0).unwrap().events;
        assert_eq!(kept.len(), HISTORY_EVENTS);
        assert_eq!(kept.last().map(|e| e.text.as_str()), Some("e99"));
        assert_eq!(kept[0].text, format!("e{}", 100 - HISTORY_EVENTS));
    }

    #[test]
    fn an_earlier_tick_starts_a_new_run() {
        let mut h = ViewHistory::new(10);
        for t in 5..9 {
            h.record(view(t, t));
        }
        assert_eq!(h.record(view(0, 100)), Recorded::Restarted);
        assert_eq!(h.len(), 1);
        assert_eq!(h.span(), Some((0, 0)));
    }

    #[test]
    fn shared_node_views_are_counted_once() {
        let node = Arc::new(NodeView {
            term: 1,
            election_timeout: 20,
            ..NodeView::initial(1)
        });
        let with = |tick| {
            let mut v = (*view(tick, tick)).clone();
            v.nodes = vec![node.clone()];
            Arc::new(v)
        };
        let mut one = ViewHistory::new(10);
        one.record(with(1));
        let mut two = ViewHistory::new(10);
        two.record(with(1));
        two.record(with(2));
        let per_view = one.approx_bytes() - size_of::<NodeView>() - 16 - 16;
        assert_eq!(two.approx_bytes(), one.approx_bytes() + per_view);
    }
}
