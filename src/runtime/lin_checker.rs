//! The thread that checks a live cluster's client history for
//! linearizability while the cluster is observed, and posts the verdict to
//! the live checker's report.
//!
//! Apart from `observe/history.rs` (the history and its [`verdict`]) so
//! that `observe/`, whose history the shared state holds, need not import
//! the shared state.

use std::sync::Arc;
use std::time::Duration;

use super::lock::lock;
use super::observe::LinStatus;
use super::observe::history::verdict;
use super::shared::Shared;

/// How often the checker thread looks for new operations.
const CHECK_EVERY: Duration = Duration::from_millis(500);
/// How long one linearizability search may take before answering unknown.
const CHECK_BUDGET: Duration = Duration::from_secs(10);

/// Runs until the cluster stops: while observed, re-checks the history
/// whenever it changed, posting "checking…" and then the verdict.
pub(crate) fn run_checker(shared: Arc<Shared>) {
    // How many events the last check covered: a full history only
    // grows its count of unrecorded events, which needs no new search.
    let mut checked: Option<usize> = None;
    while !shared.is_stopped() {
        std::thread::sleep(CHECK_EVERY);
        if !shared.observer.on() || !shared.record_history {
            continue;
        }
        let (events, unrecorded) = {
            let h = lock(&shared.history);
            if checked == Some(h.events.len()) {
                let recount = |status: &LinStatus| match status {
                    LinStatus::Linearizable { ops, .. } => Some(LinStatus::Linearizable {
                        ops: *ops,
                        unrecorded: h.unrecorded.div_ceil(2),
                    }),
                    _ => None,
                };
                let now = recount(&lock(&shared.observer.checker).report().linearizability);
                drop(h);
                if let Some(status) = now {
                    post(&shared, status);
                }
                continue;
            }
            checked = Some(h.events.len());
            (h.events.clone(), h.unrecorded)
        };
        let ops = events
            .iter()
            .filter(|e| e.kind == crate::kv::history::EventType::Invoke)
            .count();
        if ops > 0 {
            post(&shared, LinStatus::Checking { ops });
        }
        post(&shared, verdict(&events, unrecorded, CHECK_BUDGET));
    }
}

fn post(shared: &Shared, status: LinStatus) {
    let changed = lock(&shared.observer.checker).set_linearizability(status);
    if changed {
        shared.view.touch();
    }
}
