//! Colours and symbols of the teaching panes (messages, flow, checks,
//! the bug badge), kept beside the [`Theme`] they build on. Like the rest
//! of the dashboard, nothing is told by colour alone: a dropped message
//! carries `✕` and the word, a broken invariant `✗` and the word.

use ratatui::style::{Color, Modifier, Style};

use crate::runtime::observe::{DropCause, Fate};
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
