//! The status bar's key hints: the keys that matter in the focused pane,
//! each ranked by how much a newcomer needs it, so a narrow bar drops the
//! least needed first and `? help` (which lists them all) stays longest.

use crate::tui::action::{Focus, Lower};
use crate::tui::app::App;

/// A key hint: its text (`k kill`) and its rank (0 is kept longest).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Hint {
    /// What the bar shows.
    pub text: &'static str,
    /// How soon it is dropped when the bar is short: the highest first.
    pub rank: u8,
}

const fn hint(text: &'static str, rank: u8) -> Hint {
    Hint { text, rank }
}

/// Between two hints.
pub const GAP: &str = "  ";

const HELP: &[Hint] = &[hint("Esc/?/q close help", 0)];

/// While messages are held, or new ones would be: the keys that hold,
/// choose, deliver and drop them.
const HOLDING: &[Hint] = &[
    hint("? help", 0),
    hint("[ ] choose", 3),
    hint("d deliver", 1),
    hint("D drop", 2),
    hint("o release", 4),
    hint(": console", 6),
    hint("space time", 5),
    hint("q quit", 7),
];

const MESSAGES: &[Hint] = &[
    hint("arrows scroll", 1),
    hint("End newest", 3),
    hint("m close", 0),
    hint("`msgs from 1 type vote` filters", 4),
    hint("Tab focus", 2),
];

const CONSOLE: &[Hint] = &[
    hint("Enter run", 0),
    hint("Up/Down history", 2),
    hint("Esc leave", 1),
    hint("Ctrl-C quit", 3),
];

const LOG: &[Hint] = &[
    hint("? help", 0),
    hint("hl/arrows cursor", 2),
    hint("w why?", 3),
    hint("jk node", 5),
    hint("End tail", 6),
    hint("H heal", 7),
    hint("Tab focus", 4),
    hint("q quit", 1),
];

const CLUSTER: &[Hint] = &[
    hint("? help", 0),
    hint(": console", 2),
    hint("1-9 node", 6),
    hint("k kill", 3),
    hint("r restart", 4),
    hint("p pause", 11),
    hint("i isolate", 10),
    hint("t lead", 9),
    hint("a/P/x membership", 8),
    hint("h heal", 7),
    hint("space time", 5),
    hint("w why?", 12),
    hint("o hold", 13),
    hint("q quit", 1),
];

/// The same, in simulated mode: `R` replays (the simulator cannot
/// freeze a node, so `p` is left out).
const CLUSTER_SIM: &[Hint] = &[
    hint("? help", 0),
    hint(": console", 2),
    hint("1-9 node", 6),
    hint("k kill", 3),
    hint("r restart", 4),
    hint("i isolate", 11),
    hint("t lead", 10),
    hint("a/P/x membership", 8),
    hint("h heal", 7),
    hint("space time", 5),
    hint("R replay", 9),
    hint("w why?", 12),
    hint("o hold", 13),
    hint("q quit", 1),
];

/// The hints worth showing in the current state, in the bar's order.
pub fn hints_now(app: &App) -> &'static [Hint] {
    if app.help {
        return HELP;
    }
    if app.focus == Focus::Log && app.lower == Lower::Messages {
        return MESSAGES;
    }
    let wire = &app.view.teaching.wire;
    let holding = wire.holding || !wire.held_numbers().is_empty();
    match app.focus {
        Focus::Console => CONSOLE,
        Focus::Cluster | Focus::Events if holding => HOLDING,
        Focus::Log => LOG,
        Focus::Cluster | Focus::Events if app.sim.is_some() => CLUSTER_SIM,
        Focus::Cluster | Focus::Events => CLUSTER,
    }
}

/// The hints that fit in `room` columns, taken by rank (stopping at the
/// first that does not fit, so a less needed key never shows while a
/// more needed one is left out), shown in the bar's order.
pub fn fit(hints: &[Hint], room: usize) -> Vec<&'static str> {
    let mut ranked: Vec<&Hint> = hints.iter().collect();
    ranked.sort_by_key(|h| h.rank);
    let mut used = 0;
    let mut keep = Vec::new();
    for h in ranked {
        let w = h.text.chars().count() + if keep.is_empty() { 0 } else { GAP.len() };
        if used + w > room {
            break;
        }
        used += w;
        keep.push(h.rank);
    }
    hints
        .iter()
        .filter(|h| keep.contains(&h.rank))
        .map(|h| h.text)
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ranks_are_distinct_in_every_list() {
        for list in [HELP, HOLDING, MESSAGES, CONSOLE, LOG, CLUSTER, CLUSTER_SIM] {
            let mut ranks: Vec<u8> = list.iter().map(|h| h.rank).collect();
            ranks.sort_unstable();
            ranks.dedup();
            assert_eq!(ranks.len(), list.len(), "{list:?}");
        }
    }

    #[test]
    fn a_short_bar_keeps_the_most_needed_keys_in_order() {
        let all = fit(CLUSTER, 500);
        assert_eq!(all.len(), CLUSTER.len());
        assert!(all.contains(&"a/P/x membership"), "{all:?}");
        assert!(fit(CLUSTER_SIM, 500).contains(&"R replay"));
        assert_eq!(fit(CLUSTER, 6), vec!["? help"]);
        assert_eq!(fit(CLUSTER, 14), vec!["? help", "q quit"]);
        assert_eq!(
            fit(CLUSTER, 33),
            vec!["? help", ": console", "k kill", "q quit"]
        );
        assert!(fit(CLUSTER, 5).is_empty());
    }
}
