//! The dashboard end to end: the real binary in a real (tmux) terminal.
//! It waits for a leader on screen, writes and reads a key through the
//! console, kills the leader with keys and sees another take over,
//! partitions and heals, quits, and checks the terminal was restored.
//! Another opens the tour menu with `T`, starts a tour on a fresh cluster
//! of the tour's size, and steps through it with Enter.
//! A third presses `+` three times in one burst, live and simulated, and
//! sees each press step from the last (1× → 2× → 3× → 5×).
//! A fourth slows the links of a simulated run, steps it tick by tick and
//! sees a Candidate card with its tally before the first leader.
//! Skipped, saying so, where tmux is not installed.

use std::time::Duration;

#[path = "common/tmux.rs"]
mod tmux;

use tmux::{Tmux, leader, tmux_missing};

#[test]
fn the_dashboard_in_a_real_terminal() {
    if tmux_missing() {
        eprintln!(
            "SKIPPED the_dashboard_in_a_real_terminal: tmux is not installed (apt-get install tmux)"
        );
        return;
    }
    let bin = env!("CARGO_BIN_EXE_raftlab");
    let command = format!(
        "{bin} --seed 3 --speed 2; echo RAFTLAB-EXIT=$?; stty -a | tr ' ;' '\\n\\n' | grep -x -- '-\\?icanon'; sleep 60"
    );
    let tmux = Tmux::start(120, 40, &command);
    let long = Duration::from_secs(20);

    let first = tmux.wait("a leader on screen", long, leader);
    assert!(tmux.screen().contains("★ Leader"));

    tmux.keys(&[":"]);
    tmux.type_line("put greeting hello");
    tmux.wait("put answered OK", long, |s| {
        s.contains("│  OK ").then_some(())
    });
    tmux.type_line("get greeting");
    tmux.wait("get answered hello", long, |s| {
        s.contains("│  hello ").then_some(())
    });
    tmux.type_line("get nothing-here");
    tmux.wait("get of a missing key answered (nil)", long, |s| {
        s.contains("│  (nil) ").then_some(())
    });

    // Leave the console, select the leader, kill it with `k`.
    tmux.escape();
    tmux.keys(&[&first.to_string(), "k"]);
    let second = tmux.wait("a new leader", long, |s| leader(s).filter(|&l| l != first));
    assert_ne!(first, second);
    assert!(
        tmux.screen().contains(&format!("n{first} Down")),
        "{}",
        tmux.screen()
    );

    tmux.keys(&[":"]);
    tmux.type_line("partition 1 2 | 3 4 5");
    tmux.wait("the partition on screen", long, |s| {
        s.contains("partitioned  1 2 | 3 4 5").then_some(())
    });
    tmux.escape();
    tmux.keys(&["h"]);
    tmux.wait("the network healed", long, |s| {
        s.contains("all connected").then_some(())
    });

    // Time travel on the live cluster: back ten ticks, then the present.
    tmux.keys(&["<"]);
    tmux.wait("the scrubber", long, |s| {
        (s.contains(" PAST ") && s.contains("viewing the past")).then_some(())
    });
    tmux.keys(&["b"]);
    tmux.wait("the present", long, |s| {
        (!s.contains(" PAST ")).then_some(())
    });
    tmux.keys(&[" "]);

    tmux.keys(&["q"]);
    let screen = tmux.wait("raftlab to exit", long, |s| {
        s.contains("RAFTLAB-EXIT=").then(|| s.to_string())
    });
    assert!(screen.contains("RAFTLAB-EXIT=0"), "{screen}");
    // Restored: the main screen (no dashboard left), cursor shown, and the
    // line discipline back in canonical mode (raw mode off).
    assert!(
        !screen.contains("Console"),
        "the dashboard is still drawn:\n{screen}"
    );
    assert_eq!(
        tmux.display("#{alternate_on}"),
        "0",
        "still on the alternate screen"
    );
    assert_eq!(tmux.display("#{cursor_flag}"), "1", "the cursor is hidden");
    tmux.wait("stty to report icanon", long, |s| {
        s.lines().any(|l| l.trim() == "icanon").then_some(())
    });
}

