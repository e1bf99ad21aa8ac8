//! The simulator's checker: Raft's safety invariants after every step.
//!
//! The rules themselves are in [`crate::check`], one small function per
//! property; this is what runs them *incrementally* on a simulated
//! cluster. The [`Checker`] keeps what the rules need — the leader of each
//! term, every (index, term) ever written to a durable log, the
//! cluster-wide committed prefix with a digest of the state a replay
//! reaches at each index — so a step costs only what changed in it, never
//! a walk over whole logs, and a breach becomes a [`Violation`] with the
//! seed, the time, the last events and the command that replays it.
//!
//! What it judges (Raft paper §5.2–5.4, Figure 3):
//!
//! - *election safety*: at most one leader per term;
//! - *terms never decrease* on a node, across crashes too (terms are durable);
//! - *leader append-only*: a leader never overwrites or deletes its entries;
//! - *log matching*: entries with the same index and term carry the same
//!   command and follow the same entry (hence identical prefixes);
//! - *commit never goes back* on a node while it is up, and *nothing
//!   committed is lost*: every node agrees with the committed prefix, no
//!   durable log drops a committed entry, and a leader of term T holds
//!   every entry committed in a term before T (§5.4.3: a node can still
//!   rightly win an *older* term on votes granted before a newer leader
//!   committed, so entries committed later in higher terms are not asked of it);
//! - *state machine safety*: nodes apply entries in order, only committed
//!   ones, the same command at the same index, and each reaches the state
//!   a replay of the committed prefix reaches.

use std::collections::BTreeMap;
use std::fmt;

use super::events::fmt_time;
use crate::check::{
    Breach, Committed, EntryMap, Invariant, applied_matches_committed, apply_in_order,
    commit_never_decreases, committed_agrees, committed_not_lost, election_safety, hash_bytes,
    leader_append_only, leader_completeness, log_matching, mix, one_vote_per_term, payload_hash,
    state_matches_replay, term_never_decreases,
};
use crate::kv::{Applied, Command, KvStore, OpResult};
use crate::raft::{DurableState, Entry, EntryData, Index, LogWrite, Node, NodeId, Role, Term};

/// A broken invariant, with everything needed to understand and replay it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Violation {
    /// The run's seed.
    pub seed: u64,
    /// Virtual time of the step that broke it, in µs.
    pub time_us: u64,
    /// Which invariant.
    pub invariant: Invariant,
    /// The evidence.
    pub details: String,
    /// The last events before it, oldest first.
    pub recent: Vec<String>,
    /// The command that replays the run.
    pub replay: String,
}

impl fmt::Display for Violation {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        writeln!(
            f,
            "invariant violated: {} (seed {}, at {})",
            self.invariant,
            self.seed,
            fmt_time(self.time_us)
        )?;
        writeln!(f, "  {}", self.details)?;
        if !self.recent.is_empty() {
            writeln!(f, "last events:")?;
            for line in &self.recent {
                writeln!(f, "  {line}")?;
            }
        }
        if self.replay.is_empty() {
            Ok(())
        } else {
            write!(f, "replay: {}", self.replay)
        }
    }
}

impl std::error::Error for Violation {}

/// What the checker remembers of one node between steps.
#[derive(Clone, Copy, Debug, Default)]
struct NodeTrack {
    term: Term,
    /// The vote in `term` (kept across crashes, like the term).
    vote: Option<NodeId>,
    role: Option<Role>,
    commit: Index,
    digest: u64,
}

/// Incremental state of the invariant checks.
#[derive(Default)]
pub(super) struct Checker {
    leaders: BTreeMap<Term, NodeId>,
    /// Node `id`'s track is at `id` (grown on demand; ids are small).
    nodes: Vec<NodeTrack>,
    /// (index, term) → (payload hash, term of the entry before).
    entries: EntryMap,
    committed: Vec<Committed>,
    reference: KvStore,
    reference_digest: u64,
}

/// What the checker remembers of node `id`, in `nodes` indexed by id.
fn track(nodes: &mut Vec<NodeTrack>, id: NodeId) -> &mut NodeTrack {
    let i = usize::try_from(id).expect("node ids fit in memory");
    if i >= nodes.len() {
        nodes.resize(i + 1, NodeTrack::default());
    }
    &mut nodes[i]
}

