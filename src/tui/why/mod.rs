//! "Why?": the dashboard explains what it shows. Select a log entry (the
//! log pane's cursor) or a node, press `w` (or type `why …`), and
//! [`explain`] answers from the view on screen — what the nodes hold,
//! their terms, votes, links and the refusals their cores kept — in
//! words a student can follow: why an entry is or is not committed (who
//! holds it, how many make a majority, Figure 8's rule for older terms),
//! why a node is or is not leader (whose votes, who refused and why), why
//! it cannot commit (the minority side of a partition), why a learner does
//! not vote.
//!
//! It is a pure function of one [`ClusterView`], so a frame of the past
//! (time travel) is explained as it was, a simulated run as a live one,
//! and every answer is tested on views of real runs.

mod ask;
mod entry;
mod node;

use crate::raft::{Index, NodeId};
use crate::runtime::{ClusterView, NodeState};

/// What a person asked about.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Subject {
    /// A node.
    Node(NodeId),
    /// The entry node `node` holds at `index`.
    Entry {
        /// Whose log.
        node: NodeId,
        /// Its index.
        index: Index,
    },
}

impl Subject {
    /// The subject in words: `n3`, `entry 7 on n3`.
    pub fn label(self) -> String {
        match self {
            Subject::Node(id) => format!("n{id}"),
            Subject::Entry { node, index } => format!("entry {index} on n{node}"),
        }
    }
}

/// How the answer sounds: it colours the verdict.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Tone {
    /// Things are as they should be (committed, leading with a majority).
    Good,
    /// Under way or waiting (a campaign, an entry on its way).
    Waiting,
    /// Stuck or lost (a minority, an entry that will be overwritten).
    Bad,
}

/// An answer: a title naming the subject, a one-line verdict, and the
/// reasons behind it, each a sentence or two.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Answer {
    /// What was asked about, as it stands: `n3: Follower in term 4`.
    pub title: String,
    /// The short answer: `Not committed: 2 of 5 voters hold it; 3 needed`.
    pub verdict: String,
    /// How the verdict sounds.
    pub tone: Tone,
    /// Why, one reason per item.
    pub reasons: Vec<String>,
}

/// Answers "why?" about `subject` from what `view` shows.
pub fn explain(view: &ClusterView, subject: Subject) -> Answer {
    let id = match subject {
        Subject::Node(id) | Subject::Entry { node: id, .. } => id,
    };
    let Some(n) = view.node(id) else {
        return Answer {
            title: subject.label(),
            verdict: format!("There is no node n{id}"),
            tone: Tone::Bad,
            reasons: Vec::new(),
        };
    };
    match subject {
        Subject::Node(_) => node::explain(view, n),
        Subject::Entry { index, .. } => entry::explain(view, n, index),
    }
}

/// `n1 n2 n3`, or `no one`.
fn names(ids: &[NodeId]) -> String {
    if ids.is_empty() {
        return "no one".to_string();
    }
    ids.iter()
        .map(|id| format!("n{id}"))
        .collect::<Vec<_>>()
        .join(" ")
}

/// The voters of the configuration the cluster uses (every node when no
/// node knows one yet).
fn voters(view: &ClusterView) -> Vec<NodeId> {
    match view.configuration() {
        Some((config, _)) => config.voters.to_vec(),
        None => view.nodes.iter().map(|n| n.id).collect(),
    }
}

/// How many of `voters` make a majority.
fn majority(voters: &[NodeId]) -> usize {
    voters.len() / 2 + 1
}

/// Whether `node` runs (neither down nor paused): only a running node
/// answers.
fn runs(view: &ClusterView, node: NodeId) -> bool {
    view.node(node).is_some_and(|n| n.state == NodeState::Up)
}

/// Whether `a` and `b` can talk: both run and the links both ways are up.
fn talks(view: &ClusterView, a: NodeId, b: NodeId) -> bool {
    let up = |x, y| view.link(x, y).is_some_and(|l| l.up);
    runs(view, a) && runs(view, b) && (a == b || (up(a, b) && up(b, a)))
}

/// The voters `node` can talk with, itself included when it is one.
fn reach(view: &ClusterView, node: NodeId) -> Vec<NodeId> {
    voters(view)
        .into_iter()
        .filter(|&v| talks(view, node, v))
        .collect()
}

/// `the partition 1 2 | 3 4 5`, when the network is split.
fn sides(view: &ClusterView) -> Option<String> {
    (view.groups.len() > 1).then(|| {
        format!(
            "the partition {}",
            crate::tui::driver::groups_text(&view.groups)
        )
    })
}

/// `ticks` of cluster time in words: `0.15s`.
fn secs(ticks: u64) -> String {
    crate::tui::text::cluster_time(ticks)
}

#[cfg(test)]
mod tests;
