//! The cluster pane: a card per node when there is room, else a compact
//! table with one row per node (same facts, same words: a campaign's tally
//! too, before its timer).

use ratatui::buffer::Buffer;
use ratatui::text::{Line, Span};
use ratatui::widgets::Widget;

use super::{focused, node_card, pane, put_line, styled};
use crate::raft::Role;
use crate::runtime::NodeState;
use crate::tui::action::Focus;
use crate::tui::app::App;
use crate::tui::layout::Areas;
use crate::tui::theme::Theme;

/// Draws the cards (or the table).
pub fn render(app: &App, areas: &Areas, buf: &mut Buffer) {
    let theme = &app.theme;
    if !areas.cards.is_empty() {
        for (node, &card) in app.view.nodes.iter().zip(&areas.cards) {
            node_card::render(theme, &app.view, node, node.id == app.selected, card, buf);
        }
        return;
    }
    let block = pane(theme, "Cluster", focused(app, Focus::Cluster));
    let inner = block.inner(areas.cluster);
    block.render(areas.cluster, buf);
    for (y, node) in app.view.nodes.iter().enumerate() {
        let sel = node.id == app.selected;
        let role = if node.state == NodeState::Down {
            styled(format!("{:<15}", "  (down)"), theme.state(NodeState::Down))
        } else {
            // `PreCandidate` fills the column: a space keeps it off the state.
            styled(
                format!(
                    "{} {:<12} ",
                    theme.role_symbol(node.role),
                    Theme::role_name(node.role)
                ),
                theme.role(node.role),
            )
        };
        let id_style = if sel {
            theme.selected()
        } else {
            theme.role(Role::Follower)
        };
        let mut spans = vec![
            styled(
                format!("{}n{} ", if sel { ">" } else { " " }, node.id),
                id_style,
            ),
            role,
            styled(
                format!("{:<7}", Theme::state_name(node.state)),
                theme.state(node.state),
            ),
            Span::raw(format!(
                "term {:<3} vote {:<2} commit {:<4} applied {:<4} last {:<4} ",
                node.term,
                node.vote.map_or("-".into(), |v| v.to_string()),
                node.commit,
                node.applied,
                node.last_index
            )),
        ];
        // A campaign's tally first, as on its card; the timer after it.
        if let Some(tally) = node
            .votes
            .as_ref()
            .filter(|_| node.state != NodeState::Down)
        {
            let used: usize = spans.iter().map(Span::width).sum();
            let rest = inner.width.saturating_sub(used as u16);
            spans.extend(node_card::tally_line(theme, node.role, tally, rest).spans);
            spans.push(Span::raw("  "));
        }
        let used: usize = spans.iter().map(Span::width).sum();
        let rest = inner.width.saturating_sub(used as u16);
        spans.extend(node_card::timer_line(theme, &app.view, node, rest).spans);
        put_line(buf, inner, y as u16, &Line::from(spans));
    }
}