impl Checker {
    /// Length of the committed prefix seen so far.
    pub(super) fn committed_len(&self) -> Index {
        self.committed.len() as Index
    }

    /// Forgets a crashed node's volatile state (role, commit, state machine).
    /// Node `id` restored its state machine from a snapshot: what it holds
    /// must equal a replay of the committed log up to the snapshot's index.
    pub(super) fn restore(&mut self, id: NodeId, kv: &KvStore) -> Result<(), Breach> {
        let index = kv.applied_index();
        let digest = kv
            .iter()
            .fold(0, |d, (key, value)| d ^ pair_hash(key, Some(value)));
        track(&mut self.nodes, id).digest = digest;
        if index == 0 {
            return Ok(());
        }
        let Some(known) = self.committed.get(index as usize - 1) else {
            return Err((
                Invariant::SnapshotHoldsOnlyCommitted,
                format!(
                    "n{id} restored a snapshot at index {index}, but only {} entries are known committed",
                    self.committed.len()
                ),
            ));
        };
        if digest != known.digest {
            return Err((
                Invariant::StateMatchesReplay,
                format!(
                    "n{id} restored a snapshot at index {index} whose state differs from a replay of the committed log"
                ),
            ));
        }
        Ok(())
    }

    /// Node `id` restarted: what it recovered from its disk must keep every
    /// promise it made before the crash — its term, its vote in that term,
    /// and every committed entry it held (persist before send).
    pub(super) fn after_recovery(
        &self,
        id: NodeId,
        promised: &DurableState,
        recovered: &DurableState,
    ) -> Result<(), Breach> {
        // The disk may hold more than was promised (a write that reached it
        // before the crash but whose messages never left), never less.
        let (before, after) = (promised.hard_state, recovered.hard_state);
        if after.term == before.term {
            one_vote_per_term(id, after.term, before.vote, after.vote)?;
        }
        if after.term < before.term {
            return Err((
                Invariant::PersistBeforeSend,
                format!(
                    "n{id} had promised term {} (vote {:?}) but recovered term {} (vote {:?}) from its disk",
                    before.term, before.vote, after.term, after.vote
                ),
            ));
        }
        let covered = recovered.snapshot.as_ref().map_or(0, |s| s.meta.index);
        let last = promised.last_index().min(self.committed.len() as Index);
        for index in promised.first_index().max(covered + 1)..=last {
            let (Some(held), Some(known)) =
                (promised.get(index), self.committed.get(index as usize - 1))
            else {
                continue;
            };
            if held.term != known.term || payload_hash(&held.data) != known.hash {
                continue;
            }
            let kept = recovered.get(index).is_some_and(|e| e == held);
            if !kept {
                return Err((
                    Invariant::CommittedNeverLost,
                    format!(
                        "n{id} held committed entry {index} (term {}) before a crash but its disk lost it",
                        known.term
                    ),
                ));
            }
        }
        Ok(())
    }

    pub(super) fn node_crashed(&mut self, id: NodeId) {
        let track = track(&mut self.nodes, id);
        track.role = None;
        track.commit = 0;
        track.digest = 0;
    }

    /// Checks a log write before it lands on `durable` (the node's durable
    /// log as it is): leader append-only and no committed entry lost.
    pub(super) fn before_log_write(
        &self,
        id: NodeId,
        leader_before: bool,
        leader_after: bool,
        durable: &DurableState,
        write: &LogWrite,
    ) -> Result<(), Breach> {
        if leader_before || leader_after {
            leader_append_only(id, durable, write)?;
        }
        committed_not_lost(&self.committed, id, durable, write)
    }

    /// Records the entries a write put at `from..` of `durable` (the log
    /// after the write) and checks log matching for each.
    pub(super) fn after_log_write(
        &mut self,
        id: NodeId,
        durable: &DurableState,
        from: Index,
    ) -> Result<(), Breach> {
        for entry in durable.entries.iter().filter(|e| e.index >= from) {
            let prev_term = durable.term_at(entry.index - 1).unwrap_or(0);
            log_matching(
                &mut self.entries,
                id,
                entry,
                payload_hash(&entry.data),
                prev_term,
            )?;
        }
        Ok(())
    }