/// The cluster time the status bar shows, in hundredths of a second.
fn status_time(screen: &str) -> Option<u64> {
    let status = screen.lines().rev().find(|l| l.contains(" t="))?;
    let at = status.find(" t=")? + " t=".len();
    let digits: String = status[at..]
        .chars()
        .take_while(|c| c.is_ascii_digit() || *c == '.')
        .collect();
    let (s, cs) = digits.split_once('.')?;
    Some(s.parse::<u64>().ok()? * 100 + cs.parse::<u64>().ok()?)
}

#[test]
fn the_simulated_dashboard_scrubs_back_and_replays_its_seed() {
    if tmux_missing() {
        eprintln!("SKIPPED the_simulated_dashboard_scrubs_back_and_replays_its_seed: no tmux");
        return;
    }
    let bin = env!("CARGO_BIN_EXE_raftlab");
    let command = format!("{bin} --sim --seed 7 --speed 2; echo RAFTLAB-EXIT=$?; sleep 60");
    let tmux = Tmux::start(120, 40, &command);
    let long = Duration::from_secs(20);

    let first = tmux.wait("a leader on screen", long, leader);
    assert!(tmux.screen().contains("SIM seed 7"), "{}", tmux.screen());
    let present = tmux.wait("the present's time", long, status_time);

    // Scrub back: the clock pauses and the past is shown with the scrubber.
    tmux.keys(&[","]);
    tmux.keys(&["<"]);
    let screen = tmux.wait("the scrubber", long, |s| {
        s.contains("ticks back").then(|| s.to_string())
    });
    assert!(screen.contains("viewing the past"), "{screen}");
    assert!(screen.contains(" PAST "), "{screen}");
    let past = status_time(&screen).expect("the past's time");
    assert!(past < present + 100, "past {past} vs present {present}");
    // One tick forward, then a control is refused.
    tmux.keys(&["."]);
    tmux.wait("a tick later", long, |s| {
        (status_time(s) == Some(past + 1)).then_some(())
    });
    tmux.keys(&["k"]);
    tmux.wait("the refusal", long, |s| {
        s.contains("viewing the past (t=").then_some(())
    });

    // Esc: back to the present, paused where the scrub began.
    tmux.escape();
    tmux.wait("the present", long, |s| {
        (!s.contains(" PAST ") && s.contains("PAUSED")).then_some(())
    });

    // R: the same seed from time 0 elects the same leader.
    tmux.keys(&["R", " "]);
    tmux.wait("the replay", long, |s| {
        s.contains("seed 7 again from time 0").then_some(())
    });
    let again = tmux.wait("a leader in the replay", long, leader);
    assert_eq!(again, first, "the replayed run differs");

    tmux.keys(&["q"]);
    let screen = tmux.wait("raftlab to exit", long, |s| {
        s.contains("RAFTLAB-EXIT=").then(|| s.to_string())
    });
    assert!(screen.contains("RAFTLAB-EXIT=0"), "{screen}");
}

