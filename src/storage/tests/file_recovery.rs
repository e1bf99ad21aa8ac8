//! Recovery of the file store from torn, corrupt and foreign files, fault
//! injection, and the memory store's crash semantics.

use std::fs;
use std::path::{Path, PathBuf};

use proptest::prelude::*;

use super::*;

/// Appends one record per write (default segments: one segment), syncing
/// after each but the last, which a crash then catches in flight; returns
/// the segment and each record's start offset and the file end.
fn write_records(dir: &Path, writes: &[LogWrite]) -> (PathBuf, Vec<u64>, u64) {
    let (mut s, _) = FileStorage::open(dir, CLUSTER, NODE).unwrap();
    let path = s.segment_paths().pop().unwrap();
    let mut starts = Vec::new();
    for (i, w) in writes.iter().enumerate() {
        starts.push(fs::metadata(&path).unwrap().len());
        s.append(w).unwrap();
        if i + 1 < writes.len() {
            s.sync().unwrap();
        }
    }
    assert_eq!(s.segment_paths(), vec![path.clone()]);
    let end = fs::metadata(&path).unwrap().len();
    (path, starts, end)
}

/// The file, offset and expectation of a [`StorageError::Damaged`].
fn damaged(err: StorageError) -> (PathBuf, u64, String) {
    match err {
        StorageError::Damaged {
            path,
            offset,
            expected,
            ..
        } => (path, offset, expected),
        other => panic!("expected Damaged, got {other}"),
    }
}

fn open_err(dir: &Path) -> StorageError {
    FileStorage::open_with(dir, CLUSTER, NODE, small_segments()).unwrap_err()
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

    /// Cutting the segment anywhere inside its last, unsynced record (a
    /// crash in the middle of the write) recovers exactly the records
    /// before it, and reports the cut.
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

    /// A flipped byte in any synced record (each is followed by another)
    /// is refused as damage, naming the file and the record's offset.
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
            Err(StorageError::Damaged { path: p, offset: o, .. }) => {
                prop_assert_eq!(&p, &path);
                prop_assert_eq!(o, lo);
            }
            other => prop_assert!(false, "expected Damaged, got {:?}", other.map(|(_, r)| r)),
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
    let (path, offset, expected) = damaged(open_err(&dir.0));
    assert_eq!(&path, first);
    assert!(offset <= len - 3, "{offset}");
    assert!(expected.contains("synced"), "{expected}");
}

#[test]
fn missing_segment_is_an_error_naming_it() {
    let dir = TempDir::new("missing");
    let s = filled(&dir.0, 60);
    let segments = s.segment_paths();
    drop(s);
    fs::remove_file(&segments[1]).unwrap();
    let (path, _, _) = damaged(open_err(&dir.0));
    assert_eq!(path, segments[1]);
    fs::remove_file(&segments[0]).unwrap();
    let (path, _, _) = damaged(open_err(&dir.0));
    assert_eq!(path, segments[1]);
}

