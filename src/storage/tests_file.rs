//! Recovery of the file store from torn, corrupt and foreign files, fault
//! injection, and the memory store's crash semantics.

use std::fs;
use std::path::{Path, PathBuf};

use proptest::prelude::*;

use super::*;

/// Appends one record per write (default segments: one segment), syncs,
/// and returns the segment and each record's start offset and the file end.
fn write_records(dir: &Path, writes: &[LogWrite]) -> (PathBuf, Vec<u64>, u64) {
    let (mut s, _) = FileStorage::open(dir, CLUSTER, NODE).unwrap();
    let path = s.segment_paths().pop().unwrap();
    let mut starts = Vec::new();
    for w in writes {
        starts.push(fs::metadata(&path).unwrap().len());
        s.append(w).unwrap();
    }
    s.sync().unwrap();
    assert_eq!(s.segment_paths(), vec![path.clone()]);
    let end = fs::metadata(&path).unwrap().len();
    (path, starts, end)
}

/// A store with small segments holding `n` synced entries, one per record.
fn filled(dir: &Path, n: Index) -> FileStorage {
    let mut s = open_file(dir);
    for i in 1..=n {
        s.append(&write(i, 1, 1)).unwrap();
    }
    s.sync().unwrap();
    s
}

/// Writes of 1..4 entries each, contiguous from index 1.
fn writes() -> impl Strategy<Value = Vec<LogWrite>> {
    proptest::collection::vec((1u64..4, 0usize..24), 2..6).prop_map(|shapes| {
        let mut from = 1;
        shapes
            .into_iter()
            .map(|(n, len)| {
                let w = LogWrite {
                    from,
                    entries: (from..from + n).map(|i| entry(i, 1, len)).collect(),
                };
                from += n;
                w
            })
            .collect()
    })
}

fn prefix(writes: &[LogWrite]) -> Vec<Entry> {
    writes.iter().flat_map(|w| w.entries.clone()).collect()
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(6))]

    /// Cutting the segment anywhere inside its last record (a crash in the
    /// middle of the write) recovers exactly the records before it, and
    /// reports the cut.
    #[test]
    fn torn_last_record_is_cut_at_every_offset(writes in writes()) {
        let dir = TempDir::new("torn");
        let (path, starts, end) = write_records(&dir.0, &writes);
        let full = fs::read(&path).unwrap();
        let start = *starts.last().unwrap();
        let before = prefix(&writes[..writes.len() - 1]);
        for cut in start..=end {
            fs::write(&path, &full[..cut as usize]).unwrap();
            let (s, recovery) = FileStorage::open(&dir.0, CLUSTER, NODE).unwrap();
            if cut == end {
                prop_assert_eq!(recovery.durable.entries, prefix(&writes));
                prop_assert_eq!(recovery.torn_tail, None);
                continue;
            }
            prop_assert_eq!(&recovery.durable.entries, &before);
            let torn = (cut > start).then(|| TornTail { path: path.clone(), offset: start, dropped: cut - start });
            // The repair is told in words a node's events can show.
            let notes: Vec<String> = torn.iter().map(ToString::to_string).collect();
            prop_assert_eq!(s.recovery_notes(), notes);
            prop_assert_eq!(recovery.torn_tail, torn);
            // The cut is repaired: appending resumes cleanly after it.
            prop_assert_eq!(fs::metadata(&path).unwrap().len(), start);
            prop_assert_eq!(s.last_index(), before.len() as Index);
        }
    }

    /// A flipped byte in any record followed by another is refused, naming
    /// the file and the record's offset.
    #[test]
    fn flipped_byte_before_the_tail_is_corrupt(
        writes in writes(),
        pick in any::<proptest::sample::Index>(),
        at in any::<proptest::sample::Index>(),
        mask in 1u8..=255,
    ) {
        let dir = TempDir::new("flip");
        let (path, starts, end) = write_records(&dir.0, &writes);
        let victim = pick.index(starts.len() - 1);
        let (lo, hi) = (starts[victim], starts.get(victim + 1).copied().unwrap_or(end));
        let offset = lo + at.index((hi - lo) as usize) as u64;
        let mut bytes = fs::read(&path).unwrap();
        bytes[offset as usize] ^= mask;
        fs::write(&path, &bytes).unwrap();
        match FileStorage::open(&dir.0, CLUSTER, NODE) {
            Err(StorageError::Corrupt { path: p, offset: o, .. }) => {
                prop_assert_eq!(&p, &path);
                prop_assert_eq!(o, lo);
            }
            other => prop_assert!(false, "expected Corrupt, got {:?}", other.map(|(_, r)| r)),
        }
        // Refusing changed nothing: the file is as it was.
        prop_assert_eq!(fs::read(&path).unwrap(), bytes);
    }
}

