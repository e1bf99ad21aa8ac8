//! The status bar: cluster time, speed, running or paused, the leader,
//! and the keys that matter in the focused pane.

use ratatui::buffer::Buffer;
use ratatui::layout::Rect;
use ratatui::style::Modifier;
use ratatui::text::{Line, Span};

use super::events::cluster_time;
use super::{put_line, styled, teach_style};
use crate::tui::action::Focus;
use crate::tui::app::App;

/// The keys worth showing in the current state.
pub fn keys_now(app: &App) -> &'static str {
    if app.help {
        return "Esc/?/q close help";
    }
    if app.focus == Focus::Log && app.lower == crate::tui::action::Lower::Messages {
        return "arrows scroll  End newest  m close  `msgs from 1 type vote` filters  Tab focus";
    }
    match app.focus {
        Focus::Console => "Enter run  Up/Down history  Esc leave  Ctrl-C quit",
        Focus::Log => "? help  hl/arrows scroll  jk node  End tail  H heal  Tab focus  q quit",
        Focus::Cluster | Focus::Events => {
            "? help  : console  1-9 node  k kill  r restart  p pause  i isolate  t lead  h heal  space time  q quit"
        }
    }
}

/// Draws the status bar.
pub fn render(app: &App, area: Rect, buf: &mut Buffer) {
    let theme = &app.theme;
    let view = &app.view;
    let base = theme.status();
    buf.set_style(area, base);
    let time = if view.clock_paused {
        styled(
            " PAUSED ",
            base.add_modifier(Modifier::BOLD | Modifier::REVERSED),
        )
    } else {
        styled(" running ", base)
    };
    let leader = match view.leader() {
        Some(l) => format!(" leader n{l} "),
        None => " no leader ".to_string(),
    };
    let mut spans = Vec::new();
    let bugs = view.teaching.bugs.names();
    if !bugs.is_empty() {
        let dash = if theme.ascii { "-" } else { "—" };
        let badge = format!(
            " {} BUG {} ON {dash} Raft is unsafe ",
            teach_style::warning(theme),
            bugs.join("+")
        );
        spans.push(styled(badge, teach_style::badge(theme)));
    }
    if view.teaching.checks.violated() {
        let mark = teach_style::check_mark(theme, false);
        spans.push(styled(
            format!(" {mark} VIOLATED (c) "),
            teach_style::badge(theme),
        ));
    }
    spans.extend([
        styled(
            format!(" t={} ", cluster_time(view.tick)),
            base.add_modifier(Modifier::BOLD),
        ),
        styled(format!("speed {}× ", view.speed), base),
        time,
        styled(leader, base.add_modifier(Modifier::BOLD)),
    ]);
    if let Some(text) = configuration_text(view) {
        spans.push(styled(text, base));
    }
    spans.extend(super::sim_badge::spans(app, base));
    spans.extend([Span::styled("| ", base), Span::styled(keys_now(app), base)]);
    put_line(buf, area, 0, &Line::from(spans));
}

/// The configuration, once it is worth a look: when it has learners, a
/// change is pending, or a node shown is not a voter (one was removed, or
/// is joining). `None` while every node shown votes, as at start.
pub fn configuration_text(view: &crate::runtime::ClusterView) -> Option<String> {
    let (config, pending) = view.configuration()?;
    let everyone_votes = view.nodes.iter().all(|n| config.is_voter(n.id));
    if everyone_votes && config.learners.is_empty() && !pending {
        return None;
    }
    let list = |ids: Vec<u64>| {
        ids.iter()
            .map(|id| id.to_string())
            .collect::<Vec<_>>()
            .join(" ")
    };
    let mut text = format!("voters {}", list(config.voters.to_vec()));
    if !config.learners.is_empty() {
        text.push_str(&format!(" · learners {}", list(config.learners.to_vec())));
    }
    if pending {
        text.push_str(" · change pending");
    }
    Some(format!("{text} "))
}
