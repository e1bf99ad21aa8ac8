//! Raft's safety invariants as code: one small pure function per property.
//!
//! Raft's paper proves five properties (Figure 3) — election safety,
//! leader append-only, log matching, leader completeness, state machine
//! safety — and a working cluster keeps a few more that follow from its
//! persistent state (a term and a vote are never forgotten, a commit index
//! never goes back). Each is a function here that receives exactly the
//! facts it judges and returns a [`Breach`] — which [`Invariant`], and the
//! evidence in words — when they are wrong. Nothing here keeps state
//! between calls or knows who calls it: the simulator's checker runs the
//! rules after every simulated step (`sim::checker`), the live checker on
//! the facts the node threads report (`runtime::observe::checker`), and
//! the dashboards show the verdicts by the same [`Invariant`] names that
//! `raftlab check` prints and scenario scripts wait for.

mod hash;
mod invariant;
mod rules;

pub use hash::{EntryMap, WordHasher, describe_hash, hash_bytes, mix, payload_hash};
pub use invariant::Invariant;
pub use rules::{
    Committed, applied_matches_committed, apply_in_order, commit_never_decreases, committed_agrees,
    committed_not_lost, election_safety, leader_append_only, leader_completeness, log_matching,
    one_vote_per_term, state_matches_replay, term_never_decreases,
};

/// A broken invariant: which one, and the evidence.
pub type Breach = (Invariant, String);
