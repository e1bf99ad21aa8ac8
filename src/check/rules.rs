//! The rules: each invariant as one function of the facts it judges.
//!
//! A rule returns `Ok(())` or the [`Breach`] with its evidence; it keeps
//! nothing between calls (the few that need memory — who led each term,
//! what was written at each index — are handed it by the caller).

use std::collections::BTreeMap;
use std::fmt::Display;

use super::hash::{EntryMap, describe_hash, payload_hash};
use super::{Breach, Invariant};
use crate::raft::{DurableState, Entry, Index, LogWrite, NodeId, Term};

/// What the checker remembers of one committed index.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Committed {
    /// The entry's term.
    pub term: Term,
    /// The term in which it was committed: the term of the first node seen
    /// to know it committed (its leader, so exactly the commit's term; a
    /// later observer could only name a higher one, which checks less and
    /// never wrongly).
    pub committed_in: Term,
    /// Hash of the entry's payload.
    pub hash: u64,
    /// Digest of the state a replay reaches after applying it.
    pub digest: u64,
    /// Hash of the result applying it produced.
    pub result: u64,
    /// The key the command touches (`None` for a no-op), decoded once
    /// here so that applying the same payload on each node does not
    /// decode it again just to find the key.
    pub key: Option<Box<str>>,
}

/// A counter that must never go back: `what` of node `id` went from
/// `before` to `after`. The shape of "term never decreases" and "commit
/// never goes back" alike.
fn never_decreases<T: PartialOrd + Display>(
    invariant: Invariant,
    id: NodeId,
    what: &str,
    before: T,
    after: T,
) -> Result<(), Breach> {
    if after < before {
        return Err((
            invariant,
            format!("n{id} {what} went from {before} back to {after}"),
        ));
    }
    Ok(())
}

/// At most one leader per term.
pub fn election_safety(
    leaders: &mut BTreeMap<Term, NodeId>,
    id: NodeId,
    term: Term,
) -> Result<(), Breach> {
    match leaders.get(&term) {
        Some(&other) if other != id => Err((
            Invariant::ElectionSafety,
            format!("n{other} and n{id} are both leader in term {term}"),
        )),
        Some(_) => Ok(()),
        None => {
            leaders.insert(term, id);
            Ok(())
        }
    }
}

/// A node's term never decreases.
pub fn term_never_decreases(id: NodeId, before: Term, after: Term) -> Result<(), Breach> {
    never_decreases(Invariant::TermNeverDecreases, id, "term", before, after)
}

/// A node votes at most once per term and never forgets that vote, not
/// even across a crash (Raft's Figure 2: `votedFor` is persistent state).
pub fn one_vote_per_term(
    id: NodeId,
    term: Term,
    before: Option<NodeId>,
    after: Option<NodeId>,
) -> Result<(), Breach> {
    match before {
        Some(v) if after != Some(v) => Err((
            Invariant::OneVotePerTerm,
            match after {
                Some(w) => format!("n{id} voted for n{v} in term {term}, then for n{w}"),
                None => format!("n{id} voted for n{v} in term {term}, then forgot it"),
            },
        )),
        _ => Ok(()),
    }
}

/// A leader never overwrites or deletes entries of its log: a write may
/// only rewrite an index with the identical entry, and never shorten.
pub fn leader_append_only(
    id: NodeId,
    durable: &DurableState,
    write: &LogWrite,
) -> Result<(), Breach> {
    let old_last = durable.last_index();
    let new_last = write.from.saturating_sub(1) + write.entries.len() as Index;
    if new_last < old_last {
        return Err((
            Invariant::LeaderAppendOnly,
            format!("leader n{id} shrinks its log from index {old_last} to {new_last}"),
        ));
    }
    for new in &write.entries {
        if let Some(old) = durable.get(new.index)
            && old != new
        {
            return Err((
                Invariant::LeaderAppendOnly,
                format!(
                    "leader n{id} overwrites index {} (term {} → term {})",
                    new.index, old.term, new.term
                ),
            ));
        }
    }
    Ok(())
}