#[test]
fn corrupt_record_in_an_earlier_segment_is_an_error() {
    let dir = TempDir::new("earlier");
    let s = filled(&dir.0, 60);
    let segments = s.segment_paths();
    assert!(segments.len() >= 3, "{segments:?}");
    drop(s);
    // Cut the end of the first segment: fine for a last segment, not here.
    let first = &segments[0];
    let len = fs::metadata(first).unwrap().len();
    fs::OpenOptions::new()
        .write(true)
        .open(first)
        .unwrap()
        .set_len(len - 3)
        .unwrap();
    let err = FileStorage::open_with(&dir.0, CLUSTER, NODE, small_segments()).unwrap_err();
    assert!(
        matches!(&err, StorageError::Corrupt { path, .. } if path == first),
        "{err}"
    );
}

#[test]
fn missing_segment_is_an_error_naming_it() {
    let dir = TempDir::new("missing");
    let s = filled(&dir.0, 60);
    let segments = s.segment_paths();
    drop(s);
    fs::remove_file(&segments[1]).unwrap();
    let err = FileStorage::open_with(&dir.0, CLUSTER, NODE, small_segments()).unwrap_err();
    assert!(
        matches!(&err, StorageError::Corrupt { path, .. } if *path == segments[1]),
        "{err}"
    );
    fs::remove_file(&segments[0]).unwrap();
    let err = FileStorage::open_with(&dir.0, CLUSTER, NODE, small_segments()).unwrap_err();
    assert!(matches!(&err, StorageError::Corrupt { .. }), "{err}");
}

#[test]
fn torn_segment_header_is_cut() {
    let dir = TempDir::new("header");
    let s = filled(&dir.0, 60);
    let last = s.segment_paths().pop().unwrap();
    drop(s);
    // The crash came right after the segment was created.
    fs::write(&last, &format::segment_header()[..5]).unwrap();
    let (s, recovery) = FileStorage::open_with(&dir.0, CLUSTER, NODE, small_segments()).unwrap();
    let torn = recovery.torn_tail.unwrap();
    assert_eq!((torn.path, torn.offset, torn.dropped), (last, 0, 5));
    assert!(s.last_index() < 60);
    assert_eq!(recovery.durable.entries, all(&s));
}

#[test]
fn compaction_deletes_old_segments() {
    let dir = TempDir::new("delete");
    let mut s = filled(&dir.0, 40);
    let before = s.segment_paths().len();
    s.save_snapshot(&snap(35, 1)).unwrap();
    s.compact(SnapshotMeta::at(35, 1)).unwrap();
    let after = s.segment_paths();
    assert!(after.len() < before, "{before} -> {}", after.len());
    assert!(after.iter().all(|p| p.exists()));
    let s = reopen_file(s);
    assert_eq!((s.first_index(), s.last_index()), (36, 40));
}

#[test]
fn snapshots_keep_the_last_two_and_temp_files_are_swept() {
    let dir = TempDir::new("snaps");
    let mut s = open_file(&dir.0);
    s.append(&write(1, 1, 9)).unwrap();
    for i in [3, 5, 7] {
        s.save_snapshot(&snap(i, 1)).unwrap();
    }
    let node_dir = s.dir().to_path_buf();
    let count = |ext: &str| {
        fs::read_dir(&node_dir)
            .unwrap()
            .filter(|e| e.as_ref().unwrap().path().to_string_lossy().ends_with(ext))
            .count()
    };
    assert_eq!(count(".snap"), 2);
    // A crash mid-write leaves a temp file; opening sweeps it.
    fs::write(node_dir.join("snapshot-9-1.snap.tmp"), b"partial").unwrap();
    // A crash between saving the snapshot and compacting: open compacts.
    s.sync().unwrap();
    let s = reopen_file(s);
    assert_eq!(count(".tmp"), 0);
    assert_eq!(s.first_index(), 8);
    assert_eq!(s.load().unwrap().snapshot, Some(snap(7, 1)));
}

/// Overwrites 4 bytes at `offset` of `path`.
fn patch(path: &Path, offset: usize, bytes: [u8; 4]) {
    let mut data = fs::read(path).unwrap();
    data[offset..offset + 4].copy_from_slice(&bytes);
    fs::write(path, data).unwrap();
}

