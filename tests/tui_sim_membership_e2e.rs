//! Membership change in the simulated dashboard, end to end: the real
//! binary in a real (tmux) terminal runs `raftlab --sim` with three nodes;
//! `add 4` makes a learner card, `promote 4` a voter, `remove leader` has
//! the others elect a new leader, the `a` key adds n5, `add 12` is refused
//! in words, and `R` replays the run with those changes. Skipped, saying
//! so, where tmux is not installed.

use std::time::Duration;

#[path = "common/tmux.rs"]
mod tmux;

use tmux::{Tmux, leader, status, tmux_missing};

const LONG: Duration = Duration::from_secs(30);

/// Asks `command` again while the answer contains `retry`, until one
/// contains `done`; the screen then.
fn until_done(tmux: &Tmux, command: &str, done: &str, retry: &str) -> String {
    for _ in 0..20 {
        tmux.type_line(command);
        let s = tmux.wait(&format!("an answer to {command}"), LONG, |s| {
            (s.contains(done) || s.contains(retry)).then(|| s.to_string())
        });
        if s.contains(done) {
            return s;
        }
        std::thread::sleep(Duration::from_millis(300));
    }
    panic!(
        "`{command}` never answered {done:?}; screen:\n{}",
        tmux.screen()
    );
}

#[test]
fn add_promote_and_remove_the_leader_in_the_simulated_dashboard() {
    if tmux_missing() {
        eprintln!("SKIPPED add_promote_and_remove…: tmux is not installed (apt-get install tmux)");
        return;
    }
    let bin = env!("CARGO_BIN_EXE_raftlab");
    let tmux = Tmux::start(
        140,
        40,
        &format!("{bin} --sim --nodes 3 --seed 5 --speed 4; sleep 60"),
    );
    let first = tmux.wait("a leader", LONG, leader);
    let screen = tmux.screen();
    assert!(status(&screen).contains("SIM seed 5"), "{screen}");
    assert!(!screen.contains(" n4 "), "three cards at start");

    tmux.keys(&[":"]);
    tmux.type_line("add 4");
    tmux.wait("n4 joined as a learner", LONG, |s| {
        s.contains("n4 joined as a learner").then_some(())
    });
    tmux.wait("n4's card as a learner and the configuration", LONG, |s| {
        (s.contains(" n4 Up ")
            && s.contains("Follower · learner")
            && status(s).contains("voters 1 2 3 · learners 4"))
        .then_some(())
    });

    // Promotion may have to wait for n4 to catch up.
    until_done(&tmux, "promote 4", "n4 is a voter", "has not caught up");
    tmux.wait("n4 a voter on screen", LONG, |s| {
        (s.contains(" n4 Up ") && !status(s).contains("learners") && !s.contains("· learner"))
            .then_some(())
    });

    // The leader removes itself; the others elect a new one.
    tmux.type_line("remove leader");
    tmux.wait("the leader removed", LONG, |s| {
        s.contains(&format!("n{first} is removed")).then_some(())
    });
    let next = tmux.wait("a new leader", LONG, |s| leader(s).filter(|&l| l != first));
    let screen = tmux.wait("the removed card", LONG, |s| {
        s.contains("removed (not a member)").then(|| s.to_string())
    });
    assert_ne!(next, first, "{screen}");

    // Bad input in words: an id beyond 9.
    tmux.type_line("add 12");
    tmux.wait("the id range", LONG, |s| {
        s.contains("ids are 1 to 9").then_some(())
    });

    // The key `a` adds the next free id.
    tmux.escape();
    tmux.keys(&["a"]);
    tmux.wait("n5 joined by the key", LONG, |s| {
        (s.contains("n5 joined as a learner") && s.contains(" n5 Up ")).then_some(())
    });

    // R replays the seed with the changes: n4 is added again at its time.
    tmux.keys(&["R"]);
    tmux.wait("the replay", LONG, |s| {
        s.contains("replaying").then_some(())
    });
    // The replay's event for n4 scrolls past quickly under the later
    // ones; what stays is its configuration entry in the replayed log.
    tmux.wait("n4 added again by the replay", LONG, |s| {
        (s.contains(" n4 ") && s.contains("replayed: ") && s.contains("config: add learner 4"))
            .then_some(())
    });
}
