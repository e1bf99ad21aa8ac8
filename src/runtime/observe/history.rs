//! The client history a live cluster records, capped, and its
//! linearizability [`verdict`] (the thread that checks it while the cluster
//! is observed is `runtime/lin_checker.rs`).
//!
//! The history keeps its first [`HISTORY_CAPACITY`] events (about 2 MB)
//! and only counts the ones after. Keeping a *prefix* keeps the check
//! sound: every event's time is taken under the history's lock, so the
//! events kept are exactly those before some instant, and a history cut
//! at an instant — operations still open becoming of unknown outcome —
//! is linearizable whenever the whole is. So "linearizable" is claimed
//! for the first N operations only, and "not linearizable" found there
//! holds for the whole run. (Keeping the newest events instead would cut
//! operations in half and is not soundly checkable.)

use std::time::Duration;

use super::LinStatus;
use crate::kv::history::{HistoryEvent, operations};
use crate::kv::linearizability::{Verdict, check_operations};

/// Client history events a cluster keeps (the first ones): 20,000, about
/// 10,000 operations.
pub const HISTORY_CAPACITY: usize = 20_000;

/// The recorded client history: a capped prefix and a count of the rest.
#[derive(Default)]
pub(crate) struct History {
    pub(crate) events: Vec<HistoryEvent>,
    capacity: usize,
    /// Events after the cap, not kept.
    pub(crate) unrecorded: u64,
}

impl History {
    pub(crate) fn new(capacity: usize) -> History {
        History {
            events: Vec::new(),
            capacity,
            unrecorded: 0,
        }
    }

    /// Adds an event, or counts it when the history is full.
    pub(crate) fn push(&mut self, event: HistoryEvent) {
        if self.events.len() < self.capacity {
            self.events.push(event);
        } else {
            self.unrecorded += 1;
        }
    }
}

/// Checks the history now; the verdict.
pub(crate) fn verdict(events: &[HistoryEvent], unrecorded: u64, budget: Duration) -> LinStatus {
    let ops = match operations(events) {
        Ok(ops) => ops,
        Err(e) => return LinStatus::Broken(e.to_string()),
    };
    if ops.is_empty() {
        return LinStatus::Empty;
    }
    let n = ops.len();
    match check_operations(&ops, budget) {
        Verdict::Linearizable => LinStatus::Linearizable {
            ops: n,
            // Events, not operations: a pair per operation, roughly.
            unrecorded: unrecorded.div_ceil(2),
        },
        Verdict::NotLinearizable { key, explanation } => LinStatus::NotLinearizable {
            ops: n,
            key,
            explanation,
        },
        Verdict::Unknown => LinStatus::Unknown { ops: n },
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::kv::test_ops::put;
    use crate::kv::{Op, OpResult};

    #[test]
    fn the_history_keeps_its_first_events_and_counts_the_rest() {
        let mut h = History::new(3);
        for t in 0..5 {
            h.push(HistoryEvent::invoke(t, &put("x", "1"), t));
        }
        assert_eq!(h.events.len(), 3);
        assert_eq!(h.unrecorded, 2);
    }

    #[test]
    fn a_cut_history_is_checked_as_a_prefix_and_says_so() {
        let get = Op::Get { key: "x".into() };
        let mut h = History::new(4);
        h.push(HistoryEvent::invoke(1, &put("x", "1"), 10));
        h.push(HistoryEvent::ok(1, &put("x", "1"), &OpResult::Done, 20));
        h.push(HistoryEvent::invoke(2, &get, 30));
        // The get's completion is past the cap: the get becomes of
        // unknown outcome, which is still sound.
        h.push(HistoryEvent::invoke(1, &put("x", "2"), 31));
        h.push(HistoryEvent::ok(
            2,
            &get,
            &OpResult::Value(Some("9".into())),
            40,
        ));
        assert_eq!(h.unrecorded, 1);
        let v = verdict(&h.events, h.unrecorded, Duration::from_secs(5));
        assert_eq!(
            v,
            LinStatus::Linearizable {
                ops: 3,
                unrecorded: 1
            }
        );
    }

    #[test]
    fn a_stale_read_is_not_linearizable() {
        let get = Op::Get { key: "x".into() };
        let events = vec![
            HistoryEvent::invoke(1, &put("x", "1"), 10),
            HistoryEvent::ok(1, &put("x", "1"), &OpResult::Done, 20),
            HistoryEvent::invoke(2, &get, 30),
            HistoryEvent::ok(2, &get, &OpResult::Value(None), 40),
        ];
        let v = verdict(&events, 0, Duration::from_secs(5));
        assert!(
            matches!(&v, LinStatus::NotLinearizable { key, .. } if key == "x"),
            "{v:?}"
        );
        assert_eq!(verdict(&[], 0, Duration::from_secs(1)), LinStatus::Empty);
    }
}