#[test]
fn foreign_directories_are_refused() {
    let dir = TempDir::new("foreign");
    let (mut s, _) = FileStorage::open(&dir.0, CLUSTER, NODE).unwrap();
    s.append(&write(1, 1, 2)).unwrap();
    s.sync().unwrap();
    let node_dir = s.dir().to_path_buf();
    let segment = s.segment_paths().pop().unwrap();
    drop(s);
    let meta = node_dir.join("meta");

    let err = FileStorage::open(&dir.0, CLUSTER + 1, NODE).unwrap_err();
    assert!(
        matches!(&err, StorageError::ClusterMismatch { path, found: CLUSTER, .. } if *path == meta),
        "{err}"
    );
    assert!(err.to_string().contains("meta"), "{err}");

    // Node 3's directory copied into node 4's place.
    let other = node_dir.with_file_name("node-4");
    fs::create_dir_all(&other).unwrap();
    fs::copy(&meta, other.join("meta")).unwrap();
    let err = FileStorage::open(&dir.0, CLUSTER, 4).unwrap_err();
    assert!(
        matches!(
            err,
            StorageError::NodeMismatch {
                found: NODE,
                expected: 4,
                ..
            }
        ),
        "{err}"
    );

    // A segment of format version 1 (before configurations were stored).
    patch(&segment, 8, 1u32.to_le_bytes());
    let err = FileStorage::open(&dir.0, CLUSTER, NODE).unwrap_err();
    assert!(
        matches!(&err, StorageError::Version { path, found: 1, expected: 2 } if *path == segment),
        "{err}"
    );
    patch(&meta, 8, 7u32.to_le_bytes());
    let err = FileStorage::open(&dir.0, CLUSTER, NODE).unwrap_err();
    assert!(
        matches!(&err, StorageError::Version { path, found: 7, .. } if *path == meta),
        "{err}"
    );
}

#[test]
fn unusable_directory_is_an_io_error_naming_it() {
    let dir = TempDir::new("unusable");
    let not_a_dir = dir.0.join("file");
    fs::write(&not_a_dir, b"x").unwrap();
    let err = FileStorage::open(&not_a_dir, CLUSTER, NODE).unwrap_err();
    assert!(
        matches!(&err, StorageError::Io { path, .. } if path.starts_with(&not_a_dir)),
        "{err}"
    );
    assert!(err.to_string().contains("node-3"), "{err}");
}

#[test]
fn injected_write_error_leaves_the_file_store_consistent() {
    let dir = TempDir::new("fault");
    let mut s = open_file(&dir.0);
    s.append(&write(1, 1, 3)).unwrap();
    s.fail_next_write();
    let err = s.append(&write(4, 1, 3)).unwrap_err();
    assert!(
        matches!(&err, StorageError::Io { source, .. } if source.kind() == std::io::ErrorKind::StorageFull),
        "{err}"
    );
    assert_eq!(s.last_index(), 3);
    // Usable afterwards, and the half-written record left no trace.
    s.append(&write(4, 2, 3)).unwrap();
    s.sync().unwrap();
    let s = reopen_file(s);
    let mut expected = write(1, 1, 3).entries;
    expected.extend(write(4, 2, 3).entries);
    assert_eq!(all(&s), expected);
}

#[test]
fn injected_errors_leave_the_memory_store_consistent() {
    let mut s = MemStorage::new();
    s.append(&write(1, 1, 3)).unwrap();
    s.fail_next_write();
    assert!(matches!(
        s.append(&write(4, 1, 1)),
        Err(StorageError::Io { .. })
    ));
    assert_eq!(s.last_index(), 3);
    s.fail_next_sync();
    assert!(matches!(s.sync(), Err(StorageError::Io { .. })));
    // The failed sync made nothing durable: a crash loses the writes.
    let mut lost = s.clone();
    lost.crash(0, false);
    assert_eq!(lost.last_index(), 0);
    // A later sync succeeds.
    s.sync().unwrap();
    s.crash(0, false);
    assert_eq!(s.last_index(), 3);
}

#[test]
fn memory_crash_loses_unsynced_keeps_synced_and_discards_torn() {
    let mut s = MemStorage::new();
    s.append(&write(1, 1, 3)).unwrap();
    s.save_hard_state(HardState {
        term: 1,
        vote: Some(2),
    })
    .unwrap();
    s.sync().unwrap();
    s.append(&write(4, 1, 2)).unwrap();
    s.append(&write(6, 1, 1)).unwrap();
    s.save_snapshot(&snap(2, 1)).unwrap();
    assert_eq!(s.unsynced_writes(), 2);

    let mut all_lost = s.clone();
    let report = all_lost.crash(0, false);
    assert_eq!(
        report,
        CrashReport {
            kept: 0,
            lost: 2,
            torn: false
        }
    );
    // The snapshot at 2 was saved but the log never compacted to it:
    // recovery finishes that compaction, as the file store's does.
    assert_eq!((all_lost.first_index(), all_lost.last_index()), (3, 3));
    let durable = all_lost.load().unwrap();
    assert_eq!(
        durable.hard_state,
        HardState {
            term: 1,
            vote: Some(2)
        }
    );
    assert_eq!(durable.snapshot, Some(snap(2, 1)));
    assert_eq!(durable.entries, vec![entry(3, 1, 8)]);

    let mut torn = s.clone();
    let report = torn.crash(1, true);
    assert_eq!(
        report,
        CrashReport {
            kept: 1,
            lost: 1,
            torn: true
        }
    );
    assert_eq!(torn.last_index(), 5);
    assert_eq!(torn.unsynced_writes(), 0);

    let report = s.crash(usize::MAX, true);
    assert_eq!(
        report,
        CrashReport {
            kept: 2,
            lost: 0,
            torn: false
        }
    );
    assert_eq!(s.last_index(), 6);
}
