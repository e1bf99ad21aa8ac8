//! Known-unsafe protocol variants switched on and off in a running
//! cluster (the dashboard's `bug NAME on|off`), and observing on and off.
//!
//! The variants live in the shared state, so a node restarted later takes
//! them too; each running node gets them through its control channel and
//! sets them on its Raft node from its next input on.

use super::RuntimeError;
use super::cluster::Cluster;
use super::inbox::Control;
use super::lock::lock;
use crate::raft::Bugs;

impl Cluster {
    /// The unsafe variants on now.
    pub fn bugs(&self) -> Bugs {
        *lock(&self.shared.bugs)
    }

    /// Switches the variant called `name` (as `raftlab check --bug` names
    /// it) on or off on every node, running or restarted later. Returns
    /// the variants on afterwards.
    pub fn set_bug(&self, name: &str, on: bool) -> Result<Bugs, RuntimeError> {
        if self.shared.is_stopped() {
            return Err(RuntimeError::Stopped);
        }
        let mut probe = Bugs::default();
        if !probe.enable(name) {
            return Err(RuntimeError::UnknownBug(name.to_string()));
        }
        let bugs = {
            let mut bugs = lock(&self.shared.bugs);
            *bugs = with(*bugs, probe, on);
            *bugs
        };
        for node in &self.shared.nodes {
            // A node that is down has no thread reading this; it takes the
            // shared variants when it restarts.
            let _ = node.control.send(Control::SetBugs(bugs));
        }
        let state = if on { "ON: Raft is now unsafe" } else { "off" };
        self.shared.event(None, format!("bug {name} {state}"));
        self.shared.view.touch();
        Ok(bugs)
    }

    /// Starts or stops recording messages and judging invariants and the
    /// client history (see [`observe`](super::observe)).
    pub fn set_observe(&self, on: bool) {
        self.shared.observer.set(on);
        self.shared.view.touch();
    }
}

/// `bugs` with the variants set in `which` turned on or off.
pub(crate) fn with(bugs: Bugs, which: Bugs, on: bool) -> Bugs {
    let pick = |mine: bool, theirs: bool| if theirs { on } else { mine };
    Bugs {
        commit_old_terms: pick(bugs.commit_old_terms, which.commit_old_terms),
        skip_prev_check: pick(bugs.skip_prev_check, which.skip_prev_check),
        forget_vote: pick(bugs.forget_vote, which.forget_vote),
        leader_reads_without_read_index: pick(
            bugs.leader_reads_without_read_index,
            which.leader_reads_without_read_index,
        ),
        ack_before_fsync: pick(bugs.ack_before_fsync, which.ack_before_fsync),
        two_changes_in_flight: pick(bugs.two_changes_in_flight, which.two_changes_in_flight),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn with_changes_only_the_named_variant() {
        let mut one = Bugs::default();
        one.enable("forget-vote");
        let mut other = Bugs::default();
        other.enable("skip-prev-check");
        let both = with(one, other, true);
        assert_eq!(both.names(), vec!["skip-prev-check", "forget-vote"]);
        assert_eq!(with(both, one, false).names(), vec!["skip-prev-check"]);
    }
}
