//! Teaching mode end to end: the real binary in a real (tmux) terminal
//! opens the message list and sees messages, filters it, shows focus mode
//! and the live checks; `--bug` and the `bug` command show the warning
//! badge. Skipped, saying so, where tmux is not installed.

use std::process::Command;
use std::time::Duration;

#[path = "common/tmux.rs"]
mod tmux;

use tmux::{Tmux, status, tmux_missing};

const LONG: Duration = Duration::from_secs(20);

#[test]
fn the_message_list_focus_mode_and_checks_in_a_real_terminal() {
    if tmux_missing() {
        eprintln!("SKIPPED the_message_list…: tmux is not installed (apt-get install tmux)");
        return;
    }
    let bin = env!("CARGO_BIN_EXE_raftlab");
    let tmux = Tmux::start(100, 30, &format!("{bin} --seed 3 --speed 2; sleep 60"));
    tmux.wait("a leader", LONG, |s| s.contains(" leader n").then_some(()));

    tmux.keys(&["m"]);
    tmux.wait("heartbeats listed", LONG, |s| {
        (s.contains("Messages (newest first; filter: all)") && s.contains("Heartbeat"))
            .then_some(())
    });

    tmux.keys(&[":"]);
    tmux.type_line("msgs type vote");
    let s = tmux.wait("the vote filter", LONG, |s| {
        s.contains("filter: type vote").then(|| s.to_string())
    });
    let list: Vec<&str> = s
        .lines()
        .skip_while(|l| !l.contains("Messages ("))
        .skip(2)
        .take_while(|l| !l.contains("dropped"))
        .collect();
    assert!(
        list.iter().any(|l| l.contains("Vote")),
        "the election's votes are listed:\n{s}"
    );
    assert!(
        list.iter()
            .all(|l| !l.contains("Heartbeat") && !l.contains("Append")),
        "only votes:\n{s}"
    );
    tmux.type_line("msgs from 9");
    tmux.wait("a bad node refused", LONG, |s| {
        s.contains("'9' is not a node").then_some(())
    });

    tmux.escape();
    tmux.keys(&["f"]);
    tmux.wait("focus mode", LONG, |s| {
        s.contains("Focus: n1's messages").then_some(())
    });
    tmux.keys(&["c"]);
    tmux.wait("the live checks, all OK", LONG, |s| {
        (s.contains("Live checks (c closes)")
            && s.contains("election safety")
            && !s.contains("VIOLATED"))
        .then_some(())
    });
    tmux.keys(&["q"]);
}

#[test]
fn a_bug_switched_on_shows_the_badge_in_a_real_terminal() {
    if tmux_missing() {
        eprintln!("SKIPPED a_bug_switched_on…: tmux is not installed (apt-get install tmux)");
        return;
    }
    let bin = env!("CARGO_BIN_EXE_raftlab");
    // 36 rows: at 30 the wire of messages in flight leaves the console
    // too few rows for the refusal and the whole list of bugs at once.
    let tmux = Tmux::start(
        100,
        36,
        &format!("{bin} --seed 4 --bug commit-old-terms; sleep 60"),
    );
    tmux.wait("the badge from --bug", LONG, |s| {
        status(s)
            .contains("⚠ BUG commit-old-terms ON")
            .then_some(())
    });
    tmux.keys(&[":"]);
    tmux.type_line("bug commit-old-terms off");
    tmux.wait("the badge gone", LONG, |s| {
        (!status(s).contains("BUG") && s.contains("Raft is safe again")).then_some(())
    });
    tmux.type_line("bug skip-prev-check on");
    tmux.wait("the badge for skip-prev-check", LONG, |s| {
        status(s).contains("⚠ BUG skip-prev-check ON").then_some(())
    });
    tmux.type_line("bug no-such-bug on");
    tmux.wait("an unknown bug refused", LONG, |s| {
        (s.contains("error: unknown bug 'no-such-bug'; the bugs are:")
            && s.contains("off commit-old-terms: commit entries of older terms")
            && s.contains("ON  skip-prev-check: accept appends"))
        .then_some(())
    });
    tmux.escape();
    tmux.keys(&["q"]);
}

#[test]
fn an_unknown_bug_flag_exits_2_naming_the_bugs() {
    let out = Command::new(env!("CARGO_BIN_EXE_raftlab"))
        .args(["--bug", "no-such-bug"])
        .output()
        .expect("run raftlab");
    assert_eq!(out.status.code(), Some(2));
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(
        err.contains(
            "unknown bug 'no-such-bug'; the bugs are: commit-old-terms, skip-prev-check, forget-vote, stale-leader-reads, ack-before-fsync"
        ),
        "{err}"
    );
}

#[test]
fn at_80_columns_the_bug_badge_leaves_room_for_the_keys() {
    if tmux_missing() {
        eprintln!("SKIPPED at_80_columns…: tmux is not installed (apt-get install tmux)");
        return;
    }
    let bin = env!("CARGO_BIN_EXE_raftlab");
    let tmux = Tmux::start(
        80,
        24,
        &format!("{bin} --seed 4 --bug commit-old-terms; sleep 60"),
    );
    let bar = tmux.wait("the badge and the keys", LONG, |s| {
        let bar = status(s);
        (bar.contains("⚠ BUG commit-old-terms ON") && bar.contains(" leader n"))
            .then(|| bar.to_string())
    });
    for key in ["? help", ": console", "q quit"] {
        assert!(bar.contains(key), "{key} missing: {bar}");
    }
    // Simulated mode with the same bug: the seed's mark too, the keys stay.
    let tmux = Tmux::start(
        80,
        24,
        &format!("{bin} --sim --seed 4 --bug commit-old-terms; sleep 60"),
    );
    let bar = tmux.wait("the sim badge and the keys", LONG, |s| {
        let bar = status(s);
        (bar.contains("SIM seed 4") && bar.contains(" leader n")).then(|| bar.to_string())
    });
    assert!(bar.contains("⚠"), "{bar}");
    assert!(bar.contains("? help"), "{bar}");
}
