//! [`Invariant`]: every property the checks judge, by one name each.

use std::fmt;

/// A property a correct Raft cluster keeps. Its [`name`](Invariant::name)
/// is what `raftlab check` prints, what scenario scripts wait for
/// (`wait violation "leader completeness"`) and what the checker panels
/// show: one name everywhere.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Invariant {
    /// At most one leader per term.
    ElectionSafety,
    /// A node votes at most once per term, and remembers it.
    OneVotePerTerm,
    /// A node's term never goes back, across restarts too.
    TermNeverDecreases,
    /// A node's commit index never goes back while it runs.
    CommitNeverDecreases,
    /// Same index and term ⇒ same command after the same term.
    LogMatching,
    /// No node loses, overwrites or disagrees with a committed entry.
    CommittedNeverLost,
    /// No two nodes apply different commands at one index.
    StateMachineSafety,
    /// A leader never overwrites or deletes its own entries.
    LeaderAppendOnly,
    /// A leader holds every entry committed in an earlier term.
    LeaderCompleteness,
    /// Nodes apply entries one by one, in index order.
    ApplyInOrder,
    /// Nodes apply only committed entries.
    ApplyOnlyCommitted,
    /// Every applied state equals a replay of the committed prefix.
    StateMatchesReplay,
    /// A node's messages leave only after what they promise is durable.
    PersistBeforeSend,
    /// A node commits only indexes its log holds.
    CommitWithinLog,
    /// A snapshot holds only committed state, equal to the replay's.
    SnapshotHoldsOnlyCommitted,
    /// A snapshot restores into a working state machine.
    SnapshotsRestore,
    /// Every logged command decodes.
    CommandsDecode,
    /// A node's log writes are contiguous (no gap before the new entries).
    LogWritesContiguous,
    /// Compacting a log into a snapshot succeeds.
    Compaction,
    /// A disk holding what was synced can be read back after a crash.
    Recovery,
    /// A node restarts from its durable state.
    RestartFromDurableState,
    /// The client history is linearizable (the history's verdict, judged
    /// at the end of a run rather than after a step).
    Linearizability,
    /// Not an invariant but a checker panel's row: where a simulated run
    /// shows a breach of a check that has no row of its own (see
    /// [`Invariant::row`]).
    OtherSimCheck,
}

impl Invariant {
    /// The invariants the live checker judges, in the order its panel
    /// shows them.
    pub const ALL: [Invariant; 7] = [
        Invariant::ElectionSafety,
        Invariant::OneVotePerTerm,
        Invariant::TermNeverDecreases,
        Invariant::CommitNeverDecreases,
        Invariant::LogMatching,
        Invariant::CommittedNeverLost,
        Invariant::StateMachineSafety,
    ];

    /// The rows only a simulated run's panel adds after [`ALL`]'s: the
    /// invariants the simulator alone can judge (it sees every durable
    /// write and models the crash that loses the rest), and last the row
    /// for its checks that have none of their own
    /// ([`OtherSimCheck`](Invariant::OtherSimCheck)).
    ///
    /// [`ALL`]: Invariant::ALL
    pub const SIM_ONLY: [Invariant; 6] = [
        Invariant::LeaderAppendOnly,
        Invariant::LeaderCompleteness,
        Invariant::ApplyInOrder,
        Invariant::StateMatchesReplay,
        Invariant::PersistBeforeSend,
        Invariant::OtherSimCheck,
    ];

