//! Every colour and symbol the dashboard draws with, in one place.
//!
//! A [`Theme`] is chosen once at start: colour or not (`NO_COLOR`), Unicode
//! or plain ASCII (`--ascii`). Colours are the 16 basic ANSI ones only, so a
//! 16-colour terminal or a projector shows the same thing; nothing is told
//! by colour alone — roles are spelled out, the leader carries a symbol,
//! entries that differ from the leader's carry a `!`.

use ratatui::style::{Color, Modifier, Style};
use ratatui::symbols::border;

use crate::raft::{Role, Term};
use crate::runtime::NodeState;
use crate::scenario::Mark;

/// Box drawing made of ASCII only.
const ASCII_BORDER: border::Set<'static> = border::Set {
    top_left: "+",
    top_right: "+",
    bottom_left: "+",
    bottom_right: "+",
    vertical_left: "|",
    vertical_right: "|",
    horizontal_top: "-",
    horizontal_bottom: "-",
};

/// Colours that tell terms apart, cycled by term number.
const TERM_COLORS: [Color; 6] = [
    Color::Cyan,
    Color::Magenta,
    Color::Yellow,
    Color::Green,
    Color::Blue,
    Color::LightRed,
];

/// How the dashboard looks: colour on or off, Unicode or ASCII.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Theme {
    /// Whether to use colours (off under `NO_COLOR`).
    pub color: bool,
    /// Whether to avoid box drawing and Unicode symbols.
    pub ascii: bool,
}

impl Default for Theme {
    fn default() -> Theme {
        Theme {
            color: true,
            ascii: false,
        }
    }
}

impl Theme {
    /// A style with foreground `c`, or no colour at all without colour.
    fn fg(&self, c: Color) -> Style {
        if self.color {
            Style::new().fg(c)
        } else {
            Style::new()
        }
    }

