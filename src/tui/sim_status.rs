//! [`SimStatus`]: how a simulated run stands — its seed, where it is, its
//! trace hash, and what the checks found — for the status bar and for a
//! checker panel to read.
//!
//! The simulated mode (`tui/sim/`) makes it; the dashboard (`App`, the
//! status bar, the main loop) reads it. It lives beside both, so the
//! dashboard need not import `tui/sim/`, which itself builds on the
//! dashboard.

use crate::sim::Violation;

/// What the linearizability check said of the client history.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum HistoryCheck {
    /// Not judged yet (it is judged at the end of a `raftlab check` run).
    NotYet,
    /// Linearizable.
    Linearizable,
    /// Not linearizable: the evidence.
    Violated(String),
}

/// A simulated run's state, sent with every view.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct SimStatus {
    /// The run's seed.
    pub seed: u64,
    /// What the run is, in words ("sim seed 7", "replay of check seed 7").
    pub label: String,
    /// Virtual time, µs.
    pub now_us: u64,
    /// The simulator's trace hash now (the same as `raftlab check`'s run
    /// at the same point when no input was given).
    pub trace_hash: u64,
    /// The first invariant violation, if the run hit one (it stops there).
    pub violation: Option<Violation>,
    /// The linearizability verdict on the client history.
    pub history: HistoryCheck,
    /// Client history events (invocations and completions) so far.
    pub operations: usize,
    /// User inputs applied in this run.
    pub inputs: usize,
    /// Recorded inputs a replay has still to apply.
    pub to_replay: usize,
    /// Where the run ends (a `raftlab check` run's duration), µs.
    pub end_us: Option<u64>,
    /// Whether it reached that end.
    pub ended: bool,
    /// Runs of this seed so far: 1, then one more per replay (R).
    pub runs: u64,
}