    /// The name, as every output and script spells it.
    pub fn name(self) -> &'static str {
        match self {
            Invariant::ElectionSafety => "election safety",
            Invariant::OneVotePerTerm => "one vote per term",
            Invariant::TermNeverDecreases => "term never decreases",
            Invariant::CommitNeverDecreases => "commit never goes back",
            Invariant::LogMatching => "log matching",
            Invariant::CommittedNeverLost => "nothing committed is lost",
            Invariant::StateMachineSafety => "state machine safety",
            Invariant::LeaderAppendOnly => "leader append-only",
            Invariant::LeaderCompleteness => "leader completeness",
            Invariant::ApplyInOrder => "apply in order",
            Invariant::ApplyOnlyCommitted => "apply only committed",
            Invariant::StateMatchesReplay => "applied state equals replay",
            Invariant::PersistBeforeSend => "persist before send",
            Invariant::CommitWithinLog => "commit within log",
            Invariant::SnapshotHoldsOnlyCommitted => "snapshot holds only committed state",
            Invariant::SnapshotsRestore => "snapshots restore",
            Invariant::CommandsDecode => "commands decode",
            Invariant::LogWritesContiguous => "log writes are contiguous",
            Invariant::Compaction => "compaction",
            Invariant::Recovery => "recovery",
            Invariant::RestartFromDurableState => "restart from durable state",
            Invariant::Linearizability => "linearizability",
            Invariant::OtherSimCheck => "other simulator checks",
        }
    }

    /// The invariant called `name`, if one is.
    pub fn named(name: &str) -> Option<Invariant> {
        Invariant::EVERY.into_iter().find(|i| i.name() == name)
    }

    /// The checker panel's row where a breach of this invariant shows:
    /// its own; applying only committed entries shares "apply in order";
    /// the checks without a row of their own show on
    /// [`OtherSimCheck`](Invariant::OtherSimCheck); `None` for the
    /// history's verdict, which the panel shows apart.
    pub fn row(self) -> Option<Invariant> {
        match self {
            Invariant::ApplyOnlyCommitted => Some(Invariant::ApplyInOrder),
            Invariant::CommitWithinLog
            | Invariant::SnapshotHoldsOnlyCommitted
            | Invariant::SnapshotsRestore
            | Invariant::CommandsDecode
            | Invariant::LogWritesContiguous
            | Invariant::Compaction
            | Invariant::Recovery
            | Invariant::RestartFromDurableState => Some(Invariant::OtherSimCheck),
            Invariant::Linearizability => None,
            other => Some(other),
        }
    }

    /// Every invariant.
    pub const EVERY: [Invariant; 23] = [
        Invariant::ElectionSafety,
        Invariant::OneVotePerTerm,
        Invariant::TermNeverDecreases,
        Invariant::CommitNeverDecreases,
        Invariant::LogMatching,
        Invariant::CommittedNeverLost,
        Invariant::StateMachineSafety,
        Invariant::LeaderAppendOnly,
        Invariant::LeaderCompleteness,
        Invariant::ApplyInOrder,
        Invariant::ApplyOnlyCommitted,
        Invariant::StateMatchesReplay,
        Invariant::PersistBeforeSend,
        Invariant::CommitWithinLog,
        Invariant::SnapshotHoldsOnlyCommitted,
        Invariant::SnapshotsRestore,
        Invariant::CommandsDecode,
        Invariant::LogWritesContiguous,
        Invariant::Compaction,
        Invariant::Recovery,
        Invariant::RestartFromDurableState,
        Invariant::Linearizability,
        Invariant::OtherSimCheck,
    ];
}

impl fmt::Display for Invariant {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_invariant_has_one_name_that_finds_it() {
        let mut names = std::collections::BTreeSet::new();
        for i in Invariant::EVERY {
            assert!(names.insert(i.name()), "{} twice", i.name());
            assert_eq!(Invariant::named(i.name()), Some(i));
        }
        assert_eq!(Invariant::named("no such thing"), None);
    }

    #[test]
    fn every_breach_shows_on_a_row_of_the_panel() {
        for i in Invariant::EVERY {
            match i.row() {
                Some(r) => assert!(
                    Invariant::ALL.contains(&r) || Invariant::SIM_ONLY.contains(&r),
                    "{i} shows on {r}, which is no row"
                ),
                None => assert_eq!(i, Invariant::Linearizability),
            }
        }
        // The live checker's invariants each have their own row.
        for i in Invariant::ALL {
            assert_eq!(i.row(), Some(i));
        }
    }
}
