//! The dashboard's `--data-dir` end to end: a cluster writes to its data
//! directory and quits; a node's log segment is then emptied, and the next
//! start refuses in words (the file, the offset, what was expected, what
//! to do) instead of running a node that lost what it acknowledged.
//! Skipped, saying so, where tmux is not installed.

use std::time::Duration;

#[path = "common/tmux.rs"]
mod tmux;

use tmux::{Tmux, leader, tmux_missing};

#[test]
fn the_dashboard_refuses_a_damaged_data_directory_in_words() {
    if tmux_missing() {
        eprintln!(
            "SKIPPED the_dashboard_refuses_a_damaged_data_directory_in_words: tmux is not installed (apt-get install tmux)"
        );
        return;
    }
    let bin = env!("CARGO_BIN_EXE_raftlab");
    let dir = std::env::temp_dir().join(format!("raftlab-tui-storage-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    let long = Duration::from_secs(20);
    let command = |tag: &str| {
        format!(
            "{bin} --nodes 3 --seed 5 --data-dir {}; echo {tag}=$?; sleep 60",
            dir.display()
        )
    };

    let tmux = Tmux::start(120, 40, &command("FIRST-EXIT"));
    tmux.wait("a leader on screen", long, leader);
    tmux.keys(&[":"]);
    tmux.type_line("put greeting hello");
    tmux.wait("put answered OK", long, |s| {
        s.contains("│  OK ").then_some(())
    });
    tmux.escape();
    tmux.keys(&["q"]);
    let screen = tmux.wait("raftlab to exit", long, |s| {
        s.contains("FIRST-EXIT=").then(|| s.to_string())
    });
    assert!(screen.contains("FIRST-EXIT=0"), "{screen}");
    drop(tmux);

    let node2 = dir.join("node-2");
    let segment = std::fs::read_dir(&node2)
        .expect("node 2's directory")
        .map(|e| e.expect("entry").path())
        .find(|p| p.extension().is_some_and(|x| x == "seg"))
        .expect("a segment");
    std::fs::OpenOptions::new()
        .write(true)
        .open(&segment)
        .expect("open")
        .set_len(0)
        .expect("truncate");

    let tmux = Tmux::start(200, 40, &command("SECOND-EXIT"));
    let screen = tmux.wait("raftlab to refuse", long, |s| {
        s.contains("SECOND-EXIT=").then(|| s.to_string())
    });
    let flat = screen.replace('\n', "");
    assert!(screen.contains("SECOND-EXIT=2"), "{screen}");
    assert!(flat.contains("is damaged at byte 0"), "{screen}");
    assert!(
        flat.contains("may have lost writes it acknowledged"),
        "{screen}"
    );
    assert!(flat.contains("node 2's files in"), "{screen}");
    assert!(flat.contains("Durability"), "{screen}");
    assert!(!flat.contains("panicked"), "{screen}");
    drop(tmux);
    let _ = std::fs::remove_dir_all(&dir);
}
