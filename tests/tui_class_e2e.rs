//! `raftlab class` and `put … on N` end to end, in a real (tmux) terminal:
//! the class starts paused and says which key starts time, and once it
//! runs a Candidate shows on a card before the first Leader; a write sent
//! to a leader cut off in a minority sits uncommitted in its log and the
//! console says why, live and simulated. Skipped, saying so, where tmux
//! is not installed.

use std::time::{Duration, Instant};

#[path = "common/tmux.rs"]
mod tmux;

use tmux::{Tmux, cards, status, tmux_missing};

/// Whether a card shows a Candidate (not a PreCandidate).
fn candidate_card(screen: &str) -> bool {
    let cards = cards(screen);
    cards
        .match_indices("Candidate")
        .any(|(at, _)| !cards[..at].ends_with("Pre"))
}

/// The console pane's text (the left pane from its title down), its
/// wrapped lines joined with spaces.
fn console_text(screen: &str) -> String {
    screen
        .lines()
        .skip_while(|l| !l.contains("Console"))
        .skip(1)
        .take_while(|l| !l.starts_with('╰'))
        .map(|l| {
            let pane = l.split("│╭").next().unwrap_or(l);
            let pane = pane.split("│╰").next().unwrap_or(pane);
            let pane = pane.split("││").next().unwrap_or(pane);
            pane.trim_start_matches('│').trim().to_string()
        })
        .collect::<Vec<_>>()
        .join(" ")
}

#[test]
fn the_class_starts_paused_and_shows_a_candidate_before_the_first_leader() {
    if tmux_missing() {
        eprintln!("SKIPPED the_class_starts_paused…: tmux is not installed (apt-get install tmux)");
        return;
    }
    let bin = env!("CARGO_BIN_EXE_raftlab");
    let tmux = Tmux::start(100, 30, &format!("{bin} class --seed 1; sleep 30"));
    let hint = tmux.wait("the pause hint", Duration::from_secs(10), |s| {
        status(s)
            .contains("PAUSED: press space to start time")
            .then(|| s.to_string())
    });
    // Paused means paused: nothing moves before the key.
    std::thread::sleep(Duration::from_millis(800));
    let still = tmux.screen();
    assert!(status(&still).contains("t=0.00s"), "{still}");
    assert!(!hint.contains("Leader") && !candidate_card(&hint), "{hint}");
    tmux.keys(&["Space"]);
    // Poll faster than a Candidate lasts on screen (≥ 0.5 s in class).
    let deadline = Instant::now() + Duration::from_secs(30);
    let mut saw_candidate = false;
    loop {
        let screen = tmux.screen();
        if cards(&screen).contains("★ Leader") {
            assert!(
                saw_candidate,
                "a Leader came before any Candidate card showed:\n{screen}"
            );
            break;
        }
        saw_candidate |= candidate_card(&screen);
        assert!(Instant::now() < deadline, "no leader in 30 s:\n{screen}");
        std::thread::sleep(Duration::from_millis(60));
    }
    assert!(!status(&tmux.screen()).contains("press space"));
}

/// Waits for a leader, cuts it off with one follower, sends `put y 2 on`
/// it, and checks the console's answer and the leader's log.
fn write_to_a_minority_leader(command: &str, paused: bool) {
    let tmux = Tmux::start(120, 40, command);
    let long = Duration::from_secs(30);
    let (l, _) = tmux.write_to_a_cut_off_leader(paused, long);
    let answer = tmux.wait("the answer to put … on N", long, |s| {
        let flat = console_text(s);
        flat.contains("not committed")
            .then(|| (flat, s.to_string()))
    });
    let (flat, screen) = answer;
    assert!(
        flat.contains(&format!("n{l} holds it at index")),
        "{screen}"
    );
    assert!(
        flat.contains(&format!("n{l} cannot reach a majority")),
        "{screen}"
    );
    // The entry is in the old leader's log, shown in the log pane.
    assert!(
        screen
            .lines()
            .any(|line| line.contains(&format!("n{l} entries:")) && line.contains("put y=2")),
        "{screen}"
    );
    // Not "OK", and not the value "2 on N" (what `put y 2 on 1` stored
    // before the console shared the scripts' grammar).
    assert!(!screen.contains("│  OK "), "{screen}");
    assert!(!screen.contains("y=2 on"), "{screen}");
}

#[test]
fn a_put_on_a_minority_leader_sits_uncommitted_simulated() {
    if tmux_missing() {
        eprintln!("SKIPPED a_put_on_a_minority_leader…: tmux is not installed");
        return;
    }
    let bin = env!("CARGO_BIN_EXE_raftlab");
    // `class` at speed 2: the answer comes after 0.5 s of cluster time.
    write_to_a_minority_leader(
        &format!("{bin} class --seed 2 --speed 2 --no-mouse; sleep 30"),
        true,
    );
}

#[test]
fn a_put_on_a_minority_leader_sits_uncommitted_live() {
    if tmux_missing() {
        eprintln!("SKIPPED a_put_on_a_minority_leader…: tmux is not installed");
        return;
    }
    let bin = env!("CARGO_BIN_EXE_raftlab");
    write_to_a_minority_leader(
        &format!("{bin} --seed 2 --speed 2 --no-mouse; sleep 30"),
        false,
    );
}