    /// Checks what an input changed on an up node: term, role, commit.
    pub(super) fn after_input(&mut self, id: NodeId, node: &Node) -> Result<(), Breach> {
        let track = track(&mut self.nodes, id);
        let before = *track;
        let (term, role, vote) = (node.term(), node.role(), node.vote());
        track.term = term;
        track.vote = vote;
        track.role = Some(role);
        term_never_decreases(id, before.term, term)?;
        if term == before.term {
            one_vote_per_term(id, term, before.vote, vote)?;
        }
        if role == Role::Leader {
            election_safety(&mut self.leaders, id, term)?;
            if before.role != Some(Role::Leader) || before.term != term {
                // Log matching makes it enough to check the last entry
                // committed before this term.
                let last = self
                    .committed
                    .iter()
                    .rposition(|c| c.committed_in < term)
                    .map(|i| ((i + 1) as Index, &self.committed[i]));
                if let Some((index, known)) = last {
                    // An entry under the leader's snapshot is held: the
                    // snapshot was checked against the committed prefix.
                    let has = if index < node.log().snapshot_meta().index {
                        Some(known.term)
                    } else {
                        node.log().term_at(index)
                    };
                    leader_completeness(id, term, index, known.term, has)?;
                }
            }
        }
        self.observe_commit(id, node)
    }

    /// Extends the committed prefix with what `node` now knows is
    /// committed, checking it agrees with what others committed.
    pub(super) fn observe_commit(&mut self, id: NodeId, node: &Node) -> Result<(), Breach> {
        let track = track(&mut self.nodes, id);
        let (before, commit) = (track.commit, node.commit_index());
        commit_never_decreases(id, before, commit)?;
        track.commit = commit;
        // Entries a snapshot covers are gone from the log; the snapshot's
        // state was checked against the replay when it was restored.
        let first = (before + 1).max(node.log().first_index());
        for index in first..=commit {
            let Some(entry) = node.log().get(index) else {
                return Err((
                    Invariant::CommitWithinLog,
                    format!(
                        "n{id} commits {commit} but its log ends at {}",
                        node.log().last_index()
                    ),
                ));
            };
            let hash = payload_hash(&entry.data);
            match self.committed.get(index as usize - 1) {
                Some(known) => committed_agrees(id, entry, hash, known)?,
                None => {
                    let key = command_key(entry)?;
                    let (applied, digest) = apply_tracked(
                        &mut self.reference,
                        self.reference_digest,
                        entry,
                        key.as_deref(),
                    )?;
                    self.reference_digest = digest;
                    self.committed.push(Committed {
                        term: entry.term,
                        committed_in: node.term(),
                        hash,
                        digest,
                        result: result_hash(applied.as_ref()),
                        key,
                    });
                }
            }
        }
        Ok(())
    }

    /// Checks `entry` may apply to node `id`'s store `kv` (next in order,
    /// committed, the command committed at its index), and takes the
    /// touched key's old pair out of the node's state digest.
    pub(super) fn before_apply(
        &mut self,
        id: NodeId,
        entry: &Entry,
        kv: &KvStore,
    ) -> Result<(), Breach> {
        apply_in_order(id, kv.applied_index(), entry.index)?;
        let known = known(&self.committed, id, entry)?;
        let hash = payload_hash(&entry.data);
        applied_matches_committed(id, entry, hash, known)?;
        // The payload equals the committed one (same hash), so it touches
        // the key recorded for it.
        if let Some(key) = known.key.as_deref() {
            let pair = pair_hash(key, kv.get(key));
            track(&mut self.nodes, id).digest ^= pair;
        }
        Ok(())
    }

    /// `entry` applied to `kv` with `applied`: puts the touched key's new
    /// pair into the digest and checks the store reached the same state
    /// (and result) as the reference replay.
    pub(super) fn after_apply(
        &mut self,
        id: NodeId,
        entry: &Entry,
        kv: &KvStore,
        applied: Option<&Applied>,
    ) -> Result<(), Breach> {
        let known = known(&self.committed, id, entry)?;
        let track = track(&mut self.nodes, id);
        if let Some(key) = known.key.as_deref() {
            track.digest ^= pair_hash(key, kv.get(key));
        }
        state_matches_replay(id, entry.index, track.digest, result_hash(applied), known)
    }
}

