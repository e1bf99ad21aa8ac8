//! A node's durable state in the simulator, read and written with absolute
//! log indexes: the log holds the entries after the latest snapshot, so
//! position and index differ once a node has compacted.

use crate::raft::{DurableState, Entry, Index, LogWrite, Snapshot, Term};

/// Index of the first entry held (one past the snapshot).
pub(super) fn first_index(d: &DurableState) -> Index {
    d.snapshot.as_ref().map_or(1, |s| s.meta.index + 1)
}

/// Index of the last entry held, or of the snapshot when none follows it.
pub(super) fn last_index(d: &DurableState) -> Index {
    first_index(d) + d.entries.len() as Index - 1
}

/// The entry at `index`, if held.
pub(super) fn get(d: &DurableState, index: Index) -> Option<&Entry> {
    let i = index.checked_sub(first_index(d))?;
    d.entries.get(usize::try_from(i).ok()?)
}

/// Term at `index`: the snapshot's at its own index, 0 at index 0.
pub(super) fn term_at(d: &DurableState, index: Index) -> Option<Term> {
    match &d.snapshot {
        Some(s) if s.meta.index == index => Some(s.meta.term),
        None if index == 0 => Some(0),
        _ => get(d, index).map(|e| e.term),
    }
}

/// Whether `write` fits the log: it starts within it or right after it,
/// and its entries are numbered from there without gaps.
pub(super) fn fits(d: &DurableState, write: &LogWrite) -> bool {
    (first_index(d)..=last_index(d) + 1).contains(&write.from)
        && write
            .entries
            .iter()
            .enumerate()
            .all(|(k, e)| e.index == write.from + k as Index)
}

/// Keeps the entries below `write.from`, then appends `write.entries`.
/// The write must `fit`.
pub(super) fn apply_write(d: &mut DurableState, write: LogWrite) {
    let keep = write.from.saturating_sub(first_index(d)) as usize;
    d.entries.truncate(keep);
    d.entries.extend(write.entries);
}

/// Stores `snapshot` and drops the entries it covers.
pub(super) fn install_snapshot(d: &mut DurableState, snapshot: Snapshot) {
    let drop = (snapshot.meta.index + 1).saturating_sub(first_index(d)) as usize;
    d.entries.drain(..drop.min(d.entries.len()));
    d.snapshot = Some(snapshot);
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::raft::{EntryData, SnapshotMeta};

    fn entry(index: Index, term: Term) -> Entry {
        Entry {
            index,
            term,
            data: EntryData::Noop,
        }
    }

    #[test]
    fn indexes_stay_absolute_across_snapshots() {
        let mut d = DurableState::default();
        assert_eq!((first_index(&d), last_index(&d)), (1, 0));
        apply_write(
            &mut d,
            LogWrite {
                from: 1,
                entries: (1..=5).map(|i| entry(i, 1)).collect(),
            },
        );
        let snapshot = Snapshot {
            meta: SnapshotMeta { index: 3, term: 1 },
            data: vec![],
        };
        install_snapshot(&mut d, snapshot);
        assert_eq!((first_index(&d), last_index(&d)), (4, 5));
        assert_eq!(get(&d, 4).map(|e| e.index), Some(4));
        assert_eq!(get(&d, 3), None);
        assert_eq!(term_at(&d, 3), Some(1));
        let write = LogWrite {
            from: 5,
            entries: vec![entry(5, 2)],
        };
        assert!(fits(&d, &write));
        apply_write(&mut d, write);
        assert_eq!(term_at(&d, 5), Some(2));
        assert!(!fits(
            &d,
            &LogWrite {
                from: 2,
                entries: vec![]
            }
        ));
        assert!(!fits(
            &d,
            &LogWrite {
                from: 7,
                entries: vec![]
            }
        ));
    }
}