    /// The border set of every pane.
    pub fn border(&self) -> border::Set<'static> {
        if self.ascii {
            ASCII_BORDER
        } else {
            border::ROUNDED
        }
    }

    /// Border of a pane; the focused one is bright and bold.
    pub fn pane_border(&self, focused: bool) -> Style {
        if focused {
            self.fg(Color::LightCyan).add_modifier(Modifier::BOLD)
        } else {
            self.fg(Color::DarkGray)
        }
    }

    /// Title of a pane.
    pub fn title(&self, focused: bool) -> Style {
        let s = Style::new().add_modifier(Modifier::BOLD);
        if focused {
            s.patch(self.fg(Color::LightCyan))
                .add_modifier(Modifier::REVERSED)
        } else {
            s
        }
    }

    /// Text of secondary importance.
    pub fn dim(&self) -> Style {
        if self.color {
            Style::new().fg(Color::DarkGray)
        } else {
            Style::new().add_modifier(Modifier::DIM)
        }
    }

    /// Labels and keys to press.
    pub fn key(&self) -> Style {
        self.fg(Color::Yellow).add_modifier(Modifier::BOLD)
    }

    /// A role's name as the cards show it.
    pub fn role_name(role: Role) -> &'static str {
        match role {
            Role::Leader => "Leader",
            Role::Candidate => "Candidate",
            Role::PreCandidate => "PreCandidate",
            Role::Follower => "Follower",
        }
    }

    /// A role's colour (and weight: the leader is bold).
    pub fn role(&self, role: Role) -> Style {
        match role {
            Role::Leader => self.fg(Color::LightGreen).add_modifier(Modifier::BOLD),
            Role::Candidate => self.fg(Color::LightYellow).add_modifier(Modifier::BOLD),
            Role::PreCandidate => self.fg(Color::Yellow),
            Role::Follower => self.fg(Color::White),
        }
    }

    /// The symbol before a role: the leader's crown, a candidate's mark.
    pub fn role_symbol(&self, role: Role) -> &'static str {
        match (role, self.ascii) {
            (Role::Leader, false) => "★",
            (Role::Leader, true) => "*",
            (Role::Candidate, false) => "◆",
            (Role::Candidate, true) => "?",
            (Role::PreCandidate, false) => "◇",
            (Role::PreCandidate, true) => "~",
            (Role::Follower, _) => " ",
        }
    }

    /// A node state's word.
    pub fn state_name(state: NodeState) -> &'static str {
        match state {
            NodeState::Up => "Up",
            NodeState::Paused => "Paused",
            NodeState::Down => "Down",
        }
    }

    /// A node state's colour.
    pub fn state(&self, state: NodeState) -> Style {
        match state {
            NodeState::Up => self.fg(Color::Green),
            NodeState::Paused => self.fg(Color::LightBlue).add_modifier(Modifier::BOLD),
            NodeState::Down => self.fg(Color::LightRed).add_modifier(Modifier::BOLD),
        }
    }

    /// Border of a node card: the leader's stands out, a down node's fades.
    pub fn card_border(&self, role: Role, state: NodeState, selected: bool) -> Style {
        let base = match (state, role) {
            (NodeState::Down, _) => self.fg(Color::Red),
            (NodeState::Paused, _) => self.fg(Color::LightBlue),
            (_, Role::Leader) => self.fg(Color::LightGreen).add_modifier(Modifier::BOLD),
            (_, Role::Candidate | Role::PreCandidate) => self.fg(Color::Yellow),
            (_, Role::Follower) => self.fg(Color::Gray),
        };
        if selected {
            base.add_modifier(Modifier::BOLD)
        } else {
            base
        }
    }

    /// Border set of a card: the leader's is doubled (thick in ASCII).
    pub fn card_set(&self, leader: bool) -> border::Set<'static> {
        match (self.ascii, leader) {
            (true, false) => ASCII_BORDER,
            (true, true) => border::Set {
                horizontal_top: "=",
                horizontal_bottom: "=",
                vertical_left: "#",
                vertical_right: "#",
                ..ASCII_BORDER
            },
            (false, false) => border::ROUNDED,
            (false, true) => border::DOUBLE,
        }
    }

    /// The colour of entries of `term`.
    pub fn term(&self, term: Term) -> Style {
        self.fg(TERM_COLORS[(term as usize) % TERM_COLORS.len()])
    }

    /// An entry not yet committed on its node.
    pub fn uncommitted(&self) -> Style {
        Style::new().add_modifier(Modifier::DIM)
    }

    /// An entry that differs from the leader's at the same index.
    pub fn conflict(&self) -> Style {
        if self.color {
            Style::new()
                .fg(Color::White)
                .bg(Color::Red)
                .add_modifier(Modifier::BOLD)
        } else {
            Style::new().add_modifier(Modifier::REVERSED | Modifier::BOLD)
        }
    }

    /// The selected row or node.
    pub fn selected(&self) -> Style {
        Style::new().add_modifier(Modifier::BOLD | Modifier::UNDERLINED)
    }

    /// Output of a console command that went well.
    pub fn ok(&self) -> Style {
        self.fg(Color::Green)
    }

    /// An error in words.
    pub fn error(&self) -> Style {
        self.fg(Color::LightRed).add_modifier(Modifier::BOLD)
    }

    /// Notes (waiting, retrying).
    pub fn note(&self) -> Style {
        self.fg(Color::Yellow)
    }

    /// A link that is cut.
    pub fn link_cut(&self) -> Style {
        self.fg(Color::LightRed).add_modifier(Modifier::BOLD)
    }

    /// A link that loses, delays or duplicates.
    pub fn link_lossy(&self) -> Style {
        self.fg(Color::Yellow)
    }

    /// A healthy link.
    pub fn link_up(&self) -> Style {
        self.fg(Color::Green)
    }

    /// The status bar's background.
    pub fn status(&self) -> Style {
        if self.color {
            Style::new().bg(Color::Blue).fg(Color::White)
        } else {
            Style::new().add_modifier(Modifier::REVERSED)
        }
    }

    /// Filled part of the election timer bar.
    pub fn bar_full(&self) -> &'static str {
        if self.ascii { "#" } else { "█" }
    }

    /// Empty part of the election timer bar.
    pub fn bar_empty(&self) -> &'static str {
        if self.ascii { "." } else { "░" }
    }

    /// A log slot a node does not have.
    pub fn missing(&self) -> &'static str {
        if self.ascii { "." } else { "·" }
    }

    /// A log slot compacted into a snapshot.
    pub fn compacted(&self) -> &'static str {
        if self.ascii { "s" } else { "▒" }
    }

    /// The mark after a node's commit index.
    pub fn commit_mark(&self) -> &'static str {
        if self.ascii { "|" } else { "▌" }
    }

    /// Separates partition groups ("1 2 | 3 4 5").
    pub fn group_sep(&self) -> &'static str {
        "|"
    }

    /// A link drawn in the matrix: up, cut, lossy.
    pub fn link_symbol(&self, up: bool, lossy: bool) -> &'static str {
        match (up, lossy, self.ascii) {
            (false, _, false) => "✕",
            (false, _, true) => "x",
            (true, true, false) => "≈",
            (true, true, true) => "~",
            (true, false, false) => "·",
            (true, false, true) => ".",
        }
    }

    /// The arrow of "sent → received" and delays.
    pub fn arrow(&self) -> &'static str {
        if self.ascii { "->" } else { "→" }
    }

    /// Separates the parts of a line (`·`; `|` in ASCII).
    pub fn dot(&self) -> &'static str {
        if self.ascii { "|" } else { "·" }
    }

    /// Points at the selected node.
    pub fn pointer(&self) -> &'static str {
        if self.ascii { ">" } else { "▶" }
    }

    /// The console prompt.
    pub fn prompt(&self) -> &'static str {
        if self.ascii { "> " } else { "❯ " }
    }

    /// Marks an entry that differs from the leader's, for readers without colour.
    pub fn conflict_mark(&self) -> &'static str {
        "!"
    }

    /// A tour step's outcome: `✓` held, `✗` failed, `→` done.
    pub fn step_mark(&self, mark: Mark) -> &'static str {
        match (mark, self.ascii) {
            (Mark::Pass, false) => "✓",
            (Mark::Pass, true) => "+",
            (Mark::Fail, false) => "✗",
            (Mark::Fail, true) => "x",
            (Mark::Info, false) => "→",
            (Mark::Info, true) => "-",
            (Mark::Note, false) => "»",
            (Mark::Note, true) => ">>",
            (Mark::Ask, _) => "?",
        }
    }

    /// The colour of a tour step's outcome.
    pub fn step(&self, mark: Mark) -> Style {
        match mark {
            Mark::Pass => self.ok(),
            Mark::Fail => self.error(),
            Mark::Info | Mark::Note | Mark::Ask => Style::new(),
        }
    }

    /// A tour caption: the narration of the current step.
    pub fn caption(&self) -> Style {
        self.fg(Color::LightCyan)
    }

    /// A tour step still running.
    pub fn running(&self) -> &'static str {
        if self.ascii { "..." } else { "…" }
    }

    /// The mark before each reason of a "why?" answer.
    pub fn bullet(&self) -> &'static str {
        if self.ascii { "-" } else { "•" }
    }

    /// The banner shown while viewing the past (time travel).
    pub fn past(&self) -> Style {
        if self.color {
            Style::new()
                .bg(Color::Yellow)
                .fg(Color::Black)
                .add_modifier(Modifier::BOLD)
        } else {
            Style::new().add_modifier(Modifier::REVERSED | Modifier::BOLD)
        }
    }

    /// The time-travel timeline: recorded before the shown tick, after
    /// it, and the shown tick.
    pub fn timeline(&self) -> (&'static str, &'static str, &'static str) {
        if self.ascii {
            ("=", "-", "O")
        } else {
            ("━", "─", "●")
        }
    }
}
