//! The event pane: what happened, newest at the bottom, each line stamped
//! with the cluster time (ticks × 10 ms) it last happened at; repeats are
//! folded into one line counted `×N`, and a line too long for the pane is
//! cut with `…`.

use ratatui::buffer::Buffer;
use ratatui::layout::Rect;
use ratatui::text::{Line, Span};
use ratatui::widgets::Widget;

use super::node_card::cut;
use super::{focused, pane, put_line, styled};
use crate::runtime::ViewEvent;
use crate::tui::action::Focus;
use crate::tui::app::App;
use crate::tui::text::cluster_time;
use crate::tui::theme::Theme;

fn event_style(theme: &Theme, event: &ViewEvent) -> ratatui::style::Style {
    let t = event.text.as_str();
    if t.contains("leader") && !t.contains("hand") {
        theme.role(crate::raft::Role::Leader)
    } else if t.contains("killed")
        || t.contains("VIOLATED")
        || t.contains("crash")
        || t.contains("partition")
        || t.contains("isolated")
    {
        theme.error()
    } else if t.contains("election") || t.contains("candidate") {
        theme.note()
    } else {
        ratatui::style::Style::new()
    }
}

/// Draws the event pane.
pub fn render(app: &App, area: Rect, buf: &mut Buffer) {
    let theme = &app.theme;
    let events = &app.view.events;
    let title = if app.event_scroll == 0 {
        "Events".to_string()
    } else {
        format!("Events (back {})", app.event_scroll)
    };
    let block = pane(theme, &title, focused(app, Focus::Events));
    let inner = block.inner(area);
    block.render(area, buf);
    let rows = inner.height as usize;
    let end = events.len().saturating_sub(app.event_scroll);
    let start = end.saturating_sub(rows);
    for (y, e) in events[start..end].iter().enumerate() {
        let mut spans = vec![styled(format!("{:>8} ", cluster_time(e.tick)), theme.dim())];
        if let Some(n) = e.node {
            spans.push(styled(format!("n{n} "), theme.key()));
        }
        let times = (e.count > 1).then(|| format!(" ×{}", e.count));
        let used: usize = spans.iter().map(Span::width).sum();
        let room = (inner.width as usize)
            .saturating_sub(used + times.as_ref().map_or(0, |t| t.chars().count()));
        spans.push(Span::styled(
            cut(theme, &e.text, room),
            event_style(theme, e),
        ));
        if let Some(t) = times {
            spans.push(styled(t, theme.key()));
        }
        put_line(buf, inner, y as u16, &Line::from(spans));
    }
}