/// What is known committed at `entry`'s index.
fn known<'a>(
    committed: &'a [Committed],
    id: NodeId,
    entry: &Entry,
) -> Result<&'a Committed, Breach> {
    committed.get(entry.index as usize - 1).ok_or_else(|| {
        (
            Invariant::ApplyOnlyCommitted,
            format!(
                "n{id} applies index {} but only {} entries are known committed",
                entry.index,
                committed.len()
            ),
        )
    })
}

fn undecodable(e: crate::kv::KvError) -> Breach {
    (Invariant::CommandsDecode, e.to_string())
}

/// The key `entry`'s command touches; `None` for a no-op.
fn command_key(entry: &Entry) -> Result<Option<Box<str>>, Breach> {
    match &entry.data {
        EntryData::Noop | EntryData::Config { .. } => Ok(None),
        EntryData::Command(bytes) => {
            let command = Command::decode(entry.index, bytes).map_err(undecodable)?;
            Ok(Some(command.op.key().into()))
        }
    }
}

/// Applies `entry`, whose command touches `key` (see [`command_key`]), to
/// `kv`, updating `digest`, an order-free hash of the store's contents (XOR
/// of one hash per key/value pair).
fn apply_tracked(
    kv: &mut KvStore,
    digest: u64,
    entry: &Entry,
    key: Option<&str>,
) -> Result<(Option<Applied>, u64), Breach> {
    let mut digest = digest;
    if let Some(key) = key {
        digest ^= pair_hash(key, kv.get(key));
    }
    let applied = kv.apply(entry).map_err(undecodable)?;
    if let Some(key) = key {
        digest ^= pair_hash(key, kv.get(key));
    }
    Ok((applied, digest))
}

fn pair_hash(key: &str, value: Option<&str>) -> u64 {
    match value {
        None => 0,
        Some(v) => mix(hash_bytes(key.as_bytes()) ^ hash_bytes(v.as_bytes()).rotate_left(17)),
    }
}

