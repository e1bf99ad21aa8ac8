//! The in-memory Raft log of one node: the entries after the latest
//! snapshot, with the bookkeeping the driver needs to persist exactly what
//! changed.

use super::{Entry, EntryData, Index, LogWrite, Membership, SnapshotMeta, Term};

/// A node's log: the entries after `snapshot` without gaps, the lowest
/// index changed since the driver last persisted, and how far the driver
/// reported the log synced.
#[derive(Clone, Debug, Default)]
pub struct RaftLog {
    /// The last entry covered by the snapshot (index 0: none).
    snapshot: SnapshotMeta,
    /// Entries from `snapshot.index + 1` on.
    entries: Vec<Entry>,
    /// Lowest index rewritten since the last `take_write`, if any.
    dirty_from: Option<Index>,
    /// The entries up to here are durable as they are here: the driver
    /// said so ([`RaftLog::mark_synced`]), or they were loaded from disk.
    /// Never past the last index; a rewrite below it lowers it.
    synced: Index,
}

impl RaftLog {
    /// A log holding `entries`, which must start at index 1 and be contiguous.
    pub fn from_entries(entries: Vec<Entry>) -> Result<RaftLog, String> {
        RaftLog::from_parts(SnapshotMeta::default(), entries)
    }

    /// A log after `snapshot`: `entries` must start right after it, be
    /// contiguous, and never go down in term.
    pub fn from_parts(snapshot: SnapshotMeta, entries: Vec<Entry>) -> Result<RaftLog, String> {
        let mut prev_term = snapshot.term;
        for (i, entry) in entries.iter().enumerate() {
            let want = snapshot.index + i as Index + 1;
            if entry.index != want {
                return Err(format!(
                    "entry at position {i} has index {}, expected {want}",
                    entry.index
                ));
            }
            if entry.term < prev_term {
                return Err(format!(
                    "entry {} has term {} below the term {prev_term} of the entry before it",
                    entry.index, entry.term,
                ));
            }
            prev_term = entry.term;
        }
        let synced = snapshot.index + entries.len() as Index;
        Ok(RaftLog {
            snapshot,
            entries,
            dirty_from: None,
            synced,
        })
    }

    /// The last entry covered by the snapshot (index 0 when there is none).
    pub fn snapshot_meta(&self) -> SnapshotMeta {
        self.snapshot
    }

    /// Index of the first entry held (one past the snapshot).
    pub fn first_index(&self) -> Index {
        self.snapshot.index + 1
    }

    /// Index of the last entry, or of the snapshot when no entry follows it.
    pub fn last_index(&self) -> Index {
        self.snapshot.index + self.entries.len() as Index
    }

    /// Term of the last entry (or of the snapshot), 0 when empty.
    pub fn last_term(&self) -> Term {
        self.entries.last().map_or(self.snapshot.term, |e| e.term)
    }

    /// Term of the entry at `index`: the snapshot's term at its index (0 for
    /// index 0), `None` below it (compacted away) or past the end.
    pub fn term_at(&self, index: Index) -> Option<Term> {
        if index == self.snapshot.index {
            return Some(self.snapshot.term);
        }
        self.get(index).map(|e| e.term)
    }

    /// The entry at `index`, if held (not compacted, not past the end).
    pub fn get(&self, index: Index) -> Option<&Entry> {
        if index <= self.snapshot.index {
            return None;
        }
        self.entries.get((index - self.snapshot.index - 1) as usize)
    }

    /// The configuration in force at `index` (at least the snapshot's
    /// index) and the index of the entry that made it: the latest
    /// configuration entry at or before `index`, else the snapshot's
    /// configuration (at the snapshot's index). `None` when neither has
    /// one: the initial configuration applies.
    pub fn config_at(&self, index: Index) -> Option<(Membership, Index)> {
        let upto = index.min(self.last_index());
        self.slice(self.first_index(), upto)
            .iter()
            .rev()
            .find_map(|e| match e.data {
                EntryData::Config { config, .. } => Some((config, e.index)),
                _ => None,
            })
            .or_else(|| self.snapshot.config.map(|c| (c, self.snapshot.index)))
    }

    /// The metadata of a snapshot at `index` (which must be held or be the
    /// snapshot's own index): its term and the configuration there.
    pub fn snapshot_meta_at(&self, index: Index) -> Option<SnapshotMeta> {
        Some(SnapshotMeta {
            index,
            term: self.term_at(index)?,
            config: self.config_at(index).map(|(c, _)| c),
        })
    }

    /// The entries held, from `first_index()`.
    pub fn entries(&self) -> &[Entry] {
        &self.entries
    }

    /// Entries from `from` (inclusive) up to `to` (inclusive), clamped to
    /// what the log holds.
    pub fn slice(&self, from: Index, to: Index) -> &[Entry] {
        let from = from.max(self.first_index());
        let to = to.min(self.last_index());
        if from > to {
            return &[];
        }
        let base = self.snapshot.index + 1;
        &self.entries[(from - base) as usize..=(to - base) as usize]
    }

