//! One node as a card: id, role spelled out, up/down/paused, term, vote,
//! commit, applied, last index, and an election timer bar that fills as
//! the node waits and empties when a heartbeat resets it.

use ratatui::buffer::Buffer;
use ratatui::layout::Rect;
use ratatui::style::Modifier;
use ratatui::text::{Line, Span};
use ratatui::widgets::{Block, Widget};

use super::{label_value, put_line, styled};
use crate::raft::Role;
use crate::runtime::{ClusterView, MemberRole, NodeState, NodeView};
use crate::tui::theme::Theme;

/// Draws `node`'s card into `area`.
pub fn render(
    theme: &Theme,
    view: &ClusterView,
    node: &NodeView,
    selected: bool,
    area: Rect,
    buf: &mut Buffer,
) {
    let leader = node.role == Role::Leader && node.state != NodeState::Down;
    let border = theme.card_border(node.role, node.state, selected);
    let id = if selected {
        styled(
            format!("{}n{} ", theme.pointer(), node.id),
            border.add_modifier(Modifier::REVERSED),
        )
    } else {
        styled(
            format!(" n{} ", node.id),
            border.add_modifier(Modifier::BOLD),
        )
    };
    let title = vec![
        id,
        styled(
            format!("{} ", Theme::state_name(node.state)),
            theme.state(node.state),
        ),
    ];
    let role_line = if node.state == NodeState::Down {
        Line::from(styled(
            format!("({})", Theme::role_name(node.role)),
            theme.dim(),
        ))
    } else {
        let sym = theme.role_symbol(node.role);
        let text = if sym.trim().is_empty() {
            Theme::role_name(node.role).to_string()
        } else {
            format!("{sym} {}", Theme::role_name(node.role))
        };
        Line::from(styled(text, theme.role(node.role)))
    };
    let role_line = with_member_role(theme, view, node, role_line, area.width.saturating_sub(2));
    let (out, inn) = in_flight(view, node.id);
    let flight = if theme.ascii {
        format!(" out {out} in {inn} ")
    } else {
        format!(" ↑{out} ↓{inn} ")
    };
    let block = Block::bordered()
        .border_set(theme.card_set(leader))
        .border_style(border)
        .title(Line::from(title))
        .title_bottom(Line::from(styled(flight, theme.dim())).right_aligned());
    let inner = block.inner(area);
    block.render(area, buf);
    let w = inner.width;
    let num = |n: u64| Span::raw(n.to_string());
    let who = |n: Option<u64>| Span::raw(n.map_or("-".to_string(), |v| format!("n{v}")));
    let lines = [
        role_line,
        label_value(
            Span::raw(format!("term {}", node.term)),
            Span::raw(format!("vote {}", who(node.vote).content)),
            w,
        ),
        label_value(styled("commit", theme.dim()), num(node.commit), w),
        label_value(styled("applied", theme.dim()), num(node.applied), w),
        last_line(theme, node, w, inner.height > 6),
        timer_line(theme, view, node, w),
    ];
    for (y, line) in lines.iter().enumerate() {
        put_line(buf, inner, y as u16, line);
    }
    if inner.height > 6 {
        let extra = label_value(
            styled("snap", theme.dim()),
            Span::raw(format!(
                "{}  lead {}",
                node.snapshot_index,
                who(node.leader).content
            )),
            w,
        );
        put_line(buf, inner, 6, &extra);
    }
}

/// The role line with the node's place in the configuration when it is
/// not simply a voter: `learner`, `removed` or `joining` (only once the
/// view knows a configuration).
fn with_member_role(
    theme: &Theme,
    view: &ClusterView,
    node: &NodeView,
    line: Line<'static>,
    width: u16,
) -> Line<'static> {
    if view.configuration().is_none() {
        return line;
    }
    let role = view.member_role(node.id);
    if role == MemberRole::Voter {
        return line;
    }
    let tag = styled(
        role.label().to_string(),
        theme.key().add_modifier(Modifier::BOLD),
    );
    if role == MemberRole::Removed {
        // A removed node's Raft role no longer matters to the cluster.
        return Line::from(vec![tag, styled(" (not a member)", theme.dim())]);
    }
    if line.width() + 3 + role.label().len() <= width as usize {
        let mut spans = line.spans;
        spans.push(styled(" · ", theme.dim()));
        spans.push(tag);
        Line::from(spans)
    } else {
        Line::from(tag)
    }
}

