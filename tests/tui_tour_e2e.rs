//! Guided tours end to end, in a real (tmux) terminal: `raftlab tour NAME`
//! plays on the simulator unless `--live` says otherwise (and `--sim` is
//! taken as the default it is); the election tour stops on a candidate
//! with its tally and asks a question the viewer answers with a number
//! key; "Tour complete" comes after the last step. `raftlab class` plays a
//! tour chosen with `T` on the simulator too. Skipped, saying so, where
//! tmux is not installed.

use std::time::Duration;

#[path = "common/tmux.rs"]
mod tmux;

use tmux::{Tmux, cards, leader, status, tmux_missing};

const LONG: Duration = Duration::from_secs(30);

/// Whether the status bar says the run is simulated.
fn simulated(screen: &str) -> bool {
    status(screen).contains("SIM seed")
}

#[test]
fn the_election_tour_plays_on_the_simulator_and_takes_an_answer_from_a_key() {
    if tmux_missing() {
        eprintln!("SKIPPED the_election_tour_plays…: tmux is not installed (apt-get install tmux)");
        return;
    }
    let bin = env!("CARGO_BIN_EXE_raftlab");
    let command = format!("{bin} tour election --speed 10; echo RAFTLAB-EXIT=$?; sleep 60");
    let tmux = Tmux::start(120, 40, &command);
    let first = tmux.wait("the tour's first step", LONG, |s| {
        s.contains("Tour: election · step 1/5")
            .then(|| s.to_string())
    });
    assert!(simulated(&first), "not on the simulator:\n{first}");
    assert!(first.contains("▶ cluster 5 seed 1"), "{first}");

    // Step 1 makes the cluster; the plumbing after it runs by itself, and
    // step 2 waits.
    tmux.keys(&["Enter"]);
    tmux.wait("step 2 waiting", LONG, |s| {
        (s.contains("✓ expect no leader") && s.contains("▶ wait candidate")).then_some(())
    });
    // Step 2 runs until a node is a candidate: the tour stops there, the
    // card shows its tally, and the question waits for a key.
    tmux.keys(&["Enter"]);
    let stop = tmux.wait("the candidate and the question", LONG, |s| {
        s.contains("press 1-3 for your answer")
            .then(|| s.to_string())
    });
    let cards = cards(&stop);
    assert!(cards.contains("◆ Candidate"), "{stop}");
    assert!(cards.contains("votes 1/3"), "{stop}");
    assert_eq!(leader(&stop), None, "{stop}");
    assert!(status(&stop).contains("PAUSED"), "{stop}");

    // 2 answers it, and it is right; the next step waits under the answer.
    tmux.keys(&["2"]);
    let answered = tmux.wait("the verdict", LONG, |s| {
        s.contains("Right. Two majorities always share a node")
            .then(|| s.to_string())
    });
    assert!(answered.contains("▶ wait leader within 3s"), "{answered}");
    // The key answered: it did not select node 2.
    assert!(!answered.contains("▶n2"), "{answered}");

    tmux.keys(&["Enter"]);
    tmux.wait("a leader", LONG, leader);
    tmux.wait("the last step waiting", LONG, |s| {
        s.contains("▶ run 2s").then_some(())
    });
    tmux.keys(&["Enter"]);
    let last = tmux.wait("the end of the last step", LONG, |s| {
        s.contains("press Enter to end the tour")
            .then(|| s.to_string())
    });
    assert!(!last.contains("Tour complete"), "{last}");
    tmux.keys(&["Enter"]);
    tmux.wait("Tour complete", LONG, |s| {
        s.contains("Tour complete: every expectation held.")
            .then_some(())
    });
    tmux.escape();
    tmux.keys(&["q"]);
    let screen = tmux.wait("raftlab to exit", LONG, |s| {
        s.contains("RAFTLAB-EXIT=").then(|| s.to_string())
    });
    assert!(screen.contains("RAFTLAB-EXIT=0"), "{screen}");
}

#[test]
fn live_plays_a_tour_on_the_live_cluster_and_sim_is_the_default_it_is() {
    if tmux_missing() {
        eprintln!("SKIPPED live_plays_a_tour…: tmux is not installed (apt-get install tmux)");
        return;
    }
    let bin = env!("CARGO_BIN_EXE_raftlab");
    for (flags, sim) in [("--live", false), ("--sim", true)] {
        let command = format!("{bin} tour election {flags}; sleep 60");
        let tmux = Tmux::start(120, 40, &command);
        let first = tmux.wait("the tour's first step", LONG, |s| {
            s.contains("Tour: election · step 1/5")
                .then(|| s.to_string())
        });
        assert_eq!(simulated(&first), sim, "{flags}:\n{first}");
        tmux.keys(&["Enter"]);
        tmux.wait("step 2 waiting", LONG, |s| {
            s.contains("▶ wait candidate").then_some(())
        });
    }
    // `--script FILE` plays on the simulator too.
    let file = std::env::temp_dir().join(format!("raftlab-tour-{}.scen", std::process::id()));
    std::fs::write(
        &file,
        "# a small tour\nsay One node.\ncluster 1 seed 3\nwait leader within 2s\n",
    )
    .expect("write the script");
    let command = format!("{bin} --script {}; sleep 60", file.display());
    let tmux = Tmux::start(120, 40, &command);
    let first = tmux.wait("the script's first step", LONG, |s| {
        s.contains("· step 1/2").then(|| s.to_string())
    });
    assert!(simulated(&first), "{first}");
    let _ = std::fs::remove_file(&file);
}

#[test]
fn the_class_plays_a_tour_from_the_menu_on_the_simulator() {
    if tmux_missing() {
        eprintln!("SKIPPED the_class_plays_a_tour…: tmux is not installed (apt-get install tmux)");
        return;
    }
    let bin = env!("CARGO_BIN_EXE_raftlab");
    let tmux = Tmux::start(120, 40, &format!("{bin} class; sleep 60"));
    tmux.wait("the class", LONG, |s| simulated(s).then_some(()));
    tmux.keys(&["T"]);
    tmux.wait("the tour menu", LONG, |s| {
        s.contains("Guided tours").then_some(())
    });
    tmux.keys(&["Enter"]);
    let screen = tmux.wait("the first tour's first step", LONG, |s| {
        s.contains("Tour: election · step 1/5")
            .then(|| s.to_string())
    });
    assert!(simulated(&screen), "{screen}");
    assert!(screen.contains("▶ cluster 5 seed 1"), "{screen}");
    // The class's slow clock stays: the tour plays at 0.2×.
    assert!(status(&screen).contains("0.2×"), "{screen}");
}