    /// The last index of the longest run from `from` to at most `to` whose
    /// payloads add up to no more than `max_bytes` — but at least `from`
    /// itself, however large, so a too-big entry still goes alone. `to`
    /// when `from > to` (nothing to send).
    pub fn end_within_bytes(&self, from: Index, to: Index, max_bytes: usize) -> Index {
        let mut total = 0usize;
        for entry in self.slice(from, to) {
            total = total.saturating_add(entry.data.payload_len());
            if total > max_bytes && entry.index > from {
                return entry.index - 1;
            }
        }
        to
    }

    /// Appends one entry at the end; its index must be `last_index() + 1`.
    pub fn push(&mut self, entry: Entry) {
        debug_assert_eq!(entry.index, self.last_index() + 1);
        self.mark_dirty(entry.index);
        self.entries.push(entry);
    }

    /// Drops every entry from `from` on (never the snapshot).
    pub fn truncate_from(&mut self, from: Index) {
        let from = from.max(self.first_index());
        if from > self.last_index() {
            return;
        }
        self.mark_dirty(from);
        self.entries.truncate((from - self.first_index()) as usize);
    }

    /// Forgets the entries up to `meta.index`, which a snapshot now stands
    /// for. The driver compacts its durable log itself, so this is not a
    /// write to persist.
    pub fn compact(&mut self, meta: SnapshotMeta) {
        if meta.index <= self.snapshot.index {
            return;
        }
        let drop = (meta.index - self.snapshot.index).min(self.entries.len() as Index);
        self.entries.drain(..drop as usize);
        self.snapshot = meta;
        // A durable snapshot stands for what it covers.
        self.synced = self.synced.max(meta.index).min(self.last_index());
        if let Some(d) = self.dirty_from
            && d <= meta.index
        {
            // Whatever was pending below the snapshot is covered by it.
            self.dirty_from = if self.entries.is_empty() {
                None
            } else {
                Some(meta.index + 1)
            };
        }
    }

    /// Installs a snapshot received from the leader: entries after it are
    /// kept if the log agrees with it at its index (Raft §7), otherwise the
    /// whole log is discarded.
    pub fn install_snapshot(&mut self, meta: SnapshotMeta) {
        if self.term_at(meta.index) == Some(meta.term) {
            self.compact(meta);
            return;
        }
        let had_entries_after = self.last_index() > meta.index;
        self.entries.clear();
        self.snapshot = meta;
        self.dirty_from = None;
        self.synced = self.synced.min(meta.index);
        if had_entries_after {
            // The durable log may still hold conflicting entries past the
            // snapshot: an empty write from there removes them.
            self.dirty_from = Some(meta.index + 1);
        }
    }

    /// Whether (`index`, `term`) is at least as up to date as this log's
    /// last entry (Raft §5.4.1).
    pub fn is_up_to_date(&self, last_index: Index, last_term: Term) -> bool {
        last_term > self.last_term()
            || (last_term == self.last_term() && last_index >= self.last_index())
    }

    /// The first index of the term of the entry at `index` — the hint a
    /// follower sends back so the leader can skip a whole conflicting term.
    /// Never below the first entry held.
    pub fn first_index_of_term_at(&self, index: Index) -> Index {
        let Some(term) = self.term_at(index) else {
            return self.last_index() + 1;
        };
        let mut first = index;
        while first > self.first_index() && self.term_at(first - 1) == Some(term) {
            first -= 1;
        }
        first
    }

    /// Whether there is a write the driver has not taken yet.
    pub fn has_write(&self) -> bool {
        self.dirty_from.is_some()
    }

    /// The write the driver must make durable since the last call, if any.
    pub fn take_write(&mut self) -> Option<LogWrite> {
        let from = self.dirty_from.take()?;
        Some(LogWrite {
            from,
            entries: self.slice(from, self.last_index()).to_vec(),
        })
    }

    /// The driver made the log durable up to `index`, whose entry has
    /// `term` (the last entry of a [`LogWrite`] it took and synced). A
    /// report that no longer matches the log — the entry was rewritten
    /// since, or is not taken yet — or that is behind changes nothing.
    /// Returns whether the synced index moved.
    pub fn mark_synced(&mut self, index: Index, term: Term) -> bool {
        let taken = self.dirty_from.is_none_or(|d| index < d);
        if index <= self.synced || !taken || self.term_at(index) != Some(term) {
            return false;
        }
        self.synced = index;
        true
    }

    /// The highest index known durable here (see [`RaftLog::mark_synced`]).
    pub fn synced_index(&self) -> Index {
        self.synced
    }

