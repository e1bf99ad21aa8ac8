//! Membership change end to end: the real binary in a real (tmux) terminal
//! starts three nodes, `add 4` starts n4 as a learner (a fourth card
//! appears, marked learner), `promote 4` makes it a voter, and the status
//! bar shows the configuration. Skipped, saying so, where tmux is not
//! installed.

use std::time::Duration;

#[path = "common/tmux.rs"]
mod tmux;

use tmux::{Tmux, status, tmux_missing};

const LONG: Duration = Duration::from_secs(30);

#[test]
fn add_and_promote_a_fourth_node_in_a_real_terminal() {
    if tmux_missing() {
        eprintln!("SKIPPED add_and_promote…: tmux is not installed (apt-get install tmux)");
        return;
    }
    let bin = env!("CARGO_BIN_EXE_raftlab");
    let tmux = Tmux::start(
        140,
        40,
        &format!("{bin} --nodes 3 --seed 5 --speed 4; sleep 60"),
    );
    tmux.wait("a leader", LONG, |s| s.contains(" leader n").then_some(()));
    assert!(!tmux.screen().contains(" n4 "), "three cards at start");

    tmux.keys(&[":"]);
    tmux.type_line("add 4");
    tmux.wait("n4 joined as a learner", LONG, |s| {
        s.contains("n4 joined as a learner").then_some(())
    });
    // The card and the bar follow with the next view.
    tmux.wait("n4's card as a learner and the configuration", LONG, |s| {
        (s.contains(" n4 Up ")
            && s.contains("Follower · learner")
            && status(s).contains("voters 1 2 3 · learners 4"))
        .then_some(())
    });

    // Promotion may have to wait for n4 to catch up: retry while refused.
    let mut promoted = None;
    for _ in 0..10 {
        tmux.type_line("promote 4");
        let s = tmux.wait("an answer to promote", LONG, |s| {
            (s.contains("n4 is a voter") || s.contains("has not caught up")).then(|| s.to_string())
        });
        if s.contains("n4 is a voter") {
            promoted = Some(s);
            break;
        }
        std::thread::sleep(Duration::from_millis(500));
    }
    assert!(promoted.is_some(), "n4 was promoted");
    // Every node votes now: no card says learner, the bar lists none.
    tmux.wait("n4 a voter on screen", LONG, |s| {
        (s.contains(" n4 Up ") && !status(s).contains("learners") && !s.contains("· learner"))
            .then_some(())
    });

    // Bad input: an id beyond 9 and an existing member, in words.
    tmux.type_line("add 12");
    tmux.wait("the id range", LONG, |s| {
        s.contains("ids are 1 to 9").then_some(())
    });
    tmux.type_line("add 2");
    tmux.wait("already a voter", LONG, |s| {
        s.contains("node 2 is already a voter").then_some(())
    });
}