#[test]
fn the_simulated_dashboard_shows_messages_checks_and_its_bug() {
    if tmux_missing() {
        eprintln!("SKIPPED the_simulated_dashboard_shows_messages_checks_and_its_bug: no tmux");
        return;
    }
    let bin = env!("CARGO_BIN_EXE_raftlab");
    let command =
        format!("{bin} --sim --seed 7 --bug forget-vote --speed 2; echo RAFTLAB-EXIT=$?; sleep 60");
    // 50 rows: at 40 the wire of messages in flight leaves the checker
    // panel room for its summary line only ("all 12 checks OK").
    let tmux = Tmux::start(120, 50, &command);
    let long = Duration::from_secs(20);

    tmux.wait("a leader on screen", long, leader);
    assert!(
        tmux.screen().contains("BUG forget-vote ON"),
        "{}",
        tmux.screen()
    );

    // m: the simulator's messages, delivered on a quiet network.
    tmux.keys(&["m"]);
    tmux.wait("the message list", long, |s| {
        (s.contains("Messages (newest first") && s.contains("delivered")).then_some(())
    });
    // Cut n3 off: its messages are dropped, link down.
    tmux.keys(&[":"]);
    tmux.type_line("isolate 3");
    tmux.wait("n3's messages dropped", long, |s| {
        s.contains("link down").then_some(())
    });
    tmux.escape();

    // c: the simulator's checks, all OK so far.
    tmux.keys(&["c"]);
    let screen = tmux.wait("the checker panel", long, |s| {
        s.contains("Simulator checks").then(|| s.to_string())
    });
    assert!(screen.contains("election safety"), "{screen}");

    // Switching the bug off is an input the simulator takes.
    tmux.keys(&[":"]);
    tmux.type_line("bug forget-vote off");
    tmux.wait("the badge gone", long, |s| {
        (!s.contains("BUG forget-vote ON") && s.contains("Raft is safe again")).then_some(())
    });

    tmux.escape();
    tmux.keys(&["q"]);
    let screen = tmux.wait("raftlab to exit", long, |s| {
        s.contains("RAFTLAB-EXIT=").then(|| s.to_string())
    });
    assert!(screen.contains("RAFTLAB-EXIT=0"), "{screen}");
}

#[test]
fn a_tour_from_the_menu_in_a_real_terminal() {
    if tmux_missing() {
        eprintln!(
            "SKIPPED a_tour_from_the_menu_in_a_real_terminal: tmux is not installed (apt-get install tmux)"
        );
        return;
    }
    let bin = env!("CARGO_BIN_EXE_raftlab");
    let command = format!("{bin} --seed 3 --speed 2; echo RAFTLAB-EXIT=$?; sleep 60");
    let tmux = Tmux::start(120, 40, &command);
    let long = Duration::from_secs(20);

    // The playground's five nodes elect a leader.
    tmux.wait("a leader on screen", long, leader);
    assert!(tmux.screen().contains("n5 Up"));

    tmux.keys(&["T"]);
    tmux.wait("the tour menu", long, |s| {
        (s.contains("Guided tours") && s.contains("snapshots")).then_some(())
    });
    // Walk down to the snapshots tour, on three nodes (wherever it sits
    // in the list).
    for _ in 0..20 {
        if tmux.screen().lines().any(|l| l.contains("▶ snapshots")) {
            break;
        }
        tmux.keys(&["Down"]);
        std::thread::sleep(Duration::from_millis(150));
    }
    tmux.wait("snapshots chosen", long, |s| {
        s.lines().any(|l| l.contains("▶ snapshots")).then_some(())
    });
    tmux.keys(&["Enter"]);
    let screen = tmux.wait("the tour's first step", long, |s| {
        s.contains("Tour: snapshots · step 1/")
            .then(|| s.to_string())
    });
    assert!(screen.contains("Three nodes."), "{screen}");
    assert!(screen.contains("▶ cluster 3 seed 24"), "{screen}");
    // A fresh cluster of three replaced the five, its clock held.
    assert!(
        !screen.contains("n5 Up") && !screen.contains("n4 Up"),
        "{screen}"
    );
    assert!(
        screen.contains("n3 Up") && screen.contains("PAUSED"),
        "{screen}"
    );

    // Enter runs a step; the next caption shows.
    tmux.keys(&["Enter"]);
    tmux.wait("step 1 done, step 2's caption", long, |s| {
        (s.contains("→ cluster 3 seed 24") && s.contains("Cut n3 off")).then_some(())
    });
    tmux.keys(&["Enter"]);
    tmux.wait("n3 isolated", long, |s| {
        s.contains("→ isolate 3  isolated n3").then_some(())
    });

    tmux.keys(&["q"]);
    let screen = tmux.wait("raftlab to exit", long, |s| {
        s.contains("RAFTLAB-EXIT=").then(|| s.to_string())
    });
    assert!(screen.contains("RAFTLAB-EXIT=0"), "{screen}");
}

