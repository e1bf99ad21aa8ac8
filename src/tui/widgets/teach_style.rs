//! Colours and symbols of the teaching panes (messages, flow, checks,
//! the bug badge), kept beside the [`Theme`] they build on. Like the rest
//! of the dashboard, nothing is told by colour alone: a dropped message
//! carries `✕` and the word, a broken invariant `✗` and the word.

use ratatui::style::{Color, Modifier, Style};

use crate::runtime::observe::{DropCause, Fate, MsgClass};
use crate::tui::theme::Theme;

fn fg(theme: &Theme, c: Color) -> Style {
    if theme.color {
        Style::new().fg(c)
    } else {
        Style::new()
    }
}

/// The style of a message row by its fate.
pub fn fate(theme: &Theme, fate: Fate) -> Style {
    match fate {
        Fate::Delivered => Style::new(),
        Fate::Dropped(_) => fg(theme, Color::LightRed).add_modifier(Modifier::BOLD),
        Fate::Delayed { .. } => fg(theme, Color::Yellow),
        Fate::Duplicated { .. } => fg(theme, Color::Magenta),
        Fate::Held { .. } => fg(theme, Color::LightCyan).add_modifier(Modifier::BOLD),
    }
}

/// The one-cell mark in front of a message row.
pub fn fate_mark(theme: &Theme, fate: Fate) -> &'static str {
    match (fate, theme.ascii) {
        (Fate::Delivered, _) => " ",
        (Fate::Dropped(_), false) => "✕",
        (Fate::Dropped(_), true) => "x",
        (Fate::Delayed { .. }, _) => "~",
        (Fate::Duplicated { .. }, _) => "2",
        (Fate::Held { .. }, _) => "#",
    }
}

/// The fate in a few words, for the list's last column.
pub fn fate_text(fate: Fate) -> String {
    match fate {
        Fate::Delivered => "delivered".into(),
        Fate::Dropped(DropCause::LinkDown) => "DROPPED link down".into(),
        Fate::Dropped(DropCause::Lost) => "DROPPED lost".into(),
        Fate::Dropped(DropCause::NodeDown) => "DROPPED node down".into(),
        Fate::Duplicated { copies, .. } => format!("duplicated x{copies}"),
        other => other.to_string(),
    }
}

/// The red badge warning that an unsafe variant is on.
pub fn badge(theme: &Theme) -> Style {
    if theme.color {
        Style::new()
            .bg(Color::Red)
            .fg(Color::White)
            .add_modifier(Modifier::BOLD)
    } else {
        Style::new().add_modifier(Modifier::BOLD | Modifier::REVERSED)
    }
}

/// The warning sign of the badge.
pub fn warning(theme: &Theme) -> &'static str {
    if theme.ascii { "!!" } else { "⚠" }
}

/// An invariant that holds.
pub fn holds(theme: &Theme) -> Style {
    fg(theme, Color::Green)
}

/// An invariant that broke.
pub fn broken(theme: &Theme) -> Style {
    fg(theme, Color::LightRed).add_modifier(Modifier::BOLD)
}

/// The marks of a held and a broken invariant.
pub fn check_mark(theme: &Theme, ok: bool) -> &'static str {
    match (ok, theme.ascii) {
        (true, false) => "✓",
        (true, true) => "+",
        (false, false) => "✗",
        (false, true) => "X",
    }
}

/// Horizontal line pieces of the flow chart: (solid, dashed for delayed,
/// double for duplicated).
pub fn lines(theme: &Theme) -> (&'static str, &'static str, &'static str) {
    if theme.ascii {
        ("-", ".", "=")
    } else {
        ("─", "┄", "═")
    }
}

/// Arrow heads of the flow chart: (to the right, to the left).
pub fn heads(theme: &Theme) -> (&'static str, &'static str) {
    if theme.ascii {
        (">", "<")
    } else {
        ("▶", "◀")
    }
}

/// A node's lifeline in the flow chart.
pub fn lifeline(theme: &Theme) -> &'static str {
    if theme.ascii { "|" } else { "│" }
}

/// Where a dropped message ends in the flow chart.
pub fn drop_mark(theme: &Theme) -> &'static str {
    if theme.ascii { "x" } else { "✕" }
}

/// The colour of a message's exchange on the wire (as `raftlab chart`
/// colours them: votes orange-yellow, appends blue, heartbeats grey,
/// snapshots purple): a request bold, an answer plain. The letter on its
/// marker tells the exchange without colour.
pub fn exchange(theme: &Theme, class: MsgClass, answer: bool) -> Style {
    let c = match class {
        MsgClass::Vote => Color::LightYellow,
        MsgClass::Append => Color::LightCyan,
        MsgClass::Heartbeat => Color::Gray,
        MsgClass::Snapshot => Color::LightMagenta,
        MsgClass::Timeout => Color::LightGreen,
    };
    let style = fg(theme, c);
    if answer {
        style
    } else {
        style.add_modifier(Modifier::BOLD)
    }
}

/// The letter on a message's marker: `P` pre-vote, `V` vote, `A`
/// append, `H` heartbeat, `S` snapshot, `T` TimeoutNow; capital for a
/// request, small for its answer.
pub fn letter(kind: &str, class: MsgClass, answer: bool) -> char {
    let c = match class {
        MsgClass::Vote if kind.starts_with("Pre") => 'P',
        MsgClass::Vote => 'V',
        MsgClass::Append => 'A',
        MsgClass::Heartbeat => 'H',
        MsgClass::Snapshot => 'S',
        MsgClass::Timeout => 'T',
    };
    if answer { c.to_ascii_lowercase() } else { c }
}

/// Arrow heads on the wire, (to the right, to the left): a request's
/// filled, an answer's hollow (both `>` `<` in ASCII, where the letter's
/// case tells them apart).
pub fn wire_heads(theme: &Theme, answer: bool) -> (&'static str, &'static str) {
    match (theme.ascii, answer) {
        (true, _) => (">", "<"),
        (false, false) => ("▶", "◀"),
        (false, true) => ("▷", "◁"),
    }
}

/// The track a message travels along, drawn faint.
pub fn wire_track(theme: &Theme) -> &'static str {
    if theme.ascii { "." } else { "┈" }
}

/// The ends of a message's track, (left, right), under the cards' middles.
pub fn wire_ends(theme: &Theme) -> (&'static str, &'static str) {
    if theme.ascii {
        ("|", "|")
    } else {
        ("├", "┤")
    }
}

/// A message held by hand: bright, so it is found at a glance.
pub fn held(theme: &Theme, selected: bool) -> Style {
    let style = fg(theme, Color::LightCyan).add_modifier(Modifier::BOLD);
    if selected {
        style.add_modifier(Modifier::REVERSED)
    } else {
        style
    }
}
