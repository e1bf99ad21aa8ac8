//! Reading and writing a [`DurableState`] with absolute log indexes, as
//! every driver's storage does: the log holds the entries after the latest
//! snapshot, so position and index differ once a node has compacted. The
//! simulator's disk and the live runtime's in-memory storage both keep
//! their state this way.

use super::{DurableState, Entry, Index, LogWrite, Snapshot, Term};

impl DurableState {
    /// Index of the first entry held (one past the snapshot).
    pub fn first_index(&self) -> Index {
        self.snapshot.as_ref().map_or(1, |s| s.meta.index + 1)
    }

    /// Index of the last entry held, or of the snapshot when none follows it.
    pub fn last_index(&self) -> Index {
        self.first_index() + self.entries.len() as Index - 1
    }

    /// The entry at `index`, if held.
    pub fn get(&self, index: Index) -> Option<&Entry> {
        let i = index.checked_sub(self.first_index())?;
        self.entries.get(usize::try_from(i).ok()?)
    }

    /// Term at `index`: the snapshot's at its own index, 0 at index 0.
    pub fn term_at(&self, index: Index) -> Option<Term> {
        match &self.snapshot {
            Some(s) if s.meta.index == index => Some(s.meta.term),
            None if index == 0 => Some(0),
            _ => self.get(index).map(|e| e.term),
        }
    }

    /// Whether `write` fits the log: it starts within it or right after it,
    /// and its entries are numbered from there without gaps.
    pub fn fits(&self, write: &LogWrite) -> bool {
        (self.first_index()..=self.last_index() + 1).contains(&write.from)
            && write
                .entries
                .iter()
                .enumerate()
                .all(|(k, e)| e.index == write.from + k as Index)
    }

    /// Keeps the entries below `write.from`, then appends `write.entries`.
    /// The write must [`fit`](DurableState::fits).
    pub fn apply_write(&mut self, write: LogWrite) {
        let keep = write.from.saturating_sub(self.first_index()) as usize;
        self.entries.truncate(keep);
        self.entries.extend(write.entries);
    }

    /// Stores `snapshot` and drops the entries it covers.
    pub fn install_snapshot(&mut self, snapshot: Snapshot) {
        let drop = (snapshot.meta.index + 1).saturating_sub(self.first_index()) as usize;
        self.entries.drain(..drop.min(self.entries.len()));
        self.snapshot = Some(snapshot);
    }
}

#[cfg(test)]
mod tests {
    use crate::raft::{DurableState, Entry, LogWrite, Snapshot, SnapshotMeta};

    #[test]
    fn indexes_stay_absolute_across_snapshots() {
        let mut d = DurableState::default();
        assert_eq!((d.first_index(), d.last_index()), (1, 0));
        d.apply_write(LogWrite {
            from: 1,
            entries: (1..=5).map(|i| Entry::noop(i, 1)).collect(),
        });
        let snapshot = Snapshot {
            meta: SnapshotMeta::at(3, 1),
            data: vec![],
        };
        d.install_snapshot(snapshot);
        assert_eq!((d.first_index(), d.last_index()), (4, 5));
        assert_eq!(d.get(4).map(|e| e.index), Some(4));
        assert_eq!(d.get(3), None);
        assert_eq!(d.term_at(3), Some(1));
        let write = LogWrite {
            from: 5,
            entries: vec![Entry::noop(5, 2)],
        };
        assert!(d.fits(&write));
        d.apply_write(write);
        assert_eq!(d.term_at(5), Some(2));
        let before = LogWrite {
            from: 2,
            entries: vec![],
        };
        assert!(!d.fits(&before));
        let gap = LogWrite {
            from: 7,
            entries: vec![],
        };
        assert!(!d.fits(&gap));
    }
}