#[test]
fn quick_speed_keys_each_step_from_the_last() {
    if tmux_missing() {
        eprintln!("SKIPPED quick_speed_keys…: tmux is not installed (apt-get install tmux)");
        return;
    }
    let bin = env!("CARGO_BIN_EXE_raftlab");
    for mode in ["", "--sim "] {
        let tmux = Tmux::start(120, 40, &format!("{bin} {mode}--seed 3; sleep 60"));
        let long = Duration::from_secs(20);
        tmux.wait("a leader on screen", long, leader);
        // Three presses in one burst: 1× → 2× → 3× → 5×.
        tmux.keys(&["+", "+", "+"]);
        tmux.wait("speed 5×", long, |s| {
            let bar = tmux::status(s);
            (bar.contains(" 5× ") && s.contains("speed 5×")).then_some(())
        });
        // The console answered each step: 2×, 3× and 5×.
        let screen = tmux.screen();
        for x in ["speed 2×", "speed 3×", "speed 5×"] {
            assert!(screen.contains(x), "{mode}{x}: {screen}");
        }
    }
}

/// The card of a node that is a Candidate (not a PreCandidate) shows its
/// tally on the screen: the role row says `◆ Candidate` (`Candidate` in
/// any theme) and, four rows below in the same column, `votes k/n`.
fn candidate_tally(screen: &str) -> Option<String> {
    let rows: Vec<Vec<char>> = screen.lines().map(|l| l.chars().collect()).collect();
    for (y, row) in rows.iter().enumerate() {
        let text: String = row.iter().collect();
        let Some(at) = text.find("◆ Candidate") else {
            continue;
        };
        let x = text[..at].chars().count();
        let tally: String = rows.get(y + 4)?.iter().skip(x).take(20).collect();
        if tally.starts_with("votes ") {
            return Some(tally.trim_end_matches(['│', ' ']).to_string());
        }
    }
    None
}

#[test]
fn a_simulated_candidate_shows_its_tally_before_the_first_leader() {
    if tmux_missing() {
        eprintln!("SKIPPED a_simulated_candidate_shows_its_tally_before_the_first_leader: no tmux");
        return;
    }
    let bin = env!("CARGO_BIN_EXE_raftlab");
    let command = format!("{bin} --sim --seed 7 --speed 0.1; echo RAFTLAB-EXIT=$?; sleep 60");
    let tmux = Tmux::start(120, 40, &command);
    let long = Duration::from_secs(20);
    // Pause at once (at 0.1× the first timeout is seconds of wall time
    // away), then slow every link so votes take several ticks to travel.
    tmux.keys(&[" "]);
    tmux.wait("the pause", long, |s| s.contains("PAUSED").then_some(()));
    tmux.keys(&[":"]);
    tmux.type_line("delay 40ms");
    tmux.wait("the delay", long, |s| {
        s.contains("delay 40ms on every link").then_some(())
    });
    tmux.escape();
    // Step one tick at a time until a Candidate's card shows its tally,
    // which must come before any leader.
    let mut seen = None;
    for _ in 0..80 {
        tmux.keys(&["."]);
        std::thread::sleep(Duration::from_millis(60));
        let screen = tmux.screen();
        if let Some(tally) = candidate_tally(&screen) {
            assert_eq!(leader(&screen), None, "a leader already:\n{screen}");
            seen = Some((tally, screen));
            break;
        }
        assert_eq!(
            leader(&screen),
            None,
            "a leader before any tally:\n{screen}"
        );
    }
    let (tally, screen) =
        seen.unwrap_or_else(|| panic!("no tally in 80 ticks:\n{}", tmux.screen()));
    // Its own vote is always in: `votes 1/3 ✓n3` or better.
    assert!(tally.contains("/3 ✓n"), "{tally}\n{screen}");
    assert!(screen.contains("election in"), "{screen}");
    tmux.keys(&["q"]);
    let screen = tmux.wait("raftlab to exit", long, |s| {
        s.contains("RAFTLAB-EXIT=").then(|| s.to_string())
    });
    assert!(screen.contains("RAFTLAB-EXIT=0"), "{screen}");
}