    fn mark_dirty(&mut self, index: Index) {
        self.dirty_from = Some(self.dirty_from.map_or(index, |d| d.min(index)));
        self.synced = self.synced.min(index.saturating_sub(1));
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn from_entries_rejects_gaps_and_falling_terms() {
        assert!(RaftLog::from_entries(vec![Entry::noop(1, 1), Entry::noop(3, 1)]).is_err());
        assert!(RaftLog::from_entries(vec![Entry::noop(1, 2), Entry::noop(2, 1)]).is_err());
        assert!(RaftLog::from_entries(vec![Entry::noop(1, 1), Entry::noop(2, 2)]).is_ok());
        let meta = SnapshotMeta::at(5, 3);
        assert!(RaftLog::from_parts(meta, vec![Entry::noop(6, 3)]).is_ok());
        assert!(RaftLog::from_parts(meta, vec![Entry::noop(7, 3)]).is_err());
        assert!(RaftLog::from_parts(meta, vec![Entry::noop(6, 2)]).is_err());
    }

    #[test]
    fn write_covers_lowest_change() {
        let mut log = RaftLog::default();
        for i in 1..=5 {
            log.push(Entry::noop(i, 1));
        }
        assert_eq!(log.take_write().unwrap().from, 1);
        log.truncate_from(3);
        log.push(Entry::noop(3, 2));
        let w = log.take_write().unwrap();
        assert_eq!(w.from, 3);
        assert_eq!(w.entries, vec![Entry::noop(3, 2)]);
        assert!(log.take_write().is_none());
        log.truncate_from(2);
        let w = log.take_write().unwrap();
        assert_eq!((w.from, w.entries.len()), (2, 0));
    }

    #[test]
    fn synced_moves_only_on_a_matching_report_and_falls_with_a_rewrite() {
        let mut log = RaftLog::from_entries(vec![Entry::noop(1, 1), Entry::noop(2, 1)]).unwrap();
        assert_eq!(log.synced_index(), 2, "what was loaded is durable");
        for i in 3..=5 {
            log.push(Entry::noop(i, 1));
        }
        assert!(!log.mark_synced(5, 1), "not taken by the driver yet");
        let w = log.take_write().unwrap();
        assert_eq!(w.last(), Some((5, 1)));
        assert!(!log.mark_synced(5, 2), "wrong term");
        assert!(log.mark_synced(4, 1));
        assert!(log.mark_synced(5, 1));
        assert!(!log.mark_synced(4, 1), "behind");
        assert_eq!(log.synced_index(), 5);
        // A follower rewrites 4.. in term 2 before the report of the old
        // entries arrives: the old report must not count the new ones.
        log.truncate_from(4);
        assert_eq!(log.synced_index(), 3);
        log.push(Entry::noop(4, 2));
        log.push(Entry::noop(5, 2));
        let w = log.take_write().unwrap();
        assert!(
            !log.mark_synced(5, 1),
            "reports the entry that was replaced"
        );
        assert_eq!(log.synced_index(), 3);
        assert!(log.mark_synced(5, 2));
        assert_eq!(w.last(), Some((5, 2)));
        assert_eq!(
            LogWrite {
                from: 3,
                entries: vec![]
            }
            .last(),
            None
        );
    }

    #[test]
    fn first_index_of_term() {
        let log = RaftLog::from_entries(vec![
            Entry::noop(1, 1),
            Entry::noop(2, 2),
            Entry::noop(3, 2),
            Entry::noop(4, 2),
        ])
        .unwrap();
        assert_eq!(log.first_index_of_term_at(4), 2);
        assert_eq!(log.first_index_of_term_at(1), 1);
        assert_eq!(log.first_index_of_term_at(9), 5);
    }

    #[test]
    fn compaction_keeps_indexes_and_terms() {
        let mut log = RaftLog::default();
        for i in 1..=6 {
            log.push(Entry::noop(i, if i <= 3 { 1 } else { 2 }));
        }
        log.take_write();
        log.compact(SnapshotMeta::at(4, 2));
        assert_eq!((log.first_index(), log.last_index()), (5, 6));
        assert_eq!(log.term_at(4), Some(2));
        assert_eq!(log.term_at(3), None, "compacted away");
        assert_eq!(log.get(4), None);
        assert_eq!(log.get(5).unwrap().index, 5);
        assert_eq!(log.slice(1, 9).len(), 2);
        assert_eq!(log.first_index_of_term_at(6), 5);
        assert!(!log.has_write(), "compaction is not a write");
        log.truncate_from(2);
        assert_eq!(log.last_index(), 4, "truncation stops at the snapshot");
        log.compact(SnapshotMeta::at(9, 3));
        assert_eq!((log.last_index(), log.last_term()), (9, 3));
    }

    #[test]
    fn installing_a_snapshot_keeps_a_matching_suffix_only() {
        let mut log = RaftLog::from_entries((1..=5).map(|i| Entry::noop(i, 1)).collect()).unwrap();
        log.install_snapshot(SnapshotMeta::at(3, 1));
        assert_eq!((log.first_index(), log.last_index()), (4, 5));
        assert!(!log.has_write());
        log.install_snapshot(SnapshotMeta::at(4, 7));
        assert_eq!((log.last_index(), log.last_term()), (4, 7));
        let w = log.take_write().unwrap();
        assert_eq!(
            (w.from, w.entries.len()),
            (5, 0),
            "drop the conflicting suffix"
        );
    }
}
