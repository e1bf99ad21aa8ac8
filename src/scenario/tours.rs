//! The guided tours shipped with raftlab: scenario scripts under
//! `assets/tours/`, compiled into the binary so `raftlab tour NAME` works
//! from any directory. Each is also run in the simulator by
//! `tests/tours.rs`, so every caption describes something that happens.

use super::parse;

/// A shipped tour.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Tour {
    /// The name `raftlab tour NAME` takes.
    pub name: &'static str,
    /// The file it comes from, under `assets/tours/`.
    pub file: &'static str,
    /// What it shows, in a line short enough for the dashboard's menu.
    pub about: &'static str,
    /// The script.
    pub text: &'static str,
}

impl Tour {
    /// What the tour shows: the script's first comment.
    pub fn intent(&self) -> String {
        parse(self.text, self.file)
            .ok()
            .and_then(|s| s.intent)
            .unwrap_or_default()
    }
}

macro_rules! tour {
    ($name:literal, $file:literal, $about:literal) => {
        Tour {
            name: $name,
            file: $file,
            about: $about,
            text: include_str!(concat!("../../assets/tours/", $file)),
        }
    };
}

/// Every shipped tour, in the order a class would take them.
pub const TOURS: &[Tour] = &[
    tour!(
        "election",
        "01_election.scen",
        "random timeouts; a candidate wins a majority of votes"
    ),
    tour!(
        "replication",
        "02_replication.scen",
        "a write commits on a majority; a crashed node catches up"
    ),
    tour!(
        "failover",
        "03_failover.scen",
        "the leader crashes; a new one takes over, losing nothing"
    ),
    tour!(
        "partition",
        "04_partition.scen",
        "a leader cut off with a minority cannot commit"
    ),
    tour!(
        "prevote",
        "05_prevote.scen",
        "a node returning from a cut does not depose the leader"
    ),
    tour!(
        "reads",
        "06_reads.scen",
        "a stale read vs a linearizable read (ReadIndex)"
    ),
    tour!(
        "figure8",
        "07_figure8.scen",
        "why an old term's entry does not commit by counting"
    ),
    tour!(
        "snapshots",
        "08_snapshots.scen",
        "log compaction; a lagging follower gets InstallSnapshot"
    ),
    tour!(
        "figure8-broken",
        "09_figure8_broken.scen",
        "Figure 8 with the bug on: a committed entry is lost"
    ),
    tour!(
        "membership",
        "10_membership.scen",
        "a learner joins, is promoted; the leader removes itself"
    ),
];

/// The tour called `name`.
pub fn find(name: &str) -> Option<&'static Tour> {
    TOURS.iter().find(|t| t.name == name)
}