fn result_hash(applied: Option<&Applied>) -> u64 {
    match applied.map(|a| &a.result) {
        None => 0,
        Some(OpResult::Done) => 1,
        Some(OpResult::Value(None)) => 2,
        Some(OpResult::Value(Some(v))) => mix(hash_bytes(v.as_bytes()) ^ 3),
        Some(OpResult::Swapped(b)) => 4 + u64::from(*b),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::kv::Op;

    fn put(index: Index, term: Term, key: &str, value: &str) -> Entry {
        let cmd = Command {
            client: 1,
            seq: index,
            op: Op::Put {
                key: key.into(),
                value: value.into(),
            },
        };
        Entry {
            index,
            term,
            data: EntryData::Command(cmd.encode().into()),
        }
    }

    fn committed_of(entries: &[Entry]) -> Vec<Committed> {
        entries
            .iter()
            .map(|e| Committed {
                term: e.term,
                committed_in: e.term,
                hash: payload_hash(&e.data),
                digest: 0,
                result: 0,
                key: None,
            })
            .collect()
    }

    #[test]
    fn two_leaders_in_one_term_fail() {
        let mut leaders = BTreeMap::new();
        assert!(election_safety(&mut leaders, 1, 3).is_ok());
        assert!(election_safety(&mut leaders, 1, 3).is_ok());
        assert!(election_safety(&mut leaders, 2, 4).is_ok());
        let (name, details) = election_safety(&mut leaders, 2, 3).unwrap_err();
        assert_eq!(name, Invariant::ElectionSafety);
        assert!(details.contains("n1 and n2"), "{details}");
    }

    #[test]
    fn changing_or_forgetting_a_vote_fails() {
        assert!(one_vote_per_term(1, 3, None, Some(2)).is_ok());
        assert!(one_vote_per_term(1, 3, Some(2), Some(2)).is_ok());
        assert!(one_vote_per_term(1, 3, Some(2), Some(4)).is_err());
        let (name, details) = one_vote_per_term(1, 3, Some(2), None).unwrap_err();
        assert_eq!(name, Invariant::OneVotePerTerm);
        assert!(details.contains("forgot"), "{details}");
    }

    #[test]
    fn falling_term_and_commit_fail() {
        assert!(term_never_decreases(1, 3, 3).is_ok());
        assert!(term_never_decreases(1, 3, 2).is_err());
        assert!(commit_never_decreases(1, 5, 6).is_ok());
        assert!(commit_never_decreases(1, 5, 4).is_err());
    }

    #[test]
    fn leader_overwriting_or_truncating_fails() {
        let log = durable(vec![
            Entry::noop(1, 1),
            Entry::noop(2, 2),
            Entry::noop(3, 2),
        ]);
        let append = LogWrite {
            from: 4,
            entries: vec![Entry::noop(4, 2)],
        };
        assert!(leader_append_only(1, &log, &append).is_ok());
        let same = LogWrite {
            from: 3,
            entries: vec![Entry::noop(3, 2), Entry::noop(4, 2)],
        };
        assert!(leader_append_only(1, &log, &same).is_ok());
        let overwrite = LogWrite {
            from: 3,
            entries: vec![Entry::noop(3, 3)],
        };
        assert!(leader_append_only(1, &log, &overwrite).is_err());
        let truncate = LogWrite {
            from: 2,
            entries: vec![],
        };
        assert_eq!(
            leader_append_only(1, &log, &truncate).unwrap_err().0,
            Invariant::LeaderAppendOnly
        );
    }

    /// A durable state holding `entries` from index 1.
    fn durable(entries: Vec<Entry>) -> DurableState {
        DurableState {
            entries,
            ..DurableState::default()
        }
    }

    #[test]
    fn checks_use_absolute_indexes_after_compaction() {
        let mut log = durable(vec![
            Entry::noop(1, 1),
            Entry::noop(2, 2),
            Entry::noop(3, 2),
            Entry::noop(4, 2),
        ]);
        log.install_snapshot(crate::raft::Snapshot {
            meta: crate::raft::SnapshotMeta::at(2, 2),
            data: vec![],
        });
        let overwrite = LogWrite {
            from: 4,
            entries: vec![Entry::noop(4, 3)],
        };
        assert!(leader_append_only(1, &log, &overwrite).is_err());
        let append = LogWrite {
            from: 5,
            entries: vec![Entry::noop(5, 2)],
        };
        assert!(leader_append_only(1, &log, &append).is_ok());
        let shrink = LogWrite {
            from: 4,
            entries: vec![],
        };
        assert!(leader_append_only(1, &log, &shrink).is_err());
    }

    #[test]
    fn log_matching_catches_different_entries_at_same_index_and_term() {
        let mut map = EntryMap::default();
        let a = put(2, 1, "x", "1");
        let b = put(2, 1, "x", "2");
        assert!(log_matching(&mut map, 1, &a, payload_hash(&a.data), 1).is_ok());
        assert!(log_matching(&mut map, 2, &a, payload_hash(&a.data), 1).is_ok());
        assert!(log_matching(&mut map, 3, &b, payload_hash(&b.data), 1).is_err());
        // Same entry but a different predecessor: the prefixes differ.
        assert!(log_matching(&mut map, 3, &a, payload_hash(&a.data), 0).is_err());
    }

    #[test]
    fn truncating_a_committed_entry_fails() {
        let log = durable(vec![
            Entry::noop(1, 1),
            put(2, 1, "x", "1"),
            Entry::noop(3, 1),
        ]);
        let committed = committed_of(&log.entries[..2]);
        // Dropping the uncommitted tail is fine.
        let ok = LogWrite {
            from: 3,
            entries: vec![Entry::noop(3, 2)],
        };
        assert!(committed_not_lost(&committed, 2, &log, &ok).is_ok());
        // Rewriting a committed index with itself is fine.
        let same = LogWrite {
            from: 2,
            entries: vec![log.entries[1].clone()],
        };
        assert!(committed_not_lost(&committed, 2, &log, &same).is_ok());
        let bad = LogWrite {
            from: 2,
            entries: vec![Entry::noop(2, 2)],
        };
        assert_eq!(
            committed_not_lost(&committed, 2, &log, &bad).unwrap_err().0,
            Invariant::CommittedNeverLost
        );
    }

    #[test]
    fn leader_without_committed_entry_fails() {
        assert!(leader_completeness(1, 3, 5, 2, Some(2)).is_ok());
        assert!(leader_completeness(1, 3, 5, 2, Some(1)).is_err());
        assert!(leader_completeness(1, 3, 5, 2, None).is_err());
    }

    #[test]
    fn applying_out_of_order_or_a_different_command_fails() {
        assert!(apply_in_order(1, 4, 5).is_ok());
        assert!(apply_in_order(1, 4, 6).is_err());
        assert!(apply_in_order(1, 4, 4).is_err());
        let a = put(1, 1, "x", "1");
        let b = put(1, 1, "x", "2");
        let known = committed_of(std::slice::from_ref(&a)).remove(0);
        assert!(applied_matches_committed(1, &a, payload_hash(&a.data), &known).is_ok());
        assert_eq!(
            applied_matches_committed(1, &b, payload_hash(&b.data), &known)
                .unwrap_err()
                .0,
            Invariant::StateMachineSafety
        );
    }

    impl Checker {
        /// What a replica's carry-out does around one entry: the checks
        /// before, the apply, the checks after.
        fn apply(
            &mut self,
            id: NodeId,
            entry: &Entry,
            kv: &mut KvStore,
        ) -> Result<Option<Applied>, Breach> {
            self.before_apply(id, entry, kv)?;
            let applied = kv.apply(entry).map_err(undecodable)?;
            self.after_apply(id, entry, kv, applied.as_ref())?;
            Ok(applied)
        }
    }

    #[test]
    fn checker_tracks_state_digest_through_apply() {
        let log = vec![
            put(1, 1, "x", "1"),
            put(2, 1, "y", "2"),
            put(3, 1, "x", "3"),
        ];
        let mut checker = Checker::default();
        // Build the reference by hand, as observe_commit would.
        for e in &log {
            let key = command_key(e).unwrap();
            let (applied, digest) = apply_tracked(
                &mut checker.reference,
                checker.reference_digest,
                e,
                key.as_deref(),
            )
            .unwrap();
            checker.reference_digest = digest;
            checker.committed.push(Committed {
                term: e.term,
                committed_in: e.term,
                hash: payload_hash(&e.data),
                digest,
                result: result_hash(applied.as_ref()),
                key,
            });
        }
        let mut kv = KvStore::new();
        for e in &log {
            checker.apply(1, e, &mut kv).unwrap();
        }
        let mut other = Checker {
            committed: checker.committed.clone(),
            ..Checker::default()
        };
        let mut kv2 = KvStore::new();
        other.apply(2, &log[0], &mut kv2).unwrap();
        // Skipping index 2 is out of order.
        assert_eq!(
            other.apply(2, &log[2], &mut kv2).unwrap_err().0,
            Invariant::ApplyInOrder
        );
        // A store that drifted (here: it holds an extra key) reaches a
        // different state from the same command.
        let mut third = Checker {
            committed: checker.committed.clone(),
            ..Checker::default()
        };
        track(&mut third.nodes, 3).digest = pair_hash("z", Some("9"));
        let mut fresh = KvStore::new();
        assert_eq!(
            third.apply(3, &log[0], &mut fresh).unwrap_err().0,
            Invariant::StateMatchesReplay
        );
    }

    #[test]
    fn violation_display_names_everything() {
        let v = Violation {
            seed: 42,
            time_us: 1_500_000,
            invariant: Invariant::ElectionSafety,
            details: "n1 and n2 are both leader in term 3".into(),
            recent: vec!["[1.400000s] n2 is Leader in t3".into()],
            replay: "raftlab check --seeds 42..43".into(),
        };
        let s = v.to_string();
        for part in [
            "seed 42",
            "1.500000s",
            "election safety",
            "n1 and n2",
            "n2 is Leader",
            "--seeds 42..43",
        ] {
            assert!(s.contains(part), "{s}");
        }
    }
}
