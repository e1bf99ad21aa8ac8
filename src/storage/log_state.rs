//! The log as both implementations hold it in memory: a compaction point
//! and the entries after it. One place for the rules of a [`LogWrite`] and
//! a compaction, so the in-memory store, the file store and the file
//! store's recovery cannot disagree about them.

use std::collections::VecDeque;
use std::path::Path;

use super::{Result, StorageError};
use crate::raft::{Entry, Index, LogWrite, Snapshot, SnapshotMeta, Term};

/// What a compaction does to the entries after the compaction point,
/// decided once when `compact` is called and recorded as decided (so a
/// replay that lacks the entries the decision looked at still agrees).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(super) enum CompactKind {
    /// The log held the snapshot's last entry: keep what follows it.
    Keep,
    /// The log did not hold it (or held another term): drop everything.
    Reset,
}

/// A compaction point and the entries after it, without gaps.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub(super) struct LogState {
    /// The last compacted entry (index 0, term 0 when never compacted).
    pub(super) base: SnapshotMeta,
    /// Entries `base.index + 1 ..`.
    pub(super) entries: VecDeque<Entry>,
}

impl LogState {
    pub(super) fn first(&self) -> Index {
        self.base.index + 1
    }

    pub(super) fn last(&self) -> Index {
        self.base.index + self.entries.len() as Index
    }

    /// Term at `index`, for `base.index..=last`.
    pub(super) fn term(&self, index: Index) -> Option<Term> {
        if index == self.base.index {
            return Some(self.base.term);
        }
        let offset = index.checked_sub(self.first())?;
        self.entries.get(offset as usize).map(|e| e.term)
    }

    /// Term at `index`, or the error `LogStorage::term` promises.
    pub(super) fn term_or_unavailable(&self, index: Index) -> Result<Term> {
        self.term(index).ok_or(StorageError::Unavailable {
            lo: index,
            hi: index + 1,
            first: self.first(),
            last: self.last(),
        })
    }

    /// Checks a write against the contract without changing anything.
    pub(super) fn check_write(&self, write: &LogWrite) -> Result<()> {
        let (first, last) = (self.first(), self.last());
        if write.from < first || write.from > last + 1 {
            return Err(StorageError::WriteOutOfRange {
                from: write.from,
                first,
                last,
            });
        }
        check_contiguous(write.from, &write.entries)
    }

    /// Applies a write that passed `check_write`.
    pub(super) fn apply_write(&mut self, from: Index, entries: &[Entry]) {
        let keep = from.saturating_sub(self.first()) as usize;
        self.entries.truncate(keep);
        self.entries.extend(entries.iter().cloned());
    }

    /// What `compact(upto)` does, or `None` when it does nothing.
    pub(super) fn compact_kind(&self, upto: SnapshotMeta) -> Option<CompactKind> {
        if upto.index <= self.base.index {
            return None;
        }
        if self.term(upto.index) == Some(upto.term) {
            Some(CompactKind::Keep)
        } else {
            Some(CompactKind::Reset)
        }
    }

    /// Applies a compaction decided by `compact_kind`.
    pub(super) fn apply_compact(&mut self, upto: SnapshotMeta, kind: CompactKind) {
        match kind {
            CompactKind::Keep => {
                let drop = (upto.index + 1).saturating_sub(self.first()) as usize;
                self.entries.drain(..drop.min(self.entries.len()));
            }
            CompactKind::Reset => self.entries.clear(),
        }
        self.base = upto;
    }

    /// The entries `lo..hi`, if the log holds them all.
    pub(super) fn slice(&self, lo: Index, hi: Index) -> Result<Vec<Entry>> {
        let (first, last) = (self.first(), self.last());
        if lo < first || hi < lo || hi > last + 1 {
            return Err(StorageError::Unavailable {
                lo,
                hi,
                first,
                last,
            });
        }
        let a = (lo - first) as usize;
        let b = (hi - first) as usize;
        Ok(self.entries.range(a..b).cloned().collect())
    }