/// A durable log never loses a committed entry it holds.
pub fn committed_not_lost(
    committed: &[Committed],
    id: NodeId,
    durable: &DurableState,
    write: &LogWrite,
) -> Result<(), Breach> {
    let first = write.from.max(durable.first_index());
    let last = durable.last_index().min(committed.len() as Index);
    for index in first..=last {
        let (Some(old), Some(known)) = (durable.get(index), committed.get(index as usize - 1))
        else {
            continue;
        };
        if old.term != known.term || payload_hash(&old.data) != known.hash {
            continue;
        }
        let kept = write
            .entries
            .get((index - write.from) as usize)
            .is_some_and(|new| new.term == known.term);
        if !kept {
            return Err((
                Invariant::CommittedNeverLost,
                format!(
                    "n{id} removes committed entry {index} (term {}) from its durable log",
                    known.term
                ),
            ));
        }
    }
    Ok(())
}

/// Same index and term ⇒ same command and same preceding term (and so, by
/// induction over every write, identical prefixes).
pub fn log_matching(
    entries: &mut EntryMap,
    id: NodeId,
    entry: &Entry,
    hash: u64,
    prev_term: Term,
) -> Result<(), Breach> {
    match entries.get(&(entry.index, entry.term)) {
        None => {
            entries.insert((entry.index, entry.term), (hash, prev_term));
            Ok(())
        }
        Some(&(h, p)) if h == hash && p == prev_term => Ok(()),
        Some(&(h, p)) => Err((
            Invariant::LogMatching,
            format!(
                "n{id} holds index {} term {} with {} after term {prev_term}; another log has {} after term {p}",
                entry.index,
                entry.term,
                describe_hash(hash),
                describe_hash(h)
            ),
        )),
    }
}

/// A node's commit index never goes back while it is up.
pub fn commit_never_decreases(id: NodeId, before: Index, after: Index) -> Result<(), Breach> {
    never_decreases(
        Invariant::CommitNeverDecreases,
        id,
        "commit index",
        before,
        after,
    )
}

/// What a node commits at an index is what everyone committed there.
pub fn committed_agrees(
    id: NodeId,
    entry: &Entry,
    hash: u64,
    known: &Committed,
) -> Result<(), Breach> {
    if entry.term != known.term || hash != known.hash {
        return Err((
            Invariant::CommittedNeverLost,
            format!(
                "n{id} commits index {} term {}, but term {} was committed there",
                entry.index, entry.term, known.term
            ),
        ));
    }
    Ok(())
}

/// A new leader of `term` holds entry `index` of term `want`, the last
/// entry committed in a term before `term` (log matching gives the rest).
pub fn leader_completeness(
    id: NodeId,
    term: Term,
    index: Index,
    want: Term,
    has: Option<Term>,
) -> Result<(), Breach> {
    if has != Some(want) {
        let has = has.map_or("nothing".to_string(), |t| format!("term {t}"));
        return Err((
            Invariant::LeaderCompleteness,
            format!(
                "n{id} became leader of term {term} without committed entry {index} (term {want}); it has {has} there"
            ),
        ));
    }
    Ok(())
}

/// A node applies entries one by one, in index order.
pub fn apply_in_order(id: NodeId, applied: Index, index: Index) -> Result<(), Breach> {
    if index != applied + 1 {
        return Err((
            Invariant::ApplyInOrder,
            format!("n{id} applies index {index} after index {applied}"),
        ));
    }
    Ok(())
}

/// No two nodes apply different commands at one index.
pub fn applied_matches_committed(
    id: NodeId,
    entry: &Entry,
    hash: u64,
    known: &Committed,
) -> Result<(), Breach> {
    if entry.term != known.term || hash != known.hash {
        return Err((
            Invariant::StateMachineSafety,
            format!(
                "n{id} applies index {} from term {} ({}), but the committed entry is from term {} ({})",
                entry.index,
                entry.term,
                describe_hash(hash),
                known.term,
                describe_hash(known.hash)
            ),
        ));
    }
    Ok(())
}

/// The state a node reaches equals the replay of the committed prefix.
pub fn state_matches_replay(
    id: NodeId,
    index: Index,
    digest: u64,
    result: u64,
    known: &Committed,
) -> Result<(), Breach> {
    if digest != known.digest || result != known.result {
        return Err((
            Invariant::StateMatchesReplay,
            format!(
                "n{id} after applying {index}: state {digest:016x} result {result:016x}; replay: state {:016x} result {:016x}",
                known.digest, known.result
            ),
        ));
    }
    Ok(())
}
