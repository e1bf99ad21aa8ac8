//! Messages in flight on the main view and held by hand, end to end in a
//! real (tmux) terminal: markers travel between the cards, live and
//! simulated; `o` holds new messages, which are listed and numbered; `d`
//! delivers the chosen one, whose number leaves the list, and `o` again
//! releases the rest. Skipped, saying so, where tmux is not installed.

use std::time::Duration;

#[path = "common/tmux.rs"]
mod tmux;

use tmux::{Tmux, tmux_missing};

const LONG: Duration = Duration::from_secs(30);

/// The wire: the rows from its title (`In flight`) to the log pane.
fn wire(screen: &str) -> Vec<&str> {
    screen
        .lines()
        .skip_while(|l| !l.contains("In flight"))
        .take_while(|l| !l.contains("Log ("))
        .collect()
}

/// A message marker on the wire's rows (not its title's legend): a type
/// letter with an arrow head, `V▶` or `◁v`.
fn marker(screen: &str) -> Option<String> {
    let letters = ['P', 'V', 'A', 'H', 'S', 'T'];
    let is_letter = |c: char| letters.contains(&c.to_ascii_uppercase());
    for row in wire(screen).iter().skip(1) {
        let chars: Vec<char> = row.chars().collect();
        for w in chars.windows(2) {
            let right = is_letter(w[0]) && matches!(w[1], '▶' | '▷');
            let left = matches!(w[0], '◀' | '◁') && is_letter(w[1]);
            if right || left {
                return Some(format!("{}{}", w[0], w[1]));
            }
        }
    }
    None
}

/// The held messages' list row: `held: ▶#1 n2→n3 …`.
fn held_row(screen: &str) -> Option<String> {
    wire(screen)
        .into_iter()
        .find(|l| l.starts_with("held:"))
        .map(str::to_string)
}

/// The number of the chosen held message (after `▶#`).
fn chosen(row: &str) -> Option<u64> {
    let at = row.find("▶#")? + "▶#".len();
    let digits: String = row[at..].chars().take_while(char::is_ascii_digit).collect();
    digits.parse().ok()
}

/// Watches messages travel, holds them with `o`, pauses, delivers the
/// chosen one with `d`, and releases the rest with `o`.
fn hold_and_deliver_by_hand(tmux: &Tmux) {
    let seen = tmux.wait("a message travelling on the wire", LONG, marker);
    assert!(!seen.is_empty());
    tmux.keys(&["o"]);
    let row = tmux.wait("held messages listed", LONG, |s| {
        held_row(s).filter(|r| chosen(r).is_some())
    });
    // Stop the clock: nothing new is sent but answers to what we deliver.
    tmux.keys(&["Space"]);
    tmux.wait("the clock paused", LONG, |s| {
        tmux::status(s)
            .to_ascii_lowercase()
            .contains("paused")
            .then_some(())
    });
    let screen = tmux.screen();
    let row = held_row(&screen).unwrap_or(row);
    let first = chosen(&row).unwrap_or(1);
    // Held ones wait on their links, numbered (as many as the rows fit).
    let numbered = wire(&screen)
        .iter()
        .skip(1)
        .filter(|l| !l.starts_with("held:"))
        .any(|l| l.contains('#'));
    assert!(numbered && screen.contains("HOLDING"), "{screen}");
    tmux.keys(&["d"]);
    tmux.wait("the delivery's answer in the console", LONG, |s| {
        let console: String = s.lines().collect::<Vec<_>>().join(" ");
        (console.contains(&format!("deliver {first}  (key)"))
            && console.contains(&format!("delivered #{first} n")))
        .then_some(())
    });
    // It leaves the list.
    tmux.wait("the delivered message gone from the list", LONG, |s| {
        let row = held_row(s).unwrap_or_default();
        (!row.contains(&format!("#{first} "))).then_some(())
    });
    tmux.keys(&["o"]);
    tmux.wait("the release's answer in the console", LONG, |s| {
        s.contains("new messages travel again").then_some(())
    });
    // The console answers at once; the wire pane follows with the next
    // view the cluster publishes, so the list's going is waited for too.
    tmux.wait("the held list gone after the release", LONG, |s| {
        (s.contains("In flight") && !s.contains("HOLDING") && held_row(s).is_none()).then_some(())
    });
}

#[test]
fn live_messages_travel_and_one_is_delivered_by_hand() {
    if tmux_missing() {
        eprintln!("SKIPPED live_messages_travel…: tmux is not installed (apt-get install tmux)");
        return;
    }
    let bin = env!("CARGO_BIN_EXE_raftlab");
    // Slow enough that a message is on the wire for a few frames.
    let tmux = Tmux::start(120, 40, &format!("{bin} --speed 0.25; sleep 30"));
    hold_and_deliver_by_hand(&tmux);
}

#[test]
fn live_over_tcp_a_held_message_is_delivered_by_hand() {
    if tmux_missing() {
        eprintln!("SKIPPED live_over_tcp…: tmux is not installed (apt-get install tmux)");
        return;
    }
    let bin = env!("CARGO_BIN_EXE_raftlab");
    let tmux = Tmux::start(
        120,
        40,
        &format!("{bin} --transport tcp --speed 0.25; sleep 30"),
    );
    hold_and_deliver_by_hand(&tmux);
}

#[test]
fn in_class_messages_travel_and_one_is_delivered_by_hand() {
    if tmux_missing() {
        eprintln!(
            "SKIPPED in_class_messages_travel…: tmux is not installed (apt-get install tmux)"
        );
        return;
    }
    let bin = env!("CARGO_BIN_EXE_raftlab");
    let tmux = Tmux::start(100, 30, &format!("{bin} class --seed 2; sleep 30"));
    tmux.wait("the pause hint", LONG, |s| {
        s.contains("press space to start time").then_some(())
    });
    // The class layout: cards, wire, log, console and events at once.
    let screen = tmux.screen();
    for pane in ["In flight", "Log (", "Console", "Events"] {
        assert!(screen.contains(pane), "{pane}:\n{screen}");
    }
    tmux.keys(&["Space"]);
    hold_and_deliver_by_hand(&tmux);
}