#[test]
fn a_crash_while_starting_a_segment_leaves_a_temp_file_that_is_swept() {
    let dir = TempDir::new("roll");
    let s = filled(&dir.0, 60);
    let last = s.segment_paths().pop().unwrap();
    let node_dir = s.dir().to_path_buf();
    drop(s);
    // The crash came while the next segment was being written.
    let seq = last.file_name().unwrap().to_string_lossy()[4..24]
        .parse::<u64>()
        .unwrap()
        + 1;
    let tmp = node_dir.join(format!("log-{seq:020}.seg.tmp"));
    fs::write(&tmp, &fs::read(&last).unwrap()[..5]).unwrap();
    let (s, recovery) = FileStorage::open_with(&dir.0, CLUSTER, NODE, small_segments()).unwrap();
    assert!(!tmp.exists());
    assert_eq!(recovery.torn_tail, None);
    assert_eq!(s.last_index(), 60);
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
        matches!(&err, StorageError::Version { path, found: 1, expected: format::VERSION } if *path == segment),
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

/// Node 3's storage holding `n` entries, each appended and synced (each an
/// acknowledged write), in one default-size segment; the segment and each
/// record's start offset.
fn acknowledged(dir: &Path, n: Index) -> (PathBuf, Vec<u64>) {
    let (mut s, _) = FileStorage::open(dir, CLUSTER, NODE).unwrap();
    let path = s.segment_paths().pop().unwrap();
    let mut starts = Vec::new();
    for i in 1..=n {
        starts.push(fs::metadata(&path).unwrap().len());
        s.append(&write(i, 1, 1)).unwrap();
        s.sync().unwrap();
    }
    (path, starts)
}

fn set_len(path: &Path, len: u64) {
    fs::OpenOptions::new()
        .write(true)
        .open(path)
        .unwrap()
        .set_len(len)
        .unwrap();
}

fn open_default_err(dir: &Path) -> StorageError {
    FileStorage::open(dir, CLUSTER, NODE).unwrap_err()
}

#[test]
fn a_segment_truncated_to_zero_bytes_is_damage() {
    let dir = TempDir::new("zero");
    let (path, _) = acknowledged(&dir.0, 20);
    set_len(&path, 0);
    let err = open_default_err(&dir.0);
    assert!(err.is_damage());
    let message = err.to_string();
    assert!(
        message.contains("may have lost writes it acknowledged"),
        "{message}"
    );
    let (p, offset, expected) = damaged(err);
    assert_eq!((p, offset), (path.clone(), 0));
    assert!(expected.contains("segment header"), "{expected}");
    // Refusing changed nothing.
    assert_eq!(fs::metadata(&path).unwrap().len(), 0);
}

#[test]
fn a_segment_truncated_to_half_is_damage() {
    let dir = TempDir::new("half");
    let (path, starts) = acknowledged(&dir.0, 20);
    let len = fs::metadata(&path).unwrap().len();
    for cut in [len / 2, starts[10], len - 1] {
        set_len(&path, cut);
        let (p, offset, expected) = damaged(open_default_err(&dir.0));
        assert_eq!(p, path);
        assert!(offset <= cut, "{offset} > {cut}");
        assert!(expected.contains(&format!("byte {len}")), "{expected}");
        assert_eq!(fs::metadata(&path).unwrap().len(), cut);
    }
}

#[test]
fn a_deleted_only_segment_is_damage() {
    let dir = TempDir::new("deleted");
    let (path, _) = acknowledged(&dir.0, 20);
    fs::remove_file(&path).unwrap();
    let (p, offset, _) = damaged(open_default_err(&dir.0));
    assert_eq!((p, offset), (path.clone(), 0));
    // Not quietly replaced by a new empty log.
    assert!(!path.exists());
}

#[test]
fn a_flipped_byte_in_the_last_whole_record_is_damage() {
    let dir = TempDir::new("flip-last");
    let (path, starts) = acknowledged(&dir.0, 20);
    let last = *starts.last().unwrap();
    let len = fs::metadata(&path).unwrap().len();
    for at in [last, last + 4, last + 9, len - 1] {
        let mut bytes = fs::read(&path).unwrap();
        bytes[at as usize] ^= 0x20;
        fs::write(&path, &bytes).unwrap();
        let (p, offset, expected) = damaged(open_default_err(&dir.0));
        assert_eq!((p, offset), (path.clone(), last));
        assert!(expected.contains("synced up to byte"), "{expected}");
        bytes[at as usize] ^= 0x20;
        fs::write(&path, &bytes).unwrap();
    }
    // Put back, it opens whole.
    let (s, recovery) = FileStorage::open(&dir.0, CLUSTER, NODE).unwrap();
    assert_eq!((s.last_index(), recovery.torn_tail), (20, None));
}

#[test]
fn a_flipped_byte_mid_log_is_damage() {
    let dir = TempDir::new("flip-mid");
    let (path, starts) = acknowledged(&dir.0, 20);
    let mut bytes = fs::read(&path).unwrap();
    bytes[starts[7] as usize + 10] ^= 1;
    fs::write(&path, &bytes).unwrap();
    let (p, offset, _) = damaged(open_default_err(&dir.0));
    assert_eq!((p, offset), (path, starts[7]));
}

#[test]
fn zeros_over_synced_records_are_damage_but_zeros_past_the_sync_are_a_torn_tail() {
    let dir = TempDir::new("zeros");
    let (path, starts) = acknowledged(&dir.0, 20);
    let len = fs::metadata(&path).unwrap().len();
    let synced = fs::read(&path).unwrap();
    // A crash while extending the file: its size grew, its data did not.
    let mut grown = synced.clone();
    grown.extend_from_slice(&[0; 300]);
    fs::write(&path, &grown).unwrap();
    let (s, recovery) = FileStorage::open(&dir.0, CLUSTER, NODE).unwrap();
    assert_eq!(s.last_index(), 20);
    let torn = recovery.torn_tail.unwrap();
    assert_eq!((torn.offset, torn.dropped), (len, 300));
    assert_eq!(fs::read(&path).unwrap(), synced);
    drop(s);
    // The last two acknowledged records zeroed.
    let mut zeroed = synced.clone();
    zeroed[starts[18] as usize..].fill(0);
    fs::write(&path, &zeroed).unwrap();
    let (p, offset, _) = damaged(open_default_err(&dir.0));
    assert_eq!((p, offset), (path, starts[18]));
}

#[test]
fn a_torn_unsynced_tail_is_accepted_and_cut() {
    let dir = TempDir::new("unsynced");
    let (mut s, _) = FileStorage::open(&dir.0, CLUSTER, NODE).unwrap();
    let path = s.segment_paths().pop().unwrap();
    s.append(&write(1, 1, 5)).unwrap();
    s.sync().unwrap();
    let synced = fs::metadata(&path).unwrap().len();
    // The next batch is written but its fsync never completes.
    s.append(&write(6, 1, 3)).unwrap();
    s.append(&write(9, 1, 3)).unwrap();
    drop(s);
    let full = fs::read(&path).unwrap();
    // Half of it reached the disk; or all its sectors, but garbled: a
    // whole-length last record of garbage.
    let half = full[..synced as usize + 7].to_vec();
    let mut garbage = full[..synced as usize].to_vec();
    let second = full.len() - (full.len() - synced as usize) / 2;
    garbage.extend_from_slice(&full[synced as usize..second]);
    garbage.extend(full[second..].iter().enumerate().map(|(i, b)| match i {
        0..8 => *b,
        _ => b ^ 0x5a,
    }));
    for (bytes, kept) in [(half, 5), (garbage, 8)] {
        fs::write(&path, &bytes).unwrap();
        let (s, recovery) = FileStorage::open(&dir.0, CLUSTER, NODE).unwrap();
        assert_eq!(s.last_index(), kept);
        assert!(recovery.torn_tail.is_some());
        assert_eq!(s.recovery_notes().len(), 1);
    }
}

#[test]
fn unsynced_records_a_killed_process_left_are_kept_and_then_guarded() {
    let dir = TempDir::new("killed");
    let (mut s, _) = FileStorage::open(&dir.0, CLUSTER, NODE).unwrap();
    let path = s.segment_paths().pop().unwrap();
    s.append(&write(1, 1, 5)).unwrap();
    // Killed before the fsync: the page cache still has the record.
    drop(s);
    let (s, recovery) = FileStorage::open(&dir.0, CLUSTER, NODE).unwrap();
    assert_eq!((s.last_index(), recovery.torn_tail), (5, None));
    drop(s);
    // Opening synced it and moved the mark: losing it now is damage.
    let len = fs::metadata(&path).unwrap().len();
    set_len(&path, len - 2);
    let (p, _, _) = damaged(open_default_err(&dir.0));
    assert_eq!(p, path);
}

#[test]
fn a_deleted_or_shortened_sealed_segment_is_damage() {
    let dir = TempDir::new("sealed");
    let s = filled(&dir.0, 60);
    let segments = s.segment_paths();
    assert!(segments.len() >= 3, "{segments:?}");
    drop(s);
    let last = segments.last().unwrap();
    let saved = fs::read(last).unwrap();
    // The newest segment deleted: its predecessor was sealed.
    fs::remove_file(last).unwrap();
    let (p, _, expected) = damaged(open_err(&dir.0));
    assert_eq!(&p, last);
    assert!(expected.contains("sealed"), "{expected}");
    fs::write(last, &saved).unwrap();
    // A middle segment cut at a record boundary: every record in it
    // checks, but its seal (and its successor's header) say how long it was.
    let middle = &segments[1];
    let bytes = fs::read(middle).unwrap();
    let mut at = segment::HEADER_LEN as usize;
    let mut bounds = Vec::new();
    while let format::Frame::Record(_, next) = format::read_frame(&bytes, at) {
        bounds.push(next);
        at = next;
    }
    assert!(bounds.len() >= 2, "{bounds:?}");
    fs::write(middle, &bytes[..bounds[bounds.len() - 2]]).unwrap();
    let (p, _, expected) = damaged(open_err(&dir.0));
    assert_eq!(&p, middle);
    assert!(expected.contains(&bytes.len().to_string()), "{expected}");
    fs::write(middle, &bytes).unwrap();
    let s = FileStorage::open_with(&dir.0, CLUSTER, NODE, small_segments())
        .unwrap()
        .0;
    assert_eq!(s.last_index(), 60);
}

#[test]
fn an_initialization_cut_short_is_finished() {
    let dir = TempDir::new("init");
    let s = open_file(&dir.0);
    let node_dir = s.dir().to_path_buf();
    drop(s);
    // The crash came after segment 1, before meta.
    fs::remove_file(node_dir.join("meta")).unwrap();
    let mut s = open_file(&dir.0);
    s.append(&write(1, 1, 2)).unwrap();
    s.sync().unwrap();
    let s = reopen_file(s);
    assert_eq!(s.last_index(), 2);
    drop(s);
    // With records in it, a missing meta is not a cut-short start.
    fs::remove_file(node_dir.join("meta")).unwrap();
    assert!(matches!(open_err(&dir.0), StorageError::Corrupt { .. }));
}

#[test]
fn an_old_format_directory_is_refused_naming_its_version() {
    let dir = TempDir::new("v2");
    let node_dir = dir.0.join(format!("node-{NODE}"));
    fs::create_dir_all(&node_dir).unwrap();
    // What raftlab wrote before segment headers had marks: a 12-byte
    // header, version 2, and checked files of version 2.
    let (mut s, _) = FileStorage::open(&dir.0, CLUSTER, NODE).unwrap();
    s.append(&write(1, 1, 2)).unwrap();
    s.sync().unwrap();
    let meta = s.dir().join("meta");
    drop(s);
    patch(&meta, 8, 2u32.to_le_bytes());
    let err = open_default_err(&dir.0);
    let message = err.to_string();
    assert!(
        matches!(
            err,
            StorageError::Version {
                found: 2,
                expected: 3,
                ..
            }
        ),
        "{message}"
    );
    assert!(message.contains("format version 2"), "{message}");
    assert!(message.contains("Durability"), "{message}");
}

#[test]
fn a_shortened_segment_whose_seal_was_lost_is_caught_by_its_successors_header() {
    let dir = TempDir::new("chain");
    let s = filled(&dir.0, 60);
    let segments = s.segment_paths();
    drop(s);
    let middle = &segments[1];
    let mut bytes = fs::read(middle).unwrap();
    let (_, mark) = segment::decode(middle, &bytes).unwrap();
    assert!(mark.sealed);
    // The seal's slot garbled: the older mark says less was synced.
    bytes[mark.offset() as usize] ^= 0xff;
    let (_, older) = segment::decode(middle, &bytes).unwrap();
    assert!(!older.sealed && older.synced < mark.synced);
    // Cut back to the older mark's end, a record boundary.
    fs::write(middle, &bytes[..older.synced as usize]).unwrap();
    let (p, offset, expected) = damaged(open_err(&dir.0));
    assert_eq!((&p, offset), (middle, older.synced));
    assert!(expected.contains("its header says so"), "{expected}");
}

#[test]
fn a_segment_left_unsealed_by_a_crash_is_sealed_on_open() {
    let dir = TempDir::new("late-seal");
    let s = filled(&dir.0, 60);
    let segments = s.segment_paths();
    drop(s);
    // The crash came after the last segment was created, before the one
    // before it was sealed: put back that segment's previous mark.
    let before = &segments[segments.len() - 2];
    let mut bytes = fs::read(before).unwrap();
    let (_, mark) = segment::decode(before, &bytes).unwrap();
    assert!(mark.sealed);
    bytes[mark.offset() as usize] ^= 0xff;
    fs::write(before, &bytes).unwrap();
    assert!(!segment::decode(before, &bytes).unwrap().1.sealed);
    let s = FileStorage::open_with(&dir.0, CLUSTER, NODE, small_segments())
        .unwrap()
        .0;
    assert_eq!(s.last_index(), 60);
    drop(s);
    assert!(
        segment::decode(before, &fs::read(before).unwrap())
            .unwrap()
            .1
            .sealed
    );
    // So losing the last segment now is seen.
    fs::remove_file(segments.last().unwrap()).unwrap();
    let (p, _, _) = damaged(open_err(&dir.0));
    assert_eq!(&p, segments.last().unwrap());
}
