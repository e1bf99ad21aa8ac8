//! The in-memory Raft log of one node, with the bookkeeping the driver needs
//! to persist exactly what changed.

use super::{Entry, Index, LogWrite, Term};

/// A node's log: entries from index 1 without gaps, and the lowest index
/// changed since the driver last persisted.
#[derive(Clone, Debug, Default)]
pub struct RaftLog {
    entries: Vec<Entry>,
    /// Lowest index rewritten since the last `take_write`, if any.
    dirty_from: Option<Index>,
}

impl RaftLog {
    /// A log holding `entries`, which must start at index 1 and be contiguous.
    pub fn from_entries(entries: Vec<Entry>) -> Result<RaftLog, String> {
        for (i, entry) in entries.iter().enumerate() {
            let want = i as Index + 1;
            if entry.index != want {
                return Err(format!(
                    "entry at position {i} has index {}, expected {want}",
                    entry.index
                ));
            }
            if i > 0 && entry.term < entries[i - 1].term {
                return Err(format!(
                    "entry {} has term {} below the term {} of the entry before it",
                    entry.index,
                    entry.term,
                    entries[i - 1].term
                ));
            }
        }
        Ok(RaftLog {
            entries,
            dirty_from: None,
        })
    }

    /// Index of the last entry, 0 when empty.
    pub fn last_index(&self) -> Index {
        self.entries.len() as Index
    }

    /// Term of the last entry, 0 when empty.
    pub fn last_term(&self) -> Term {
        self.entries.last().map_or(0, |e| e.term)
    }

    /// Term of the entry at `index`: 0 for index 0, `None` past the end.
    pub fn term_at(&self, index: Index) -> Option<Term> {
        if index == 0 {
            return Some(0);
        }
        self.get(index).map(|e| e.term)
    }

    /// The entry at `index`, if present.
    pub fn get(&self, index: Index) -> Option<&Entry> {
        if index == 0 {
            return None;
        }
        self.entries.get((index - 1) as usize)
    }

    /// All entries, from index 1.
    pub fn entries(&self) -> &[Entry] {
        &self.entries
    }

    /// Entries from `from` (inclusive) up to `to` (inclusive), clamped to the log.
    pub fn slice(&self, from: Index, to: Index) -> &[Entry] {
        let last = self.last_index();
        let to = to.min(last);
        if from == 0 || from > to {
            return &[];
        }
        &self.entries[(from - 1) as usize..to as usize]
    }

    /// Appends one entry at the end; its index must be `last_index() + 1`.
    pub fn push(&mut self, entry: Entry) {
        debug_assert_eq!(entry.index, self.last_index() + 1);
        self.mark_dirty(entry.index);
        self.entries.push(entry);
    }

    /// Drops every entry from `from` on.
    pub fn truncate_from(&mut self, from: Index) {
        if from == 0 || from > self.last_index() {
            return;
        }
        self.mark_dirty(from);
        self.entries.truncate((from - 1) as usize);
    }

    /// Whether (`index`, `term`) is at least as up to date as this log's
    /// last entry (Raft §5.4.1).
    pub fn is_up_to_date(&self, last_index: Index, last_term: Term) -> bool {
        last_term > self.last_term()
            || (last_term == self.last_term() && last_index >= self.last_index())
    }

    /// The first index of the term of the entry at `index` — the hint a
    /// follower sends back so the leader can skip a whole conflicting term.
    pub fn first_index_of_term_at(&self, index: Index) -> Index {
        let Some(term) = self.term_at(index) else {
            return self.last_index() + 1;
        };
        let mut first = index;
        while first > 1 && self.term_at(first - 1) == Some(term) {
            first -= 1;
        }
        first
    }

    /// The write the driver must make durable since the last call, if any.
    pub fn take_write(&mut self) -> Option<LogWrite> {
        let from = self.dirty_from.take()?;
        Some(LogWrite {
            from,
            entries: self.slice(from, self.last_index()).to_vec(),
        })
    }

    fn mark_dirty(&mut self, index: Index) {
        self.dirty_from = Some(self.dirty_from.map_or(index, |d| d.min(index)));
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::raft::EntryData;

    fn entry(index: Index, term: Term) -> Entry {
        Entry {
            index,
            term,
            data: EntryData::Noop,
        }
    }

    #[test]
    fn from_entries_rejects_gaps_and_falling_terms() {
        assert!(RaftLog::from_entries(vec![entry(1, 1), entry(3, 1)]).is_err());
        assert!(RaftLog::from_entries(vec![entry(1, 2), entry(2, 1)]).is_err());
        assert!(RaftLog::from_entries(vec![entry(1, 1), entry(2, 2)]).is_ok());
    }

    #[test]
    fn write_covers_lowest_change() {
        let mut log = RaftLog::default();
        for i in 1..=5 {
            log.push(entry(i, 1));
        }
        assert_eq!(log.take_write().unwrap().from, 1);
        log.truncate_from(3);
        log.push(entry(3, 2));
        let w = log.take_write().unwrap();
        assert_eq!(w.from, 3);
        assert_eq!(w.entries, vec![entry(3, 2)]);
        assert!(log.take_write().is_none());
        log.truncate_from(2);
        let w = log.take_write().unwrap();
        assert_eq!((w.from, w.entries.len()), (2, 0));
    }

    #[test]
    fn first_index_of_term() {
        let log = RaftLog::from_entries(vec![entry(1, 1), entry(2, 2), entry(3, 2), entry(4, 2)])
            .unwrap();
        assert_eq!(log.first_index_of_term_at(4), 2);
        assert_eq!(log.first_index_of_term_at(1), 1);
        assert_eq!(log.first_index_of_term_at(9), 5);
    }
}
