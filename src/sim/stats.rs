//! Counters of a simulation run, for reports and for tests that want to know
//! a run actually did something (elected leaders, lost messages, …).

use std::fmt;

/// What happened during a run, counted.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct SimStats {
    /// Events processed (ticks, deliveries, faults, client timers).
    pub events: u64,
    /// Node ticks (of up nodes).
    pub ticks: u64,
    /// Messages nodes handed to the network.
    pub messages_sent: u64,
    /// Messages that reached a live receiver (each copy counts).
    pub messages_delivered: u64,
    /// Messages lost: link down, loss, or a receiver down or restarted.
    pub messages_dropped: u64,
    /// Messages the network delivered twice.
    pub messages_duplicated: u64,
    /// Times any node became leader.
    pub elections: u64,
    /// Times a node became a candidate, bumping its term (pre-votes that
    /// went nowhere are not counted).
    pub candidacies: u64,
    /// Times a node became leader after a different node had led.
    pub leader_changes: u64,
    /// Client operations that completed.
    pub ops_ok: u64,
    /// Client operations that definitely did not take effect.
    pub ops_fail: u64,
    /// Client operations whose outcome is unknown (timed-out writes).
    pub ops_info: u64,
    /// Log entries committed cluster-wide (the longest commit seen).
    pub commits: u64,
    /// Node crashes.
    pub crashes: u64,
    /// Node restarts.
    pub restarts: u64,
    /// Faults injected by the fault schedule.
    pub faults: u64,
    /// Snapshots nodes took of their stores (log compactions).
    pub snapshots: u64,
    /// Snapshots followers installed from a leader.
    pub snapshots_installed: u64,
    /// Disk writes or syncs that failed (each stopped its node).
    pub disk_errors: u64,
    /// Crash points met mid-write (before the sync) and mid-compaction.
    pub torn_crashes: u64,
    /// Membership changes a leader accepted.
    pub membership_changes: u64,
    /// Membership changes refused because another was still in flight.
    pub changes_refused: u64,
    /// Reconfiguration races the `reconfig` nemesis started.
    pub races: u64,
}

impl fmt::Display for SimStats {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "{} events, {} msgs sent ({} delivered, {} dropped, {} duplicated), \
             {} elections ({} leader changes), {} commits, ops {} ok / {} fail / {} info, \
             {} crashes, {} faults, {} snapshots ({} installed), {} membership changes",
            self.events,
            self.messages_sent,
            self.messages_delivered,
            self.messages_dropped,
            self.messages_duplicated,
            self.elections,
            self.leader_changes,
            self.commits,
            self.ops_ok,
            self.ops_fail,
            self.ops_info,
            self.crashes,
            self.faults,
            self.snapshots,
            self.snapshots_installed,
            self.membership_changes,
        )
    }
}