/// The last entry; on a card too short for its own `snap` line, the
/// snapshot index too once there is one and it fits, so compaction shows
/// at every size that has room.
fn last_line(theme: &Theme, node: &NodeView, width: u16, tall: bool) -> Line<'static> {
    let last = format!("{} (t{})", node.last_index, node.last_term);
    let snap = format!(" snap {}", node.snapshot_index);
    if tall || node.snapshot_index == 0 || 4 + 1 + last.len() + snap.len() > width as usize {
        return label_value(styled("last", theme.dim()), Span::raw(last), width);
    }
    let value = Line::from(vec![Span::raw(last), styled(snap, theme.dim())]);
    let gap = (width as usize).saturating_sub(4 + value.width());
    let mut spans = vec![styled("last", theme.dim()), Span::raw(" ".repeat(gap))];
    spans.extend(value.spans);
    Line::from(spans)
}

/// Messages in flight from and to node `id`.
pub fn in_flight(view: &ClusterView, id: u64) -> (u64, u64) {
    view.links.iter().fold((0, 0), |(o, i), l| {
        (
            o + if l.from == id { l.in_flight } else { 0 },
            i + if l.to == id { l.in_flight } else { 0 },
        )
    })
}

/// The election timer bar: how far the node is into its timeout; in its
/// place, why a node never campaigns (a learner, a removed or joining
/// node: its own configuration does not make it a voter, so its timer
/// only ever restarts).
pub fn timer_line(theme: &Theme, view: &ClusterView, node: &NodeView, width: u16) -> Line<'static> {
    if node.state != NodeState::Down
        && node.role != Role::Leader
        && let Some(why) = no_campaign(view, node, width)
    {
        return Line::from(styled(why, theme.dim()));
    }
    match (node.state, node.role) {
        (NodeState::Down, _) => {
            let text = if width >= 27 {
                "down: only its disk remains"
            } else {
                "down"
            };
            Line::from(styled(text, theme.dim()))
        }
        (_, Role::Leader) => {
            let text = if width >= 25 {
                "leading: sends heartbeats"
            } else {
                "leading"
            };
            Line::from(styled(text, theme.role(Role::Leader)))
        }
        _ => {
            let w = width.saturating_sub(6) as u64;
            let timeout = node.election_timeout.max(1);
            let filled = (node.election_elapsed.min(timeout) * w / timeout) as usize;
            let pct = node.election_elapsed.min(timeout) * 100 / timeout;
            let style = if node.state == NodeState::Paused {
                theme.dim()
            } else {
                theme.role(node.role)
            };
            Line::from(vec![
                styled(theme.bar_full().repeat(filled), style),
                styled(theme.bar_empty().repeat(w as usize - filled), theme.dim()),
                Span::raw(format!(" {pct:>3}%")),
            ])
        }
    }
}

/// Why `node` never campaigns, in the longest words that fit `width`;
/// `None` when it may (it is a voter as far as it knows, or knows no
/// configuration).
fn no_campaign(view: &ClusterView, node: &NodeView, width: u16) -> Option<&'static str> {
    let own = node.membership;
    if own.voters.is_empty() || own.is_voter(node.id) {
        return None;
    }
    let words: [&str; 3] = if own.is_learner(node.id) {
        [
            "learner: does not campaign",
            "learner: no timer",
            "no timer",
        ]
    } else if view.member_role(node.id) == MemberRole::Joining {
        [
            "joining: does not campaign",
            "joining: no timer",
            "no timer",
        ]
    } else {
        [
            "no election timer: removed",
            "removed: no timer",
            "no timer",
        ]
    };
    let fits = words
        .into_iter()
        .find(|w| w.chars().count() <= width as usize);
    Some(fits.unwrap_or(words[2]))
}