    /// The entries a node restarts with next to `snapshot`: those after it,
    /// as `StateStorage::load` specifies. `path` names the storage in errors.
    pub(super) fn entries_after(
        &self,
        snapshot: Option<&Snapshot>,
        path: &Path,
    ) -> Result<Vec<Entry>> {
        let snap = snapshot.map(|s| s.meta).unwrap_or_default();
        if self.base.index > snap.index {
            return Err(StorageError::Inconsistent {
                path: path.to_path_buf(),
                reason: format!(
                    "the log is compacted up to index {} but the latest snapshot ends at index {}",
                    self.base.index, snap.index
                ),
            });
        }
        if self.base.index == snap.index && self.base.term != snap.term {
            return Err(StorageError::Inconsistent {
                path: path.to_path_buf(),
                reason: format!(
                    "the log is compacted at index {} term {} but the snapshot there has term {}",
                    self.base.index, self.base.term, snap.term
                ),
            });
        }
        let mut view = self.clone();
        if let Some(kind) = view.compact_kind(snap) {
            view.apply_compact(snap, kind);
        }
        Ok(view.entries.into())
    }
}

/// Checks that `entries` run from `from` without gaps.
pub(super) fn check_contiguous(from: Index, entries: &[Entry]) -> Result<()> {
    for (position, entry) in entries.iter().enumerate() {
        let expected = from + position as Index;
        if entry.index != expected {
            return Err(StorageError::WriteNotContiguous {
                position,
                expected,
                found: entry.index,
            });
        }
    }
    Ok(())
}

/// Rebuilds a [`LogState`] from the records of the segment files.
///
/// Old segments are deleted by compaction, so the first segment left may
/// begin in the middle of history. Until the replay meets a compaction
/// record it is *unanchored*: it cannot know what came before, so a write
/// below the entries it has seen simply restarts the picture there. Once
/// anchored (from the first segment ever written, or at a compaction
/// record) every record must fit the log exactly, as it did when written.
/// Compaction deletes only segments that hold nothing above its index and
/// lie before its own record, which is what makes this sound: every entry
/// above the compaction point was written by a record that is still there.
#[derive(Debug, Default)]
pub(super) struct Replay {
    pub(super) state: LogState,
    pub(super) anchored: bool,
}

impl Replay {
    /// A replay starting at the first segment ever written (empty log).
    pub(super) fn anchored() -> Replay {
        Replay {
            state: LogState::default(),
            anchored: true,
        }
    }

    /// Applies a write record; `Err` says why it does not fit.
    pub(super) fn write(&mut self, from: Index, entries: &[Entry]) -> Result<(), String> {
        if from == 0 {
            return Err("write record starts at index 0".into());
        }
        check_contiguous(from, entries).map_err(|e| e.to_string())?;
        let (first, last) = (self.state.first(), self.state.last());
        if !self.anchored && (self.state.entries.is_empty() || from < first) {
            // The picture restarts at `from`; the term of the entry before
            // it is not known until a compaction record anchors the replay.
            self.state.entries.clear();
            self.state.base = SnapshotMeta::at(from - 1, 0);
        } else if from < first || from > last + 1 {
            return Err(format!(
                "write record from index {from} does not fit the log {first}..={last}"
            ));
        }
        self.state.apply_write(from, entries);
        Ok(())
    }

    /// Applies a compaction record; `last` is the log's last index right
    /// after the compaction, as recorded.
    ///
    /// Unanchored, a record whose kept entries the replay does not hold all
    /// of (some were written in deleted segments, and a later compaction
    /// covers them) changes nothing: the entries it holds are all above
    /// `upto`, so the compaction would not touch them either.
    pub(super) fn compact(
        &mut self,
        upto: SnapshotMeta,
        kind: CompactKind,
        last: Index,
    ) -> Result<(), String> {
        if self.anchored && upto.index <= self.state.base.index {
            return Err(format!(
                "compaction record to index {} is not past the compaction point {}",
                upto.index, self.state.base.index
            ));
        }
        if kind == CompactKind::Keep {
            let holds_kept = if self.state.entries.is_empty() {
                last == upto.index
            } else {
                self.state.first() <= upto.index + 1 && self.state.last() == last
            };
            if !holds_kept {
                if self.anchored {
                    return Err(format!(
                        "compaction to index {} keeping entries up to {last} does not fit the log {}..={}",
                        upto.index,
                        self.state.first(),
                        self.state.last()
                    ));
                }
                return Ok(());
            }
            let held = self.state.first() <= upto.index && upto.index <= self.state.last();
            if (held || self.anchored) && self.state.term(upto.index) != Some(upto.term) {
                return Err(format!(
                    "compaction to index {} term {} but the log has another term there",
                    upto.index, upto.term
                ));
            }
        }
        self.state.apply_compact(upto, kind);
        if self.state.last() != last {
            return Err(format!(
                "compaction record says the log ends at {last}, the replay has {}",
                self.state.last()
            ));
        }
        self.anchored = true;
        Ok(())
    }
}
