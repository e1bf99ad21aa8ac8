//! "Why?" end to end, in a real (tmux) terminal of 100×34 (at 30 rows the
//! wire of messages in flight takes the log pane's footer, which the test
//! reads the write from): a
//! write sent to a leader cut off in a minority sits uncommitted in its
//! log; with the log pane's cursor on it, `w` answers why it is not
//! committed — who holds it, how many a majority needs — and the console's
//! `why N` asks about a node; simulated and live. Skipped, saying so,
//! where tmux is not installed.

use std::time::Duration;

#[path = "common/tmux.rs"]
mod tmux;

use tmux::{Tmux, tmux_missing};

/// The answer's box: from its title to its bottom edge.
fn popup(screen: &str) -> Option<String> {
    let lines: Vec<&str> = screen
        .lines()
        .skip_while(|l| !l.contains("Why? "))
        .take_while(|l| !l.contains("w or Esc closes"))
        .collect();
    (!lines.is_empty()).then(|| lines.join("\n"))
}

fn why_an_uncommitted_entry(command: &str) {
    let tmux = Tmux::start(100, 34, command);
    let long = Duration::from_secs(30);
    let (l, other) = tmux.write_to_a_cut_off_leader(command.contains(" class "), long);
    // The write in the leader's log (the log pane's footer lists the
    // selected node's entries).
    tmux.wait("the write in the leader's log", long, |s| {
        s.lines()
            .any(|line| line.contains(&format!("n{l} entries:")) && line.contains("put y=2"))
            .then_some(())
    });
    // Stop time, so the answer holds still, and ask from the log pane:
    // its cursor starts on the selected node's last entry.
    tmux.escape();
    tmux.keys(&["Space"]);
    tmux.keys(&["Tab"]);
    tmux.wait("the log cursor", long, |s| {
        s.contains("w asks why").then_some(())
    });
    tmux.keys(&["w"]);
    let answer = tmux.wait("the answer", long, popup);
    assert!(
        answer.contains(&format!("on n{l}: term")) && answer.contains("put y=2"),
        "{answer}"
    );
    // Not committed: held by fewer than the 3 voters of 5 a majority
    // needs (the two on the leader's side, or just the leader for a
    // retried write) — or never, once the other side's newer leader
    // holds another entry there.
    let short = answer.contains("✗ Not committed") && answer.contains("a majority is 3");
    assert!(short || answer.contains("✗ Never commits"), "{answer}");
    assert!(!answer.contains("✓ Committed"), "{answer}");
    // Esc closes it; the console's `why N` asks about a node.
    tmux.escape();
    let screen = tmux.screen();
    assert!(popup(&screen).is_none(), "{screen}");
    tmux.keys(&[":"]);
    tmux.type_line(&format!("why {other}"));
    let answer = tmux.wait("the answer about a node", long, popup);
    assert!(answer.contains(&format!("Why? n{other}:")), "{answer}");
    // Closed, it leaves its verdict in the console.
    tmux.escape();
    let screen = tmux.screen();
    assert!(
        popup(&screen).is_none() && screen.contains(&format!("why n{other}: n{other} ")),
        "the console notes it:\n{screen}"
    );
}

#[test]
fn why_an_entry_is_not_committed_simulated() {
    if tmux_missing() {
        eprintln!("SKIPPED why_an_entry_is_not_committed…: tmux is not installed");
        return;
    }
    let bin = env!("CARGO_BIN_EXE_raftlab");
    why_an_uncommitted_entry(&format!(
        "{bin} class --seed 2 --speed 2 --no-mouse; sleep 30"
    ));
}

#[test]
fn why_an_entry_is_not_committed_live() {
    if tmux_missing() {
        eprintln!("SKIPPED why_an_entry_is_not_committed…: tmux is not installed");
        return;
    }
    let bin = env!("CARGO_BIN_EXE_raftlab");
    why_an_uncommitted_entry(&format!("{bin} --seed 2 --speed 2 --no-mouse; sleep 30"));
}
